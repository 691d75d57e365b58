// Slows down repeated failed handshakes. Failures are kept per claimer — the address a
// handshake came from and the node name its hello claimed — so one peer failing (a wrong
// cookie, a guessing attacker) slows down that claimer, not the other nodes behind the same
// address (one host, a NAT, an sshd gateway). A name never proven from an address is also
// slowed by that address's failures as a whole, so rotating claimed names gains an attacker
// nothing; a name that authenticated from there recently is not. Every delay is capped well
// below the dialler's step deadline, so a legitimate claimer slowed by an attacker still
// finishes its handshake. Entries expire by age; a full table drops its oldest entries.
import type { Clock } from '../clock.js'
import { abortError } from '../errors.js'

/** Failures a claimer gets without delay. */
const FREE_FAILURES = 3
/** Failures an address as a whole gets before its unproven names are slowed. */
const FREE_ADDRESS_FAILURES = 10
const BASE_DELAY = 50
/** The longest delay, at most: a fifth of the handshake step deadline caps it further. */
const MAX_DELAY = 1_000
const FORGET_AFTER = 60_000
const MAX_ENTRIES = 4096

interface Entry {
  failures: number
  last: number
  /** This claimer authenticated from this address since its last failure. */
  proven: boolean
}

function backoff(failures: number, free: number): number {
  return failures < free ? 0 : BASE_DELAY * 2 ** Math.min(16, failures - free)
}

export class FailureLimiter {
  /** Keyed by `${address} ${name}` (a claimer) or by address alone (the address as a whole). */
  private readonly entries = new Map<string, Entry>()
  private readonly maxDelay: number

  constructor(
    private readonly clock: Clock,
    stepTimeout = 5_000,
  ) {
    this.maxDelay = Math.max(0, Math.min(MAX_DELAY, Math.floor(stepTimeout / 5)))
  }

  /** How long a handshake from `address` claiming `name` waits before it is served. */
  delayFor(address: string, name: string): number {
    const own = this.get(`${address} ${name}`)
    let ms = backoff(own?.failures ?? 0, FREE_FAILURES)
    if (own?.proven !== true) ms = Math.max(ms, backoff(this.get(address)?.failures ?? 0, FREE_ADDRESS_FAILURES))
    return Math.min(this.maxDelay, ms)
  }

  wait(address: string, name: string, signal: AbortSignal): Promise<void> {
    const ms = this.delayFor(address, name)
    if (ms === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.clock.clearTimeout(t)
        reject(abortError(signal, `handshake from ${address}`))
      }
      const t = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** A handshake from `address` failed; `name` is what its hello claimed (if it got that far). */
  failure(address: string, name?: string): void {
    this.bump(address)
    if (name !== undefined) this.bump(`${address} ${name}`).proven = false
  }

  /**
   * `name` authenticated from `address`: its own failures are forgiven, and while that
   * address has failures on record, it is proven (not slowed by them).
   */
  success(address: string, name: string): void {
    const key = `${address} ${name}`
    this.entries.delete(key)
    if (this.get(address) !== undefined) this.insert(key, { failures: 0, last: this.clock.now(), proven: true })
  }

  get size(): number {
    return this.entries.size
  }

  private get(key: string): Entry | undefined {
    const e = this.entries.get(key)
    if (e !== undefined && this.clock.now() - e.last > FORGET_AFTER) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  private bump(key: string): Entry {
    const e = this.get(key) ?? { failures: 0, last: 0, proven: false }
    e.failures++
    e.last = this.clock.now()
    // Re-inserted, so the map stays ordered by last use: the oldest entries come first.
    this.entries.delete(key)
    this.insert(key, e)
    return e
  }

  private insert(key: string, e: Entry): void {
    if (this.entries.size >= MAX_ENTRIES) this.prune()
    this.entries.set(key, e)
  }

  /** Drop the expired entries, and the oldest ones while the table is still full. */
  private prune(): void {
    const now = this.clock.now()
    for (const [k, e] of this.entries) {
      if (now - e.last <= FORGET_AFTER && this.entries.size < MAX_ENTRIES) break
      this.entries.delete(k)
    }
  }
}
