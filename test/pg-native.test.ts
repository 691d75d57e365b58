// node.pg between three netkernel nodes (native protocol): joins seen everywhere, a process
// joined twice listed twice, leave, local members, separate scopes, membership dropped when a
// member exits and when its node goes down, monitor events for each of these, and a
// partition (disconnect) healed by reconnecting.
import t from 'tap'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import type { PgEvent } from '../lib/pg/process-groups.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'

/** A process that waits until it is killed. */
const idle = (node: Node): Pid => node.spawn(async proc => void (await proc.receive()))
const keys = (pids: Pid[]): string[] => pids.map(p => p.key).sort()

t.test('pg across three netkernel nodes', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: `pga${process.pid}` })
  const b = await testNode(t, epmd, { name: `pgb${process.pid}` })
  const c = await testNode(t, epmd, { name: `pgc${process.pid}` })
  t.equal(await a.ping(b.name), 'pong')
  t.equal(await a.ping(c.name), 'pong')
  t.equal(await b.ping(c.name), 'pong')
  const nodes = [a, b, c]

  // A monitor of the group on a, started before anything joined.
  const mon = a.pg.monitor('g')
  t.same(mon.members, [], 'the group starts empty')
  const events: PgEvent[] = []
  const reading = (async () => {
    for await (const e of mon) events.push(e)
  })()

  const pa = idle(a)
  const pb = idle(b)
  const pc = idle(c)
  t.equal(a.pg.join('g', pa), 'ok')
  b.pg.join('g', pb)
  c.pg.join('g', [pc, pc])
  const all = keys([pa, pb, pc, pc])
  await waitFor(() => nodes.every(n => n.pg.members('g').length === 4), 10_000, 'four memberships on every node')
  for (const n of nodes) t.same(keys(n.pg.members('g')), all, `${n.name} sees every member, pc twice`)
  t.same(keys(c.pg.localMembers('g')), keys([pc, pc]), 'localMembers: c’s own, twice')
  t.same(a.pg.localMembers('g'), [pa])
  t.same(a.pg.whichGroups(), ['g'])

  await t.test('leave takes one membership; not_joined when there is none', async t => {
    t.equal(c.pg.leave('g', pc), 'ok')
    await waitFor(() => nodes.every(n => n.pg.members('g').length === 3), 10_000, 'three memberships')
    t.same(keys(b.pg.members('g')), keys([pa, pb, pc]))
    t.throws(() => b.pg.leave('g', pa), { code: 'ERR_BAD_ARGUMENT' }, 'b cannot leave for a process of a')
    t.equal(b.pg.leave('nope', pb), 'not_joined')
    t.equal(b.pg.leave('g', pb, { scope: 'nowhere' }), 'not_joined')
  })
  t.throws(() => b.pg.join('g', pa), { code: 'ERR_BAD_ARGUMENT' }, 'only local processes join')

  await t.test('scopes are separate', async t => {
    const p2 = idle(a)
    a.pg.join('g', p2, { scope: 'chat' })
    t.same(a.pg.members('g', { scope: 'chat' }), [p2])
    t.same(b.pg.members('g', { scope: 'chat' }), [], 'b runs no chat scope')
    b.pg.startScope('chat')
    await waitFor(() => b.pg.members('g', { scope: 'chat' }).length === 1, 10_000, 'b learns the chat scope')
    t.same(b.pg.members('g', { scope: 'chat' }), [p2])
    t.notOk(
      a.pg.members('g').some(p => p.equals(p2)),
      'the default scope does not list it',
    )
  })

  await t.test('a member that exits leaves, on every node', async t => {
    b.exit(pb, 'kill')
    await waitFor(() => nodes.every(n => !n.pg.members('g').some(p => p.equals(pb))), 10_000, 'pb gone')
    t.same(keys(c.pg.members('g')), keys([pa, pc]))
  })

  await t.test('a node that goes down takes its members along', async t => {
    await c.stop()
    await waitFor(() => [a, b].every(n => n.pg.members('g').length === 1), 10_000, 'c’s members gone')
    t.same(a.pg.members('g'), [pa])
    t.same(b.pg.members('g'), [pa])
  })

  await t.test('the monitor saw every change, in order', async t => {
    await waitFor(() => events.length >= 6, 5000, 'six events')
    mon.stop()
    await reading
    const seen = events.map(e => `${e.type} ${String(e.group)} ${e.pids.length}`)
    t.same(seen.slice(0, 3).sort(), ['join g 1', 'join g 1', 'join g 2'], 'three joins (pc’s two at once)')
    t.same(seen.slice(3), ['leave g 1', 'leave g 1', 'leave g 1'], 'c’s leave, pb’s exit, c down')
    t.ok(events[5].pids[0].equals(pc), 'the last leave is c’s member')
  })

  await t.test('a message that is not pg’s is dropped and counted; the scope keeps serving', async t => {
    const before = a.pg.dropped
    b.send(['pg', a.name], tuple(atom('join'), pb, 'g', [pb, 'x']))
    b.send(['pg', a.name], 'hello')
    await waitFor(() => a.pg.dropped >= before + 2, 5000, 'two drops')
    t.same(a.pg.members('g'), [pa])
    const px = idle(b)
    b.pg.join('h', px)
    await waitFor(() => a.pg.members('h').length === 1, 5000, 'a still learns joins')
  })

  await t.test('a partition drops the other side’s members; reconnecting restores them', async t => {
    const pb2 = idle(b)
    b.pg.join('g', pb2)
    await waitFor(() => a.pg.members('g').length === 2, 5000, 'a sees pb2')
    t.ok(a.disconnect(b.name))
    await waitFor(() => a.pg.members('g').length === 1 && b.pg.members('g').length === 1, 5000, 'each side keeps only its own')
    t.same(a.pg.members('g'), [pa])
    t.same(b.pg.members('g'), [pb2])
    t.same(a.nodes('connected'), [], 'the scopes did not dial each other again')
    t.equal(await a.ping(b.name), 'pong')
    await waitFor(() => a.pg.members('g').length === 2 && b.pg.members('g').length === 2, 5000, 'whole again')
    t.same(keys(a.pg.members('g')), keys([pa, pb2]))
    t.same(keys(b.pg.members('g')), keys([pa, pb2]))
  })
})
