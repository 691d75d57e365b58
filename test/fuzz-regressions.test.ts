// Inputs the fuzzer (npm run fuzz, docs/robustness.md) found, replayed through the same
// targets and oracle: each must now parse or be refused with a NetkernelError of a stable code.
import t from 'tap'
import { allTargets } from '../fuzz/targets/index.js'
import { describeError, isAccepted } from '../fuzz/target.js'

const targets = new Map(allTargets().map(x => [x.name, x]))
// (A target may hold processes, or process-wide handlers for what escapes: freed at the end.)
t.teardown(async () => {
  for (const x of targets.values()) await x.close?.()
})

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

// pg scope (pg-messages target), three ways a peer broke a scope's books:
// - a peer DOWN for a ref whose key collided with the scope's own monitor's (Ref.key put the
//   node first: a 3-word ref of pgfuzz@10.0.0 had the key of a 1-word ref of pgfuzz@10.0.0.1),
//   then a nodedown: the peer's members outlived its node;
// - a netkernel peer's plain array ['DOWN', Ref(local, 1), 'process', <local.1>, 'x'] taken as
//   the monitor's DOWN (local refs are sequential): a local member removed;
// - a peer joining the string 'nk_probe': the group kept the string, and our own later join
//   of nk_probe went out to every peer as a binary.
const PG_BOOKS: Array<[string, number]> = [
  [
    '836c0000000468027708646973636f76657258770d706565724031302e302e302e3200000047000000006553f101680277092467656e5f636173746803770473796e6358770d706565724031302e302e302e3200000047000000006553f1016c0000000168027701676c0000000158770d706565724031302e302e302e3200000065000000006553f1016a6a6804770a2466757a7a5f646f776e610077066e6f726d616c5a0002770d706766757a7a4031302e302e30000000070000000100000003770e2466757a7a5f6e6f6465646f776e6a',
    16,
  ],
  [
    '836c000000016c000000056d00000004444f574e5a0001770f706766757a7a4031302e302e302e3100000007000000016d0000000770726f6365737358770f706766757a7a4031302e302e302e310000000100000000000000076d00000001786a6a',
    52,
  ],
  [
    '836c0000000268027708646973636f76657258770d706565724031302e302e302e3200000047000000006553f101680477046a6f696e58770d706565724031302e302e302e3200000047000000006553f1016d000000086e6b5f70726f626558770d706565724031302e302e302e3200000065000000006553f1016a',
    20,
  ],
]

t.test('pg: forged DOWNs, colliding ref keys and string group names leave a scope’s books right', async t => {
  for (const [hex, variant] of PG_BOOKS) t.equal(await outcome('pg-messages', hex, variant), 'parsed', hex.slice(0, 40))
})

// The global name server (global-messages target):
// - an exchanged name held by a Port (#Port<peer@host.1>): termKey fell back to JSON.stringify,
//   which threw on the Port's bigint id inside an un-awaited resolve(): the unhandled rejection
//   ended the whole process;
// - a peer registering a name for our locker's pid, then claiming the name for a process of
//   a node nobody knows: resolving the conflict (random_exit) killed global's own locker.
t.test('global: a Port in an exchange, and a conflict over global’s own process, leave the server serving', async t => {
  t.equal(
    await outcome(
      'global-messages',
      '83680277092467656e5f636173746804770c696e69745f636f6e6e656374680261086e0801fffdffffffffff0777097065657240686f7374680477066c6f636b6572770f6e6f5f6c6f6e6765725f615f70696474000000005877097065657240686f73740000002900000000000000078368047710696e69745f636f6e6e6563745f61636b77097065657240686f737477092466757a7a5f7461676e0801fffdffffffffff0783680377092467656e5f63616c6c68025877097065657240686f745f6c6f636b68027706676c6f62616c6c00000002770c2466757a7a5f6c6f636b65725877097065657240686f73740000002900000000000000076a83680277092467656e5f63617374680577086c6f636b5f7365745877097065657240686f73740000002900000000000000077704747275656a77092466757a7a5f74616783680277092467656e5f636173746805770865786368616e676577097065657240686f73746c0000000168035977097065657240686f737400000001000000075877097065657240686f7374000000650000000000000007717706676c6f62616c771072616e646f6d5f657869745f6e616d6561036a6a77092466757a7a5f746167',
      9,
    ),
    'parsed',
  )
  t.equal(
    await outcome(
      'global-messages',
      '83680377092467656e5f63616c6c68025877097065657240686f73740000002a000000000000000768025a000377097065657240686f737400000007000000010000000100000002770a6c6f63616c40686f7374680277087365745f6c6f636b68027706676c6f62616c5877097065657240686f73740000002a000000000000000783680377092467656e5f63616c6c68025877097065657240686f73740000002a000000000000000768025a000377097065657240686f737400000007000000020000000100000002770a6c6f63616c40686f737468047708726567697374657277026c6b770c2466757a7a5f6c6f636b6572717706676c6f62616c771072616e646f6d5f657869745f6e616d65610383680377092467656e5f63616c6c68025877097065657240686f73740000002a000000000000000768025a000377097065657240686f737400000007000000030000000100000002770a6c6f63616c40686f73746802770864656c5f6c6f636b68027706676c6f62616c5877097065657240686f73740000002a000000000000000783680277092467656e5f636173746804770c696e69745f636f6e6e65637468026108610577097065657240686f7374680477066c6f636b6572770f6e6f5f6c6f6e6765725f615f70696474000000005877097065657240686f73740000002900000000000000078368047710696e69745f636f6e6e6563745f61636b77097065657240686f737477092466757a7a5f746167610583680377092467656e5f63616c6c68025877097065657240686f737400000029000000000000000768025a000377097065657240686f737400000007000000040000000100000002770a6c6f63616c40686f7374680277087365745f6c6f636b68027706676c6f62616c6c00000002770c2466757a7a5f6c6f636b65725877097065657240686f73740000002900000000000000076a83680277092467656e5f63617374680577086c6f636b5f7365745877097065657240686f73740000002900000000000000077704747275656a77092466757a7a5f74616783680277092467656e5f636173746805770865786368616e676577097065657240686f73746c00000001680377026c6b587703614078000000010000000000000001717706676c6f62616c771072616e646f6d5f657869745f6e616d6561036a6a77092466757a7a5f746167',
      9,
    ),
    'parsed',
  )
})
