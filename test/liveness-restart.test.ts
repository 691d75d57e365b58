// A node that comes back under the same name (issue 4): it gets a new creation from the port
// mapper; messages to pids of its old incarnation are dropped (even when a new process has
// the same id), and links and monitors to old pids get 'noproc'. A peer that still holds a
// connection to the old incarnation drops it (nodedown, 'noconnection' to links and
// monitors) when the new one connects.
import t, { type Test } from 'tap'
import { isDeepStrictEqual } from 'node:util'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import type { EpmdDaemon } from '../lib/epmd/daemon.js'
import { testEpmd, testNode, inProcess, nextEvent } from './fixtures/cluster.js'
import { recordEvents, waitUntil, partitionable, kernelTables } from './fixtures/mesh-helpers.js'

/** A process that forwards every message it gets to `report` on the test's side. */
function recorder(node: Node, got: unknown[]): Pid {
  return node.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
}

async function restart(t: Test, epmd: EpmdDaemon, name: string): Promise<Node> {
  // The port mapper frees the name when the old registration's connection closes.
  await waitUntil(() => !epmd.names().some(n => n.name === name), `${name} unregistered`, 5000)
  return testNode(t, epmd, { name })
}

t.test('graceful restart: new creation, old pids dropped, links and monitors to them noproc', async t => {
  const epmd = await testEpmd(t)
  const keeper = await testNode(t, epmd, { name: 'keeper' })
  const old = await testNode(t, epmd, { name: 'phoenix' })
  const oldGot: unknown[] = []
  const oldPid = recorder(old, oldGot) // the first process of the old incarnation
  t.equal(await keeper.connect(old.name), true)
  keeper.send(oldPid, 'hello, old one')
  await waitUntil(() => oldGot.length === 1, 'the old incarnation got a message')

  const down = nextEvent(keeper, 'nodedown', n => n === old.name)
  await old.stop()
  await down
  const reborn = await restart(t, epmd, 'phoenix')
  t.equal(reborn.name, old.name, 'same name')
  t.not(reborn.creation, old.creation, `a new creation (${old.creation} → ${reborn.creation})`)
  const newGot: unknown[] = []
  const newPid = recorder(reborn, newGot)
  t.equal(newPid.id, oldPid.id, "the new incarnation has a process with the old pid's id")
  t.equal(newPid.serial, oldPid.serial, 'and serial')
  t.notOk(newPid.equals(oldPid), 'but it is another pid (the creation differs)')

  const seen = await inProcess(keeper, async proc => {
    proc.trapExit(true)
    proc.send(oldPid, 'for the old one') // first: connects to the new incarnation
    proc.send(newPid, 'for the new one')
    proc.link(oldPid)
    const mon = proc.monitor(oldPid)
    const exit = await proc.receive(m => Array.isArray(m) && m[0] === 'EXIT', { timeout: 5000 })
    const dn = await proc.receive(m => Array.isArray(m) && m[0] === 'DOWN', { timeout: 5000 })
    return { exit, dn, mon }
  })
  await waitUntil(() => newGot.length >= 1, 'the new process got its message')
  t.same(newGot, ['for the new one'], 'the message to the old pid was dropped; the one to the new pid arrived')
  t.same(seen.exit, ['EXIT', oldPid, 'noproc'], "link to an old pid: EXIT 'noproc'")
  t.same(seen.dn, ['DOWN', seen.mon, 'process', oldPid, 'noproc'], "monitor of an old pid: DOWN 'noproc'")
  t.same(keeper.nodes(), [reborn.name], 'keeper is connected to the new incarnation')
  t.same(oldGot, ['hello, old one'], 'nothing more reached the old incarnation')
})

t.test('restart while the peer still holds the old connection: it is dropped for the new one', async t => {
  const epmd = await testEpmd(t)
  const keeper = await testNode(t, epmd, { name: 'keeper' })
  const transport = partitionable()
  t.teardown(() => {
    for (const c of transport.leaked) c.destroy()
  })
  const old = await testNode(t, epmd, { name: 'phoenix', transport })
  const oldPid = old.spawn(async proc => {
    await proc.receive(m => m === 'never')
  })
  old.register('svc', oldPid)
  t.equal(await old.connect(keeper.name), true, 'the old incarnation dials keeper')
  await waitUntil(() => keeper.nodes().length === 1, 'keeper sees it')

  // keeper: a trapping process linked to the old pid, with a monitor by pid and by name.
  const watcherGot: unknown[] = []
  const watcher = keeper.spawn(async proc => {
    proc.trapExit(true)
    proc.link(oldPid)
    watcherGot.push(['mons', proc.monitor(oldPid), proc.monitor(['svc', old.name])])
    for (;;) watcherGot.push(await proc.receive())
  })
  t.ok(watcher)
  await new Promise(r => setTimeout(r, 100)) // let the link and monitors reach the old node
  const log = recordEvents(keeper)

  // The old incarnation vanishes without keeper hearing of it (its FIN is lost).
  transport.partitioned = true
  await old.stop()
  t.same(keeper.nodes(), [old.name], 'keeper still believes the old incarnation is connected')
  // Stopping killed oldPid, whose link exit had nowhere to go: the stopped node keeps nothing.
  t.match(kernelTables(old), { up: 0, pending: 0 }, 'the stopped node holds no connection or attempt')
  const reborn = await restart(t, epmd, 'phoenix')
  t.not(reborn.creation, old.creation, 'a new creation')
  t.equal(await reborn.connect(keeper.name), true, 'the new incarnation connects to keeper')
  await waitUntil(() => log.ups.length === 1, 'keeper sees the new incarnation come up')
  t.same(
    log.downs.map(e => [e.node, e.info.reason]),
    [[old.name, 'connection_closed']],
    'keeper dropped the old connection first',
  )
  t.ok(log.downs[0]!.at <= log.ups[0]!.at, 'nodedown before nodeup')
  await waitUntil(() => watcherGot.length === 4, 'the watcher got three signals')
  const [, ref1, ref2] = watcherGot[0] as [string, unknown, unknown]
  const signals = watcherGot.slice(1)
  t.equal(signals.length, 3, 'exactly three signals')
  for (const expected of [
    ['EXIT', oldPid, 'noconnection'],
    ['DOWN', ref1, 'process', oldPid, 'noconnection'],
    ['DOWN', ref2, 'process', ['svc', old.name], 'noconnection'],
  ])
    t.ok(
      signals.some(s => isDeepStrictEqual(s, expected)),
      `got ${String(expected[0])} ${String(expected.at(-1))} for ${expected.length === 3 ? 'the link' : 'a monitor'}`,
    )
})
