// Erlang/OTP fragment reassembly (lib/kernel/otp/otp-fragments.ts): a stream of frames whose
// DIST_FRAG_HEADER / DIST_FRAG_CONT bodies go to three OtpReassemblies at once — one given each
// body whole (push), one each continuation as the socket may have split it, views of its
// pieces (pushParts; the first piece holds the 18-byte fragment header), and one each
// continuation taken over after its first bytes, the rest written into its view() in reads of
// varying size (takeover). Variant bit 0: a small bound (maxMessageSize 4 KiB) instead of
// 1 MiB; the other bits pick where bodies split.
//
// Oracle: refusals are NetkernelErrors, and the three ways agree — on every body, the same
// whole message or nothing, or the same error code; a joined message is never longer than the
// bytes pushed; a view never reaches past the fragment.
import { OtpReassembly, type Joined } from '../../lib/kernel/otp/otp-fragments.js'
import { CodecError, type NetkernelError } from '../../lib/errors.js'
import { bodiesOf } from '../seeds.js'
import { InvariantViolation, describeError, isAccepted, type FuzzTarget } from '../target.js'

const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeUInt32BE(n, 4)
  return b
}
const frame = (body: Buffer): Buffer => Buffer.concat([u64(body.length).subarray(4), body])
const header = (seq: number, frag: number, part: Buffer): Buffer =>
  Buffer.concat([Buffer.from([131, 69]), u64(seq), u64(frag), Buffer.from([0]), part])
const cont = (seq: number, frag: number, part: Buffer): Buffer => Buffer.concat([Buffer.from([131, 70]), u64(seq), u64(frag), part])

function seeds(): Buffer[] {
  const bytes = (n: number, k: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * k) % 251))
  return [
    // Two sequences interleaved, equal fragments but the last.
    Buffer.concat([
      frame(header(1, 3, bytes(300, 3))),
      frame(header(2, 2, bytes(200, 5))),
      frame(cont(1, 2, bytes(300, 7))),
      frame(cont(2, 1, bytes(20, 11))),
      frame(cont(1, 1, bytes(40, 13))),
    ]),
    // A first fragment smaller than the rest: the buffer grows.
    Buffer.concat([frame(header(9, 3, bytes(4, 1))), frame(cont(9, 2, bytes(2000, 2))), frame(cont(9, 1, bytes(3000, 3)))]),
    // One fragment only.
    frame(header(5, 1, bytes(50, 17))),
  ]
}

/** What one push gave: the joined bytes (and how many), nothing, or the error's code. */
function outcome(f: () => Joined | undefined): [string, number] {
  try {
    const j = f()
    return j === undefined ? ['-', 0] : [`ok ${j.offset} ${j.buf.toString('hex')}`, j.buf.length]
  } catch (err) {
    if (!isAccepted(err)) throw new InvariantViolation(`refused with ${describeError(err)}`, { cause: err })
    return [`error ${(err as NetkernelError).code}`, 0]
  }
}

const header0 = (buf: Buffer, offset: number): { refs: unknown; offset: number } => {
  if (offset >= buf.length) throw new CodecError('ERR_DECODE', 'fuzz: no atom-cache count')
  return { refs: buf[offset], offset: offset + 1 }
}

export const otpFragments: FuzzTarget = {
  name: 'otp-fragments',
  seeds,
  run(input, variant) {
    const max = variant & 1 ? 4096 : 1 << 20
    const whole = new OtpReassembly('fuzz@peer', max, header0)
    const split = new OtpReassembly('fuzz@peer', max, header0)
    const direct = new OtpReassembly('fuzz@peer', max, header0)
    let cut = variant >>> 1
    let pushed = 0
    for (const body of bodiesOf(input)) {
      if (body.length < 2 || body[0] !== 131 || (body[1] !== 69 && body[1] !== 70)) continue
      pushed += body.length
      const [a, joined] = outcome(() => whole.push(Buffer.from(body), true))
      let b: string
      let c: string
      if (body[1] === 70 && body.length >= 18) {
        const first = Math.min(body.length, 18 + (cut & 0x3ff))
        c = outcome(() => {
          const d = direct.takeover(Buffer.from(body.subarray(0, first)), body.length)
          if (d === undefined) throw new InvariantViolation('a continuation with its header was not taken')
          let at = first
          let step = (cut >>> 10) & 0xff
          while (at < body.length) {
            const v = d.view()
            if (v.length !== body.length - at) throw new InvariantViolation(`a view of ${v.length} bytes with ${body.length - at} to come`)
            const n = Math.min(v.length, 1 + (step & 0xfff))
            step = step * 7 + 13
            body.copy(v, 0, at, at + n)
            at += n
            if (d.landed(n) !== (at === body.length)) throw new InvariantViolation('landed() disagrees with the bytes read')
          }
          if (d.last !== (body.readBigUInt64BE(10) === 1n)) throw new InvariantViolation('last disagrees with the fragment id')
          return d.finish()
        })[0]
        // Views of copies of the pieces, as a socket's chunks: the first at least the header.
        const parts: Buffer[] = []
        let at = 0
        for (let first = true; at < body.length; first = false) {
          const len = Math.min(body.length - at, (first ? 18 : 1) + (cut & 0xff))
          cut = (cut >>> 3) | ((cut & 7) << 29)
          parts.push(Buffer.from(body.subarray(at, at + len)))
          at += len
        }
        b = outcome(() => split.pushParts(parts, body.length))[0]
      } else {
        b = outcome(() => split.push(Buffer.from(body), true))[0]
        c = outcome(() => direct.push(Buffer.from(body), true))[0]
      }
      if (a !== b) throw new InvariantViolation(`push gave ${a.slice(0, 80)}, pushParts ${b.slice(0, 80)}`)
      if (a !== c) throw new InvariantViolation(`push gave ${a.slice(0, 80)}, takeover ${c.slice(0, 80)}`)
      if (joined > pushed) throw new InvariantViolation(`joined ${joined} bytes out of ${pushed} pushed`)
      if (a.startsWith('error ')) return // the connection is dropped here
    }
  },
}
