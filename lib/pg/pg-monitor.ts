// A subscription to the membership changes of a pg scope, or of one group in it (pg:monitor_scope
// and pg:monitor of OTP 25.1+): the members at the start, then one event per join or leave, read
// as an async iterable. The buffer is bounded: a reader that falls more than `maxQueued` events
// behind gets ERR_LIMIT from the iteration (and the monitor stops), instead of unbounded memory.
import { NetkernelError } from '../errors.js'
import type { Pid } from '../terms/pid.js'
import type { PgGroup } from './group-key.js'

export interface PgEvent {
  /** 'join' when the pids joined the group, 'leave' when they left it (or exited, or their node went down). */
  type: 'join' | 'leave'
  group: PgGroup
  pids: Pid[]
}

export class PgMonitor implements AsyncIterable<PgEvent> {
  private readonly queue: PgEvent[] = []
  private wake: (() => void) | undefined = undefined
  private failure: Error | undefined = undefined
  private done = false

  /** @internal made by node.pg.monitor() */
  constructor(
    /** The group watched; undefined when the whole scope is. */
    readonly group: PgGroup,
    /** A group monitor: the group's members when it started. */
    readonly members: Pid[],
    /** A scope monitor: every group with members when it started, with them. */
    readonly groups: Array<[PgGroup, Pid[]]>,
    private readonly maxQueued: number,
    private readonly onStop: (m: PgMonitor) => void,
    signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      if (signal.aborted) this.stop()
      else signal.addEventListener('abort', () => this.stop(), { once: true })
    }
  }

  /** @internal an event of the scope */
  push(e: PgEvent): void {
    if (this.done) return
    if (this.queue.length >= this.maxQueued) {
      this.failure = new NetkernelError('ERR_LIMIT', `pg monitor: the reader fell ${this.maxQueued} events behind`)
      this.stop()
      return
    }
    this.queue.push(e)
    this.wakeUp()
  }

  /** Stop watching (pg:demonitor): the iteration ends after the events already buffered. */
  stop(): void {
    if (this.done) return
    this.done = true
    this.onStop(this)
    this.wakeUp()
  }

  get stopped(): boolean {
    return this.done
  }

  private wakeUp(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PgEvent> {
    for (;;) {
      const e = this.queue.shift()
      if (e !== undefined) {
        yield e
        continue
      }
      if (this.failure !== undefined) throw this.failure
      if (this.done) return
      await new Promise<void>(resolve => (this.wake = resolve))
    }
  }
}
