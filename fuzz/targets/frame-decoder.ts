// FrameDecoder (lib/terms/frame-decoder.ts): a peer's raw byte stream, cut into chunks, with
// the handshake's frame limit or the connection's.
import { FrameDecoder } from '../../lib/terms/frame-decoder.js'
import { MAX_HANDSHAKE_FRAME } from '../../lib/kernel/frames.js'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../../lib/kernel/limits.js'
import { chunks } from '../mutate.js'
import { frameStreams, handshakeStreams } from '../seeds.js'
import { InvariantViolation, type FuzzTarget } from '../target.js'

export const frameDecoder: FuzzTarget = {
  name: 'frame-decoder',
  seeds: () => [...frameStreams(), ...handshakeStreams().map(s => s.subarray(1))],
  run(input, variant) {
    const d = new FrameDecoder({ maxFrameSize: variant & 4 ? MAX_HANDSHAKE_FRAME : DEFAULT_MAX_MESSAGE_SIZE })
    let bytes = 0
    const onFrame = (body: Buffer): void => {
      bytes += 4 + body.length
    }
    let failure: unknown
    for (const c of chunks(input, variant)) {
      try {
        d.push(c, onFrame)
      } catch (err) {
        failure = err
        break
      }
    }
    if (failure === undefined) {
      if (bytes + d.pending !== input.length)
        throw new InvariantViolation(`frames (${bytes}) + pending (${d.pending}) != input (${input.length})`)
      return
    }
    // A failed decoder keeps failing with the same error.
    try {
      d.push(Buffer.alloc(1), onFrame)
    } catch (again) {
      if (again !== failure) throw new InvariantViolation('a failed decoder threw a different error')
      throw failure
    }
    throw new InvariantViolation('a failed decoder accepted more bytes')
  },
}
