// A process mailbox with Erlang's selective receive: take() returns the first message a
// predicate accepts and leaves every skipped message where it was, in order, for later
// receives (the "save queue" is simply the part of the queue a receive skipped).
//
// Storage is one array with a head index (no shift(), no node per message). A message taken
// from the middle leaves a HOLE that scans skip; the array is compacted when the dead prefix
// or the holes make up half of it, so both plain and selective receives stay amortised O(1)
// per message beyond the scan itself.
import type { Match } from './types.js'

const HOLE: unique symbol = Symbol('netkernel.mailbox.hole')

/** Returned by take() when no message matches. */
export const NONE: unique symbol = Symbol('netkernel.mailbox.none')

/** Compact only past this many dead slots, so small mailboxes never copy. */
const COMPACT_MIN = 1024

export class Mailbox {
  private q: unknown[] = []
  private head = 0
  private holes = 0

  /** Messages waiting. */
  get size(): number {
    return this.q.length - this.head - this.holes
  }

  push(msg: unknown): void {
    this.q.push(msg)
  }

  /**
   * Remove and return the first message `match` accepts (the first message without one), or
   * NONE. If `match` throws, the mailbox is unchanged and the error propagates.
   */
  take(match: Match | undefined): unknown {
    const q = this.q
    const len = q.length
    for (let i = this.head; i < len; i++) {
      const m = q[i]
      if (m === HOLE) continue
      if (match !== undefined && !match(m)) continue
      this.removeAt(i)
      return m
    }
    return NONE
  }

  /** Remove every message `pred` accepts; returns how many. */
  removeWhere(pred: Match): number {
    const q = this.q
    let w = this.head
    let removed = 0
    for (let r = this.head; r < q.length; r++) {
      const m = q[r]
      if (m === HOLE) continue
      if (pred(m)) {
        removed++
        continue
      }
      q[w++] = m
    }
    q.length = w
    this.holes = 0
    if (w === this.head) this.clear()
    return removed
  }

  /** Drop everything (the process died). */
  clear(): void {
    this.q.length = 0
    this.head = 0
    this.holes = 0
  }

  private removeAt(i: number): void {
    const q = this.q
    if (i !== this.head) {
      q[i] = HOLE
      this.holes++
      if (this.holes >= COMPACT_MIN && this.holes * 2 >= q.length - this.head) this.squeeze()
      return
    }
    q[i] = undefined
    let h = i + 1
    while (h < q.length && q[h] === HOLE) {
      q[h++] = undefined
      this.holes--
    }
    if (h === q.length) {
      this.clear()
    } else if (h >= COMPACT_MIN && h * 2 >= q.length) {
      q.copyWithin(0, h)
      q.length -= h
      this.head = 0
    } else {
      this.head = h
    }
  }

  /** Close the holes left by selective receives. */
  private squeeze(): void {
    const q = this.q
    let w = 0
    for (let r = this.head; r < q.length; r++) {
      const m = q[r]
      if (m !== HOLE) q[w++] = m
    }
    q.length = w
    this.head = 0
    this.holes = 0
  }
}
