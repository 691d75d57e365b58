// netkernel's External Term Format codec (lib/terms/etf): every tag both ways against bytes
// checked by hand (and against erl's term_to_binary in etf-otp-corpus.test.ts), the
// distribution header and its atom cache, hostile input, and encode -> decode identity over
// generated terms.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { deflateSync } from 'node:zlib'
import { AtomCache, EtfDecoder, EtfEncoder, readDistHeader } from '../lib/terms/etf/index.js'
import { Atom, atom } from '../lib/terms/atom.js'
import { Tuple, tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../lib/terms/otp-terms.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { CodecError, NetkernelError } from '../lib/errors.js'
import type { FrameBatch } from '../lib/terms/frame-batch.js'

const enc = new EtfEncoder()
const dec = new EtfDecoder()
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const str = (s: string): string => Buffer.from(s, 'utf8').toString('hex')

/** Structural equality that tells apart the term classes (a Tuple is not an Array, a Buffer is not a string). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b) return false
  if (typeof a === 'number') return Number.isNaN(a) && Number.isNaN(b as number)
  if (typeof a !== 'object' || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (Buffer.isBuffer(a)) return a.equals(b as Buffer)
  if (Array.isArray(a)) {
    const c = b as unknown[]
    return a.length === c.length && a.every((x, i) => same(x, c[i]))
  }
  if (a instanceof Map) {
    const x = [...a]
    const y = [...(b as Map<unknown, unknown>)]
    return x.length === y.length && x.every(([k, v], i) => same(k, y[i]![0]) && same(v, y[i]![1]))
  }
  if (a instanceof ImproperList) return same(a.items, (b as ImproperList).items) && same(a.tail, (b as ImproperList).tail)
  if (a instanceof BitBinary) return a.bits === (b as BitBinary).bits && a.bytes.equals((b as BitBinary).bytes)
  if (a instanceof OpaqueTerm) return a.tag === (b as OpaqueTerm).tag && a.bytes.equals((b as OpaqueTerm).bytes)
  if (a instanceof Pid || a instanceof Ref || a instanceof Port) return a.equals(b)
  return false
}

/** Asserts that fn throws an error `pred` accepts. */
function throwsWhere(t: Test, fn: () => unknown, pred: (e: unknown) => boolean, label: string): void {
  try {
    fn()
    t.fail(`${label}: did not throw`)
  } catch (e) {
    t.ok(pred(e), `${label}: ${(e as Error)?.message}`)
  }
}

const nodeAb = '7703614062' // SMALL_ATOM_UTF8 'a@b'

// [label, value, bytes after 131 (hex), decoded value when not the value]
type Row = [string, unknown, string, unknown?]
const both: Row[] = [
  ['0', 0, '6100'],
  ['255 (SMALL_INTEGER_EXT)', 255, '61ff'],
  ['256 (INTEGER_EXT)', 256, '6200000100'],
  ['-1', -1, '62ffffffff'],
  ['2^31-1', 2 ** 31 - 1, '627fffffff'],
  ['-2^31', -(2 ** 31), '6280000000'],
  ['2^31 (SMALL_BIG_EXT)', 2 ** 31, '6e040000000080'],
  ['-2^31-1', -(2 ** 31) - 1, '6e040101000080'],
  ['2^53-1 (a number)', 2 ** 53 - 1, '6e0700ffffffffffff1f'],
  ['-(2^53-1)', -(2 ** 53 - 1), '6e0701ffffffffffff1f'],
  ['2^53+1 (a bigint)', 2n ** 53n + 1n, '6e070001000000000020'],
  ['2^64', 2n ** 64n, '6e0900000000000000000001'],
  ['a small bigint is an integer', 5n, '6105', 5],
  ['a bigint in the safe range decodes to a number', 2n ** 40n, '6e06000000000000' + '01', 2 ** 40],
  ['an integral number beyond 2^53 is an integer', 2 ** 60, '6e08000000000000000010', 2n ** 60n],
  ['2^2040 (LARGE_BIG_EXT)', 2n ** 2040n, '6f00000100' + '00' + '00'.repeat(255) + '01'],
  ['-0 is the integer 0 (lossy)', -0, '6100', 0],
  ['1.5 (NEW_FLOAT_EXT)', 1.5, '463ff8000000000000'],
  ['-0.1', -0.1, '46bfb999999999999a'],
  ['atom ok', atom('ok'), '77026f6b'],
  ['empty atom', atom(''), '7700'],
  ['atom é (UTF-8)', atom('é'), '7702c3a9'],
  ['atom of 255 é (ATOM_UTF8_EXT)', atom('é'.repeat(255)), '7601fe' + 'c3a9'.repeat(255)],
  ['true', true, '770474727565'],
  ['false', false, '770566616c7365'],
  ['null is undefined', null, '7709' + str('undefined'), atom('undefined')],
  ['undefined', undefined, '7709' + str('undefined'), atom('undefined')],
  ['{}', tuple(), '6800'],
  ['{ok, 1}', tuple(atom('ok'), 1), '680277026f6b6101'],
  ['tuple of 256 (LARGE_TUPLE_EXT)', Tuple.from(new Array(256).fill(0)), '6900000100' + '6100'.repeat(256)],
  ['[]', [], '6a'],
  ['[1, 2] (STRING_EXT)', [1, 2], '6b00020102'],
  ['[256] (LIST_EXT)', [256], '6c00000001620000010' + '06a'],
  ['[a, 1.5]', [atom('a'), 1.5], '6c000000027701614' + '63ff80000000000006a'],
  ['[1 | 2]', new ImproperList([1], 2), '6c0000000161016102'],
  [
    '[alias | Ref]',
    new ImproperList([atom('alias')], new Ref('a@b', 1, 2, [1, 2, 3])),
    '6c000000017705' + str('alias') + '5a0003' + nodeAb + '00000002000000010000000200000003',
  ],
  ['binary', Buffer.from('hi'), '6d000000026869'],
  ['Uint8Array', new Uint8Array([1, 2]), '6d000000020102', Buffer.from([1, 2])],
  ['string (UTF-8 binary)', 'hé', '6d0000000368c3a9', Buffer.from('hé')],
  ['bitstring', new BitBinary(Buffer.from([0xff, 0x80]), 1), '4d0000000201ff80'],
  [
    'map',
    new Map<unknown, unknown>([
      [atom('k'), 1],
      [Buffer.from('b'), [1]],
    ]),
    '7400000002' + '77016b' + '6101' + '6d0000000162' + '6b000101',
  ],
  ['plain object (binary keys)', { a: 1 }, '74000000016d00000001616101', new Map([[Buffer.from('a'), 1]])],
  ['pid', new Pid('a@b', 1, 2, 3), '58' + nodeAb + '000000010000000200000003'],
  ['ref of one word', new Ref('a@b', 7, 2), '5a0001' + nodeAb + '0000000200000007'],
  ['ref of 3 words', new Ref('a@b', 1, 2, [1, 2, 3]), '5a0003' + nodeAb + '00000002000000010000000200000003'],
  ['port', new Port('a@b', 5n, 7), '59' + nodeAb + '0000000500000007'],
  ['port with a 64-bit id (V4_PORT_EXT)', new Port('a@b', 2n ** 40n, 7), '78' + nodeAb + '000001000000000000000007'],
  ['export fun', new OpaqueTerm(113, hex('7701' + str('m') + '7701' + str('f') + '6102')), '71' + '77016d' + '770166' + '6102'],
  [
    'Error',
    new Error('boom'),
    '6803' + '7705' + str('error') + '6d00000005' + str('Error') + '6d00000004' + str('boom'),
    tuple(atom('error'), Buffer.from('Error'), Buffer.from('boom')),
  ],
]

t.test('every term both ways, byte for byte', async t => {
  for (const [label, value, bytes, back] of both) {
    const got = enc.encode(value)
    t.equal(got.toString('hex'), '83' + bytes.replace(/\s+/g, ''), `${label}: encodes`)
    const decoded = dec.decode(got)
    t.ok(same(decoded, back === undefined ? value : back), `${label}: decodes back`)
  }
})

const fun =
  // NEW_FUN_EXT: Size Arity Uniq(16) Index NumFree Module OldIndex OldUniq Pid FreeVar
  '70' +
  '00000038' + // size: 4+1+16+4+4 + 3 (m) + 2 + 2 + 18 (pid) + 2 (free var) = 56
  '01' +
  '00112233445566778899aabbccddeeff' +
  '00000000' +
  '00000001' +
  '77016d' +
  '6100' +
  '6101' +
  '58' +
  nodeAb +
  '000000010000000200000003' +
  '612a'

const decodeOnly: [string, string, unknown][] = [
  ['ATOM_EXT', '6400026f6b', atom('ok')],
  ['SMALL_ATOM_EXT', '73026f6b', atom('ok')],
  ['latin1 atom', '7301e9', atom('é')],
  ['ATOM_UTF8_EXT', '7600026f6b', atom('ok')],
  ['ATOM_EXT true', '640004' + str('true'), true],
  ['FLOAT_EXT', '63' + Buffer.from('1.50000000000000000000e+00').toString('hex') + '0000000000', 1.5],
  ['PID_EXT', '67' + nodeAb + '000000010000000203', new Pid('a@b', 1, 2, 3)],
  ['NEW_REFERENCE_EXT', '720003' + nodeAb + '03000000010000000200000003', new Ref('a@b', 1, 3, [1, 2, 3])],
  ['REFERENCE_EXT', '65' + nodeAb + '0000000702', new Ref('a@b', 7, 2)],
  ['PORT_EXT', '66' + nodeAb + '0000000502', new Port('a@b', 5n, 2)],
  ['SMALL_BIG_EXT with leading zero bytes', '6e080001000000000000' + '00', 1],
  ['LARGE_BIG_EXT -5', '6f000000010105', -5],
  ['negative zero big', '6e0101' + '00', 0],
  ['LIST_EXT whose tail is a list', '6c0000000161016b000102', [1, 2]],
  ['LIST_EXT whose tail is a string', '6c00000001610a6b00020b0c', [10, 11, 12]],
  ['empty BIT_BINARY_EXT', '4d0000000000', Buffer.alloc(0)],
  ['NEW_FUN_EXT (kept as bytes)', fun, new OpaqueTerm(112, hex(fun.slice(2)))],
]

t.test('tags only read: older forms and the ones a peer may write', async t => {
  for (const [label, bytes, value] of decodeOnly) {
    const decoded = dec.decode(hex('83' + bytes))
    t.ok(same(decoded, value), `${label}`)
  }
  const f = dec.decode(hex('83' + fun)) as OpaqueTerm
  t.equal(enc.encode(f).toString('hex'), '83' + fun, 'a fun re-encodes byte for byte')
})

t.test('compressed terms inflate, within bounds', async t => {
  const term = tuple(atom('ok'), Buffer.alloc(1000, 7))
  const raw = enc.encode(term).subarray(1)
  const z = deflateSync(raw)
  const size = Buffer.alloc(4)
  size.writeUInt32BE(raw.length)
  const whole = Buffer.concat([hex('8350'), size, z])
  t.ok(same(dec.decode(whole), term), 'inflated and decoded')
  const small = Buffer.from(size)
  small.writeUInt32BE(raw.length - 1)
  t.throws(() => dec.decode(Buffer.concat([hex('8350'), small, z])), { code: 'ERR_DECODE' }, 'more than the declared size')
  const big = Buffer.from(size)
  big.writeUInt32BE(raw.length + 1)
  t.throws(() => dec.decode(Buffer.concat([hex('8350'), big, z])), { code: 'ERR_DECODE' }, 'less than the declared size')
  t.throws(() => new EtfDecoder({ maxSize: 100 }).decode(whole), { code: 'ERR_DECODE', message: /larger than 100 bytes/ }, 'over maxSize')
  const bomb = deflateSync(Buffer.alloc(50_000_000))
  const bombSize = Buffer.alloc(4)
  bombSize.writeUInt32BE(10)
  t.throws(() => dec.decode(Buffer.concat([hex('8350'), bombSize, bomb])), { code: 'ERR_DECODE' }, 'a bomb stops at the declared size')
  t.throws(() => dec.decode(hex('83 6c00000001 50 0000000a 00 6a')), { code: 'ERR_DECODE', message: /top level/ }, 'not nested')
})

t.test('decodeAt: a term without 131 at an offset, ATOM_CACHE_REF through the refs', async t => {
  const buf = hex('ffff 6802 5200 5201 6a')
  const { value, end } = dec.decodeAt(buf, 2, [atom('hello'), atom('true')])
  t.ok(same(value, tuple(atom('hello'), true)), 'cache refs are the atoms, true is a boolean')
  t.equal(end, 8, 'where the term ends')
  t.throws(() => dec.decodeAt(buf, 2, [atom('x')]), { code: 'ERR_DECODE', message: /ATOM_CACHE_REF 1/ }, 'a ref beyond the list')
  t.throws(() => dec.decodeAt(buf, 2), { code: 'ERR_DECODE' }, 'no refs at all')
  t.throws(() => dec.decode(hex('835200')), { code: 'ERR_DECODE' }, 'term_to_binary terms have no cache refs')
  // A pid whose node is a cache ref, and a fun holding one: re-encoded with the atom written out.
  const pid = dec.decodeAt(hex('58 5200 000000010000000200000003'), 0, [atom('a@b')]).value
  t.ok(same(pid, new Pid('a@b', 1, 2, 3)), 'a pid node from the atom cache')
  const cachedFun = fun.replace('77016d', '5201').replace('00000038', '00000037')
  const opaque = dec.decodeAt(hex(cachedFun), 0, [atom('x'), atom('m')]).value as OpaqueTerm
  t.equal(enc.encode(opaque).toString('hex'), '83' + fun, 'the fun is rebuilt with its module atom written out')
  const exp = dec.decodeAt(hex('71 5200 5201 6102'), 0, [atom('m'), atom('f')]).value as OpaqueTerm
  t.equal(enc.encode(exp).toString('hex'), '8371' + '77016d' + '770166' + '6102', 'an export rebuilt')
})

t.test('the encoder keeps two pids: any sequence of pids encodes as without it', async t => {
  const pool = [
    new Pid('bar@vm', 42, 3, 7),
    new Pid('bar@vm', 43, 3, 7),
    new Pid('baz@vm', 42, 3, 8),
    new Pid(`${'n'.repeat(200)}@vm`, 1, 0, 1),
  ]
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(pool.length - 1), fc.nat(pool.length - 1)), { maxLength: 40 }), steps => {
      const w = new EtfEncoder()
      for (const [i, j] of steps) {
        const value = tuple(2, pool[i]!, tuple(pool[j]!, i))
        if (!w.encode(value).equals(new EtfEncoder().encode(value))) return false
      }
      return true
    }),
    { numRuns: 300 },
  )
  t.pass('300 sequences')
})

t.test('distribution header and the atom cache', async t => {
  const cache = new AtomCache()
  // Two new entries: ref 0 segment 0 slot 5 'ok', ref 1 segment 1 slot 7 'hello'; short atoms.
  const h1 = hex('02 98 00  05 02' + str('ok') + ' 07 05' + str('hello') + ' 6802 5200 5201')
  const r1 = readDistHeader(h1, 0, cache)
  t.same(
    r1.refs.map(a => a.name),
    ['ok', 'hello'],
  )
  t.equal(r1.end, 14)
  t.ok(same(dec.decodeAt(h1, r1.end, r1.refs).value, tuple(atom('ok'), atom('hello'))), 'the terms use the refs')
  t.equal(cache.get(5), atom('ok'))
  t.equal(cache.get(256 + 7), atom('hello'))
  // An old entry: segment 1 slot 7.
  const r2 = readDistHeader(hex('01 01 07'), 0, cache)
  t.equal(r2.refs[0], atom('hello'), 'an old entry reads the slot')
  t.equal(r2.end, 3)
  // LongAtoms: the nibble after the refs has bit 0 set.
  const r3 = readDistHeader(hex('01 18 00 0002' + str('xy')), 0, cache)
  t.equal(r3.refs[0], atom('xy'), 'a 2-byte length')
  t.equal(cache.get(0), atom('xy'))
  // An old entry may name a slot filled earlier in the same header.
  const r4 = readDistHeader(hex('02 08 00 09 01' + str('z') + ' 09'), 0, cache)
  t.same(
    r4.refs.map(a => a.name),
    ['z', 'z'],
  )
  t.same(readDistHeader(hex('00 ff'), 0, cache), { refs: [], end: 1 }, 'no refs, no flags')

  const bad: [string, string][] = [
    ['empty', ''],
    ['flags cut', '03 88'],
    ['entry missing', '01 08 00'],
    ['atom text cut', '01 08 00 05' + str('abc')],
    ['empty slot', '01 02 33'],
    ['atom of 256 characters', '01 18 01 0100' + '61'.repeat(256)],
    ['invalid UTF-8', '01 08 02 02 c328'],
  ]
  const fresh = new AtomCache()
  for (const [label, bytes] of bad) {
    t.throws(() => readDistHeader(hex(bytes), 0, fresh), { name: 'CodecError', code: 'ERR_DECODE' }, label)
  }
  t.equal(fresh.get(0), undefined, 'a refused header leaves the cache as it was')
  t.throws(() => readDistHeader(hex('02 18 00 00 01' + str('a') + ' 55'), 0, fresh), { code: 'ERR_DECODE' })
  t.equal(fresh.get(0), undefined, 'not even its valid first entry')
})

t.test('encodeInto appends without 131, or leaves the batch as it was', async t => {
  const out: FrameBatch = { buf: Buffer.alloc(4), len: 2 }
  out.buf[0] = 0xaa
  out.buf[1] = 0xbb
  enc.encodeInto(tuple(atom('ok'), 'x'.repeat(100)), out)
  t.equal(out.buf.subarray(0, 2).toString('hex'), 'aabb', 'earlier bytes kept as the buffer grew')
  t.equal(
    out.buf.subarray(2, out.len).toString('hex'),
    enc
      .encode(tuple(atom('ok'), 'x'.repeat(100)))
      .subarray(1)
      .toString('hex'),
  )
  const len = out.len
  t.throws(() => enc.encodeInto([1, Symbol('x')], out), { name: 'CodecError', code: 'ERR_ENCODE' })
  t.equal(out.len, len, 'unchanged after ERR_ENCODE')
  const small = new EtfEncoder({ maxSize: 100 })
  t.throws(() => small.encodeInto(Buffer.alloc(200), out), { code: 'ERR_MESSAGE_TOO_LARGE' })
  t.equal(out.len, len, 'unchanged after ERR_MESSAGE_TOO_LARGE')
  throwsWhere(
    t,
    () => small.encode(Buffer.alloc(100_000)),
    (e: unknown) => e instanceof NetkernelError && e.code === 'ERR_MESSAGE_TOO_LARGE',
    'encode over maxSize',
  )
  // Refused before the buffer grows for it: a spare that would fit is left untaken.
  const bounded = new EtfEncoder({ maxSize: 1000 })
  const spare = Buffer.allocUnsafe(4_000_000)
  const lent: FrameBatch = { buf: Buffer.alloc(16), len: 0, spare }
  t.throws(() => bounded.encodeInto('x'.repeat(1_000_000), lent), { code: 'ERR_MESSAGE_TOO_LARGE' }, 'a long string')
  t.throws(() => bounded.encodeInto(Buffer.alloc(1_000_000), lent), { code: 'ERR_MESSAGE_TOO_LARGE' }, 'a long binary')
  t.equal(lent.spare, spare, 'refused before growing')
  small.encodeInto(Buffer.alloc(90), out)
  t.equal(out.len, len + 95, 'a term within maxSize')
})

t.test('encodeInto grows into the batch spare, and drops a huge buffer of a failed term', async t => {
  const spare = Buffer.allocUnsafe(300_000)
  const out: FrameBatch = { buf: Buffer.alloc(16), len: 3, spare }
  enc.encodeInto(Buffer.alloc(200_000, 1), out)
  t.equal(out.buf, spare, 'the spare became the buffer')
  t.equal(out.spare, undefined, 'and was taken')
  t.equal(out.len, 3 + 5 + 200_000)
  const kept: FrameBatch = { buf: Buffer.alloc(16), len: 2 }
  t.throws(() => enc.encodeInto([Buffer.alloc(3_000_000), Symbol('no')], kept), { code: 'ERR_ENCODE' })
  t.equal(kept.len, 2, 'nothing appended')
  t.ok(kept.buf.length < 1_000_000, 'the 3 MB buffer grown for the failed term is not kept')
})

t.test('values that are not terms are refused, naming their kind', async t => {
  const cases: [string, unknown, RegExp][] = [
    ['NaN', NaN, /NaN/],
    ['Infinity', Infinity, /Infinity/],
    ['-Infinity', -Infinity, /Infinity/],
    ['symbol', Symbol('s'), /symbol/],
    ['function', () => 1, /function/],
    ['Date', new Date(0), /Date/],
    ['Set', new Set(), /Set/],
    ['Float64Array', new Float64Array(1), /Float64Array/],
    [
      'a cycle',
      (() => {
        const a: unknown[] = []
        a.push(a)
        return a
      })(),
      /cyclic/,
    ],
    ['an OpaqueTerm of another tag', new OpaqueTerm(100, Buffer.alloc(1)), /tag/],
    ['a ref of 6 words', new Ref('a@b', 1, 1, [1, 2, 3, 4, 5, 6]), /id words/],
    ['a pid id over 32 bits', new Pid('a@b', 2 ** 32, 0, 0), /2\^32/],
    ['a bitstring of 9 bits', new BitBinary(Buffer.from([1]), 9), /bits/],
  ]
  for (const [label, value, message] of cases) {
    throwsWhere(
      t,
      () => enc.encode(value),
      (e: unknown) => e instanceof CodecError && e.code === 'ERR_ENCODE' && message.test(e.message),
      label,
    )
  }
})

t.test('hostile input is refused with ERR_DECODE, never a crash', async t => {
  const deep = (n: number): Buffer => Buffer.concat([hex('83'), Buffer.alloc(n * 2, hex('6801')), hex('6a')])
  const cases: [string, Buffer, EtfDecoder?][] = [
    ['empty', Buffer.alloc(0)],
    ['no version byte', hex('6100')],
    ['other version', hex('846100')],
    ['unknown tag', hex('8300')],
    ['LOCAL_EXT', hex('837900')],
    ['FUN_EXT', hex('837500')],
    ['trailing garbage', hex('83610000')],
    ['list of 2^32-1 elements', hex('836cffffffff6a')],
    ['tuple of 2^32-1 elements', hex('8369ffffffff')],
    ['map of 2^32-1 pairs', hex('8374ffffffff')],
    ['binary longer than the input', hex('836dffffffff00')],
    ['string longer than the input', hex('836bffff00')],
    ['big integer longer than the input', hex('836fffffffff00')],
    ['big integer over maxBigIntBytes', hex('836e0900' + '01'.repeat(9)), new EtfDecoder({ maxBigIntBytes: 8 })],
    ['big integer sign 2', hex('836e010201')],
    ['atom of 256 characters (UTF-8)', hex('837601' + '00' + '61'.repeat(256))],
    ['latin1 atom of 256 characters', hex('83640100' + '61'.repeat(256))],
    ['invalid UTF-8 atom', hex('837702c328')],
    ['ref of 0 words', hex('835a0000' + nodeAb + '00000000')],
    ['ref of 6 words', hex('835a0006' + nodeAb + '00'.repeat(28))],
    ['pid node not an atom', hex('83586100000000010000000200000003')],
    ['bit binary of 9 bits', hex('834d0000000109ff')],
    ['bit binary of 0 bytes and 3 bits', hex('834d0000000003')],
    ['NEW_FUN_EXT size beyond the input', hex('8370000000ff01')],
    ['NEW_FUN_EXT size too small', hex('837000000004')],
    ['NEW_FUN_EXT with bytes beyond its parts', hex('83' + fun.replace('00000038', '00000039') + '00')],
    ['EXPORT_EXT arity not a small integer', hex('837177016d770166620000000' + '2')],
    ['EXPORT_EXT arity an INTEGER_EXT that holds a 97 byte', hex('837177016d7701666200006105')],
    ['FLOAT_EXT not a number', hex('8363' + '78'.repeat(31))],
    ['nested 1001 deep, maxDepth 1000', deep(1001), new EtfDecoder({ maxDepth: 1000 })],
    ['nested 100000 deep, maxDepth 1000', deep(100_000), new EtfDecoder({ maxDepth: 1000 })],
  ]
  for (const [label, bytes, d] of cases) {
    throwsWhere(
      t,
      () => (d ?? dec).decode(bytes),
      (e: unknown) => e instanceof CodecError && e.code === 'ERR_DECODE',
      label,
    )
  }
  t.ok(
    same(
      dec.decode(deep(1000)),
      (() => {
        let v: unknown = []
        for (let i = 0; i < 1000; i++) v = tuple(v)
        return v
      })(),
    ),
    '1000 deep is fine',
  )
  t.throws(() => new EtfDecoder({ maxDepth: 10 }).decode(deep(11)), { code: 'ERR_DECODE', message: /deeper than 10/ }, 'maxDepth')

  // Every truncation of a term with every kind of tag.
  const whole = enc.encode(
    tuple(
      1,
      300,
      2 ** 40,
      2n ** 70n,
      1.5,
      atom('ok'),
      'bin',
      [1, 2],
      [300],
      new ImproperList([1], 2),
      new Map([[1, 2]]),
      new Pid('a@b', 1, 2, 3),
      new Ref('a@b', 1, 2, [1, 2, 3]),
      new Port('a@b', 1n, 1),
      new BitBinary(Buffer.from([1]), 3),
      dec.decode(hex('83' + fun)),
    ),
  )
  let all = true
  for (let i = 0; i < whole.length; i++) {
    try {
      dec.decode(whole.subarray(0, i))
      all = false
    } catch (e) {
      if (!(e instanceof CodecError) || e.code !== 'ERR_DECODE') all = false
    }
  }
  t.ok(all, `each of the ${whole.length} truncations throws ERR_DECODE`)
  t.throws(() => dec.decode(hex('8361')), { message: /offset/ }, 'errors name the offset')
})

t.test('binaries are copies unless the input is owned', async t => {
  const input = enc.encode([Buffer.alloc(2000, 1), Buffer.alloc(10, 2)])
  const copied = dec.decode(input) as Buffer[]
  const viewed = dec.decode(input, true) as Buffer[]
  input.fill(9, 10, input.length - 1) // over both binaries' bytes
  t.equal(copied[0]![0], 1, 'not owned: a copy')
  t.equal(copied[1]![0], 2, 'not owned: a copy')
  t.equal(viewed[0]![0], 9, 'owned: a view of the input')
  t.equal(viewed[1]![0], 2, 'small ones are copied anyway')
})

// Generated terms in the forms that decode back to themselves.
const safeInt = (n: bigint): number | bigint =>
  n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
const atomArb = fc
  .string({ unit: 'grapheme', maxLength: 20 })
  .filter(s => s !== 'true' && s !== 'false' && [...s].length <= 255)
  .map(s => atom(s))
const nodeArb = fc.constantFrom('a@b', 'js@vm', 'é@h')
const u32 = fc.nat({ max: 0xffffffff })
const leaf = fc.oneof(
  fc.integer(),
  fc.nat(255),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }).map(safeInt),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter(x => !Number.isInteger(x)),
  atomArb,
  fc.boolean(),
  fc.uint8Array({ maxLength: 40 }).map(u => Buffer.from(u)),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 8 })).map(([b, n]) => new BitBinary(Buffer.from(b), n)),
  fc.tuple(nodeArb, u32, u32, u32).map(([n, i, s, c]) => new Pid(n, i, s, c)),
  fc.tuple(nodeArb, u32, fc.array(u32, { minLength: 1, maxLength: 5 })).map(([n, c, ids]) => new Ref(n, ids[0]!, c, ids)),
  fc.tuple(nodeArb, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), u32).map(([n, i, c]) => new Port(n, i, c)),
)
const { term } = fc.letrec<{ term: unknown }>(tie => ({
  term: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('term'), { maxLength: 6 }),
    fc.array(tie('term'), { maxLength: 6 }).map(a => Tuple.from(a)),
    fc.tuple(fc.array(tie('term'), { minLength: 1, maxLength: 3 }), leaf).map(([items, tail]) => new ImproperList(items, tail)),
    fc.array(fc.tuple(tie('term'), tie('term')), { maxLength: 4 }).map(kv => new Map(kv)),
  ),
}))

t.test('property: decode(encode(term)) is the term, and re-encodes to the same bytes', async t => {
  let n = 0
  fc.assert(
    fc.property(term, v => {
      n++
      const bytes = enc.encode(v)
      const back = dec.decode(bytes)
      return same(back, v) && enc.encode(back).equals(bytes)
    }),
    { numRuns: 2000, seed: 13 },
  )
  t.equal(n >= 2000, true, `${n} terms`)
  t.ok(atom('x') instanceof Atom)
})
