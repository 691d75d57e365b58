// PathEstimate (lib/kernel/path-estimate.ts): round trips and delivery rates from fragment
// acknowledgements, on a clock the test moves.
import t from 'tap'
import { PathEstimate } from '../lib/kernel/path-estimate.js'

function estimate() {
  const clock = { time: 0 }
  return { clock, path: new PathEstimate(() => clock.time) }
}

t.test('nothing measured: no round trip, no bandwidth-delay product', async t => {
  const { path } = estimate()
  t.equal(path.minRtt, Infinity)
  t.equal(path.bdp, 0)
  path.sent(1000)
  t.equal(path.bdp, 0, 'a piece in flight is not a sample')
})

t.test('a path of 10 ms at 100 bytes/ms, kept full: bdp = 1,000 bytes', async t => {
  const { clock, path } = estimate()
  // 10 bytes every 0.1 ms, each acknowledged 10 ms after it was written.
  const pending: { at: number; bytes: number }[] = []
  for (let i = 0; i < 1000; i++) {
    clock.time = i / 10
    path.sent(10)
    pending.push({ at: clock.time + 10, bytes: 10 })
    while (pending.length > 0 && pending[0]!.at <= clock.time) path.ack(pending.shift()!.bytes)
  }
  t.equal(Math.round(path.minRtt), 10, 'round trip 10 ms')
  t.ok(Math.abs(path.bdp - 1000) <= 20, `bdp ${path.bdp.toFixed(0)} ≈ 1,000`)
})

t.test('the smallest round trip and the largest rate count; rates age out, the round trip does not', async t => {
  const { clock, path } = estimate()
  path.sent(100)
  clock.time = 5
  path.ack(100) // 5 ms, 20 bytes/ms
  path.sent(100)
  clock.time = 25
  path.ack(100) // 20 ms, 5 bytes/ms
  t.equal(path.minRtt, 5, 'the smallest round trip')
  t.equal(path.bdp, 100, 'the largest rate (20/ms) × the smallest round trip (5 ms)')
  // A rate sample counts for one to two seconds.
  clock.time = 2100
  t.equal(path.bdp, 0, 'no rate sample left after two rate periods')
  // Round trips measured behind a full window are longer than the path's: they never replace
  // the smallest, however long the stream.
  for (let i = 0; i < 100; i++) {
    path.sent(100)
    clock.time += 1000
    path.ack(100)
  }
  t.equal(path.minRtt, 5, 'the smallest round trip stays')
  t.equal(path.bdp, 0.1 * 5, 'the rate is the recent one: 100 bytes a second')
})

t.test('an acknowledgement of more than was written counts only what was', async t => {
  const { clock, path } = estimate()
  path.sent(100)
  clock.time = 10
  path.ack(1_000_000)
  t.equal(path.bdp, 100, 'rate 10 bytes/ms over 10 ms')
})

/**
 * A window of `window` bytes kept full over a path of `rtt` ms (propagation) through a
 * bottleneck of `rate` bytes/ms, in steps of 0.5 ms, for `ms`: pieces of 1,000 bytes. Then
 * what is in flight is acknowledged; `queueMs`: the bottleneck's queue at `ms`.
 */
function throughBottleneck(path: PathEstimate, clock: { time: number }, window: number, rtt: number, rate: number, ms: number) {
  let inflight = 0
  let queue = 0
  const acks: { at: number; bytes: number }[] = []
  const end = clock.time + ms
  let queueMs = 0
  // (then no more pieces, until all in flight was acknowledged)
  for (; clock.time < end || inflight > 0; clock.time += 0.5) {
    if (clock.time >= end && queueMs === 0) queueMs = queue / rate
    while (clock.time < end && inflight + 1000 <= window) {
      path.sent(1000)
      inflight += 1000
      queue += 1000
    }
    const out = Math.min(queue, rate * 0.5)
    queue -= out
    if (out > 0) acks.push({ at: clock.time + rtt, bytes: out })
    while (acks.length > 0 && acks[0]!.at <= clock.time) {
      const a = acks.shift()!
      path.ack(a.bytes)
      inflight -= a.bytes
    }
  }
  return { queueMs }
}

t.test('a window below what the path holds: no standing queue, still filling, recentBdp ≈ the window', async t => {
  const { clock, path } = estimate()
  // 20 ms at 1,000 bytes/ms holds 20,000 bytes; 10,000 in flight.
  throughBottleneck(path, clock, 10_000, 20, 1000, 200)
  t.ok(path.standingQueue < 1, `standing queue ${path.standingQueue.toFixed(2)} ms`)
  t.notOk(path.filled, 'not filled')
  t.ok(Math.abs(path.recentBdp - 10_000) <= 1000, `recentBdp ${path.recentBdp.toFixed(0)} ≈ 10,000`)
})

t.test('a window over what the path holds: a standing queue, filled, and recentBdp is what the path holds', async t => {
  const { clock, path } = estimate()
  // 20 ms at 1,000 bytes/ms holds 20,000 bytes; 40,000 in flight: 20,000 wait at the bottleneck (20 ms).
  const { queueMs } = throughBottleneck(path, clock, 40_000, 20, 1000, 400)
  t.ok(
    Math.abs(path.standingQueue - queueMs) <= 2,
    `standing queue ${path.standingQueue.toFixed(1)} ms ≈ the bottleneck's ${queueMs.toFixed(1)}`,
  )
  t.ok(path.filled, 'filled')
  t.ok(Math.abs(path.recentBdp - 20_000) <= 2000, `recentBdp ${path.recentBdp.toFixed(0)} ≈ 20,000, not the 40,000 in flight`)
  t.ok(path.bdp >= 19_000, 'the rate over 1–2 s agrees')
})

t.test('the recent estimate lapses after two round trips without samples: the path is filling again', async t => {
  const { clock, path } = estimate()
  throughBottleneck(path, clock, 40_000, 20, 1000, 400)
  t.ok(path.filled, 'filled')
  clock.time += 2 * path.minRtt
  t.equal(path.recentBdp, 0, 'nothing recent')
  t.equal(path.standingQueue, 0, 'no queue measured')
  throughBottleneck(path, clock, 10_000, 20, 1000, 60)
  t.notOk(path.filled, 'filling again once samples resume without a queue')
})
