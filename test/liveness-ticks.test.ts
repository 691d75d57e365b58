// Ticks over real sockets (issue 4): with tickTime T an idle connection stays up because
// ticks flow; a peer frozen with SIGSTOP (a separate OS process) is declared down with
// 'net_tick_timeout' within T ± 25% of the freeze (asserted with slack for a shared machine,
// but tight enough to fail if detection took twice as long).
import t from 'tap'
import type { Socket } from 'node:net'
import type { Connection } from '../lib/kernel/connection.js'
import { startPeer } from './fixtures/peers.js'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import { recordEvents, sleep, kernelOf } from './fixtures/mesh-helpers.js'

t.test('an idle connection stays up: ticks flow both ways', async t => {
  const T = 400
  const epmd = await testEpmd(t)
  // global: false: its meeting's messages would count as traffic on the idle connection.
  const a = await testNode(t, epmd, { name: 'idle_a', tickTime: T, global: false })
  const b = await testNode(t, epmd, { name: 'idle_b', tickTime: T, global: false })
  const logA = recordEvents(a),
    logB = recordEvents(b)
  t.equal(await a.connect(b.name), true)
  await sleep(50)
  const sock = (kernelOf(a).up.get(b.name) as Connection).conn.stream as Socket
  const r0 = sock.bytesRead,
    w0 = sock.bytesWritten
  await sleep(4 * T) // four tick times with no message at all
  t.same(logA.downs, [], 'a saw no nodedown')
  t.same(logB.downs, [], 'b saw no nodedown')
  t.same(a.nodes(), [b.name])
  t.same(b.nodes(), [a.name])
  // 4T of ticks every T/4 from each side: about 16 empty 4-byte frames each way.
  const read = sock.bytesRead - r0,
    written = sock.bytesWritten - w0
  t.ok(read >= 4 * 8 && read % 4 === 0, `ticks arrived from b (${read / 4} in 4T)`)
  t.ok(written >= 4 * 8 && written % 4 === 0, `ticks went to b (${written / 4} in 4T)`)
})

t.test('a peer frozen with SIGSTOP is declared down (net_tick_timeout) within T ± 25%', async t => {
  const T = 1000
  const epmd = await testEpmd(t)
  const peer = await startPeer(t, { name: 'sleepy', cookie: 'test-cookie', epmdPort: epmd.port, tickTime: T })
  const node = await testNode(t, epmd, { name: 'watcher', tickTime: T })
  t.equal(await node.connect(peer.name), true)
  await peer.waitFor(/^NODEUP .*watcher/)
  await sleep(T / 2) // ticks have flowed both ways
  t.same(node.nodes(), [peer.name])

  const down = nextEvent<[string, { reason: string }]>(node, 'nodedown', n => n === peer.name, 5 * T)
  let frozen = true
  peer.kill('SIGSTOP')
  const t0 = performance.now()
  try {
    const [, info] = await down
    const elapsed = performance.now() - t0
    t.equal(info.reason, 'net_tick_timeout', "reason 'net_tick_timeout'")
    // OTP's window is 0.75T..1.25T after the peer stopped; allow 0.1T of timer jitter below and
    // 0.35T above for a busy machine. Detection taking 2T, or 0.5T, fails.
    t.ok(
      elapsed >= 0.65 * T && elapsed <= 1.6 * T,
      `detected ${Math.round(elapsed)} ms after SIGSTOP (T = ${T} ms; expected 0.75T..1.25T, asserted 0.65T..1.6T)`,
    )
    t.same(node.nodes(), [], 'no longer connected')
    peer.kill('SIGCONT')
    frozen = false
    const line = await peer.waitFor(/^NODEDOWN .*watcher/, 10_000)
    t.match(JSON.parse(line.slice('NODEDOWN '.length)), { reason: 'connection_closed' }, 'thawed, the peer finds its connection closed')
    t.equal(await node.connect(peer.name), true, 'and the two connect again')
  } finally {
    if (frozen) peer.kill('SIGCONT')
  }
  await peer.stop()
})
