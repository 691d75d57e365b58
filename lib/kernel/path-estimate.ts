// What a connection's path can carry, from its fragment acknowledgements (fragments.ts
// ackFrame): the round-trip time and the delivery rate, so that the outbox's window can hold a
// long path's bandwidth-delay product instead of one fixed size (outbox.ts, Outbox.window).
//
// Each piece written is remembered as (the fragment bytes written up to its end, when, the
// bytes acknowledged by then). An acknowledgement that covers a piece gives one sample: the
// round trip (now − when), and the delivery rate over it (bytes acknowledged since the piece
// was written ÷ that round trip), as BBR measures them. The estimate keeps the largest rate of
// the last 1–2 s (two buckets: this period and the last), and the smallest round trip ever seen
// on the connection. A round trip measured with our own bytes queued ahead of the piece is
// longer than the path's; were the smallest to age out while a stream keeps the window full,
// each window would be sized by the queue of the one before, and grow without end. (BBR empties
// its window every 10 s to measure again; a connection keeps one path, so its smallest round
// trip stays true, and a path that got longer is only filled less.)
//
// For the window shared with small frames, the fastest sample (the smallest round trip) of
// the last one to two round trips: its rate is what the path delivers now, and how much longer
// than the path's its round trip was is our own standing queue. Its rate, not the largest:
// every sample's rate is lowered by whatever delayed that one piece, so the largest of many is
// raised by the noise, and a window sized by it kept a queue of its own. Until a standing queue
// over QUEUE_DELAY was seen the path is still filling (`filled` false); a stream that stops for
// long enough that its recent samples lapse starts filling again.

/** How long a rate sample counts, ms. */
const RATE_PERIOD = 1000
/** Pieces remembered at most (beyond, later pieces go unsampled until acknowledgements catch up). */
const MAX_FLIGHT = 4096
/**
 * A standing queue: the fastest recent sample's round trip exceeds the path's by more than
 * this many ms, or a quarter of the path's round trip if that is longer (timers and event
 * loops add a little to every sample).
 */
export const QUEUE_DELAY = 1

interface Flight {
  /** Fragment bytes written up to this piece's end. */
  end: number
  /** When it was written, ms. */
  at: number
  /** Fragment bytes acknowledged when it was written. */
  acked: number
}

/** A recent sample: its round trip, ms, and the bytes delivered during it. */
interface Sample {
  rtt: number
  flight: number
}

/** The best sample of the last one or two periods (undefined: none); the period may change between calls. */
class WindowedBest<T> {
  private cur: T | undefined
  private prev: T | undefined
  private since = -Infinity

  /** `better(a, b)`: a is the better sample. */
  constructor(private readonly better: (a: T, b: T) => boolean) {}

  add(v: T, now: number, period: number): void {
    if (now - this.since >= period) {
      this.prev = now - this.since >= 2 * period ? undefined : this.cur
      this.cur = undefined
      this.since = now
    }
    if (this.cur === undefined || this.better(v, this.cur)) this.cur = v
  }

  get(now: number, period: number): T | undefined {
    const age = now - this.since
    if (age >= 2 * period) return undefined
    if (age >= period || this.prev === undefined) return this.cur
    return this.cur === undefined || this.better(this.prev, this.cur) ? this.prev : this.cur
  }
}

export class PathEstimate {
  private written = 0
  private acked = 0
  private readonly flights: Flight[] = []
  private smallestRtt = Infinity
  /** The largest rate of the last 1–2 s. */
  private readonly rate = new WindowedBest<number>((a, b) => a > b)
  /** The fastest sample of the last one or two round trips (the smallest). */
  private readonly recent = new WindowedBest<Sample>((a, b) => a.rtt < b.rtt)
  private queueSeen = false

  constructor(private readonly now: () => number) {}

  /** A piece of `bytes` fragment bytes was written. */
  sent(bytes: number): void {
    this.written += bytes
    if (this.flights.length < MAX_FLIGHT) this.flights.push({ end: this.written, at: this.now(), acked: this.acked })
  }

  /** The peer acknowledged `bytes` more fragment bytes. */
  ack(bytes: number): void {
    this.acked = Math.min(this.written, this.acked + bytes)
    let last: Flight | undefined
    while (this.flights.length > 0 && this.flights[0]!.end <= this.acked) last = this.flights.shift()
    if (last === undefined) return
    const now = this.now()
    const rtt = now - last.at
    if (!(rtt > 0)) return
    if (rtt < this.smallestRtt) this.smallestRtt = rtt
    const flight = this.acked - last.acked
    this.rate.add(flight / rtt, now, RATE_PERIOD)
    const period = this.smallestRtt
    if (this.recent.get(now, period) === undefined) this.queueSeen = false // a new start: filling again
    this.recent.add({ rtt, flight }, now, period)
    if (!this.queueSeen && this.recent.get(now, period)!.rtt - period > Math.max(QUEUE_DELAY, period / 4)) this.queueSeen = true
  }

  /** The smallest round trip, ms (Infinity: none measured). */
  get minRtt(): number {
    return this.smallestRtt
  }

  /** The bandwidth-delay product, bytes: the largest rate of the last 1–2 s × the smallest round trip (0: unknown). */
  get bdp(): number {
    const rtt = this.smallestRtt
    return rtt === Infinity ? 0 : (this.rate.get(this.now(), RATE_PERIOD) ?? 0) * rtt
  }

  /**
   * What the path holds now, bytes: the delivery rate of the fastest piece of the last one or
   * two round trips × the path's round trip. The fastest piece waited least behind our own
   * bytes and anything else: while the window is below what the path holds, its rate is the
   * window's; above it, the path's, however long the queue (0: unknown).
   */
  get recentBdp(): number {
    const s = this.recent.get(this.now(), this.smallestRtt)
    return s === undefined ? 0 : (s.flight / s.rtt) * this.smallestRtt
  }

  /** How much longer than the path's the fastest recent piece's round trip was, ms: our own standing queue (0: none measured). */
  get standingQueue(): number {
    const s = this.recent.get(this.now(), this.smallestRtt)
    return s === undefined ? 0 : s.rtt - this.smallestRtt
  }

  /** A standing queue of ours was seen since the recent samples last lapsed: the path is full. */
  get filled(): boolean {
    return this.queueSeen
  }
}
