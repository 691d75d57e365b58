// One local process: its mailbox, the receive it may be waiting in, and the per-process state
// that links, monitors and the registry keep on it. The object itself is the `Proc` a process
// function receives (the internal fields are not part of that type).
import { NetkernelError, ReceiveTimeoutError } from '../errors.js'
import type { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import type { ProcessSystem } from './process-system.js'
import { Mailbox, NONE, type MailboxMark } from './mailbox.js'
import { ProcessExit, describeReason, noop } from './exit.js'
import type { Monitor } from './monitors.js'
import type { DemonitorOptions, Dest, Match, MonitorOptions, MonitorTarget, Proc, ProcessFn, ReceiveOptions } from './types.js'
import type { RpcOptions } from './rpc.js'
import type { AliasOptions } from './aliases.js'
import { MAX_ABANDONED, call, castMessage, reply, takeLateReply, type CallFrom, type CallOptions } from './gen-call.js'

/** Remote spawn_link requests in flight, and link exits that overtook their replies. */
export interface PendingSpawnLinks {
  count: number
  early: Array<[from: Pid, reason: unknown]> | undefined
}

interface AbortWait {
  signal: AbortSignal
  listener: () => void
}

/** The longest timer Node can arm (larger ones fire after 1 ms). */
const MAX_TIMEOUT = 0x7fffffff

function onReceiveTimeout(p: Process, ms: number): void {
  p.timer = undefined
  if (!p.timerArmed) return // kept after its receive ended (see Process.armTimer), unused since
  p.timerArmed = false
  p.failWait(new ReceiveTimeoutError(ms, `process ${p.self.toString()}`))
}

export class Process implements Proc {
  readonly mailbox = new Mailbox()
  /** Set once, when the process exits; then `reason` is its exit reason. */
  dead = false
  reason: unknown = undefined
  trap = false
  regName: string | undefined = undefined
  /** Linked pids by pid.key. */
  links: Map<string, Pid> | undefined = undefined
  /** Monitors this process holds. */
  monitors: Set<Monitor> | undefined = undefined
  /** Monitors other processes hold on this one. */
  monitoredBy: Set<Monitor> | undefined = undefined
  /** monitor_node counts by node. */
  nodeMons: Map<string, number> | undefined = undefined
  spawnLinks: PendingSpawnLinks | undefined = undefined
  /** The node at whose request it runs (a spawn request, an rpc call): counted for it (peer-processes.ts). */
  forPeer: string | undefined = undefined
  /** Told the exit reason when the process ends (a remote call's outcome, rpc.ts). */
  onExit: ((reason: unknown) => void) | undefined = undefined
  /** The function to run; cleared when it starts. */
  fn: ProcessFn | undefined
  timer: unknown = undefined
  /** The duration `timer` was made for, ms. */
  timerMs = 0
  /** `timer` is the waiting receive's (else it is kept, unreferenced, for the next one). */
  timerArmed = false
  /** Calls it gave up on (timeout, abort), by ref key: their late replies are dropped (gen-call.ts). */
  abandoned: Set<string> | undefined = undefined
  /** Its active aliases, by ref key (aliases.ts). */
  aliases: Set<string> | undefined = undefined

  private match: Match | undefined = undefined
  private resolve: ((msg: unknown) => void) | undefined = undefined
  private reject: ((err: unknown) => void) | undefined = undefined
  private pending: Promise<unknown> | undefined = undefined
  private abort: AbortWait | undefined = undefined
  private marker: ProcessExit | undefined = undefined

  constructor(
    readonly system: ProcessSystem,
    readonly self: Pid,
    fn: ProcessFn,
  ) {
    this.fn = fn
  }

  get node(): string {
    return this.system.node
  }

  // ---- mailbox and receive ------------------------------------------------------------

  /** The hot path: hand `msg` to a matching waiting receive, else queue it. */
  deliver(msg: unknown): void {
    if (this.dead) return
    if (this.abandoned !== undefined && takeLateReply(this.abandoned, msg)) {
      if (this.abandoned.size === 0) this.abandoned = undefined
      return
    }
    const resolve = this.resolve
    if (resolve !== undefined) {
      const match = this.match
      if (match === undefined) {
        this.endWait()
        resolve(msg)
        return
      }
      let ok: boolean
      try {
        ok = match(msg)
      } catch (err) {
        this.mailbox.push(msg)
        this.failWait(err)
        return
      }
      if (ok) {
        this.endWait()
        resolve(msg)
        return
      }
    }
    this.mailbox.push(msg)
  }

  /** (`mark`, for this runtime's own receives: look only at what came after it, as a call does for its reply.) */
  receive(match?: Match, opts?: ReceiveOptions, mark?: MailboxMark): Promise<any> {
    if (this.dead) return this.deadReceive()
    if (this.resolve !== undefined) {
      throw new NetkernelError('ERR_RECEIVE_BUSY', `process ${this.self.toString()} called receive while another receive is waiting`)
    }
    if (match !== undefined && typeof match !== 'function') {
      throw new NetkernelError('ERR_BAD_ARGUMENT', 'receive: match must be a function')
    }
    const m = this.mailbox.take(match, mark)
    if (m !== NONE) return Promise.resolve(m)
    let timeout: number | undefined
    let signal: AbortSignal | undefined
    if (opts !== undefined) {
      timeout = opts.timeout
      signal = opts.signal
      if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && (timeout <= MAX_TIMEOUT || timeout === Infinity))) {
        throw new NetkernelError('ERR_BAD_ARGUMENT', `receive: timeout must be 0..${MAX_TIMEOUT} ms or Infinity, got ${String(timeout)}`)
      }
      if (signal?.aborted) return Promise.reject(signal.reason)
      if (timeout === 0) return Promise.reject(new ReceiveTimeoutError(0, `process ${this.self.toString()}`))
    }
    const promise = new Promise<unknown>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.pending = promise
    this.match = match
    if (timeout !== undefined && timeout !== Infinity) this.armTimer(timeout)
    if (signal !== undefined) {
      const s = signal
      const listener = (): void => this.failWait(s.reason)
      s.addEventListener('abort', listener, { once: true })
      this.abort = { signal: s, listener }
    }
    return promise
  }

  /** Reject the waiting receive, if any, with `err`. */
  failWait(err: unknown): void {
    const reject = this.reject
    if (reject === undefined) return
    this.endWait()
    reject(err)
  }

  /**
   * Start the receive's timeout. With Node's timers, the timer of the last receive with the
   * same timeout is kept and re-armed (refresh(), ref()): a receive with a timeout then
   * allocates nothing, where a new timer made — and its emptied timer list dropped, and made
   * again — on every receive cost ~400 bytes and two lists' worth of work a message.
   */
  private armTimer(ms: number): void {
    const t = this.timer
    if (t !== undefined && this.timerMs === ms && this.system.nodeTimers) {
      ;(t as NodeJS.Timeout).refresh().ref()
    } else {
      if (t !== undefined) this.system.timers.clearTimeout(t)
      this.timer = this.system.timers.setTimeout(onReceiveTimeout, ms, this, ms)
      this.timerMs = ms
    }
    this.timerArmed = true
  }

  /** The receive's timer is not needed now: kept unreferenced for the next receive (Node's timers), else cleared. */
  private disarmTimer(): void {
    const t = this.timer
    if (t === undefined) return
    this.timerArmed = false
    if (this.system.nodeTimers && !this.dead) {
      ;(t as NodeJS.Timeout).unref() // (it fires once more, later, and finds itself unused)
      return
    }
    this.system.timers.clearTimeout(t)
    this.timer = undefined
  }

  private endWait(): void {
    this.disarmTimer()
    if (this.abort !== undefined) {
      this.abort.signal.removeEventListener('abort', this.abort.listener)
      this.abort = undefined
    }
    this.resolve = undefined
    this.reject = undefined
    this.pending = undefined
    this.match = undefined
  }

  private deadReceive(): Promise<never> {
    const p = Promise.reject(this.exitMarker())
    p.catch(noop)
    return p
  }

  /** The runtime's side of death: mark dead, drop the mailbox, unwind a waiting receive. */
  die(reason: unknown): void {
    this.dead = true
    this.reason = reason
    this.fn = undefined
    this.mailbox.clear()
    if (this.pending !== undefined) {
      this.pending.catch(noop)
      this.failWait(this.exitMarker())
    }
    this.disarmTimer() // (a kept one: cleared, it would hold the process until it fires)
  }

  exitMarker(): ProcessExit {
    return (this.marker ??= new ProcessExit(this.self, this.reason))
  }

  private alive(): void {
    if (this.dead) throw this.exitMarker()
  }

  // ---- the rest of Proc ---------------------------------------------------------------

  send(dest: Dest | Ref, msg: unknown): boolean {
    if (this.dead) return false
    return this.system.send(dest, msg, this.self)
  }

  alias(opts?: AliasOptions): Ref {
    this.alive()
    const ref = this.system.makeRef()
    this.system.aliases.add(this, ref, opts)
    return ref
  }

  unalias(alias: Ref): boolean {
    this.alive()
    if (!(alias instanceof Ref)) throw new NetkernelError('ERR_BAD_ARGUMENT', `unalias: ${describeReason(alias)} is not a reference`)
    return this.system.aliases.remove(this, alias)
  }

  /** Alias ! Msg for the process alias `alias` of `to` (a gen_server reply; ProcessSystem.sendAlias). */
  sendToAlias(to: Pid, alias: Ref, msg: unknown): boolean {
    if (this.dead) return false
    return this.system.sendAlias(this.self, to, alias, msg)
  }

  drain(dest: Dest, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.system.drainFor(dest, opts.signal)
  }

  spawn(fn: ProcessFn): Pid
  spawn(node: string, mod: string, fun: string, args?: unknown[]): Promise<Pid>
  spawn(a: ProcessFn | string, mod?: string, fun?: string, args: unknown[] = []): Pid | Promise<Pid> {
    this.alive()
    if (typeof a === 'function') return this.system.spawn(a).self
    return this.system.spawnOn(a, mod as string, fun as string, args, this, false)
  }

  spawnLink(fn: ProcessFn): Pid
  spawnLink(node: string, mod: string, fun: string, args?: unknown[]): Promise<Pid>
  spawnLink(a: ProcessFn | string, mod?: string, fun?: string, args: unknown[] = []): Pid | Promise<Pid> {
    this.alive()
    if (typeof a === 'function') return this.system.spawn(a, this.self).self
    return this.system.spawnOn(a, mod as string, fun as string, args, this, true)
  }

  rpc(node: string, mod: string, fun: string, args: unknown[] = [], opts?: RpcOptions): Promise<any> {
    this.alive()
    return this.system.rpc(this, node, mod, fun, args, opts)
  }

  call<T = any>(dest: Dest, request: unknown, opts?: CallOptions): Promise<T> {
    this.alive()
    return call(this, dest, request, opts) as Promise<T>
  }

  cast(dest: Dest, request: unknown): void {
    this.send(dest, castMessage(request))
  }

  reply(from: CallFrom, value: unknown): void {
    if (!this.dead) reply(this, from, value)
  }

  /** Drop the reply to the call `key` when it comes (the caller stopped waiting for it). */
  abandonCall(key: string): void {
    const a = (this.abandoned ??= new Set())
    if (a.size >= MAX_ABANDONED) a.delete(a.values().next().value as string)
    a.add(key)
  }

  link(pid: Pid): void {
    this.alive()
    this.system.links.link(this, pid)
    this.alive() // linking to a dead pid may have killed us
  }

  unlink(pid: Pid): void {
    this.alive()
    this.system.links.unlink(this, pid)
  }

  monitor(target: MonitorTarget, opts?: MonitorOptions): Ref {
    this.alive()
    const alias = opts?.alias
    if (alias !== undefined && alias !== 'explicit_unalias' && alias !== 'demonitor' && alias !== 'reply_demonitor') {
      throw new NetkernelError(
        'ERR_BAD_ARGUMENT',
        `monitor: alias must be 'explicit_unalias', 'demonitor' or 'reply_demonitor', not ${describeReason(alias)}`,
      )
    }
    return this.system.monitors.monitor(this, target, alias)
  }

  demonitor(ref: Ref, opts?: DemonitorOptions): boolean {
    this.alive()
    return this.system.monitors.demonitor(this, ref, opts?.flush === true)
  }

  trapExit(flag: boolean): boolean {
    this.alive()
    const old = this.trap
    this.trap = Boolean(flag)
    return old
  }

  monitorNode(node: string, flag: boolean): void {
    this.alive()
    this.system.nodeMonitors.set(this, node, flag)
  }

  register(name: string): void {
    this.alive()
    this.system.registry.register(name, this)
  }

  exit(reason: unknown): never
  exit(pid: Pid, reason: unknown): void
  exit(...args: unknown[]): void {
    this.alive()
    if (args.length >= 2) {
      this.system.exitSignal(args[0] as Pid, args[1], this.self)
      this.alive() // exit(self(), Reason) may have killed us
      return
    }
    this.system.terminate(this, args[0])
    throw this.exitMarker()
  }

  makeRef(): Ref {
    return this.system.makeRef()
  }

  toString(): string {
    return `Proc${this.self.toString()}`
  }
}
