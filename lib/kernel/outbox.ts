// A connection's outgoing side: write coalescing, large-frame chunking and backpressure.
//
// - Frames queued in one event-loop turn leave in one write, with one exception: a message
//   (send's `urgent`) is written at once, with whatever was queued before it, unless one was
//   already this turn or the stream still holds bytes it has not written (the message would
//   only queue behind them). A process that sends and then waits for the reply does not hold
//   its request back while its own receive is set up and the turn's other work runs; frames
//   queued after it leave together at the end of the turn, as before.
// - A frame over CHUNK bytes is sent as fragments of at most CHUNK bytes (fragment-frames,
//   see fragments.ts), one fragment per active large frame per turn, after the small
//   frames of that turn: a 1 MB message delays other traffic by about one 64 KB write.
// - At most ACTIVE_STREAMS large frames are cut into fragments at a time (fragments.ts).
// - Order per sender holds: while a large frame with an order key (its sender's, outbound.ts)
//   is in flight, later frames with that key wait behind it, whatever they are addressed to.
// - The acknowledgement window (fragments.ts ackFrame): while small frames share the
//   connection with large ones, at most WINDOW fragment bytes are unacknowledged, so a small
//   frame waits behind little; while only large frames go, up to OPEN_WINDOW are, so the
//   stream does not stall on every acknowledgement.
// - Backpressure: fragments pause while the socket asks writers to wait, until it takes writes
//   again (its 'drain' event: `awaitWritable`), and `busy` is true while more than `highWater`
//   bytes are queued; `whenDrained()` waits for the queue to fall below half of it (drain()).
// - The fragment frames are native (fragments.ts) unless the connection's wire (wire.ts) gives
//   its own FragmentFormat (OTP's DIST_FRAG_HEADER / DIST_FRAG_CONT), or null: then a large
//   frame is written whole, as any other.
import process from 'node:process'
import { performance } from 'node:perf_hooks'
import { Buffer } from 'node:buffer'
import type { Duplex } from 'node:stream'
import { Socket } from 'node:net'
import { appendBytes, type FrameBatch } from '../terms/frame-batch.js'
import { ACTIVE_STREAMS, PIECE, fragmentHeader } from './fragments.js'
import type { FragmentFormat, FrameEncoder } from './wire.js'
import { NetkernelError, abortError } from '../errors.js'
import { BufferPool } from './buffer-pool.js'
import { PathEstimate } from './path-estimate.js'

export type OrderKey = number | string | undefined

export const CHUNK = PIECE
const EMPTY = Buffer.alloc(0)
/** The largest batch buffer kept for a later batch (see Outbox.free). */
const MAX_FREE = 1024 * 1024
/**
 * 2 MiB, about OTP's distribution buffer busy limit (1 MiB). A deeper queue made a sender of
 * large messages slower, not faster: each message is encoded into its buffer when sent and
 * read by the kernel only when the queue ahead of it has gone, so with 8 MiB queued the
 * bytes had left the CPU's caches by then (bench/README.md, the runs "highWater 2 MiB").
 */
export const DEFAULT_HIGH_WATER = 2 * 1024 * 1024
/**
 * Fragment bytes that may be on the wire unacknowledged while small frames share the
 * connection with large ones (see fragments.ts ackFrame): a small frame waits behind at most
 * this many bytes of large ones. The receiver acknowledges every WINDOW / 2.
 */
export const WINDOW = 4 * CHUNK
/**
 * Fragment bytes that may be on the wire unacknowledged while only large frames go: 32
 * pieces, about 2 MiB. With WINDOW alone a stream of large messages stalled at every
 * acknowledgement, the two processes taking turns; it ran at 0.55–0.71× the raw copy pipe,
 * and at a few hundred MB/s whenever waking a process got slow (bench/README.md, "The
 * acknowledgement window"). Over a long path the window grows past it (LONG_RTT_MS).
 */
export const OPEN_WINDOW = 32 * CHUNK
/**
 * How long the window stays at WINDOW after a small frame was queued while a large one was
 * being sent, ms.
 */
export const SHARED_HOLD_MS = 1000
/**
 * Over a path whose round trip is longer than this (ms), the open window also holds twice the
 * path's bandwidth-delay product (path-estimate.ts), as BBR's does: OPEN_WINDOW fills a path of
 * up to 1 ms at ~2 GB/s, but a 50 ms one at 40 MB/s. While each round trip delivers a whole
 * window, the estimate (and the window) doubles per round trip until the path is full. The
 * shared window holds what the path holds now and WINDOW more (sharedLongWindow): WINDOW alone
 * carried 20 MB/s over 10 ms and 5 over 50. Below it (loopback, a LAN) the windows stay
 * OPEN_WINDOW and WINDOW.
 */
export const LONG_RTT_MS = 1
/** The multiple of the bandwidth-delay product the open window holds over a long path. */
export const OPEN_GAIN = 2
/** The largest window a long path's bandwidth-delay product may open, bytes. */
export const MAX_WINDOW = 64 * 1024 * 1024

interface Stream {
  id: number
  body: Buffer
  off: number
  key: OrderKey
  /** The buffer `body` lives in when the outbox encoded it (reusable once written), else null. */
  owner: Buffer | null
  /** Whole frames with the same order key (from the same sender) queued behind this one. */
  tail: Buffer[]
}

/** The next batch's buffer size after one of `len` bytes: room for a quarter more, a power of two from 16 KiB (so freed ones fit later batches). */
function batchSize(len: number): number {
  let size = 16384
  while (size < len + (len >>> 2)) size *= 2
  return size
}

export class Outbox {
  /** Bytes handed to the stream (for node.stats()). */
  bytesOut = 0
  private batch: FrameBatch = { buf: Buffer.allocUnsafe(16384), len: 0 }
  private readonly streams: Stream[] = []
  private readonly byKey = new Map<number | string, Stream>()
  private streamBytes = 0
  /** Fragment bytes written and not yet acknowledged by the receiver. */
  private unacked = 0
  /** When a small frame was last queued while a large one was being sent (see WINDOW). */
  private sharedAt = -Infinity
  /** Round trip and delivery rate, from the acknowledgements (see LONG_RTT_MS). */
  private readonly path: PathEstimate
  private nextId = 1
  /**
   * Large encoding buffers whose frames the socket has written out completely (their write
   * callbacks came): the next large frames are encoded into them, so a stream of large
   * messages does not allocate (and fault in, and collect) a fresh backing store per message —
   * fresh ones also bring V8's full collections on (see bench/README.md, "Large messages and
   * V8's heap"). Kept up to about `highWater` bytes: so they can hold what a sender honouring
   * backpressure has in flight (the queue up to highWater, and the frame that went over it).
   * Let go by trimSpares() once large frames stop.
   */
  private readonly spares: BufferPool
  /** A large frame was queued since the last trimSpares(). */
  private largeSinceTrim = false
  /** Where encodeBehind() starts a frame when there is no spare. */
  private readonly scratch = Buffer.allocUnsafeSlow(4096)
  /**
   * Buffers are reused only on a socket (tcp, tls), or a stream whose transport says it copies
   * (Conn.copiesWrites: an SSH channel): once a write there completes, the kernel (or TLS, or
   * the SSH packet) has copied the bytes. Another Duplex may hand our buffer on by reference (a
   * PassThrough does), so there every batch and large frame keeps a buffer of its own.
   */
  private readonly reuse: boolean
  /**
   * Batch buffers the socket has written out (their write callbacks came), up to twice
   * `highWater` bytes of them (what a sender honouring backpressure has in flight, in buffers
   * rounded up to powers of two): later batches', so a sender queueing hundreds of KB per turn
   * does not allocate a fresh backing store per write while the receiver holds the socket back.
   * Let go by trimSpares() once batches stop.
   */
  private readonly free: BufferPool
  /** Batch buffers in the socket's queue, oldest first (socket writes complete in order). */
  private readonly batchesWriting: Buffer[] = []
  /** A batch was flushed since the last trimSpares(). */
  private batchSinceTrim = false
  /**
   * The socket wrote the oldest batch in its queue: its buffer may take a later batch, and a
   * drain waiter may go. (The socket's 'drain' comes only after its own buffer reached its
   * 16 KiB high-water mark: with a smaller `highWater` a waiter whose last batch was smaller
   * than that waited for ever.)
   */
  private readonly onBatchWritten = (): void => {
    const b = this.batchesWriting.shift()
    if (b !== undefined && !this.closed && b.length <= MAX_FREE) this.free.give(b)
    this.wake()
  }
  /** A batch on a stream that is not a socket was written: a drain waiter may go (onBatchWritten). */
  private readonly onWritten = (): void => this.wake()
  /** Large frames queued behind a stream (encodeBehind): the reusable buffer each lives in. */
  private readonly owners = new WeakMap<Buffer, Buffer>()
  private readonly side: FrameBatch = { buf: EMPTY, len: 0, spare: undefined }
  /** Buffers of large frames whose last fragment is in the socket's queue, oldest first. */
  private readonly writing: Buffer[] = []
  /** The socket wrote a large frame's last fragment: its buffer becomes a spare. */
  private readonly onLastWritten = (): void => {
    const b = this.writing.shift()
    if (b !== undefined && !this.closed) this.spares.give(b)
    this.wake()
  }
  private scheduled = false
  /** A message was written at once since the last flush (see send's `urgent`). */
  private wroteEarly = false
  /** A frame is being encoded (send): a send from inside it is refused. */
  private encoding = false
  private waitingWritable = false
  private closed = false
  private drainWaiters: (() => void)[] = []
  private readonly flushBound = (): void => this.flush()
  private readonly onWritable = (): void => {
    this.waitingWritable = false
    this.wake()
    this.schedule()
  }

  constructor(
    private readonly stream: Duplex,
    private readonly codec: FrameEncoder,
    private readonly highWater = DEFAULT_HIGH_WATER,
    /** Called whenever bytes go to the socket (for tick bookkeeping). */
    private readonly onWrite: () => void = () => {},
    /**
     * Fragment bytes allowed on the wire unacknowledged while small frames share the
     * connection (Infinity: no window); while they do not, the larger of it and OPEN_WINDOW.
     */
    private readonly sharedWindow = WINDOW,
    /** The fragment frames: undefined = native (fragments.ts), null = large frames are not cut. */
    private readonly format?: FragmentFormat | null,
    /** A clock in ms (when small frames last shared the connection; round trips). */
    private readonly now: () => number = () => performance.now(),
    /** The stream is done with a buffer once its write's callback ran (Conn.copiesWrites). */
    copiesWrites = false,
  ) {
    this.path = new PathEstimate(now)
    this.reuse = copiesWrites || stream instanceof Socket
    this.spares = new BufferPool(highWater)
    this.free = new BufferPool(2 * highWater)
  }

  /** Bytes queued here and in the socket's own buffer. */
  get queued(): number {
    return this.batch.len + this.streamBytes + this.stream.writableLength
  }

  get busy(): boolean {
    return this.queued > this.highWater
  }

  get idle(): boolean {
    return this.batch.len === 0 && this.streams.length === 0
  }

  /**
   * Encode `value` as one frame and queue it. Returns false when the queue is over the
   * high-water mark. `urgent` (a message to a process): unless a message was already written
   * at once since the last flush, or the stream holds unwritten bytes, the batch goes to the
   * stream now, this frame and those queued before it, instead of at the end of the turn (an
   * idle request's round trip was 2–5% shorter: bench/README.md, "A message leaves when it is
   * sent").
   */
  send(value: unknown, key?: OrderKey, urgent = false): boolean {
    if (this.closed) return false
    if (this.encoding) {
      // A getter of the message being encoded sends on this connection. Encoded into the batch
      // the other is being written into, it landed in the middle of it (the peer dropped as
      // sending garbage) or in a batch buffer the other then left (the other lost, silently).
      // Refused instead: the error reaches the outer send() too, and nothing is queued.
      throw new NetkernelError(
        'ERR_BAD_ARGUMENT',
        'send() called while another message on the same connection was being encoded (by a getter of that message): send it before or after',
      )
    }
    this.encoding = true
    try {
      this.encodeAndQueue(value, key)
    } finally {
      this.encoding = false
    }
    if (urgent && !this.wroteEarly && this.batch.len > 0 && this.stream.writableLength === 0) {
      this.wroteEarly = true
      this.writeBatch()
    }
    this.schedule()
    return !this.busy
  }

  private encodeAndQueue(value: unknown, key: OrderKey): void {
    const behind = key !== undefined && this.byKey.size !== 0 ? this.byKey.get(key) : undefined
    if (behind !== undefined) {
      const f = this.encodeBehind(value)
      behind.tail.push(f)
      this.streamBytes += f.length
    } else {
      const p0 = this.batch.len
      const spare = this.spares.take()
      if (spare !== undefined) this.batch.spare = spare
      this.codec.encodeFrameInto(value, this.batch)
      if (spare !== undefined && this.batch.spare !== undefined) {
        this.spares.give(spare) // not needed for this frame: take it back
        this.batch.spare = undefined
      }
      if (this.batch.len - p0 > CHUNK + 4 && this.format !== null) {
        // A large frame: its bytes become the stream as they are, and the frames queued
        // before it move to a fresh batch buffer (a small copy, not a copy of the large one).
        const b = this.batch
        const body = b.buf.subarray(p0 + 4, b.len)
        const rest = Buffer.allocUnsafe(Math.max(16384, p0 * 2))
        b.buf.copy(rest, 0, 0, p0)
        this.batch = { buf: rest, len: p0 }
        this.startStream(body, key, b.buf)
      } else if (this.streams.length > 0) this.sharedAt = this.now()
    }
  }

  /** Queue an encoded frame (length prefix included). */
  write(frame: Buffer, key?: OrderKey): boolean {
    return this.queue(frame, key, true)
  }

  /** Queue an acknowledgement frame: it does not count as a small frame sharing the connection. */
  writeAck(frame: Buffer): void {
    this.queue(frame, undefined, false)
  }

  private queue(frame: Buffer, key: OrderKey, shares: boolean): boolean {
    if (this.closed) return false
    const behind = key !== undefined && this.byKey.size !== 0 ? this.byKey.get(key) : undefined
    if (behind !== undefined) {
      behind.tail.push(frame)
      this.streamBytes += frame.length
    } else if (frame.length > CHUNK + 4 && this.format !== null) {
      this.startStream(frame.subarray(4), key, this.owners.get(frame) ?? null)
    } else {
      if (shares && this.streams.length > 0) this.sharedAt = this.now()
      appendBytes(this.batch, frame)
    }
    this.schedule()
    return !this.busy
  }

  /**
   * Fragment bytes allowed on the wire unacknowledged now: the shared window while small
   * frames were queued beside large ones within SHARED_HOLD_MS, else the open one — over a
   * long path, at least twice its bandwidth-delay product, and the shared one what the path
   * holds and WINDOW more (LONG_RTT_MS).
   */
  get window(): number {
    const w = this.sharedWindow
    if (w >= OPEN_WINDOW) return w // (Infinity: no window)
    const long = this.path.minRtt > LONG_RTT_MS
    if (this.now() - this.sharedAt < SHARED_HOLD_MS) return long ? this.sharedLongWindow(w) : w
    if (!long) return OPEN_WINDOW
    return Math.min(MAX_WINDOW, Math.max(OPEN_WINDOW, OPEN_GAIN * this.path.bdp))
  }

  /**
   * The shared window over a long path: twice what the path holds now while it is still
   * filling (path-estimate.ts `filled`: so the window doubles per round trip, as the open one
   * does), then what it holds plus `w`, so a small frame waits behind about `w` bytes of ours
   * in the path's queues, not behind a bandwidth-delay product. An earlier try sized it from
   * the largest rate of the last second (× 1.25): the rates' noise made a standing queue, and
   * pings beside a stream over 10 ms waited 1.3–3× as long (bench/README.md, "Long paths").
   */
  private sharedLongWindow(w: number): number {
    const p = this.path
    return Math.min(MAX_WINDOW, Math.max(w, p.filled ? p.recentBdp + w : 2 * p.recentBdp))
  }

  /** Resolves once the queue is below half the high-water mark. */
  whenDrained(signal?: AbortSignal): Promise<void> {
    if (this.closed || this.queued <= this.highWater / 2) return Promise.resolve()
    if (signal?.aborted) return Promise.reject(abortError(signal, 'drain'))
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.drainWaiters = this.drainWaiters.filter(w => w !== done)
        reject(abortError(signal as AbortSignal, 'drain'))
      }
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.drainWaiters.push(done)
      this.awaitWritable()
    })
  }

  flush(): void {
    this.scheduled = false
    this.wroteEarly = false
    if (this.closed) return
    if (this.batch.len > 0) this.writeBatch()
    const window = this.streams.length > 0 ? this.window : 0
    if (this.streams.length > 0 && !this.waitingWritable && this.unacked < window) {
      // At most ACTIVE_STREAMS large frames are partly sent at a time: the receiver bounds
      // its reassembly by that (fragments.ts); the others wait their turn, in order.
      for (const s of this.streams.slice(0, ACTIVE_STREAMS)) if (this.unacked < window) this.writeFragment(s)
      this.onWrite()
      if (this.stream.writableNeedDrain) {
        this.awaitWritable()
      } else if ((this.streams.length > 0 && this.unacked < window) || this.batch.len > 0) {
        // (with the window full, the next acknowledgement schedules the flush)
        this.scheduled = true
        setImmediate(this.flushBound)
      }
    }
    // A waiter that came while its bytes were still in the batch found the socket writable:
    // now that they are in the socket, its 'drain' is what wakes it.
    if (this.drainWaiters.length > 0) this.awaitWritable()
    this.wake()
  }

  /** Hand the batch of small frames (not empty) to the stream. */
  private writeBatch(): void {
    const b = this.batch
    const data = b.buf.subarray(0, b.len)
    // The socket keeps `data` until written: the next batch gets another buffer — one the
    // socket has finished with, if it is large enough, else a fresh one.
    const want = batchSize(b.len)
    const written = b.buf
    b.buf = this.free.take(want) ?? Buffer.allocUnsafe(want)
    b.len = 0
    this.batchSinceTrim = true
    if (this.reuse) {
      this.batchesWriting.push(written)
      this.stream.write(data, this.onBatchWritten)
    } else this.stream.write(data, this.onWritten)
    this.bytesOut += data.length
    this.onWrite()
  }

  /** The receiver took `bytes` more fragment bytes: more may go. */
  ack(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes)
    this.path.ack(bytes)
    if (this.streams.length > 0) this.schedule()
  }

  /** Drop everything queued; later sends are ignored. Waiters are released. */
  close(): void {
    this.closed = true
    this.batch = { buf: Buffer.alloc(0), len: 0 }
    this.streams.length = 0
    this.spares.clear()
    this.writing.length = 0
    this.batchesWriting.length = 0
    this.free.clear()
    this.byKey.clear()
    this.streamBytes = 0
    this.stream.off('drain', this.onWritable)
    const w = this.drainWaiters
    this.drainWaiters = []
    for (const f of w) f()
  }

  /** Listen once for the socket to take writes again, its 'drain' (fragments pause until it; drain waiters wake on it). */
  private awaitWritable(): void {
    if (this.waitingWritable || !this.stream.writableNeedDrain) return
    this.waitingWritable = true
    this.stream.once('drain', this.onWritable)
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true
      process.nextTick(this.flushBound)
    }
  }

  private wake(): void {
    if (this.drainWaiters.length === 0 || this.queued > this.highWater / 2) return
    const w = this.drainWaiters
    this.drainWaiters = []
    for (const f of w) f()
  }

  /**
   * Encode a frame queued behind a stream: into a spare when there is one, else into a buffer
   * of its own (the encoder grows the small scratch), so that a large one can be reused once
   * written. A small frame is copied out and the buffer kept.
   */
  private encodeBehind(value: unknown): Buffer {
    const side = this.side
    const spare = this.spares.take()
    side.buf = spare ?? this.scratch
    side.len = 0
    try {
      this.codec.encodeFrameInto(value, side)
    } catch (err) {
      side.buf = EMPTY
      if (spare !== undefined) this.spares.give(spare)
      throw err
    }
    const buf = side.buf
    const f = buf.subarray(0, side.len)
    side.buf = EMPTY
    if (side.len <= CHUNK + 4) {
      if (spare !== undefined) this.spares.give(spare)
      return Buffer.from(f)
    }
    this.owners.set(f, buf)
    return f
  }

  /**
   * Called now and then (the connection's tick): the spares go once a whole interval passed
   * without a large frame, and the free batch buffers once one passed without a batch, so a
   * connection that carried large messages or bursts once does not keep their buffers.
   */
  trimSpares(): void {
    if (!this.batchSinceTrim) this.free.clear()
    this.batchSinceTrim = false
    if (!this.largeSinceTrim) this.spares.clear()
    this.largeSinceTrim = false
  }

  /** Bytes held in free batch buffers (tests). */
  get freeBatchBytes(): number {
    return this.free.bytes
  }

  /** Bytes held in spare encoding buffers (tests). */
  get spareBytesHeld(): number {
    return this.spares.bytes
  }

  private startStream(body: Buffer, key: OrderKey, owner: Buffer | null): void {
    this.largeSinceTrim = true
    // A wire's own format may replace the body's first bytes by its first fragment header.
    const off = this.format === undefined ? 0 : (this.format as FragmentFormat).start(body)
    const s: Stream = { id: this.nextId++ >>> 0, body, off, key, owner, tail: [] }
    this.streams.push(s)
    if (key !== undefined) this.byKey.set(key, s)
    this.streamBytes += body.length - off
  }

  private writeFragment(s: Stream): void {
    const end = Math.min(s.off + CHUNK, s.body.length)
    const last = end === s.body.length
    const st = this.stream
    st.cork()
    const header =
      this.format === undefined
        ? fragmentHeader(s.id, end - s.off, last, s.off === 0 ? s.body.length : undefined)
        : (this.format as FragmentFormat).header(s.id, s.body, s.off, end, last)
    st.write(header)
    if (last && s.owner !== null && this.reuse) {
      this.writing.push(s.owner)
      st.write(s.body.subarray(s.off, end), this.onLastWritten)
    } else {
      st.write(s.body.subarray(s.off, end))
    }
    st.uncork()
    this.bytesOut += header.length + end - s.off
    this.streamBytes -= end - s.off
    this.unacked += end - s.off
    if (this.sharedWindow < OPEN_WINDOW) this.path.sent(end - s.off) // (else the window never reads it)
    s.off = end
    if (!last) return
    this.streams.splice(this.streams.indexOf(s), 1)
    if (s.key !== undefined && this.byKey.get(s.key) === s) this.byKey.delete(s.key)
    for (const f of s.tail) {
      this.streamBytes -= f.length
      this.queue(f, s.key, false)
    }
  }
}
