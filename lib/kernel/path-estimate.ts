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

/** How long a rate sample counts, ms. */
const RATE_PERIOD = 1000
/** Pieces remembered at most (beyond, later pieces go unsampled until acknowledgements catch up). */
const MAX_FLIGHT = 4096

interface Flight {
  /** Fragment bytes written up to this piece's end. */
  end: number
  /** When it was written, ms. */
  at: number
  /** Fragment bytes acknowledged when it was written. */
  acked: number
}

/** The largest sample of the last one or two periods. */
class WindowedMax {
  private cur = 0
  private prev = 0
  private since = -Infinity

  constructor(private readonly period: number) {}

  add(v: number, now: number): void {
    if (now - this.since >= this.period) {
      this.prev = now - this.since >= 2 * this.period ? 0 : this.cur
      this.cur = 0
      this.since = now
    }
    if (v > this.cur) this.cur = v
  }

  get(now: number): number {
    const age = now - this.since
    if (age >= 2 * this.period) return 0
    return age >= this.period ? this.cur : Math.max(this.prev, this.cur)
  }
}

export class PathEstimate {
  private written = 0
  private acked = 0
  private readonly flights: Flight[] = []
  private smallestRtt = Infinity
  private readonly rate = new WindowedMax(RATE_PERIOD)

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
    this.rate.add((this.acked - last.acked) / rtt, now)
  }

  /** The smallest round trip, ms (Infinity: none measured). */
  get minRtt(): number {
    return this.smallestRtt
  }

  /** The bandwidth-delay product, bytes: the largest recent rate × the smallest round trip (0: unknown). */
  get bdp(): number {
    const rtt = this.smallestRtt
    return rtt === Infinity ? 0 : this.rate.get(this.now()) * rtt
  }
}
