// Robustness of the node table (issue 4): 200 rapid disconnect/reconnect cycles between two
// nodes, and 256 failed connects, leave no connection, pending attempt, socket, timer or
// listener behind, and never deadlock.
import t, { type Test } from 'tap'
import net from 'node:net'
import type { Node } from '../lib/node.js'
import { NETKERNEL_EXTRA } from '../lib/epmd/discovery.js'
import { registerNode } from '../lib/epmd/client.js'
import { testEpmd, testNode, full, inProcess } from './fixtures/cluster.js'
import { refusedPort } from './fixtures/ports.js'
import { waitUntil, kernelTables, activeResources, recordEvents, countingClock, kernelOf, partitionable } from './fixtures/mesh-helpers.js'

const listenerCounts = (n: Node): number[] => ['nodeup', 'nodedown', 'connectError'].map(e => n.listenerCount(e))

/** Wait until the process holds no more sockets and timers than `base` (sockets close asynchronously). */
async function backTo(base: Record<string, number>, what: string): Promise<Record<string, number>> {
  const keys = ['TCPSocketWrap', 'TCPWRAP', 'Timeout', 'TCPServerWrap', 'PipeWrap']
  const over = (): string[] => keys.filter(k => (activeResources()[k] ?? 0) > (base[k] ?? 0))
  await waitUntil(() => over().length === 0, `${what}: resources back to the baseline (over: ${over().join(', ')})`, 8000).catch(() => {})
  return activeResources()
}

function same(t: Test, now: Record<string, number>, base: Record<string, number>, what: string): void {
  for (const k of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
    t.ok((now[k] ?? 0) <= (base[k] ?? 0), `${what}: ${k} ${now[k] ?? 0} <= baseline ${base[k] ?? 0}`)
  }
}

t.test('200 rapid disconnect/reconnect cycles: no deadlock, nothing leaked', async t => {
  const epmd = await testEpmd(t)
  const clockA = countingClock(),
    clockB = countingClock()
  const a = await testNode(t, epmd, { name: 'churn_a', tickTime: 2000, clock: clockA })
  const b = await testNode(t, epmd, { name: 'churn_b', tickTime: 2000, clock: clockB })
  const listenersA = listenerCounts(a),
    listenersB = listenerCounts(b)
  const base = activeResources()
  const logA = recordEvents(a),
    logB = recordEvents(b)

  const cycles = 200
  let connected = 0,
    disconnected = 0
  for (let i = 0; i < cycles; i++) {
    // Alternate sides; the disconnecting side reconnects at once, before its peer may have
    // seen the close: the peer still holds the old connection and must give it up.
    const [x, y] = i % 2 === 0 ? [a, b] : [b, a]
    if (await x.connect(y.name)) connected++
    if (x.disconnect(y.name)) disconnected++
  }
  t.equal(connected, cycles, `connect() said true in all ${cycles} cycles`)
  t.equal(disconnected, cycles, `disconnect() said true in all ${cycles} cycles`)
  await waitUntil(() => a.nodes('connected').length === 0 && b.nodes('connected').length === 0, 'both sides let go of the last connection')
  t.equal(logA.ups.length, logA.downs.length, `a: as many nodedowns as nodeups (${logA.ups.length})`)
  t.equal(logB.ups.length, logB.downs.length, `b: as many nodedowns as nodeups (${logB.ups.length})`)
  t.ok(logA.ups.length >= cycles / 2 && logB.ups.length >= cycles / 2, 'each side saw its connections come up')
  logA.stop()
  logB.stop()

  t.match(kernelTables(a), { up: 0, pending: 0 }, 'a: node table empty')
  t.match(kernelTables(b), { up: 0, pending: 0 }, 'b: node table empty')
  t.equal(clockA.live, 0, 'a: no kernel timer left (setup deadlines, ticks)')
  t.equal(clockB.live, 0, 'b: no kernel timer left')
  t.same(listenerCounts(a), listenersA, 'a: no event listener left behind')
  t.same(listenerCounts(b), listenersB, 'b: no event listener left behind')
  same(t, await backTo(base, 'churn'), base, 'after 200 cycles')

  // And it still works.
  const reply = await inProcess(a, async proc => {
    const pid = await proc.spawn(b.name, 't', 'echo', [])
    proc.send(pid, ['still there?', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(reply, ['still there?', b.name], 'a message round trip after the churn')
})

t.test('256 failed connects leak nothing, each fails within the setup deadline', async t => {
  const epmd = await testEpmd(t)
  const setupTimeout = 1500
  const clock = countingClock()
  const node = await testNode(t, epmd, { name: 'hopeful', setupTimeout, clock })
  // A listener that accepts and never answers: only the setup deadline ends those attempts.
  const held = new Set<net.Socket>()
  const hole = net.createServer(s => {
    held.add(s)
    s.on('close', () => held.delete(s))
    s.on('error', () => {})
    s.resume()
  })
  await new Promise<void>(r => hole.listen(0, '127.0.0.1', r))
  t.teardown(
    () =>
      new Promise<void>(r => {
        for (const s of held) s.destroy()
        hole.close(() => r())
      }),
  )
  const holePort = (hole.address() as net.AddressInfo).port
  const closedPort = await refusedPort()
  const regs: { close(): void }[] = []
  for (let i = 0; i < 64; i++)
    regs.push(await registerNode({ host: '127.0.0.1', port: epmd.port, name: `hole${i}`, nodePort: holePort, extra: NETKERNEL_EXTRA }))
  for (let i = 0; i < 64; i++)
    regs.push(await registerNode({ host: '127.0.0.1', port: epmd.port, name: `refused${i}`, nodePort: closedPort, extra: NETKERNEL_EXTRA }))
  t.teardown(() => {
    for (const r of regs) r.close()
  })
  const listeners = listenerCounts(node)
  const base = activeResources()

  const timed = async (name: string): Promise<[boolean, number]> => {
    const t0 = performance.now()
    const ok = await node.connect(name)
    return [ok, performance.now() - t0]
  }
  // 128 names nobody registered (one after the other, half of them twice over), and 64
  // refused dials plus 64 silent listeners at once.
  const results: [boolean, number][] = []
  for (let i = 0; i < 64; i++) results.push(await timed(full(`nobody${i}`)), await timed(full(`nobody${i}`)))
  results.push(
    ...(await Promise.all([
      ...Array.from({ length: 64 }, (_, i) => timed(full(`refused${i}`))),
      ...Array.from({ length: 64 }, (_, i) => timed(full(`hole${i}`))),
    ])),
  )
  t.equal(results.length, 256)
  t.equal(results.filter(([ok]) => ok).length, 0, 'all 256 connects said false')
  const slowest = Math.max(...results.map(([, ms]) => ms))
  t.ok(
    slowest < setupTimeout + 1000,
    `each failed within the setup deadline of ${setupTimeout} ms (+ slack; slowest ${Math.round(slowest)} ms)`,
  )
  const holes = results.slice(192).map(([, ms]) => ms)
  t.ok(
    Math.min(...holes) >= setupTimeout * 0.9,
    `the silent ones were given the whole deadline (fastest ${Math.round(Math.min(...holes))} ms)`,
  )

  t.match(kernelTables(node), { up: 0, pending: 0 }, 'no connection and no pending attempt left')
  t.equal(clock.live, 0, 'no kernel timer left')
  t.same(listenerCounts(node), listeners, 'no event listener left behind')
  await waitUntil(() => held.size === 0, 'the silent listener saw every socket closed')
  same(t, await backTo(base, 'failed connects'), base, 'after 256 failed connects')
})

t.test('a peer that still holds a stale connection gives it up when the node dials again', async t => {
  const epmd = await testEpmd(t)
  const transport = partitionable()
  const a = await testNode(t, epmd, { name: 'stale_a', transport })
  const b = await testNode(t, epmd, { name: 'stale_b' })
  t.teardown(() => {
    for (const c of transport.leaked) c.destroy()
  })
  const logB = recordEvents(b)
  t.equal(await a.connect(b.name), true)
  await waitUntil(() => b.nodes().length === 1, 'b sees a')
  const oldOnB = kernelOf(b).up.get(a.name)

  // a loses the connection without b hearing of it (as when a's ticks timed out first).
  transport.partitioned = true
  t.equal(a.disconnect(b.name), true)
  transport.partitioned = false
  await new Promise(r => setTimeout(r, 100))
  t.same(b.nodes(), [a.name], 'b still believes it is connected to a')
  t.equal(kernelOf(b).up.get(a.name), oldOnB, 'over the old connection')

  const t0 = performance.now()
  t.equal(await a.connect(b.name), true, 'a connects again')
  t.ok(performance.now() - t0 < 1000, 'at once, not after a setup deadline')
  await waitUntil(() => logB.upsOf(a.name) === 2, 'b sees the new connection come up')
  t.same(
    logB.downsOf(a.name).map(e => e.info.reason),
    ['connection_closed'],
    "b dropped the stale connection: nodedown 'connection_closed'",
  )
  t.ok(logB.downs[0]!.at <= logB.ups[1]!.at, 'its nodedown came before the new nodeup')
  t.not(kernelOf(b).up.get(a.name), oldOnB, 'b now uses the new connection')
  const reply = await inProcess(a, async proc => {
    const pid = await proc.spawn(b.name, 't', 'echo', [])
    proc.send(pid, ['over the new one', proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.same(reply, ['over the new one', b.name], 'messages flow over the new connection')
})
