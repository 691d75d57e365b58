// How often one peer's gossip (NODES frames, mesh) may make this node start dials. Apart from
// limits.gossipDialsPerPeer, the dials under way at once: a peer repeating gossip of names that
// fail fast (nodes that do not exist) would otherwise start a new dial for each as soon as the
// last one failed, thousands a second, each a port-mapper lookup, a connectError and a warning.
//
// Two bounds. A name whose gossip-started dial failed is not dialled because of gossip again
// for GOSSIP_RETRY_MS (a negative cache of at most GOSSIP_FAILED_MAX names, oldest dropped
// first); an explicit use of the name (connect(), a send) still dials at once, and its
// connection clears the entry. And each peer connection has a budget of new gossip dials,
// limits.gossipDialsPerSecond, refilled continuously, of at most one second's worth.
import type { Clock } from '../clock.js'

/** How long a name whose gossip-started dial failed is not dialled for gossip. */
export const GOSSIP_RETRY_MS = 30_000
/** Names remembered as failed, at most (the oldest are forgotten first). */
export const GOSSIP_FAILED_MAX = 4096

interface Budget {
  tokens: number
  at: number
  /** The bounds' first effect on this peer's gossip was logged as a warning; later ones at debug. */
  warned: boolean
}

export class GossipDials {
  /** Name → the time gossip may dial it again; in insertion order, which is expiry order. */
  private readonly failed = new Map<string, number>()
  /** Per peer connection. */
  private readonly budgets = new WeakMap<object, Budget>()

  constructor(
    private readonly clock: Clock,
    private readonly perSecond: number,
  ) {}

  /** Did a gossip-started dial of `name` fail in the last GOSSIP_RETRY_MS? */
  recentlyFailed(name: string): boolean {
    const until = this.failed.get(name)
    if (until === undefined) return false
    if (this.clock.now() < until) return true
    this.failed.delete(name)
    return false
  }

  /** A dial gossip started for `name` failed. */
  dialFailed(name: string): void {
    const now = this.clock.now()
    this.failed.delete(name)
    this.failed.set(name, now + GOSSIP_RETRY_MS)
    for (const [n, until] of this.failed) {
      if (until > now && this.failed.size <= GOSSIP_FAILED_MAX) break
      this.failed.delete(n)
    }
  }

  /** `name` is connected: gossip of it is welcome again once it is lost. */
  connected(name: string): void {
    this.failed.delete(name)
  }

  /** New dials `peer`'s gossip may start now. */
  room(peer: object): number {
    return Math.floor(this.budget(peer).tokens)
  }

  /** `peer`'s gossip started `n` dials. */
  spend(peer: object, n: number): void {
    this.budget(peer).tokens -= n
  }

  /** True the first time a bound holds back `peer`'s gossip (to warn once per connection). */
  firstHoldBack(peer: object): boolean {
    const b = this.budget(peer)
    if (b.warned) return false
    b.warned = true
    return true
  }

  /** Names remembered as failed (tests). */
  get failedNames(): number {
    return this.failed.size
  }

  private budget(peer: object): Budget {
    const now = this.clock.now()
    const cap = this.perSecond
    let b = this.budgets.get(peer)
    if (b === undefined) {
      b = { tokens: cap, at: now, warned: false }
      this.budgets.set(peer, b)
      return b
    }
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) * cap) / 1000)
    b.at = now
    return b
  }
}
