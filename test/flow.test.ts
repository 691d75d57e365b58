// Large messages and backpressure across nodes in separate OS processes: a large message is
// cut into 64 KB fragments so it does not hold up other process pairs, order per pair holds
// with large and small messages mixed, and a sender that outpaces the wire is told to wait
// (send() → false, drain()) instead of growing memory without bound — nothing is dropped.
import t from 'tap'
import { startPeer } from './fixtures/peers.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { CHUNK } from '../lib/kernel/outbox.js'
import { waitFor } from './fixtures/epmd-real.js'

t.test('large and small messages', async t => {
  const epmd = await testEpmd(t)
  const bar = await startPeer(t, { name: 'bar', cookie: 'test-cookie', epmdPort: epmd.port })
  const foo = await testNode(t, epmd, { name: 'foo' })

  await t.test('order per sender-receiver pair holds with 1 MB and small messages mixed', async t => {
    const sizes = [10, 1 << 20, 20, 3 * CHUNK + 1, 30, 1 << 20, 40, CHUNK, CHUNK + 10, 50]
    const seen = await inProcess(foo, async proc => {
      const collector = await proc.spawn(bar.name, 'flow', 'collect', [sizes.length, proc.self])
      sizes.forEach((n, i) => proc.send(collector, [i, Buffer.alloc(n, i)]))
      const [, s] = (await proc.receive(m => Array.isArray(m) && m[0] === 'collected', { timeout: 30_000 })) as [string, [number, number][]]
      return s
    })
    t.same(
      seen.map(([i]) => i),
      sizes.map((_, i) => i),
      'arrived in the order sent',
    )
    t.same(
      seen.map(([, n]) => n),
      sizes,
      'each payload arrived whole',
    )
  })

  await t.test('a stream of 1 MB messages does not hold up another pair on the same connection', async t => {
    const big = 8
    const result = await inProcess(foo, async proc => {
      const collector = await proc.spawn(bar.name, 'flow', 'collect', [big, proc.self])
      await proc.spawn(bar.name, 'flow', 'tap', ['small_sink', proc.self])
      await new Promise(r => setTimeout(r, 50))
      for (let i = 0; i < big; i++) proc.send(collector, [i, Buffer.alloc(1 << 20, i)])
      // Queued after 8 MB in the same turn, by another process (one process's signals leave in
      // the order it sent them): without fragments it would leave after all of it.
      foo.spawn(async other => void other.send(['small_sink', bar.name], 'small'))
      const first = await proc.receive(m => Array.isArray(m) && (m[0] === 'tapped' || m[0] === 'collected'), { timeout: 30_000 })
      const second = await proc.receive(m => Array.isArray(m) && (m[0] === 'tapped' || m[0] === 'collected'), { timeout: 30_000 })
      proc.send(['small_sink', bar.name], 'stop')
      return [first, second] as [unknown[], unknown[]]
    })
    t.equal(result[0][0], 'tapped', 'the small message of another process overtook the 8 MB stream')
    t.equal(result[1][0], 'collected', 'and the stream still arrived')
    t.equal((result[1][1] as unknown[]).length, big)
  })
})

t.test('backpressure: send reports busy, drain waits, nothing is dropped', async t => {
  const epmd = await testEpmd(t)
  const bar = await startPeer(t, { name: 'bar', cookie: 'test-cookie', epmdPort: epmd.port })
  const highWater = 256 * 1024
  const foo = await testNode(t, epmd, { name: 'foo', highWater })
  t.teardown(() => {
    bar.kill('SIGCONT')
  })
  const payload = 'x'.repeat(1000)
  const { sent, busyAfter, drained, seen, count, inOrder } = await inProcess(foo, async proc => {
    const collector = await proc.spawn(bar.name, 'flow', 'until_done', [proc.self])
    await new Promise(r => setTimeout(r, 50))
    bar.kill('SIGSTOP') // the receiver stops reading: the socket buffers fill up
    let i = 0
    let busyAfter = -1
    const deadline = Date.now() + 20_000
    while (busyAfter < 0 && Date.now() < deadline) {
      for (let k = 0; k < 100; k++) {
        if (!proc.send(collector, [i++, payload]) && busyAfter < 0) busyAfter = i
      }
      await new Promise(r => setImmediate(r))
    }
    let drained = false
    const wait = proc.drain(collector, { signal: AbortSignal.timeout(15_000) }).then(() => {
      drained = true
    })
    await new Promise(r => setTimeout(r, 300))
    const drainedWhileStopped = drained
    bar.kill('SIGCONT')
    await wait
    proc.send(collector, 'done')
    const [, count, inOrder] = (await proc.receive(m => Array.isArray(m) && m[0] === 'counted', { timeout: 30_000 })) as [
      string,
      number,
      number,
    ]
    return { sent: i, busyAfter, drained: drainedWhileStopped, seen: drained, count, inOrder }
  })
  t.ok(busyAfter > 0, `send returned false once the queue passed the high-water mark (after ${busyAfter} messages)`)
  t.notOk(drained, 'drain() waited while the receiver was stopped')
  t.ok(seen, 'drain() resolved once the receiver read again')
  t.ok(sent * 1000 < 64 * 1024 * 1024, 'the sender stopped long before memory ran away')
  t.equal(count, sent, 'every message sent arrived: none dropped')
  t.equal(inOrder, sent, 'in order')
})

t.test('drain() resolves when the queue passed the high-water mark before anything was written', async t => {
  // A loop that sends without yielding fills the outbox's batch past highWater within one
  // tick: drain() is then asked while nothing has reached the socket yet, and must still wake
  // once the socket has taken the batch and emptied again (it once waited forever here).
  const epmd = await testEpmd(t)
  const highWater = 256 * 1024
  const bar = await testNode(t, epmd, { name: 'bar_drain' })
  const foo = await testNode(t, epmd, { name: 'foo_drain', highWater })
  const size = 16 * 1024
  const n = 2000
  let got = 0
  const sink = bar.spawn(async proc => {
    for (;;) if (Buffer.isBuffer(await proc.receive())) got++
  })
  t.ok(await foo.connect(bar.name))
  const drains = await inProcess(foo, async proc => {
    const body = Buffer.alloc(size, 1)
    let drains = 0
    for (let i = 0; i < n; i++) {
      if (!proc.send(sink, body)) {
        drains++
        await proc.drain(sink, { signal: AbortSignal.timeout(10_000) })
      }
    }
    return drains
  })
  t.ok(drains > 10, `send() said busy and drain() resolved ${drains} times`)
  await waitFor(() => got === n, 10_000, `${n} messages`)
  t.pass(`all ${n} messages of ${size} bytes arrived`)
})
