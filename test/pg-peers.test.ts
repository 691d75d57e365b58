// node.pg across OS processes: two nodes in their own processes (test/fixtures/peer-main.ts)
// and one here. Their members are seen here, group send reaches each of them once (relayed
// by each peer's scope), and a peer killed with SIGKILL takes its members along.
import t from 'tap'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { startPeer } from './fixtures/peers.js'
import { waitFor } from './fixtures/epmd-real.js'
import type { Node } from '../lib/node.js'

/** Waits until the node's message counts in and out stay the same for 300 ms (ticks are not counted). */
async function quiet(node: Node): Promise<void> {
  const counts = (): string => JSON.stringify(node.stats().connections.map(c => [c.peer, c.messagesIn, c.messagesOut]))
  let last = counts()
  let since = Date.now()
  await waitFor(
    () => {
      const now = counts()
      if (now !== last) [last, since] = [now, Date.now()]
      return Date.now() - since >= 300
    },
    10_000,
    'no messages in or out for 300 ms',
  )
}

t.test('pg between OS processes', async t => {
  const epmd = await testEpmd(t)
  const here = await testNode(t, epmd, { name: `pgp${process.pid}` })
  const cfg = (name: string) => ({ name, cookie: 'test-cookie', epmdPort: epmd.port, listen: { host: '127.0.0.1' } })
  const [p1, p2] = await Promise.all([startPeer(t, cfg(`pgp1_${process.pid}`)), startPeer(t, cfg(`pgp2_${process.pid}`))])
  t.equal(await here.ping(p1.name), 'pong')
  t.equal(await here.ping(p2.name), 'pong')
  p1.command('pgjoin g 3')
  p2.command('pgjoin g 2')
  await Promise.all([p1.waitFor(/^PGJOINED g 3$/), p2.waitFor(/^PGJOINED g 2$/)])
  await waitFor(() => here.pg.members('g').length === 5, 10_000, 'five members from the two peers')
  t.same(
    here.pg
      .members('g')
      .map(p => p.node)
      .sort(),
    [p1.name, p1.name, p1.name, p2.name, p2.name].sort(),
  )
  // The peers meet each other too (global connects them, then syncs its names across all
  // three): counting one pg frame per peer needs those frames to have gone first. On a loaded
  // machine global may still send one later (a lock retried after a random back-off), so the
  // count is taken over up to five sends and the fewest frames a send cost each peer is what
  // is checked: other traffic only adds to it, and a frame per member would never give 1.
  await quiet(here)
  const got = (peer: typeof p1): unknown[] => peer.lines.filter(l => l.startsWith('PGGOT ')).map(l => JSON.parse(l.slice(6)))
  const fewest = new Map<string, number>()
  for (let k = 1; k <= 5; k++) {
    const before = here.stats().connections.map(c => [c.peer, c.messagesOut] as const)
    t.equal(here.pg.send('g', { hello: k }), 5)
    await waitFor(() => got(p1).length === 3 * k && got(p2).length === 2 * k, 10_000, 'each member printed what it got')
    const after = new Map(here.stats().connections.map(c => [c.peer, c.messagesOut]))
    for (const [peer, n] of before) fewest.set(peer, Math.min(fewest.get(peer) ?? Infinity, after.get(peer)! - n))
    if ([...fewest.values()].every(d => d === 1)) break
    await quiet(here)
  }
  const first = (peer: typeof p1): Array<{ member: number; msg: unknown }> =>
    (got(peer) as Array<{ member: number; msg: unknown }>).filter(g => JSON.stringify(g.msg) === '{"hello":1}')
  const members = (peer: typeof p1): number[] =>
    first(peer)
      .map(g => g.member)
      .sort()
  t.same(members(p1), [0, 1, 2], 'each of p1’s members once')
  t.same(members(p2), [0, 1], 'each of p2’s members once')
  t.ok(
    [...got(p1), ...got(p2)].every(g => /^\{"hello":[1-5]\}$/.test(JSON.stringify((g as { msg: unknown }).msg))),
    'the messages sent',
  )
  for (const [peer, n] of fewest) t.equal(n, 1, `one frame to ${peer}`)

  p1.kill('SIGKILL')
  await waitFor(() => here.pg.members('g').length === 2, 10_000, 'p1’s members gone')
  t.ok(
    here.pg.members('g').every(p => p.node === p2.name),
    'only p2’s members are left',
  )
})
