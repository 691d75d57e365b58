// Fragment reassembly (lib/kernel/fragments.ts): a stream of frames whose fragment bodies
// (0xc1, not acknowledgements) go to one Reassembly, with a small or the connection's bound.
import { ACK_FLAG, FRAGMENT_MARK, Reassembly, fragmentHeader, fragmentHeaderLength } from '../../lib/kernel/fragments.js'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../../lib/kernel/limits.js'
import { bodiesOf, distFrames } from '../seeds.js'
import { InvariantViolation, type FuzzTarget } from '../target.js'

function seeds(): Buffer[] {
  const captured = distFrames().filter(f => f[4] === FRAGMENT_MARK)
  const made: Buffer[] = []
  // Streams interleaved the way the outbox sends them: pieces of two ids, then the last ones.
  const piece = (id: number, bytes: Buffer, last: boolean, total?: number): Buffer =>
    Buffer.concat([fragmentHeader(id, bytes.length, last, total), bytes])
  made.push(
    Buffer.concat([
      piece(1, Buffer.from('abc'), false, 6),
      piece(2, Buffer.from('xyz'), false, 3),
      piece(1, Buffer.from('def'), true),
      piece(2, Buffer.alloc(0), true),
    ]),
  )
  made.push(piece(7, Buffer.from([0x93, 1, 2, 3]), true, 4))
  return [...captured, Buffer.concat(captured), ...made]
}

export const fragments: FuzzTarget = {
  name: 'fragments',
  seeds,
  run(input, variant) {
    const r = new Reassembly('fuzz@peer', variant & 1 ? 4096 : DEFAULT_MAX_MESSAGE_SIZE)
    let pushed = 0
    let joined = 0
    for (const body of bodiesOf(input)) {
      if (body.length === 0 || body[0] !== FRAGMENT_MARK || ((body[1] ?? 0) & ACK_FLAG) !== 0) continue
      pushed += Math.max(0, body.length - fragmentHeaderLength(body))
      const whole = r.push(body)
      if (whole !== undefined) {
        if (!Buffer.isBuffer(whole)) throw new InvariantViolation('reassembly returned a non-Buffer')
        joined += whole.length
        if (joined > pushed) throw new InvariantViolation(`joined ${joined} bytes out of ${pushed} pushed`)
      }
    }
  },
}
