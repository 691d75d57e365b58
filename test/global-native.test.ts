// node.global between netkernel nodes (native protocol): the same global server as toward
// OTP. A name registered on one node is seen on the others, at most once; it goes when its
// process exits or its node goes down; a healed partition with the name on both sides runs
// the resolve method; 100 registrations leave no state behind.
import t, { type Test } from 'tap'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'
import { Pid } from '../lib/terms/pid.js'
import { Atom, atom } from '../lib/terms/atom.js'
import { Tuple, tuple } from '../lib/terms/tuple.js'
import type { Node } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'

const idle = async (proc: Proc): Promise<void> => void (await proc.receive())

async function mesh(t: Test, names: string[]): Promise<Node[]> {
  const epmd = await testEpmd(t)
  const nodes: Node[] = []
  for (const n of names) nodes.push(await testNode(t, epmd, { name: `${n}${process.pid}` }))
  for (const n of nodes.slice(1)) t.equal(await nodes[0]!.ping(n.name), 'pong')
  await waitFor(() => nodes.every(n => n.nodes().length === nodes.length - 1), 10_000, 'full mesh')
  await Promise.all(nodes.map(n => n.global.sync({ timeout: 10_000 })))
  return nodes
}

t.test('register on one node, whereis on the others; removal on exit and nodedown', async t => {
  const [a, b, c] = await mesh(t, ['ga', 'gb', 'gc'])
  const pa = a!.spawn(idle)
  t.equal(await a!.global.register('svc', pa), true)
  for (const n of [a!, b!, c!]) t.same(n.global.whereis('svc'), pa, `${n.name} sees svc`)
  t.same(b!.global.registered(), ['svc'])

  // At most once: the name taken, other registrations on any node fail, concurrent ones too.
  const results = await Promise.all([b!.global.register('svc', b!.spawn(idle)), c!.global.register('svc', c!.spawn(idle))])
  t.same(results, [false, false], 'svc cannot be registered twice')
  const race = await Promise.all([b!.global.register('once', b!.spawn(idle)), c!.global.register('once', c!.spawn(idle))])
  t.same(race.filter(x => x).length, 1, 'of two concurrent registrations exactly one wins')
  const winner = b!.global.whereis('once')
  t.ok(winner instanceof Pid)
  t.same(c!.global.whereis('once'), winner)
  t.same(a!.global.whereis('once'), winner)

  // global send, from any node.
  const got = new Promise<unknown>(resolve => {
    const pid = c!.spawn(async proc => resolve(await proc.receive()))
    void c!.global.register('inbox', pid)
  })
  await waitFor(() => a!.global.whereis('inbox') !== undefined, 5000, 'inbox seen on a')
  t.same(a!.global.send('inbox', tuple(atom('hi'), 1)), c!.global.whereis('inbox'))
  t.same(await got, tuple(atom('hi'), 1), 'the message arrives')
  t.throws(() => a!.global.send('nobody', 1), { code: 'ERR_GLOBAL_NOT_REGISTERED' })

  // The process exits: every node forgets the name.
  a!.exit(pa, 'kill')
  await waitFor(() => [a!, b!, c!].every(n => n.global.whereis('svc') === undefined), 5000, 'svc gone everywhere')

  // unregister from another node than the owner's.
  const pb = b!.spawn(idle)
  t.equal(await b!.global.register('tmp', pb), true)
  await c!.global.unregister('tmp')
  for (const n of [a!, b!, c!]) t.equal(n.global.whereis('tmp'), undefined, `${n.name}: tmp unregistered`)

  // The node goes down: its names go on the others.
  const pc = c!.spawn(idle)
  t.equal(await c!.global.register('on_c', pc), true)
  t.same(a!.global.whereis('on_c'), pc)
  await c!.stop()
  await waitFor(() => a!.global.whereis('on_c') === undefined && b!.global.whereis('on_c') === undefined, 10_000, 'on_c gone')
  t.notOk(
    a!.global.registered().some(n => n === 'inbox'),
    'every name of the stopped node is gone',
  )
})

t.test('100 registrations and unregistrations leave no state behind', async t => {
  const [a, b] = await mesh(t, ['gl', 'gm'])
  const before = [a!.global.sizes(), b!.global.sizes()]
  const pids: Pid[] = []
  for (let i = 0; i < 100; i++) {
    const pid = (i % 2 === 0 ? a! : b!).spawn(idle)
    pids.push(pid)
    t.equal(await (i % 2 === 0 ? a! : b!).global.register(`n${i}`, pid), true)
    await (i % 3 === 0 ? b! : a!).global.unregister(`n${i}`)
  }
  await waitFor(() => a!.global.sizes().names === 0 && b!.global.sizes().names === 0, 5000, 'no names')
  t.same([a!.global.sizes(), b!.global.sizes()], before, 'tables and monitors back to their sizes')
  for (const p of pids) (a!.name === p.node ? a! : b!).exit(p, 'kill')
})

t.test('a healed partition with a name on both sides: the resolve method runs', async t => {
  const [a, b, c] = await mesh(t, ['gp', 'gq', 'gr'])
  // a drops c. As on BEAM nodes (prevent_overlapping_partitions), b, told by both that they
  // lost each other, disconnects both: three partitions. a and b then reconnect: {a, b} | {c}.
  a!.disconnect(c!.name)
  await waitFor(() => !a!.nodes().includes(c!.name) && !b!.nodes().includes(c!.name) && c!.nodes().length === 0, 10_000, 'c cut off')
  await waitFor(async () => (await a!.ping(b!.name)) === 'pong' && a!.nodes().includes(b!.name), 10_000, 'a and b together')
  await Promise.all([a!, b!].map(n => n.global.sync({ timeout: 10_000 })))

  const conflicts: unknown[] = []
  const watcher = (node: Node): Pid =>
    node.spawn(async proc => {
      for (;;) conflicts.push([node.name, await proc.receive()])
    })
  // Default random_exit: the process on the node whose name sorts last is killed.
  const x1 = a!.spawn(idle)
  const x2 = c!.spawn(idle)
  t.equal(await a!.global.register('dup', x1), true)
  t.equal(await c!.global.register('dup', x2), true, 'registered on the other side of the partition')
  // random_notify and notify_all, as OTP's random_notify_name and notify_all_name.
  const n1 = watcher(a!)
  const n2 = watcher(c!)
  t.equal(await a!.global.register('dupn', n1, { resolve: 'random_notify' }), true)
  t.equal(await c!.global.register('dupn', n2, { resolve: 'random_notify' }), true)
  const m1 = watcher(b!)
  const m2 = watcher(c!)
  t.equal(await b!.global.register('dupa', m1, { resolve: 'notify_all' }), true)
  t.equal(await c!.global.register('dupa', m2, { resolve: 'notify_all' }), true)

  t.equal(await a!.ping(c!.name), 'pong', 'heal')
  t.equal(await b!.ping(c!.name), 'pong')
  await waitFor(() => [a!, b!, c!].every(n => n.nodes().length === 2), 10_000, 'full mesh again')
  await Promise.all([a!, b!, c!].map(n => n.global.sync({ timeout: 10_000 })))
  await waitFor(
    () => [a!, b!, c!].every(n => n.global.whereis('dup') !== undefined && n.global.whereis('dupn') !== undefined),
    10_000,
    'resolved',
  )

  const [low, high] = a!.name < c!.name ? [x1, x2] : [x2, x1]
  for (const n of [a!, b!, c!]) t.same(n.global.whereis('dup'), low, `${n.name}: the process on the smaller node keeps dup`)
  const highNode = high.node === a!.name ? a! : c!
  await waitFor(() => !isAlive(highNode, high), 5000, 'the loser was killed')

  const [nlow, nhigh] = a!.name < c!.name ? [n1, n2] : [n2, n1]
  for (const n of [a!, b!, c!]) t.same(n.global.whereis('dupn'), nlow, 'random_notify: the smaller node keeps it')
  await waitFor(() => conflicts.some(c => isConflict(c, 'dupn', 2)), 5000, 'the loser is told')
  t.ok(isAlive(nhigh.node === a!.name ? a! : c!, nhigh), 'random_notify does not kill')

  await waitFor(() => conflicts.filter(c => isConflict(c, 'dupa', 3)).length === 2, 5000, 'both told')
  for (const n of [a!, b!, c!]) t.equal(n.global.whereis('dupa'), undefined, 'notify_all: neither keeps the name')
})

function isAlive(node: Node, pid: Pid): boolean {
  return (node as unknown as { runtime: { isAlive(p: Pid): boolean } }).runtime.isAlive(pid)
}

function isConflict(entry: unknown, name: string, size: number): boolean {
  const m = (entry as unknown[])[1]
  return m instanceof Tuple && m.length === size && m[0] instanceof Atom && m[0].name === 'global_name_conflict' && m[1] === atom(name)
}

t.test("connectAll: false meets no peer, as OTP's -connect_all false", async t => {
  // a reaches b and c; b and c are never dialled by anyone. With global's meeting, a would tell
  // each about the other and they would connect (the transitive mesh) — or, where they cannot
  // reach each other (nodes behind an SSH gateway), report the lost connection to a, which
  // then cut them off (prevent_overlapping_partitions).
  const epmd = await testEpmd(t)
  const [a, b, c] = await Promise.all(['gna', 'gnb', 'gnc'].map(n => testNode(t, epmd, { name: `${n}${process.pid}`, connectAll: false })))
  t.equal(await a!.ping(b!.name), 'pong')
  t.equal(await a!.ping(c!.name), 'pong')
  await new Promise(r => setTimeout(r, 1500)) // a meeting takes ~0.2 s
  t.same(a!.nodes().sort(), [b!.name, c!.name].sort(), 'a keeps both connections')
  t.same(b!.nodes(), [a!.name], 'b was not connected to c')
  t.same(c!.nodes(), [a!.name], 'c was not connected to b')
  const pa = a!.spawn(idle)
  t.equal(await a!.global.register('local-only', pa, { timeout: 5000 }), true, 'register works on the node itself')
  t.same(a!.global.whereis('local-only'), pa)
  t.equal(b!.global.whereis('local-only'), undefined, 'and the name stays there, as in OTP')
})
