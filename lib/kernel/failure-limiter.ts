// Slows down repeated failed handshakes from one address: after a few failures each new
// attempt from there waits, doubling up to a cap. Entries expire, so the table stays small.
import type { Clock } from './clock.js'
import { abortError } from '../errors.js'

const FREE_FAILURES = 3
const BASE_DELAY = 100
const MAX_DELAY = 5_000
const FORGET_AFTER = 60_000
const MAX_ENTRIES = 4096

interface Entry {
  failures: number
  last: number
}

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly clock: Clock) {}

  /** How long an attempt from `address` waits before its handshake is served. */
  delayFor(address: string): number {
    const e = this.entries.get(address)
    if (e === undefined) return 0
    if (this.clock.now() - e.last > FORGET_AFTER) {
      this.entries.delete(address)
      return 0
    }
    if (e.failures < FREE_FAILURES) return 0
    return Math.min(MAX_DELAY, BASE_DELAY * 2 ** (e.failures - FREE_FAILURES))
  }

  wait(address: string, signal: AbortSignal): Promise<void> {
    const ms = this.delayFor(address)
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

  failure(address: string): void {
    if (this.entries.size >= MAX_ENTRIES) this.prune()
    const e = this.entries.get(address)
    if (e === undefined) this.entries.set(address, { failures: 1, last: this.clock.now() })
    else {
      e.failures++
      e.last = this.clock.now()
    }
  }

  success(address: string): void {
    this.entries.delete(address)
  }

  get size(): number {
    return this.entries.size
  }

  private prune(): void {
    const now = this.clock.now()
    for (const [k, e] of this.entries) if (now - e.last > FORGET_AFTER) this.entries.delete(k)
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
  }
}
