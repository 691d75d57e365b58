// Group send between netkernel nodes: node.pg.send reaches every member exactly once, with one
// message per remote node (the peer's scope hands it to its members there), counted by the
// connection's messagesOut; relay: false sends one message per member instead.
import t from 'tap'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'

const sentTo = (from: Node, peer: string): number => from.stats().connections.find(c => c.peer === peer)?.messagesOut ?? -1

t.test('group send: every member once, one frame per remote node', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: `pgsa${process.pid}` })
  const b = await testNode(t, epmd, { name: `pgsb${process.pid}` })
  const c = await testNode(t, epmd, { name: `pgsc${process.pid}` })
  t.equal(await a.ping(b.name), 'pong')
  t.equal(await a.ping(c.name), 'pong')

  const received = new Map<string, unknown[]>()
  const member = (n: Node): Pid => {
    const pid = n.spawn(async proc => {
      for (;;) {
        const m: unknown = await proc.receive()
        received.get(proc.self.key)!.push(m)
      }
    })
    received.set(pid.key, [])
    return pid
  }
  const counts: Array<[Node, number]> = [
    [a, 5],
    [b, 40],
    [c, 60],
  ]
  for (const [n, k] of counts)
    n.pg.join(
      'g',
      Array.from({ length: k }, () => member(n)),
    )
  await waitFor(() => a.pg.members('g').length === 105, 10_000, 'a knows the 105 members')
  // pg's own traffic (discover, sync, joins) is over once a knows every member and they know a.
  await waitFor(() => b.pg.members('g').length === 105 && c.pg.members('g').length === 105, 10_000, 'b and c know them')

  await t.test('relayed: one message to each remote node', async t => {
    const before = [sentTo(a, b.name), sentTo(a, c.name)]
    t.equal(a.pg.send('g', { n: 1 }), 105, 'counted once per member')
    t.same([sentTo(a, b.name) - before[0], sentTo(a, c.name) - before[1]], [1, 1], 'one frame to b, one to c')
    await waitFor(() => [...received.values()].every(r => r.length === 1), 10_000, 'every member got it')
    t.ok(
      [...received.values()].every(r => (r[0] as { n: number }).n === 1),
      'each exactly once, the message sent',
    )
  })

  await t.test('relay: false sends to each member', async t => {
    const before = [sentTo(a, b.name), sentTo(a, c.name)]
    t.equal(a.pg.send('g', { n: 2 }, { relay: false }), 105)
    t.same([sentTo(a, b.name) - before[0], sentTo(a, c.name) - before[1]], [40, 60], 'one frame per member')
    await waitFor(() => [...received.values()].every(r => r.length === 2), 10_000, 'every member got it')
  })

  await t.test('a relay reaches the members the peer knows; an unknown group or scope sends nothing', async t => {
    t.equal(a.pg.send('nobody', 'x'), 0)
    t.equal(a.pg.send('g', 'x', { scope: 'none' }), 0)
    const [first] = b.pg.localMembers('g')
    t.equal(b.pg.leave('g', first), 'ok')
    await waitFor(() => a.pg.members('g').length === 104, 10_000, 'a sees the leave')
    t.equal(a.pg.send('g', { n: 3 }), 104)
    await waitFor(() => [...received.values()].filter(r => r.length === 3).length === 104, 10_000, '104 members got it')
    t.equal(received.get(first.key)!.length, 2, 'not the member that left')
  })
})
