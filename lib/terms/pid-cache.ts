// The codecs' caches of the last two Pids they wrote or read, with their bytes. A stream of
// requests names the same recipient and the same sender (the pid to answer) frame after frame:
// with the bytes kept, each is encoded, or parsed, once. Two entries, so the recipient and the
// sender do not push each other out (one entry missed twice a request); a new Pid takes the
// place of the entry used less recently. Pids are immutable: a Pid and its bytes stay each other's.
import { Buffer } from 'node:buffer'
import type { Pid } from './pid.js'

/** The longest Pid kept, in bytes: a node name of up to ~110 bytes (a long FQDN's; atoms may be 255 characters). */
export const PID_CACHE_BYTES = 128

class PidCache {
  protected readonly pids: [Pid | undefined, Pid | undefined] = [undefined, undefined]
  protected readonly bytes = [Buffer.alloc(PID_CACHE_BYTES), Buffer.alloc(PID_CACHE_BYTES)] as const
  protected readonly lengths = [0, 0]
  /** The entry used less recently: the next keep() replaces it. */
  protected next = 0

  /** Keep `pid`, whose bytes are buf[start, end), in the less recently used entry (unless longer than PID_CACHE_BYTES). */
  keep(pid: Pid, buf: Buffer, start: number, end: number): void {
    if (end - start > PID_CACHE_BYTES) return
    const e = this.next
    this.next = e ^ 1
    const kept = this.bytes[e]!
    for (let i = start; i < end; i++) kept[i - start] = buf[i]!
    this.lengths[e] = end - start
    this.pids[e] = pid
  }
}

/** An encoder's: by the Pid object. */
export class EncodedPids extends PidCache {
  /** The entry that holds `pid`, or -1. */
  entry(pid: Pid): number {
    const e = pid === this.pids[0] ? 0 : pid === this.pids[1] ? 1 : -1
    if (e !== -1) this.next = e ^ 1
    return e
  }

  /** How many bytes entry `e` holds. */
  size(e: number): number {
    return this.lengths[e]!
  }

  /** Copy entry `e`'s bytes into `buf` at `pos` (room for size(e) there); returns how many. */
  copyTo(e: number, buf: Buffer, pos: number): number {
    // A loop: Buffer#copy of part of a buffer makes a Uint8Array view for it (Node 20).
    const kept = this.bytes[e]!
    const n = this.lengths[e]!
    for (let i = 0; i < n; i++) buf[pos + i] = kept[i]!
    return n
  }
}

/** A decoder's: by the bytes. */
export class DecodedPids extends PidCache {
  /** The Pid kept whose bytes are buf[start, start + n), or undefined. */
  find(buf: Buffer, start: number, n: number): Pid | undefined {
    for (let e = 0; e < 2; e++) {
      if (n !== this.lengths[e]) continue
      const kept = this.bytes[e]!
      let i = 0
      while (i < n && kept[i] === buf[start + i]) i++
      if (i === n) {
        this.next = e ^ 1
        return this.pids[e]
      }
    }
    return undefined
  }
}
