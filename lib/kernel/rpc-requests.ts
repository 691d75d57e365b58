// Remote calls this node made and is waiting on, by node, so that losing a node fails every
// call waiting on it:
//
//   [RPC_CALL, reqId, from | null, mod, fun, args]   → the peer runs the function (dispatch.ts)
//   [RPC_REPLY, reqId, kind, value, stack?]          ← how it ended (lib/process/rpc.ts)
//
// A reply settles only a call this node sent to that node: one still waiting, or one it gave
// up on (timeout, abort) not long ago, whose late reply is dropped. Anything else is a forged
// reply (the dispatcher counts it as a protocol refusal).
import type { Clock } from '../clock.js'
import { NetkernelError, abortError } from '../errors.js'
import { badrpcError, rpcTimeout, type RpcOptions, type RpcOutcome } from '../process/rpc.js'

interface Waiting {
  what: string
  resolve(o: RpcOutcome): void
  reject(err: Error): void
  timer: unknown
  signal: AbortSignal | undefined
  onAbort: () => void
}

/** How many given-up calls per node are remembered, so that their late replies are not taken for forged ones. */
const ABANDONED_KEPT = 1024

const KINDS = new Set(['return', 'error', 'throw', 'exit', 'badrpc'])

export class RpcRequests {
  private next = 1
  private readonly byNode = new Map<string, Map<number, Waiting>>()
  private readonly abandoned = new Map<string, Set<number>>()

  constructor(private readonly clock: Clock) {}

  nextId(): number {
    return this.next++
  }

  /** Register call `id` to `node` (`what`: 'mod:fun/arity on node'); resolves with its outcome. */
  open(node: string, id: number, what: string, opts: RpcOptions): Promise<RpcOutcome> {
    const { signal } = opts
    if (signal?.aborted) return Promise.reject(abortError(signal, `rpc ${what}`))
    const timeout = opts.timeout ?? Infinity
    let table = this.byNode.get(node)
    if (table === undefined) this.byNode.set(node, (table = new Map()))
    const t = table
    return new Promise<RpcOutcome>((resolve, reject) => {
      const w: Waiting = {
        what,
        resolve,
        reject,
        signal,
        timer: timeout === Infinity ? undefined : this.clock.setTimeout(() => this.giveUp(node, id, rpcTimeout(what, timeout)), timeout),
        onAbort: () => this.giveUp(node, id, abortError(signal as AbortSignal, `rpc ${what}`)),
      }
      signal?.addEventListener('abort', w.onAbort, { once: true })
      t.set(id, w)
    })
  }

  /**
   * An RPC_REPLY from `node`. False when it answers no call this node made to `node` (a
   * forged reply); true otherwise, also for the late reply of a call given up on.
   */
  settle(node: string, id: unknown, kind: unknown, value: unknown, stack: unknown): boolean {
    if (typeof id !== 'number') return false
    const w = this.byNode.get(node)?.get(id)
    if (w === undefined) return this.abandoned.get(node)?.delete(id) === true
    if (typeof kind !== 'string' || !KINDS.has(kind)) {
      this.finish(node, id, new NetkernelError('ERR_PROTOCOL', `rpc ${w.what}: ${node} sent a reply of unknown kind ${String(kind)}`))
      return false
    }
    if (kind === 'badrpc') this.finish(node, id, badrpcError(node, w.what, value))
    else if (kind === 'return') this.finish(node, id, { kind, value })
    else if (kind === 'error') this.finish(node, id, stack === undefined ? { kind, reason: value } : { kind, reason: value, stack })
    else this.finish(node, id, { kind: kind as 'throw' | 'exit', reason: value })
    return true
  }

  /** Fail call `id` to `node` now (its frame could not be queued). */
  fail(node: string, id: number, err: Error): void {
    this.finish(node, id, err)
  }

  /** The node went down or could not be reached: every call waiting on it fails. */
  failNode(node: string): void {
    this.abandoned.delete(node)
    const table = this.byNode.get(node)
    if (table === undefined) return
    for (const [id, w] of [...table]) this.finish(node, id, new NetkernelError('ERR_CONNECTION_CLOSED', `rpc ${w.what}: noconnection`))
  }

  failAll(): void {
    for (const node of [...this.byNode.keys()]) this.failNode(node)
  }

  /** Calls waiting for a reply (all nodes). */
  get size(): number {
    let n = 0
    for (const t of this.byNode.values()) n += t.size
    return n
  }

  /** Stop waiting for call `id` (timeout, abort); remember it so that its late reply is dropped quietly. */
  private giveUp(node: string, id: number, err: Error): void {
    if (!this.finish(node, id, err)) return
    let set = this.abandoned.get(node)
    if (set === undefined) this.abandoned.set(node, (set = new Set()))
    set.add(id)
    if (set.size > ABANDONED_KEPT) set.delete(set.values().next().value as number)
  }

  private finish(node: string, id: number, outcome: RpcOutcome | Error): boolean {
    const table = this.byNode.get(node)
    const w = table?.get(id)
    if (table === undefined || w === undefined) return false
    table.delete(id)
    if (table.size === 0) this.byNode.delete(node)
    if (w.timer !== undefined) this.clock.clearTimeout(w.timer)
    w.signal?.removeEventListener('abort', w.onAbort)
    if (outcome instanceof Error) w.reject(outcome)
    else w.resolve(outcome)
    return true
  }
}
