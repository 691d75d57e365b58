// Inputs the fuzzer (npm run fuzz, docs/robustness.md) found, replayed through the same
// targets and oracle: each must now parse or be refused with a NetkernelError of a stable code.
import t from 'tap'
import { allTargets } from '../fuzz/targets/index.js'
import { describeError, isAccepted } from '../fuzz/target.js'

const targets = new Map(allTargets().map(x => [x.name, x]))

async function outcome(parser: string, hex: string, variant: number): Promise<string> {
  try {
    await targets.get(parser)!.run(Buffer.from(hex, 'hex'), variant)
    return 'parsed'
  } catch (err) {
    return isAccepted(err) ? 'refused' : `FINDING ${describeError(err)} (code ${String((err as { code?: unknown }).code)})`
  }
}

// A peer answering the hello with a status named after an Object.prototype property
// ('hasOwnProperty', 'constructor', '__proto__'): the refusal table lookup found the inherited
// member, and the handshake failed with a HandshakeError whose code was undefined.
const PROTOTYPE_STATUS = [
  // { t: 'status', s: 'hasOwnProperty', hidden: {} } to the initiator (found by the fuzzer)
  '010000002383a174a6737461747573a173ae6861734f776e50726f7065727479a668696464656e80',
  // { t: 'status', s: 'constructor', name: 'toString', creation: <32 bytes> } (found by the fuzzer)
  '010000005184a174a6737461747573a173ab636f6e7374727563746f72a46e616d65a8746f537472696e67a86372656174696f6ec4206ac0c420fc73d4bb1934f464b200d61ab81b9dc9755b6ef5d1bb95938933d4da',
  // { t: 'status', s: '__proto__' }
  '010000001682a174a6737461747573a173a95f5f70726f746f5f5f',
]

t.test('handshake: a refusal status named like an Object.prototype member is an ERR_HANDSHAKE', async t => {
  for (const hex of PROTOTYPE_STATUS) t.equal(await outcome('handshake', hex, 0), 'refused', hex)
})

// A SPAWN_REPLY refusing a waiting spawn request with a code of the peer's choosing that merely
// starts with ERR_SPAWN: the request failed with a SpawnError whose code is in no table.
// (Found while writing the dispatch target.) Body: [11, 1, false, { code: 'ERR_SPAWN_BOGUS', message: 'no' }]
t.test('dispatch: a spawn reply with an unknown ERR_SPAWN code fails the request with ERR_SPAWN_FAILED', async t => {
  t.equal(await outcome('dispatch', '940b01c282a4636f6465af4552525f535041574e5f424f475553a76d657373616765a26e6f', 0), 'parsed')
  t.equal(await outcome('dispatch', '940b01c282a4636f6465af4552525f535041574e5f424f475553a76d657373616765a26e6f', 1), 'parsed')
})
