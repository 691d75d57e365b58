// The acknowledgement window of an Outbox (outbox.ts WINDOW, OPEN_WINDOW): how many fragment
// bytes it leaves unacknowledged, read off the bytes it writes. While only large frames go, up
// to OPEN_WINDOW; once a small frame is queued beside a large one, WINDOW, until SHARED_HOLD_MS
// have passed without another. Acknowledgements the outbox writes itself do not count as small
// frames; a window of Infinity (a flow-controlled stream) stays unbounded. Over a long path
// (round trips over LONG_RTT_MS, on a clock the test moves) the open window grows with the
// path's bandwidth-delay product, and the shared one holds the path and about WINDOW more.
import t from 'tap'
import { Writable, type Duplex } from 'node:stream'
import { Outbox, CHUNK, WINDOW, OPEN_WINDOW, SHARED_HOLD_MS, LONG_RTT_MS, MAX_WINDOW } from '../lib/kernel/outbox.js'
import { ACK_FLAG, FRAGMENT_MARK, ackFrame, fragmentHeaderLength } from '../lib/kernel/fragments.js'
import { createCodec } from '../lib/terms/codec.js'

const codec = createCodec('netkernel')
const MB = 1024 * 1024

/** An outbox over a sink that takes every write at once; counts what it was given. */
function harness(window?: number) {
  let time = 0
  const seen = { pieceBytes: 0, smallFrames: 0, acks: 0, order: [] as ('piece' | 'small')[] }
  let pending = Buffer.alloc(0)
  const sink = new Writable({
    highWaterMark: 1 << 30,
    write(chunk: Buffer, _enc, cb) {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const body = pending.subarray(4, 4 + pending.readUInt32BE(0))
        pending = pending.subarray(4 + body.length)
        if (body[0] !== FRAGMENT_MARK) {
          seen.smallFrames++
          seen.order.push('small')
        } else if (((body[1] as number) & ACK_FLAG) !== 0) seen.acks++
        else {
          seen.pieceBytes += body.length - fragmentHeaderLength(body)
          seen.order.push('piece')
        }
      }
      cb()
    },
  })
  const out = new Outbox(
    sink as unknown as Duplex,
    codec,
    1 << 30,
    () => {},
    window,
    undefined,
    () => time,
  )
  return {
    out,
    seen,
    advance(ms: number) {
      time += ms
    },
    /** Let the outbox write until it stops (the window is full, or all is sent). */
    async settle(): Promise<number> {
      let last = -1
      while (last !== seen.pieceBytes) {
        last = seen.pieceBytes
        for (let i = 0; i < 5; i++) await new Promise(r => setImmediate(r))
      }
      return seen.pieceBytes
    },
  }
}

t.test('only large frames: up to OPEN_WINDOW bytes go unacknowledged, more after an acknowledgement', async t => {
  const h = harness()
  for (let i = 0; i < 8; i++) h.out.send(Buffer.alloc(MB, i), i)
  const first = await h.settle()
  t.ok(first >= OPEN_WINDOW && first < OPEN_WINDOW + CHUNK, `${first} piece bytes before any acknowledgement`)
  t.ok(OPEN_WINDOW >= 8 * WINDOW, 'the open window is many shared ones')
  h.out.ack(first)
  const second = await h.settle()
  t.ok(second - first >= OPEN_WINDOW && second - first < OPEN_WINDOW + CHUNK, `${second - first} more after acknowledging all`)
  h.out.close()
})

t.test('a small frame beside a large one: the window narrows to WINDOW, and the small frame does not wait for it', async t => {
  const h = harness()
  for (let i = 0; i < 8; i++) h.out.send(Buffer.alloc(MB, i), i)
  const open = await h.settle()
  h.out.send({ ping: 1 }, 'other')
  await h.settle()
  t.equal(h.seen.smallFrames, 1, 'the small frame left with the window full')
  t.equal(h.seen.pieceBytes, open, 'and no piece with it')

  // Acknowledge all but WINDOW: still nothing (the window is now WINDOW).
  h.out.ack(open - WINDOW)
  t.equal(await h.settle(), open, 'nothing while WINDOW bytes are unacknowledged')
  h.out.ack(WINDOW)
  const shared = (await h.settle()) - open
  t.ok(shared >= WINDOW && shared < WINDOW + CHUNK, `${shared} piece bytes once all was acknowledged`)

  // Small frames keep coming: the window stays narrow; none for SHARED_HOLD_MS: it opens.
  h.advance(SHARED_HOLD_MS - 1)
  h.out.send({ ping: 2 }, 'other')
  h.advance(SHARED_HOLD_MS - 1)
  t.equal(h.out.window, WINDOW, 'WINDOW while small frames come')
  h.advance(1)
  t.equal(h.out.window, OPEN_WINDOW, 'OPEN_WINDOW once the hold passed')
  const held = h.seen.pieceBytes
  h.out.ack(shared)
  const reopened = (await h.settle()) - held
  t.ok(reopened >= OPEN_WINDOW && reopened < OPEN_WINDOW + CHUNK, `${reopened} piece bytes once the hold passed`)
  h.out.close()
})

/**
 * A path of `rttMs` round trip: each turn, what is in flight is acknowledged `rttMs` after it
 * was written (the path carries any rate). Resolves with the piece bytes of each round trip.
 */
async function roundTrips(h: ReturnType<typeof harness>, rttMs: number, n: number, between?: () => void): Promise<number[]> {
  const perTrip: number[] = []
  let acked = 0
  for (let i = 0; i < n; i++) {
    const written = await h.settle()
    perTrip.push(written - acked)
    h.advance(rttMs)
    between?.()
    h.out.ack(written - acked)
    acked = written
  }
  return perTrip
}

t.test('a long path: the window grows to twice its bandwidth-delay product, up to MAX_WINDOW', async t => {
  const h = harness()
  for (let i = 0; i < 220; i++) h.out.send(Buffer.alloc(MB, i), i)
  const trips = await roundTrips(h, 20, 7)
  t.ok(trips[0]! >= OPEN_WINDOW && trips[0]! < OPEN_WINDOW + CHUNK, `first round trip: ${trips[0]} bytes, the open window`)
  t.ok(trips[2]! >= 1.9 * trips[1]!, `it doubles per round trip: ${trips.join(', ')}`)
  t.ok(trips[6]! >= MAX_WINDOW && trips[6]! < MAX_WINDOW + CHUNK, `and stops at MAX_WINDOW: ${trips[6]}`)
  h.out.close()
})

/**
 * A path of `rttMs` (propagation) through a bottleneck of `rate` bytes/ms, in steps of 1 ms
 * for `ms`, a small frame queued every step: what the outbox writes queues at the bottleneck,
 * and what leaves it is acknowledged `rttMs` later. Per step: the window, the bytes that left
 * the bottleneck, and its queue in ms.
 */
async function sharedBottleneck(h: ReturnType<typeof harness>, rttMs: number, rate: number, ms: number) {
  let written = 0
  let queue = 0
  const acks: { at: number; bytes: number }[] = []
  const steps: { window: number; out: number; queueMs: number }[] = []
  for (let t = 0; t < ms; t++) {
    h.out.send({ ping: t }, 'other')
    const now = await h.settle()
    queue += now - written
    written = now
    const out = Math.min(queue, rate)
    queue -= out
    acks.push({ at: t + rttMs, bytes: out })
    h.advance(1)
    while (acks.length > 0 && acks[0]!.at <= t + 1) h.out.ack(acks.shift()!.bytes)
    steps.push({ window: h.out.window, out, queueMs: queue / rate })
  }
  return steps
}

t.test('a long path shared with small frames: the window fills the path, and keeps about WINDOW in its queue', async t => {
  const h = harness()
  for (let i = 0; i < 40; i++) h.out.send(Buffer.alloc(MB, i), i)
  // 20 ms at 64 KiB/ms: the path holds 1.25 MiB, five WINDOWs.
  const rate = 64 * 1024
  const bdp = 20 * rate
  const steps = await sharedBottleneck(h, 20, rate, 400)
  t.equal(steps[0]!.window, WINDOW, 'WINDOW before anything was measured')
  t.ok(
    steps.slice(0, 80).some(s => s.window >= 4 * WINDOW),
    `it doubles while the path fills: ${steps
      .filter((_, i) => i % 20 === 0)
      .map(s => (s.window / 1024).toFixed(0) + ' KiB')
      .join(', ')}`,
  )
  const late = steps.slice(200)
  const carried = late.reduce((n, s) => n + s.out, 0) / (late.length * rate)
  t.ok(
    carried >= 0.95,
    `the path is kept full: ${(100 * carried).toFixed(0)}% of its rate (WINDOW a round trip would be ${((100 * WINDOW) / bdp).toFixed(0)}%)`,
  )
  const windows = late.map(s => s.window)
  t.ok(
    Math.min(...windows) >= bdp + WINDOW / 2 && Math.max(...windows) <= bdp + 2 * WINDOW,
    `the window holds the path and about WINDOW more: ${(Math.min(...windows) / 1024).toFixed(0)}–${(Math.max(...windows) / 1024).toFixed(0)} KiB, the path ${bdp / 1024} KiB`,
  )
  const queueMs = late.reduce((n, s) => n + s.queueMs, 0) / late.length
  t.ok(
    queueMs <= (2 * WINDOW) / rate,
    `a small frame waits ${queueMs.toFixed(1)} ms in the queue (WINDOW is ${(WINDOW / rate).toFixed(1)} ms of it)`,
  )
  h.out.close()
})

t.test('a short path (a LAN, loopback): the windows do not grow', async t => {
  const h = harness()
  for (let i = 0; i < 40; i++) h.out.send(Buffer.alloc(MB, i), i)
  const trips = await roundTrips(h, LONG_RTT_MS, 8)
  t.ok(
    trips.every(b => b >= OPEN_WINDOW && b < OPEN_WINDOW + CHUNK),
    `each round trip of ${LONG_RTT_MS} ms carries OPEN_WINDOW: ${trips.join(', ')}`,
  )
  h.out.close()
})

t.test('a small frame queued with no large one in flight does not narrow the window', async t => {
  const h = harness()
  h.out.send({ start: true }, 'other')
  for (let i = 0; i < 8; i++) h.out.send(Buffer.alloc(MB, i), i)
  const n = await h.settle()
  t.equal(h.seen.order[0], 'small', 'the small frame left first')
  t.ok(n >= OPEN_WINDOW, `${n} piece bytes: the window is open`)
  h.out.close()
})

t.test('acknowledgements written beside a stream do not narrow the window', async t => {
  const h = harness()
  for (let i = 0; i < 8; i++) h.out.send(Buffer.alloc(MB, i), i)
  const open = await h.settle()
  h.out.writeAck(ackFrame(2 * CHUNK))
  h.out.ack(open)
  const next = (await h.settle()) - open
  t.equal(h.seen.acks, 1, 'the acknowledgement went out')
  t.ok(next >= OPEN_WINDOW, `${next} piece bytes: still the open window`)
  h.out.close()
})

t.test('a frame queued behind a stream to the same destination does not narrow the window', async t => {
  const h = harness()
  for (let i = 0; i < 8; i++) h.out.send(Buffer.alloc(MB, i), i)
  h.out.send({ after: 0 }, 0)
  t.ok((await h.settle()) >= OPEN_WINDOW, 'the window is open')
  h.out.close()
})

t.test('no window (a flow-controlled stream): everything goes without acknowledgements', async t => {
  const h = harness(Infinity)
  for (let i = 0; i < 8; i++) h.out.send(Buffer.alloc(MB, i), i)
  h.out.send({ ping: 1 }, 'other')
  t.equal(await h.settle(), 8 * MB - 8 * codecOverhead(), 'all piece bytes written')
  h.out.close()
})

/** A 1 MB binary's frame body is 1 MB and a few bytes of encoding; pieces carry the whole body. */
function codecOverhead(): number {
  const b = { buf: Buffer.alloc(16), len: 0 }
  codec.encodeFrameInto(Buffer.alloc(MB), b)
  return MB - (b.len - 4)
}
