// Dispatch of decoded control frames (lib/kernel/dispatch.ts) into a real runtime: frames that
// decode but carry garbage must be dropped (or refused with a NetkernelError), never crash.
// Inputs are frame bodies: captured control frames and fast-check control frames, encoded,
// then mutated; bodies that no longer decode are refused by the codec (CodecError). Spawn
// requests to the peer are kept waiting, so that forged SPAWN_REPLYs settle them: they must
// fail with a stable SpawnError.
import { createCodec } from '../../lib/terms/codec.js'
import { FRAGMENT_MARK } from '../../lib/kernel/fragments.js'
import type { Connection } from '../../lib/kernel/connection.js'
import { controlFrameArb, sample } from '../terms-arb.js'
import { corpusNames, distFrames } from '../seeds.js'
import { nodeHarness, type NodeHarness } from '../node-harness.js'
import type { FuzzTarget } from '../target.js'

const codec = createCodec()

export function dispatchTarget(): FuzzTarget {
  const names = corpusNames()
  const [peer, local, third] = [names[0] ?? 'a@h', names[1] ?? 'b@h', names[2] ?? 'c@h']
  let node: NodeHarness | undefined
  const conns = [peer, third].map(
    p => ({ peer: p, type: 'visible', send: () => true, write: () => true, nodesHeard: () => {} }) as unknown as Connection,
  )
  return {
    name: 'dispatch',
    seeds: () => [
      ...distFrames()
        .map(f => f.subarray(4))
        .filter(b => b.length > 0 && b[0] !== FRAGMENT_MARK),
      ...sample(controlFrameArb(local, peer, third), 600, 2).map(f => codec.encode(f)),
    ],
    run(input, variant) {
      node ??= nodeHarness(local)
      const frame = codec.decode(input)
      const conn = conns[variant & 1]!
      node.armSpawns(conn.peer)
      node.dispatch(conn, frame)
      return node.checkSpawns()
    },
    close() {
      node?.close()
      node = undefined
    },
  }
}
