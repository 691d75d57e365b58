// The tick logic of a connection (issue 4), driven by a fake Clock: with tickTime T the
// connection checks every T/4, sends a tick (an empty frame) when it sent nothing else in
// that interval, and goes down with 'net_tick_timeout' after four checks with nothing
// received: a silent peer is detected between T and 1.25T after the last thing it sent
// (so between 0.75T and 1.25T after it stopped, as OTP's net_ticktime promises).
import t from 'tap'
import { Duplex } from 'node:stream'
import { fakeClock } from './fixtures/fake-clock.js'
import type { DownReason } from '../lib/kernel/connection.js'
import { createCodec } from '../lib/terms/codec.js'
import { streamConn, testConnection } from './fixtures/stream-conn.js'

const codec = createCodec('netkernel')

/** A Connection over an in-memory stream: what it writes is recorded; `feed` plays the peer. */
function harness(tickTime: number) {
  const clock = fakeClock()
  const written: Buffer[] = []
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk)
      cb()
    },
  })
  const conn = streamConn(stream)
  const downs: DownReason[] = []
  const frames: unknown[] = []
  const c = testConnection(
    conn,
    {
      onFrame: (_c, f) => frames.push(f),
      onDown: (_c, reason) => downs.push(reason),
    },
    tickTime,
    clock,
  )
  c.start([])
  const ticksSent = (): number => written.filter(b => b.length === 4 && b.readUInt32BE(0) === 0).length
  const tickFromPeer = (): void => void stream.push(Buffer.alloc(4))
  return { clock, c, downs, frames, written, ticksSent, tickFromPeer, stream }
}

const flush = (): Promise<void> => new Promise(r => setImmediate(r))

t.test('a silent peer: ticks go out every T/4, down with net_tick_timeout after four silent checks', async t => {
  const T = 1000
  const h = harness(T)
  t.equal(h.clock.timers, 1, 'one interval timer while up')
  h.clock.advance(T / 4)
  t.equal(h.ticksSent(), 1, 'a tick at T/4 (nothing else was sent)')
  h.clock.advance(T / 4)
  t.equal(h.ticksSent(), 2, 'and at 2T/4')
  t.same(h.downs, [], 'still up at T/2')
  h.clock.advance(T / 2 - 1)
  t.same(h.downs, [], 'still up at 1.25T - 1 ms')
  h.clock.advance(T / 4 + 1)
  t.same(h.downs, ['net_tick_timeout'], 'down with net_tick_timeout')
  t.equal(h.clock.time, 1250, 'after five checks: the first one counts the connection start as activity')
  t.equal(h.c.isUp, false)
  t.equal(h.clock.timers, 0, 'the tick timer is gone')
  h.clock.advance(10 * T)
  t.same(h.downs, ['net_tick_timeout'], 'reported once')
})

t.test('a peer that ticks stays up indefinitely', async t => {
  const T = 1000
  const h = harness(T)
  for (let i = 0; i < 40; i++) {
    h.tickFromPeer()
    await flush()
    h.clock.advance(T / 4)
  }
  t.same(h.downs, [], 'up after 10 T with a tick from the peer every T/4')
  t.ok(h.c.isUp)
  // One tick per T (four checks) is still enough: each check window of four sees one.
  for (let i = 0; i < 10; i++) {
    h.tickFromPeer()
    await flush()
    h.clock.advance(T - 1)
  }
  t.same(h.downs, [], 'up with a tick just under every T')
  h.clock.advance(T + T / 4)
  t.same(h.downs, ['net_tick_timeout'], 'and down once the peer falls silent')
})

t.test('no tick is sent in an interval in which something else was sent', async t => {
  const T = 1000
  const h = harness(T)
  for (let i = 0; i < 3; i++) {
    h.c.send(['msg', i])
    await flush() // the write leaves on the next tick of the event loop
    h.tickFromPeer()
    await flush()
    h.clock.advance(T / 4)
  }
  t.equal(h.ticksSent(), 0, 'no tick while messages flow')
  t.equal(h.written.length, 3, 'just the three messages')
  h.tickFromPeer()
  await flush()
  h.clock.advance(T / 4)
  t.equal(h.ticksSent(), 1, 'a tick in the first quiet interval')
})

t.test("detection time after the peer's last frame is in (T, 1.25T] whatever the phase", async t => {
  const T = 1000
  const I = T / 4
  const seen: number[] = []
  for (const phase of [0, 1, 50, 125, 200, 249]) {
    const h = harness(T)
    h.clock.advance(I * 2 + phase) // the peer's last frame arrives `phase` ms after a check
    h.tickFromPeer()
    await flush()
    const last = h.clock.time
    while (h.downs.length === 0 && h.clock.time < last + 3 * T) h.clock.advance(1)
    seen.push(h.clock.time - last)
    t.same(h.downs, ['net_tick_timeout'], `phase ${phase}: net_tick_timeout`)
  }
  t.ok(
    seen.every(ms => ms > T && ms <= T + I),
    `all within (T, 1.25T]: ${seen.join(', ')} ms`,
  )
})

t.test('frames keep the connection alive as ticks do, and reach onFrame', async t => {
  const h = harness(400)
  for (let i = 0; i < 8; i++) {
    h.stream.push(codec.encodeFrame([1, 'x', i]))
    await flush()
    h.clock.advance(100)
  }
  t.same(h.downs, [])
  t.equal(h.frames.length, 8, 'every frame dispatched')
  h.c.close('disconnect')
  t.same(h.downs, ['disconnect'], 'a close reports its own reason')
  t.equal(h.clock.timers, 0)
})
