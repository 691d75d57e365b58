// Remote spawn requests waiting for their reply, by node, so that losing a node fails every
// request that was waiting on it.
import type { Clock } from '../clock.js'
import type { Pid } from '../terms/pid.js'
import { SpawnError, isCodeOf } from '../errors.js'

interface Waiting {
  resolve(pid: Pid): void
  reject(err: Error): void
  timer: unknown
}

export class SpawnRequests {
  private next = 1
  private readonly byNode = new Map<string, Map<number, Waiting>>()

  constructor(
    private readonly clock: Clock,
    private readonly timeout: number,
  ) {}

  nextId(): number {
    return this.next++
  }

  /** Register request `id` to `node`; returns the promise of the new pid. */
  open(node: string, id: number, what: string): Promise<Pid> {
    let table = this.byNode.get(node)
    if (table === undefined) this.byNode.set(node, (table = new Map()))
    const t = table
    const promise = new Promise<Pid>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        t.delete(id)
        reject(new SpawnError('ERR_SPAWN_FAILED', `spawn of ${what} on ${node}: no reply within ${this.timeout} ms`))
      }, this.timeout)
      t.set(id, { resolve, reject, timer })
    })
    return promise
  }

  /** A SPAWN_REPLY arrived. */
  settle(node: string, id: unknown, ok: unknown, value: unknown): void {
    const w = typeof id === 'number' ? this.byNode.get(node)?.get(id) : undefined
    if (w === undefined) return
    this.byNode.get(node)?.delete(id as number)
    this.clock.clearTimeout(w.timer)
    if (ok === true) {
      w.resolve(value as Pid)
      return
    }
    const v = (value ?? {}) as { code?: unknown; message?: unknown }
    const code = isCodeOf(v.code, 'SpawnError') ? v.code : 'ERR_SPAWN_FAILED'
    w.reject(new SpawnError(code, `${node}: ${typeof v.message === 'string' ? v.message : 'spawn refused'}`))
  }

  /** The node went down or could not be reached. */
  failNode(node: string): void {
    const table = this.byNode.get(node)
    if (table === undefined) return
    this.byNode.delete(node)
    for (const w of table.values()) {
      this.clock.clearTimeout(w.timer)
      w.reject(new SpawnError('ERR_SPAWN_FAILED', `spawn on ${node} failed: noconnection`))
    }
  }

  failAll(): void {
    for (const node of [...this.byNode.keys()]) this.failNode(node)
  }
}
