// Checks a stream of sequence-numbered messages for loss, duplication and reordering, under
// the delivery rule of Erlang distribution: messages from one process to another over one
// connection arrive in order, each once; when a connection breaks, what was in flight or sent
// while it was going down may be lost.
//
// The sender numbers every message with one counter (seq) and tags it with the connection it
// was sent on (gen: a new one at every nodeup of the receiving node). So:
//   - within one gen, what arrives must be the gen's messages from its first one on, each once,
//     in order. A gap followed by a later arrival of the same gen is a loss on a live connection
//     (or a reordering, if the missing one turns up later); a message seen twice is a duplicate.
//   - a gen closed by a nodedown may end early: the messages after its last arrival are counted
//     apart (lostAtBreak) — those are the ones the rule allows to be lost.
//   - messages of an older gen arriving after a newer gen's are reordered.
//   - the gen still open at the end must be complete (the run waits for it): what is missing
//     there is lost.

interface Gen {
  readonly first: number
  /** The next seq expected (everything below it arrived, or is in `missing`). */
  next: number
  /** One past the last seq sent on it, once it is closed. */
  end: number | undefined
  readonly missing: Set<number>
}

export interface SequenceSummary {
  /** Messages that arrived, each counted once. */
  delivered: number
  /** Sent on a connection that stayed up past them, and never arrived. Must be 0. */
  lost: number
  /** Arrived more than once. Must be 0. */
  duplicated: number
  /** Arrived after a message sent later. Must be 0. */
  reordered: number
  /** Arrivals tagged with a connection the sender never opened. Must be 0. */
  foreign: number
  /** Sent on a connection that then broke, after its last arrival: allowed to be lost. */
  lostAtBreak: number
  /** Connections (gens) opened. */
  connections: number
}

/** Gaps larger than this are counted, not remembered one by one. */
const MAX_REMEMBERED_GAP = 1_000_000

export class SequenceCheck {
  private readonly gens = new Map<number, Gen>()
  private newestArrivedGen = -1
  private delivered = 0
  private duplicated = 0
  private reordered = 0
  private foreign = 0
  private uncountedGaps = 0

  /** Messages that arrived so far, each counted once. */
  get arrived(): number {
    return this.delivered
  }

  /** The sender opened connection `gen`; its first message will carry `firstSeq`. */
  open(gen: number, firstSeq: number): void {
    this.gens.set(gen, { first: firstSeq, next: firstSeq, end: undefined, missing: new Set() })
  }

  /** Connection `gen` broke; `endSeq` is one past the last seq sent on it. */
  close(gen: number, endSeq: number): void {
    const g = this.gens.get(gen)
    if (g !== undefined && g.end === undefined) g.end = endSeq
  }

  /** Messages of `gen` sent and not yet arrived (or missing). */
  outstanding(gen: number, sentSeq: number): number {
    const g = this.gens.get(gen)
    return g === undefined ? 0 : sentSeq - g.next + g.missing.size
  }

  arrive(gen: number, seq: number): void {
    const g = this.gens.get(gen)
    if (g === undefined || seq < g.first) {
      this.foreign++
      return
    }
    if (gen < this.newestArrivedGen) this.reordered++
    else this.newestArrivedGen = gen
    if (seq === g.next) {
      g.next++
      this.delivered++
    } else if (seq > g.next) {
      const gap = seq - g.next
      if (g.missing.size + gap <= MAX_REMEMBERED_GAP) for (let s = g.next; s < seq; s++) g.missing.add(s)
      else this.uncountedGaps += gap
      g.next = seq + 1
      this.delivered++
    } else if (g.missing.delete(seq)) {
      this.reordered++
      this.delivered++
    } else {
      this.duplicated++
    }
  }

  summary(): SequenceSummary {
    let lost = this.uncountedGaps
    let lostAtBreak = 0
    for (const g of this.gens.values()) {
      lost += g.missing.size
      if (g.end !== undefined) lostAtBreak += Math.max(0, g.end - g.next)
    }
    return {
      delivered: this.delivered,
      lost,
      duplicated: this.duplicated,
      reordered: this.reordered,
      foreign: this.foreign,
      lostAtBreak,
      connections: this.gens.size,
    }
  }

  /** The open gen's tail that never arrived (call at the end of a run): lost, not allowed. */
  unfinished(gen: number, sentSeq: number): number {
    const g = this.gens.get(gen)
    return g === undefined || g.end !== undefined ? 0 : sentSeq - g.next
  }
}
