// kill -9 of a peer OS process (issue 4): every other node sees nodedown, and every link,
// monitor and node monitor across it fires ('noconnection', ['nodedown', Node]).
import t from 'tap'
import type { Pid } from '../lib/terms/pid.js'
import type { Ref } from '../lib/terms/ref.js'
import { startPeer } from './fixtures/peers.js'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import { waitUntil, sorted } from './fixtures/mesh-helpers.js'

t.test('SIGKILL a peer: nodedown everywhere, links and monitors fire', async t => {
  const epmd = await testEpmd(t)
  const victim = await startPeer(t, { name: 'victim', cookie: 'test-cookie', epmdPort: epmd.port })
  const other = await startPeer(t, { name: 'other', cookie: 'test-cookie', epmdPort: epmd.port })
  const a = await testNode(t, epmd, { name: 'alpha' })
  const b = await testNode(t, epmd, { name: 'beta' })
  t.equal(await a.connect(victim.name), true)
  t.equal(await b.connect(victim.name), true)
  other.command(`connect ${victim.name}`)
  await other.waitFor(new RegExp(`^CONNECT ${victim.name} true`))
  // The mesh joins everybody: five nodes, each connected to the four others.
  await waitUntil(() => a.nodes().length === 3 && b.nodes().length === 3, 'alpha and beta see the other three')
  t.same(sorted(a.nodes()), sorted([b.name, victim.name, other.name]))

  // On alpha: a trapping process linked to a process on victim, a non-trapping one linked too,
  // and a node monitor. On beta: monitors by pid and by registered name.
  const got: Record<string, unknown[]> = { trap: [], plain: [], node: [], mon: [] }
  const ready: Promise<void>[] = []
  const start = (fn: (done: () => void) => void): void => void ready.push(new Promise<void>(r => fn(r)))
  let plainPid: Pid | undefined
  let remoteA: Pid | undefined, remoteB: Pid | undefined, refs: [Ref, Ref] | undefined
  start(done =>
    a.spawn(async proc => {
      proc.trapExit(true)
      remoteA = await proc.spawnLink(victim.name, 't', 'echo', [])
      done()
      for (;;) got.trap!.push(await proc.receive())
    }),
  )
  start(done => {
    plainPid = a.spawn(async proc => {
      await proc.spawnLink(victim.name, 't', 'echo', [])
      done()
      await proc.receive(m => m === 'never')
    })
  })
  start(done =>
    a.spawn(async proc => {
      proc.monitorNode(victim.name, true)
      done()
      for (;;) got.node!.push(await proc.receive())
    }),
  )
  start(done =>
    b.spawn(async proc => {
      remoteB = await proc.spawn(victim.name, 't', 'register_wait', ['target', proc.self])
      await proc.receive(m => Array.isArray(m) && m[0] === 'registered', { timeout: 10_000 })
      refs = [proc.monitor(remoteB), proc.monitor(['target', victim.name])]
      done()
      for (;;) got.mon!.push(await proc.receive())
    }),
  )
  await Promise.all(ready)
  let plainRef: Ref | undefined
  const watchPlain = new Promise<unknown>((resolve, reject) =>
    a.spawn(async proc => {
      plainRef = proc.monitor(plainPid!)
      await proc.receive(m => Array.isArray(m) && m[0] === 'DOWN', { timeout: 20_000 }).then(resolve, reject)
    }),
  )
  await new Promise(r => setTimeout(r, 100)) // the link and monitor frames have reached victim

  const downs = [a, b].map(n => nextEvent<[string, { reason: string }]>(n, 'nodedown', x => x === victim.name))
  victim.kill('SIGKILL')
  const [[, infoA], [, infoB]] = await Promise.all(downs)
  t.equal(infoA.reason, 'connection_closed', "alpha: nodedown 'connection_closed'")
  t.equal(infoB.reason, 'connection_closed', "beta: nodedown 'connection_closed'")
  const line = await other.waitFor(new RegExp(`^NODEDOWN .*${victim.name}`), 10_000)
  t.match(
    JSON.parse(line.slice('NODEDOWN '.length)),
    { node: victim.name, reason: 'connection_closed' },
    'the other peer process sees it too',
  )

  await waitUntil(() => got.trap!.length === 1 && got.node!.length === 1 && got.mon!.length === 2, 'every signal arrived', 5000)
  t.same(got.trap, [['EXIT', remoteA, 'noconnection']], "the trapping linked process: ['EXIT', Pid, 'noconnection']")
  t.same(
    await watchPlain,
    ['DOWN', plainRef, 'process', plainPid, 'noconnection'],
    "the non-trapping linked process died with 'noconnection'",
  )
  t.same(got.node, [['nodedown', victim.name]], "the node monitor: ['nodedown', victim]")
  const byRef = (r: Ref): unknown => got.mon!.find(m => Array.isArray(m) && r.equals(m[1]))
  t.same(byRef(refs![0]), ['DOWN', refs![0], 'process', remoteB, 'noconnection'], "beta's monitor by pid: DOWN 'noconnection'")
  t.same(
    byRef(refs![1]),
    ['DOWN', refs![1], 'process', ['target', victim.name], 'noconnection'],
    "beta's monitor by name: DOWN 'noconnection'",
  )
  t.same(sorted(a.nodes()), sorted([b.name, other.name]), 'the rest of the mesh stays')
  t.same(sorted(b.nodes()), sorted([a.name, other.name]))
})
