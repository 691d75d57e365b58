// Asking a peer for its stats (node.stats(peer), `netkernel top`), and answering such asks:
//
//   [STATS_REQUEST, reqId]                     → the peer's kernel answers, no process involved
//   [STATS_REPLY, reqId, true, NodeStats]      (stats.ts)
//   [STATS_REPLY, reqId, false, { code, message }]
//
// A control frame rather than a registered process, so registered() shows only the user's
// names. The operation is named 'stats' for the signal policy: a peer it refuses gets
// ERR_SIGNAL_NOT_ALLOWED.
import type { Clock } from '../clock.js'
import type { Connection } from './connection.js'
import type { Logger } from '../logger.js'
import type { NodeStats } from './stats.js'
import { NetkernelError, ReceiveTimeoutError, abortError } from '../errors.js'
import { STATS_REPLY, STATS_REQUEST } from './frames.js'

export const DEFAULT_STATS_TIMEOUT = 5000

export interface StatsRequestDeps {
  localName(): string
  clock: Clock
  logger: Logger
  /** This node's snapshot (the answer to a request). */
  collect(): NodeStats
}

/** What sends a request: the net kernel, which queues a control frame, connecting on first use. */
export interface StatsSender {
  send(node: string, frame: unknown[]): unknown
}

/** The outline of a NodeStats (a reply comes from a peer: it is checked before use). */
function isNodeStats(v: unknown): v is NodeStats {
  const s = v as NodeStats
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.node === 'string' &&
    typeof s.at === 'number' &&
    typeof s.processes === 'number' &&
    Array.isArray(s.connections) &&
    Array.isArray(s.registered) &&
    typeof s.refused === 'object' &&
    s.refused !== null &&
    s.connections.every(c => typeof c === 'object' && c !== null && typeof c.peer === 'string')
  )
}

interface Waiting {
  resolve(stats: NodeStats): void
  reject(err: Error): void
  timer: unknown
  signal: AbortSignal | undefined
  onAbort: () => void
}

export class StatsRequests {
  private next = 1
  private readonly byNode = new Map<string, Map<number, Waiting>>()

  constructor(private readonly d: StatsRequestDeps) {}

  /** This node's own snapshot. */
  local(): NodeStats {
    return this.d.collect()
  }

  /** Ask `node` for its stats; rejects when it cannot be reached, refuses, or does not answer in time. */
  ask(via: StatsSender, node: string, opts: { timeout?: number; signal?: AbortSignal } = {}): Promise<NodeStats> {
    const { signal } = opts
    if (signal?.aborted) return Promise.reject(abortError(signal, `stats request to ${node}`))
    const timeout = opts.timeout ?? DEFAULT_STATS_TIMEOUT
    const id = this.next++
    let table = this.byNode.get(node)
    if (table === undefined) this.byNode.set(node, (table = new Map()))
    const t = table
    const promise = new Promise<NodeStats>((resolve, reject) => {
      const w: Waiting = {
        resolve,
        reject,
        signal,
        timer: this.d.clock.setTimeout(
          () =>
            this.finish(
              node,
              id,
              new ReceiveTimeoutError(timeout, `stats request to ${node}`, `stats request to ${node}: no reply within ${timeout} ms`),
            ),
          timeout,
        ),
        onAbort: () => this.finish(node, id, abortError(signal as AbortSignal, `stats request to ${node}`)),
      }
      signal?.addEventListener('abort', w.onAbort, { once: true })
      t.set(id, w)
    })
    via.send(node, [STATS_REQUEST, id])
    return promise
  }

  /**
   * A STATS_REQUEST or STATS_REPLY frame from `conn`; `allowed`: whether the signal policy
   * lets the peer read this node's stats (operation 'stats', asked by the dispatcher).
   */
  frame(conn: Connection, f: unknown[], allowed: boolean): void {
    const [kind, id] = f
    if (typeof id !== 'number') return
    if (kind === STATS_REQUEST) {
      if (!allowed) {
        conn.send([
          STATS_REPLY,
          id,
          false,
          { code: 'ERR_SIGNAL_NOT_ALLOWED', message: `${this.d.localName()} does not allow ${conn.peer} to read its stats` },
        ])
        return
      }
      conn.send([STATS_REPLY, id, true, this.d.collect()])
      return
    }
    const [, , ok, value] = f
    if (ok === true) {
      this.finish(
        conn.peer,
        id,
        isNodeStats(value) ? value : new NetkernelError('ERR_PROTOCOL', `${conn.peer} sent a malformed stats reply`),
      )
      return
    }
    const v = (value ?? {}) as { code?: unknown; message?: unknown }
    const code = v.code === 'ERR_SIGNAL_NOT_ALLOWED' ? v.code : 'ERR_PROTOCOL'
    this.finish(
      conn.peer,
      id,
      new NetkernelError(code, `${conn.peer}: ${typeof v.message === 'string' ? v.message : 'stats request refused'}`),
    )
  }

  /** The node went down or could not be reached: every request waiting on it fails. */
  failNode(node: string): void {
    const table = this.byNode.get(node)
    if (table === undefined) return
    for (const id of [...table.keys()])
      this.finish(node, id, new NetkernelError('ERR_CONNECTION_CLOSED', `stats request to ${node}: noconnection`))
  }

  failAll(): void {
    for (const node of [...this.byNode.keys()]) this.failNode(node)
  }

  private finish(node: string, id: number, outcome: NodeStats | Error): void {
    const table = this.byNode.get(node)
    const w = table?.get(id)
    if (table === undefined || w === undefined) return
    table.delete(id)
    if (table.size === 0) this.byNode.delete(node)
    this.d.clock.clearTimeout(w.timer)
    w.signal?.removeEventListener('abort', w.onAbort)
    if (outcome instanceof Error) w.reject(outcome)
    else w.resolve(outcome)
  }
}
