// A connection's receive path (lib/kernel/connection.ts) end to end: FrameDecoder, ticks,
// fragment acknowledgements and reassembly, the codec, and dispatch into a real runtime, over
// a fake Conn fed in chunks (as 'data', or read into the buffers the connection picks). The
// connection catches whatever goes wrong and goes down with 'protocol_error': the error it
// goes down with must be a NetkernelError.
import { Connection } from '../../lib/kernel/connection.js'
import { FrameDecoder } from '../../lib/terms/frame-decoder.js'
import { createCodec, type Codec } from '../../lib/terms/codec.js'
import { chunks } from '../mutate.js'
import { fakeConn } from '../fake-conn.js'
import { corpusNames, frameStreams } from '../seeds.js'
import { idleClock, nodeHarness, type NodeHarness } from '../node-harness.js'
import { InvariantViolation, checkCause, isAccepted, describeError, type FuzzTarget } from '../target.js'
import { ALLOWED_CAUSES } from './terms.js'

export function connectionTarget(): FuzzTarget {
  const names = corpusNames()
  const [peer, local, third] = [names[0] ?? 'a@h', names[1] ?? 'b@h', names[2] ?? 'c@h']
  const codecs: Codec[] = [createCodec('netkernel'), createCodec('msgpack-lite')]
  let node: NodeHarness | undefined
  return {
    name: 'connection',
    seeds: frameStreams,
    run(input, variant) {
      node ??= nodeHarness(local)
      const harness = node
      let downError: Error | undefined
      const conn = fakeConn({ readInto: (variant & 32) !== 0 })
      const codec = codecs[(variant >>> 4) & 1]!
      const c = new Connection(
        variant & 8 ? third : peer,
        1,
        false,
        conn,
        new FrameDecoder(),
        codec,
        {
          onFrame: (connection, frame) => harness.dispatch(connection, frame),
          onDown: (_c, _reason, error) => {
            downError = error
          },
        },
        60_000,
        idleClock,
        {},
      )
      c.start([])
      for (const chunk of chunks(input, variant)) conn.feed(chunk)
      c.destroy('disconnect')
      if (downError !== undefined && !isAccepted(downError)) {
        throw new InvariantViolation(`the connection went down with ${describeError(downError)}`, { cause: downError })
      }
      checkCause(downError, ALLOWED_CAUSES[codec.name])
    },
    close() {
      node?.close()
      node = undefined
    },
  }
}
