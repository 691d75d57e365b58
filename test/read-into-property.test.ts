// The connection's receive path under every way reads can fall (property test): a real Outbox
// encodes a random mix of small and large frames (large ones cut into pieces, the first one
// announcing the size); a Connection reads the bytes back through a Conn whose readInto honours
// the buffers the connection picks, with random read sizes — or as 'data' chunks of random
// sizes. Every frame must come out equal and in order. Where the connection reads into its
// shared scratch buffer, the fake "kernel" scribbles over it after each read, so a view kept
// past a read would be caught.
import t from 'tap'
import fc from 'fast-check'
import { Duplex, Writable } from 'node:stream'
import type { ReadSink } from '../lib/transport.js'
import type { DownReason } from '../lib/kernel/connection.js'
import { Outbox, CHUNK, WINDOW } from '../lib/kernel/outbox.js'
import { ACK_FLAG, FRAGMENT_MARK, fragmentHeaderLength } from '../lib/kernel/fragments.js'
import { createCodec } from '../lib/terms/codec.js'
import { fakeClock } from './fixtures/fake-clock.js'
import { streamConn, testConnection } from './fixtures/stream-conn.js'

const codec = createCodec('netkernel')

/**
 * The bytes an Outbox writes for `values` (no acknowledgement window: all of it at once), the
 * i-th to destination i % dests: the outbox keeps each destination's order, and cuts the large
 * frames of different destinations into pieces that interleave.
 */
async function encode(values: unknown[], dests = 1): Promise<Buffer> {
  const out: Buffer[] = []
  const sinkStream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(Buffer.from(chunk))
      cb()
    },
  })
  const ob = new Outbox(sinkStream as unknown as Duplex, codec, 1 << 30, () => {}, Infinity)
  values.forEach((v, i) => ob.send(v, i % dests))
  while (!ob.idle) await new Promise(r => setImmediate(r))
  return Buffer.concat(out)
}

interface Receiver {
  frames: unknown[]
  /** What the connection wrote back (its acknowledgements). */
  written: Buffer[]
  downs: { reason: DownReason; error?: Error }[]
  /** Deliver `bytes` in reads (or chunks) of at most caps[i] bytes; `reads` collects each read's [buffer size, bytes]. */
  feed(bytes: Buffer, caps: number[], reads?: [number, number][]): void
  /** Start the connection, `buffered` waiting in the stream already (as a handshake may leave them). */
  start(buffered: Buffer): void
  stop(): void
}

function receiver(readInto: boolean): Receiver {
  let sink: ReadSink | undefined
  const written: Buffer[] = []
  const stream = new Duplex({
    read() {},
    write: (c: Buffer, _e, cb) => {
      written.push(Buffer.from(c))
      cb()
    },
  })
  const conn = streamConn(stream, { readInto: readInto ? { attach: s => (sink = s) } : undefined })
  const frames: unknown[] = []
  const downs: Receiver['downs'] = []
  const c = testConnection(
    conn,
    { onFrame: (_c, f) => frames.push(f), onDown: (_c, reason, error) => downs.push({ reason, error }) },
    60_000,
    fakeClock(),
  )
  return {
    frames,
    written,
    downs,
    start(buffered) {
      if (buffered.length > 0) stream.push(buffered)
      c.start([])
    },
    feed(bytes, caps, reads) {
      let i = 0
      for (let off = 0; off < bytes.length;) {
        const cap = caps[i++ % caps.length]!
        if (sink !== undefined) {
          const b = sink.buffer()
          const n = Math.min(b.length, cap, bytes.length - off)
          bytes.copy(b, 0, off, off + n)
          reads?.push([b.length, n])
          sink.read(n, b)
          // The connection's scratch (a 64 KiB buffer of its own) is reused by the next read.
          if (b.buffer.byteLength === 65536) b.fill(0xee)
          off += n
        } else {
          const n = Math.min(cap, bytes.length - off)
          stream.emit('data', bytes.subarray(off, off + n))
          off += n
        }
      }
    },
    stop: () => c.destroy('disconnect'),
  }
}

/** The piece bytes in a stream of frames (headers not counted), or with `acks` the bytes its acknowledgements credit. */
function fragmentBytes(stream: Buffer, acks = false): number {
  let n = 0
  for (let off = 0; off + 4 <= stream.length;) {
    const len = stream.readUInt32BE(off)
    const body = stream.subarray(off + 4, off + 4 + len)
    off += 4 + len
    if (body[0] !== FRAGMENT_MARK) continue
    const isAck = ((body[1] as number) & ACK_FLAG) !== 0
    if (acks && isAck) n += body.readUInt32BE(2)
    if (!acks && !isAck) n += len - fragmentHeaderLength(body)
  }
  return n
}

const sizeArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: CHUNK - 40, max: CHUNK + 40 }),
  fc.integer({ min: 2 * CHUNK - 20, max: 2 * CHUNK + 20 }),
  fc.integer({ min: 0, max: 5 * CHUNK }),
)
const capArb = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 70_000 }), fc.constant(65536), fc.constant(14))

for (const readInto of [true, false]) {
  t.test(`frames of every size, reads of every size (${readInto ? 'readInto' : "'data' chunks"}): all equal, in order`, async t => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(sizeArb, { minLength: 1, maxLength: 12 }),
        fc.array(capArb, { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 3 }),
        async (sizes, caps, early, dests) => {
          const values = sizes.map((size, i) => ['m', i, Buffer.alloc(size, (i * 37 + 11) & 0xff)] as const)
          const bytes = await encode(values as unknown as unknown[], dests)
          // (keep the run short: at most ~20,000 reads)
          const mean = caps.reduce((a, b) => a + b, 0) / caps.length
          fc.pre(bytes.length / mean < 20_000)
          const r = receiver(readInto)
          // With readInto, a part of the stream may already wait in the socket when the connection
          // starts (it reads that first, then attaches).
          const split = readInto ? Math.floor(bytes.length * early * early) : 0
          r.start(bytes.subarray(0, split))
          r.feed(bytes.subarray(split), caps)
          await new Promise(resolve => setImmediate(resolve)) // the acknowledgements' flush
          r.stop()
          // Every piece byte is acknowledged, in acknowledgements of at least half a window:
          // less than half a window is left unacknowledged.
          const pieces = fragmentBytes(bytes)
          const acked = fragmentBytes(Buffer.concat(r.written), true)
          if (acked > pieces || pieces - acked >= WINDOW / 2) throw new Error(`${acked} of ${pieces} piece bytes acknowledged`)
          if (r.downs.some(d => d.reason !== 'disconnect')) throw new Error(`went down: ${r.downs.map(d => d.error?.message).join('; ')}`)
          if (r.frames.length !== values.length) throw new Error(`${r.frames.length} frames of ${values.length}`)
          const last = new Map<number, number>()
          const seen = new Set<number>()
          r.frames.forEach((f, i) => {
            const [tag, n, b] = f as [string, number, Buffer]
            const want = values[n]?.[2]
            if (tag !== 'm' || want === undefined || seen.has(n) || !Buffer.isBuffer(b) || !b.equals(want))
              throw new Error(`frame ${i} differs`)
            seen.add(n)
            if ((last.get(n % dests) ?? -1) > n) throw new Error(`frame ${n} came after a later one to its destination`)
            last.set(n % dests, n)
          })
          runs++
        },
      ),
      { numRuns: 200, seed: 20261203 },
    )
    t.ok(runs > 100, `${runs} streams read back whole`)
  })
}

t.test('readInto: the read that ends a piece takes the next piece’s header with it: one read a piece', async t => {
  // Two large messages and a small one between, each to a destination of its own (the large
  // ones' pieces interleave).
  const big = (n: number, fill: number): Buffer => Buffer.alloc(n, fill)
  const a = ['a', big(5 * CHUNK + 123, 1)]
  const small = ['s', Buffer.from('small')]
  const b = ['b', big(3 * CHUNK, 2)]
  const bytes = await encode([a, small, b], 3)
  const r = receiver(true)
  r.start(Buffer.alloc(0))
  const reads: [number, number][] = []
  r.feed(bytes, [1 << 30], reads) // every byte already there: each read takes all it is offered
  await new Promise(resolve => setImmediate(resolve))
  r.stop()
  t.same(r.downs, [{ reason: 'disconnect', error: undefined }], 'no protocol error')
  t.same(r.frames.map(f => (f as [string])[0]).sort(), ['a', 'b', 's'])
  for (const [tag, want] of [a, small, b] as [string, Buffer][]) {
    const got = r.frames.find(f => (f as [string])[0] === tag) as [string, Buffer]
    t.ok(got[1].equals(want), `${tag}: every byte its own (${want.length} bytes)`)
  }
  const pieces = Math.ceil(a[1]!.length / CHUNK) + Math.ceil(b[1]!.length / CHUNK)
  const headerReads = reads.filter(([size]) => size === 14).length
  t.equal(headerReads, 0, 'no read of a header alone')
  t.ok(reads.length <= pieces + 2, `${reads.length} reads for ${pieces} pieces and a small message`)
})
