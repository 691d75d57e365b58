// node.stats(): what a running node shows about its connections (bytes and messages in and
// out, queued bytes, busy, up since), its processes, registered names and refusals — locally
// and, over the connection, for a peer (node.stats(peer), as `netkernel top` asks).
import t from 'tap'
import { full, inProcess, nextEvent, testEpmd, testNode } from './fixtures/cluster.js'
import type { Pid } from '../lib/terms/pid.js'
import type { ConnectionStats, NodeStats } from '../lib/node.js'

const conn = (s: NodeStats, peer: string): ConnectionStats => {
  const c = s.connections.find(x => x.peer === peer)
  if (c === undefined) throw new Error(`${s.node} shows no connection to ${peer}: ${JSON.stringify(s.connections)}`)
  return c
}

/**
 * Resolves once nothing is in flight between `a` and `b` (each side's count of messages sent
 * equals the other's count received, twice in a row): a new connection carries the nodes'
 * own unsolicited traffic first (the pg scopes' discover and sync), which the deltas below
 * must not include.
 */
async function settled(a: { stats(): NodeStats; name: string }, b: { stats(): NodeStats; name: string }): Promise<void> {
  let quiet = 0
  for (const end = Date.now() + 5000; quiet < 2;) {
    if (Date.now() > end) throw new Error(`traffic between ${a.name} and ${b.name} did not settle`)
    await new Promise(r => setTimeout(r, 10))
    const x = conn(a.stats(), b.name)
    const y = conn(b.stats(), a.name)
    quiet = x.messagesOut === y.messagesIn && y.messagesOut === x.messagesIn ? quiet + 1 : 0
  }
}

t.test('counters follow the traffic; both ends agree byte for byte', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo' })
  const before = Date.now()
  t.ok(await foo.connect(bar.name))
  const after = Date.now()

  const n = 200
  const size = 1000
  const sink = bar.spawn(async proc => {
    proc.register('sink')
    const [, from] = (await proc.receive()) as [string, Pid]
    for (let i = 0; i < n; i++) await proc.receive()
    proc.send(from, 'done')
    await proc.receive(m => m === 'stop')
  })
  await settled(foo, bar)
  const idle = { foo: conn(foo.stats(), bar.name), bar: conn(bar.stats(), foo.name) }

  await inProcess(foo, async proc => {
    proc.send(['sink', bar.name], ['from', proc.self])
    for (let i = 0; i < n; i++) proc.send(['sink', bar.name], 'x'.repeat(size))
    await proc.receive(m => m === 'done', { timeout: 10_000 })
  })
  // 'done' left bar after everything foo sent had arrived there: nothing is in flight.
  const f = conn(foo.stats(), bar.name)
  const b = conn(bar.stats(), foo.name)

  t.match(f, { peer: bar.name, type: 'visible', transport: 'tcp', protocol: 'netkernel', busy: false, queuedBytes: 0 })
  t.ok(f.upSince >= before && f.upSince <= after, 'upSince is when the connection came up')
  t.equal(f.messagesOut - idle.foo.messagesOut, n + 1, 'foo counted each message it sent')
  t.equal(b.messagesIn - idle.bar.messagesIn, n + 1, 'bar counted each message it received')
  t.ok(f.bytesOut - idle.foo.bytesOut > n * size, `foo's bytes out grew by more than the payload (${f.bytesOut - idle.foo.bytesOut})`)
  t.equal(b.messagesOut - idle.bar.messagesOut, 1, "bar sent one message: 'done'")
  t.equal(f.messagesIn - idle.foo.messagesIn, 1)
  t.equal(f.bytesOut, b.bytesIn, 'what foo wrote is what bar read')
  t.equal(b.bytesOut, f.bytesIn, 'what bar wrote is what foo read')
  t.equal(f.messagesOut, b.messagesIn, 'messages: foo → bar agree since the connection came up')
  t.equal(b.messagesOut, f.messagesIn, 'messages: bar → foo agree')
  bar.send(sink, 'stop')
})

t.test('a large message counts once, its fragments and acknowledgements in bytes only', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo' })
  bar.spawn(async proc => {
    proc.register('big')
    const [, from] = (await proc.receive()) as [Buffer, Pid]
    proc.send(from, 'got')
  })
  await foo.connect(bar.name)
  await settled(foo, bar)
  const f0 = conn(foo.stats(), bar.name)
  const b0 = conn(bar.stats(), foo.name)
  await inProcess(foo, async proc => {
    proc.send(['big', bar.name], [Buffer.alloc(1 << 20), proc.self])
    await proc.receive(m => m === 'got', { timeout: 10_000 })
  })
  const f = conn(foo.stats(), bar.name)
  const b = conn(bar.stats(), foo.name)
  t.equal(f.messagesOut - f0.messagesOut, 1)
  t.equal(b.messagesIn - b0.messagesIn, 1, 'the fragments became one message')
  t.ok(b.bytesIn - b0.bytesIn > 1 << 20)
  t.equal(f.bytesOut, b.bytesIn, 'fragment headers counted on both sides')
  t.equal(b.bytesOut, f.bytesIn, 'acknowledgements counted in bytes on both sides')
})

t.test('queued bytes and busy come from the outbox', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo', highWater: 256 * 1024 })
  // (bar must have finished its side of the handshake before a frame over 4 KB arrives)
  await Promise.all([foo.connect(bar.name), nextEvent(bar, 'nodeup')])
  t.notOk(foo.send(['nobody', bar.name], Buffer.alloc(1 << 20)), 'send reports busy')
  const c = conn(foo.stats(), bar.name)
  t.ok(c.queuedBytes >= 1 << 20, `queued ${c.queuedBytes} bytes`)
  t.equal(c.busy, true)
  await foo.drain(bar.name)
  t.equal(conn(foo.stats(), bar.name).busy, false, 'not busy once drained')
})

t.test("processes, registered names, refusals; a peer's stats over the connection", async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo' })
  const base = bar.stats()
  t.same(base.refused, {}, 'nothing refused')
  t.equal(base.node, bar.name)
  t.same(base.connections, [], 'no connection yet')
  // The node's own system processes (global_name_server) are there from the start.
  const sys = base.registered
  const names = (...extra: string[]): string[] => [...sys, ...extra].sort()
  const pids = [0, 1, 2].map(() =>
    bar.spawn(async proc => {
      await proc.receive(m => m === 'stop')
    }),
  )
  bar.register('alpha', pids[0] as Pid)
  bar.register('beta', pids[1] as Pid)
  const local = bar.stats()
  t.equal(local.processes, base.processes + 3)
  t.same(local.registered.sort(), names('alpha', 'beta'))

  const remote = await foo.stats(bar.name)
  t.equal(remote.node, bar.name, "the answer is bar's")
  t.equal(remote.processes, local.processes)
  t.same(remote.registered.sort(), names('alpha', 'beta'))
  t.same(remote.refused, {})
  t.ok(remote.at >= local.at)
  const seen = conn(remote, foo.name)
  t.equal(seen.type, 'visible')
  t.ok(seen.messagesIn >= 1, 'bar counted the stats request that it answered')
  t.notOk(
    bar.registered().some(n => !names('alpha', 'beta').includes(n)),
    'answering registers no process',
  )

  for (const p of pids) bar.send(p, 'stop')
  await new Promise(r => setTimeout(r, 20))
  t.equal(bar.stats().processes, base.processes, 'exited processes are no longer counted')
  t.same(bar.stats().registered.sort(), names(), 'their names are gone')
  t.equal((await foo.stats(foo.name)).node, foo.name, 'stats(own name) is the local snapshot')
})

t.test('stats(peer) of a node that cannot be reached rejects', async t => {
  const epmd = await testEpmd(t)
  const foo = await testNode(t, epmd, { name: 'foo' })
  await t.rejects(foo.stats(full('nobody')), { code: 'ERR_CONNECTION_CLOSED', message: /nobody/ })
  const ac = new AbortController()
  ac.abort()
  await t.rejects(foo.stats(full('nobody'), { signal: ac.signal }), { code: 'ERR_ABORTED' })
  await foo.stop()
  await t.rejects(foo.stats(full('nobody')), { code: 'ERR_NODE_STOPPED' })
})

t.test("policy.allowSignal decides who may read the stats (op 'stats'); a refusal is counted", async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, {
    name: 'bar',
    policy: { allowSignal: (from, op, _detail) => op !== 'stats' || from.startsWith('ops@') },
  })
  const foo = await testNode(t, epmd, { name: 'foo' })
  await t.rejects(foo.stats(bar.name), { code: 'ERR_SIGNAL_NOT_ALLOWED', message: /stats/ })
  t.same(bar.stats().refused, { [foo.name]: { stats: 1 } }, 'counted under its op')
  const ops = await testNode(t, epmd, { name: 'ops' })
  t.equal((await ops.stats(bar.name)).node, bar.name, 'an allowed peer reads them')
})
