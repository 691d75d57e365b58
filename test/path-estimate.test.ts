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
