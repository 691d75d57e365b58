// A process mailbox with Erlang's selective receive: take() returns the first message a
// predicate accepts and leaves every skipped message where it was, in order, for later
// receives (the "save queue" is simply the part of the queue a receive skipped).
//
// Storage is one array with a head index (no shift(), no node per message). A message taken
// from the middle leaves a HOLE that scans skip; the array is compacted when the dead prefix
// or the holes make up half of it, so both plain and selective receives stay amortised O(1)
// per message beyond the scan itself.
//
// A mark (mark()) is where the messages that arrive after it will lie: a receive for a reply
// that names a fresh ref (a call's) starts its scan there, as BEAM's receive does after
// making a ref, so a call costs the same whatever the backlog ahead of it. Storage moves (the
// compactions, clear) change the mailbox's generation, and a mark of an older one scans from
// the head: slower, never wrong, since a message ahead of the mark cannot name the ref.
import type { Match } from './types.js'

const HOLE: unique symbol = Symbol('netkernel.mailbox.hole')

/** Returned by take() when no message matches. */
export const NONE: unique symbol = Symbol('netkernel.mailbox.none')

/** Compact only past this many dead slots, so small mailboxes never copy. */
const COMPACT_MIN = 1024

/** Where the messages after mark() lie, while the storage has not moved. */
export interface MailboxMark {
  readonly at: number
  readonly gen: number
}

export class Mailbox {
  private q: unknown[] = []
  private head = 0
  private holes = 0
  /** Changes whenever messages move in `q` (a mark's index is good only in its generation). */
  private gen = 0

  /** Messages waiting. */
  get size(): number {
    return this.q.length - this.head - this.holes
  }

  push(msg: unknown): void {
    this.q.push(msg)
  }

  /** Where the next message pushed will lie (see the top of the file). */
  mark(): MailboxMark {
    return { at: this.q.length, gen: this.gen }
  }

  /** Where a scan for what arrived after `mark` starts. */
  private from(mark: MailboxMark | undefined): number {
    return mark !== undefined && mark.gen === this.gen && mark.at > this.head ? mark.at : this.head
  }

  /**
   * Remove and return the first message `match` accepts (the first message without one), or
   * NONE; with a mark, only messages from it on are looked at (while the mark holds). If
   * `match` throws, the mailbox is unchanged and the error propagates.
   */
  take(match: Match | undefined, mark?: MailboxMark): unknown {
    const q = this.q
    const len = q.length
    for (let i = this.from(mark); i < len; i++) {
      const m = q[i]
      if (m === HOLE) continue
      if (match !== undefined && !match(m)) continue
      this.removeAt(i)
      return m
    }
    return NONE
  }

  /**
   * Remove every message `pred` accepts (from `mark` on, while it holds); returns how many.
   * The others stay where they are.
   */
  removeWhere(pred: Match, mark?: MailboxMark): number {
    let removed = 0
    for (let i = this.from(mark); i < this.q.length; i++) {
      const m = this.q[i]
      if (m === HOLE || !pred(m)) continue
      const gen = this.gen
      this.removeAt(i)
      removed++
      // (a compaction moved what is left: look again from the head)
      if (this.gen !== gen) i = this.head - 1
    }
    return removed
  }

  /** Drop everything (the process died). */
  clear(): void {
    this.q.length = 0
    this.head = 0
    this.holes = 0
    this.gen++
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
      this.gen++
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
    this.gen++
  }
}
