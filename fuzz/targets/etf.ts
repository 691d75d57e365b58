// netkernel's External Term Format reader (lib/terms/etf), as it meets an Erlang/OTP peer's
// bytes. An input that starts with 131 is a term_to_binary term (EtfDecoder.decode, possibly
// compressed); any other is a distribution frame's tail: a distribution header (atom cache
// refs, read into one AtomCache per run) followed by a term without 131 (decodeAt with the
// header's refs). Variant bit 0: the input is owned (binaries may be views).
//
// Oracle: a refusal is a CodecError whose cause, if any, is a NetkernelError (a wrapped
// JavaScript error means a bounds check is missing); a term that decodes must encode again,
// and its encoding must decode and re-encode to the same bytes.
import { deflateSync } from 'node:zlib'
import { AtomCache, EtfDecoder, EtfEncoder, readDistHeader } from '../../lib/terms/etf/index.js'
import { otpTermArb, sample } from '../terms-arb.js'
import { corpusNames } from '../seeds.js'
import { InvariantViolation, checkCause, describeError, type FuzzTarget } from '../target.js'

const decoder = new EtfDecoder()
const encoder = new EtfEncoder()

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex')
}

/** 131 80 Size zlib(term): a compressed term. */
function compressed(term: Buffer): Buffer {
  const size = Buffer.alloc(4)
  size.writeUInt32BE(term.length)
  return Buffer.concat([hex('8350'), size, deflateSync(term)])
}

/** Terms as erl writes them, and distribution frame tails with atom cache refs. */
function etfSeeds(): Buffer[] {
  const sampled: Buffer[] = []
  for (const term of sample(otpTermArb(corpusNames()), 200, 3)) {
    try {
      sampled.push(encoder.encode(term))
    } catch {
      // NaN, Infinity and Errors' codes are no ETF terms: not a seed
    }
  }
  const node = '7703614062'
  const handmade = [
    // term_to_binary of {ok, 'EXIT', [1, 2 | 3], <<"b">>, #{k => 1.5}} with latin1 atoms
    '83 6805 64 0002 6f6b 73 04 45584954 6c00000002 6101 6102 6103 6d00000001 62 740000000177016b 463ff8000000000000',
    // a pid, a 3-word ref, a port and an export fun
    '83 6804 58' +
      node +
      '000000010000000200000003 5a0003' +
      node +
      '00000002000000010000000200000003 59' +
      node +
      '0000000500000007 71 77016d 770166 6102',
    // a local fun with one free variable
    '83 70 00000038 01 00112233445566778899aabbccddeeff 00000000 00000001 77016d 6100 6101 58' + node + '000000010000000200000003 612a',
    // a big integer, a bitstring, a charlist and FLOAT_EXT
    '83 6804 6e0900000000000000000001 4d0000000201ff80 6b0003616263 63' +
      Buffer.from('1.50000000000000000000e+00').toString('hex') +
      '0000000000',
    // compressed: {ok, <<0 x 40>>}
    compressed(hex('6802 77026f6b 6d00000028' + '00'.repeat(40))),
    // a distribution header: new entries 'ok' (segment 0) and 'hello' (segment 1), then {ok, hello, [alias | Ref]}
    '02 98 00 05 02 6f6b 07 05 68656c6c6f  6803 5200 5201 6c00000001 7705616c696173 5a0003 5200 00000002000000010000000200000003',
    // long atoms, an old entry of the same header
    '02 08 01 09 0001 7a 09  6802 5200 5201',
    // no refs
    '00 6802 6101 6a',
  ].map(x => (typeof x === 'string' ? hex(x) : x))
  return [...handmade, ...sampled]
}

let seeds: Buffer[] | undefined

export const etfTarget: FuzzTarget = {
  name: 'term-etf',
  seeds: () => (seeds ??= etfSeeds()),
  run(input, variant) {
    const owned = (variant & 1) === 1
    let value: unknown
    try {
      if (input[0] === 131) value = decoder.decode(input, owned)
      else {
        const header = readDistHeader(input, 0, new AtomCache())
        value = decoder.decodeAt(input, header.end, header.refs, owned).value
      }
    } catch (err) {
      checkCause(err)
      throw err
    }
    let once: Buffer
    try {
      once = encoder.encode(value)
    } catch (err) {
      throw new InvariantViolation(`a decoded term does not encode: ${describeError(err)}`, { cause: err })
    }
    const twice = encoder.encode(decoder.decode(once))
    if (!twice.equals(once)) throw new InvariantViolation('a decoded term does not re-encode to the same bytes')
  },
}
