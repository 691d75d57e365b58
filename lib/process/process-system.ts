// The process system: the node's local processes and what acts on them as a whole — identity,
// the process table, pids and refs, spawning, sending, exit signals and process termination.
// Runtime (runtime.ts) is its public face. Links, monitors, node monitors, the name registry
// and modules live in their own files and reach each other through here.
import { NetkernelError, SpawnError } from '../errors.js'
import { childLogger, silentLogger, type Logger } from '../logger.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { ProcessExit, describeReason, exitReason } from './exit.js'
import { Links } from './links.js'
import { Aliases } from './aliases.js'
import { Modules } from './modules.js'
import { Monitors } from './monitors.js'
import { NodeMonitors } from './node-monitors.js'
import { PeerProcesses } from './peer-processes.js'
import { Process } from './process.js'
import { NameRegistry } from './name-registry.js'
import { randomWord } from './ref-words.js'
import type { Remote } from './remote.js'
import type { Dest, ProcessFn, RuntimeOptions, Timers } from './types.js'
import { awaitOutcome, checkRpcArgs, describeCall, outcomeResult, type RpcCall, type RpcOptions, type RpcOutcome } from './rpc.js'

const MAX_ID = 0x7fffffff

const defaultTimers: Timers = {
  setTimeout: (cb, ms, ...args) => setTimeout(cb, ms, ...args),
  clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
}

export class ProcessSystem {
  node: string
  creation: number
  remote: Remote | undefined
  readonly logger: Logger
  readonly timers: Timers
  /**
   * The timers are Node's own (none were injected): a receive's timer is then kept between
   * receives and re-armed with refresh() (process.ts), not made and cleared each time.
   */
  readonly nodeTimers: boolean
  /** Live local processes by pid id. A process leaves it when it exits. */
  readonly table = new Map<number, Process>()
  /** Processes with a link or monitor across nodes: what nodeDown() has to look at. */
  readonly remoteTouched = new Set<Process>()
  readonly registry = new NameRegistry(this)
  readonly links = new Links(this)
  readonly monitors = new Monitors(this)
  readonly nodeMonitors = new NodeMonitors(this)
  /** The processes' active aliases. */
  readonly aliases = new Aliases((p, ref) => this.monitors.demonitor(p, ref, false))
  readonly modules = new Modules()
  /** Processes running at other nodes' request, per node (what limits.processesPerPeer bounds). */
  readonly peerProcesses = new PeerProcesses()
  /** The sender of exit signals that come from outside any process (runtime.exit). */
  nodePid: Pid
  stopped = false

  private nextId = 0
  private serial = 0
  private nextRef = 0
  private startQ: Process[] = []
  private startScheduled = false
  /** Link exit signals waiting to be applied, flat: [target, from, reason, ...]. */
  private readonly sigQ: unknown[] = []
  private applyingSignals = false

  constructor(opts: RuntimeOptions) {
    this.node = opts.node
    this.creation = opts.creation
    this.remote = opts.remote
    this.timers = opts.timers ?? defaultTimers
    this.nodeTimers = opts.timers === undefined
    this.logger = childLogger(opts.logger ?? silentLogger, { component: 'process' })
    this.nodePid = new Pid(this.node, 0, 0, this.creation)
  }

  setIdentity(node: string, creation: number): void {
    if (this.table.size > 0) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `setIdentity(${node}): ${this.node} already has ${this.table.size} live processes`)
    }
    this.node = node
    this.creation = creation
    this.nodePid = new Pid(node, 0, 0, creation)
  }

  // ---- pids, refs, lookup -------------------------------------------------------------

  private newPid(): Pid {
    let id = this.nextId + 1
    if (id > MAX_ID) {
      id = 1
      this.serial++
    }
    while (this.table.has(id)) id = id >= MAX_ID ? 1 : id + 1
    this.nextId = id
    return new Pid(this.node, id, this.serial, this.creation)
  }

  /**
   * A ref of this node: three words, as OTP's — the counter's low 18 bits first (what OTP
   * keeps of a ref's first word), then two random words (ref-words.ts), so that no peer can
   * guess a ref it was not given.
   */
  makeRef(): Ref {
    const id0 = ++this.nextRef & 0x3ffff
    return new Ref(this.node, id0, this.creation, [id0, randomWord(), randomWord()])
  }

  /** The live local process `pid` names, or undefined (remote, older creation, or dead). */
  lookup(pid: Pid): Process | undefined {
    if (pid.node !== this.node || pid.creation !== this.creation) return undefined
    const p = this.table.get(pid.id)
    return p !== undefined && p.self.serial === pid.serial ? p : undefined
  }

  // ---- spawn ------------------------------------------------------------------------

  /**
   * Create a process; it starts running in a microtask. `link`: spawn_link to that pid.
   * `forPeer`: it runs at that node's request, and is counted for it while it lives.
   */
  spawn(fn: ProcessFn, link?: Pid, forPeer?: string): Process {
    if (this.stopped) throw new NetkernelError('ERR_NODE_STOPPED', `spawn: node ${this.node} is stopped`)
    if (typeof fn !== 'function') throw new NetkernelError('ERR_BAD_ARGUMENT', 'spawn: expected a function')
    const p = new Process(this, this.newPid(), fn)
    this.table.set(p.self.id, p)
    // Before the link, which may end it at once (a parent gone): its exit releases the count.
    if (forPeer !== undefined) this.peerProcesses.add(p, forPeer)
    if (link !== undefined) this.links.linkNew(p, link)
    this.startQ.push(p)
    if (!this.startScheduled) {
      this.startScheduled = true
      queueMicrotask(this.runStarts)
    }
    return p
  }

  spawnModule(mod: string, fun: string, args: unknown[], linkTo?: Pid, onExit?: (reason: unknown) => void, forPeer?: string): Process {
    const f = this.modules.resolve(mod, fun, this.node, args)
    if (!Array.isArray(args)) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `spawn ${mod}:${fun} on ${this.node}: args must be an array`)
    }
    const p = this.spawn(proc => f(proc, ...args), linkTo, forPeer)
    p.onExit = onExit
    return p
  }

  /** A process that exits with `reason` as soon as it runs (a BEAM spawns unknown code, which then crashes). */
  spawnFailing(reason: unknown, linkTo?: Pid, onExit?: (reason: unknown) => void, forPeer?: string): Process {
    const p = this.spawn(proc => proc.exit(reason), linkTo, forPeer)
    p.onExit = onExit
    return p
  }

  /** spawn(Node, Mod, Fun, Args), optionally linked to `from`. */
  spawnOn(node: string, mod: string, fun: string, args: unknown[], from: Process | undefined, link: boolean): Promise<Pid> {
    if (node === this.node) {
      try {
        return Promise.resolve(this.spawnModule(mod, fun, args, link && from ? from.self : undefined).self)
      } catch (err) {
        return Promise.reject(err)
      }
    }
    if (typeof node !== 'string' || !Array.isArray(args)) {
      return Promise.reject(new NetkernelError('ERR_BAD_ARGUMENT', 'spawn(node, mod, fun, args): node must be a string and args an array'))
    }
    if (this.remote === undefined) {
      return Promise.reject(new SpawnError('ERR_SPAWN_FAILED', `spawn ${mod}:${fun} on ${node}: ${this.node} is not distributed`))
    }
    if (link && from !== undefined) return this.links.spawnLinkRemote(from, node, mod, fun, args)
    return this.remote.spawn(from?.self, node, mod, fun, args, {})
  }

  /**
   * Run mod:fun(proc, ...args) in a new process for a remote call; `outcome` tells how it
   * ended (rpc.ts). Throws SpawnError for an unknown module or function. A function that
   * throws ends its process with the thrown value as reason, quietly: the caller has it.
   * `forPeer`: the node that asked, for which the process is counted while it lives.
   */
  callModule(mod: string, fun: string, args: unknown[], forPeer?: string): RpcCall {
    const f = this.modules.resolve(mod, fun, this.node, args)
    if (!Array.isArray(args)) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `rpc ${mod}:${fun} on ${this.node}: args must be an array`)
    }
    let settle!: (o: RpcOutcome) => void
    const outcome = new Promise<RpcOutcome>(resolve => (settle = resolve))
    let settled = false
    const finish = (o: RpcOutcome): void => {
      if (settled) return
      settled = true
      settle(o)
    }
    const p = this.spawn(
      async proc => {
        let value: unknown
        try {
          value = await f(proc, ...args)
        } catch (err) {
          if (p.dead) return // proc.exit() or an exit signal: onExit told the outcome
          if (err instanceof Error) finish({ kind: 'error', reason: err, stack: err.stack })
          else finish({ kind: 'throw', reason: err instanceof ProcessExit ? err.reason : err })
          this.terminate(p, err)
          return
        }
        finish({ kind: 'return', value })
      },
      undefined,
      forPeer,
    )
    p.onExit = reason => finish({ kind: 'exit', reason })
    return { pid: p.self, outcome }
  }

  /** rpc(Node, Mod, Fun, Args) from `from` (or from outside any process): here, or through the net kernel. */
  rpc(from: Process | undefined, node: string, mod: string, fun: string, args: unknown[], opts: RpcOptions | undefined): Promise<unknown> {
    try {
      checkRpcArgs(node, mod, fun, args, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    const what = describeCall(node, mod, fun, args)
    if (node === this.node) {
      let call: RpcCall
      try {
        call = this.callModule(mod, fun, args)
      } catch (err) {
        return Promise.reject(err)
      }
      return awaitOutcome(call.outcome, opts, what, this.timers).then(o => outcomeResult(o, what))
    }
    if (this.remote === undefined) {
      return Promise.reject(new NetkernelError('ERR_CONNECTION_CLOSED', `rpc ${what}: ${this.node} is not distributed`))
    }
    return this.remote.rpc(from?.self, node, mod, fun, args, opts ?? {})
  }

  private readonly runStarts = (): void => {
    const q = this.startQ
    this.startQ = []
    this.startScheduled = false
    for (let i = 0; i < q.length; i++) {
      const p = q[i]!
      if (!p.dead) this.run(p)
    }
  }

  private run(p: Process): void {
    const fn = p.fn!
    p.fn = undefined
    let result: unknown
    try {
      result = fn(p)
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
        this.finished(p, 'normal', false)
        return
      }
      if (typeof (result as PromiseLike<unknown>).then !== 'function') {
        this.finished(p, 'normal', false)
        return
      }
    } catch (err) {
      this.finished(p, err, true)
      return
    }
    Promise.resolve(result).then(
      () => this.finished(p, 'normal', false),
      (err: unknown) => this.finished(p, err, true),
    )
  }

  private finished(p: Process, value: unknown, threw: boolean): void {
    if (p.dead) return
    if (!threw) {
      this.terminate(p, 'normal')
    } else {
      this.logger.error({ pid: p.self.toString(), err: value }, `process ${p.self.toString()} crashed`)
      this.terminate(p, value)
    }
  }

  // ---- send ---------------------------------------------------------------------------

  /** Returns false when the message was queued on a connection over its high-water mark. */
  send(dest: Dest | Ref, msg: unknown, from: Pid | undefined): boolean {
    if (dest instanceof Pid) {
      if (dest.node === this.node) this.lookup(dest)?.deliver(msg)
      else return this.remote?.send(from, dest, msg) ?? true
      return true
    }
    if (typeof dest === 'string') {
      this.sendNamed(dest, msg)
      return true
    }
    if (isRemoteName(dest)) {
      if (dest[1] === this.node) this.sendNamed(dest[0], msg)
      else return this.remote?.regSend(from, dest[0], dest[1], msg) ?? true
      return true
    }
    if (dest instanceof Ref) {
      if (dest.node === this.node) this.aliases.deliver(dest, msg)
      else return this.remote?.aliasSend?.(from, dest, msg) ?? true
      return true
    }
    throw new NetkernelError('ERR_BAD_ARGUMENT', `send: bad destination ${describeReason(dest)}`)
  }

  /**
   * A reply to a call whose caller waits through process alias `alias` ([alias | Ref] tags,
   * OTP 24+): to the alias where the connection to its node carries aliases, so that the
   * caller's node drops a reply that comes after the caller gave up; else to `to`, the
   * caller's pid. (An alias of this node is this node's to deliver through, or to drop.)
   */
  sendAlias(from: Pid, to: Pid, alias: Ref, msg: unknown): boolean {
    if (alias.node === this.node) {
      this.aliases.deliver(alias, msg)
      return true
    }
    if (this.remote?.aliasSend !== undefined) return this.remote.aliasSend(from, alias, msg, to)
    return this.send(to, msg, from)
  }

  /** Wait until the connection a destination lives behind has drained (local: at once). */
  drainFor(dest: Dest, signal?: AbortSignal): Promise<void> {
    const node = dest instanceof Pid ? dest.node : isRemoteName(dest) ? dest[1] : this.node
    if (node === this.node || this.remote === undefined) return Promise.resolve()
    return this.remote.drain(node, signal)
  }

  /** Name ! Msg: like Erlang, an unregistered local name is an error (badarg), not a drop. */
  private sendNamed(name: string, msg: unknown): void {
    const p = this.registry.get(name)
    if (p === undefined) {
      throw new NetkernelError('ERR_NOPROC', `send: no process registered as ${JSON.stringify(name)} on ${this.node}`)
    }
    p.deliver(msg)
  }

  // ---- exit signals and termination -------------------------------------------------

  /** exit/2 from `from` (a local pid, or the node) to any pid. */
  exitSignal(to: Pid, why: unknown, from: Pid): void {
    const reason = exitReason(why)
    if (to.node !== this.node) {
      this.remote?.exit(from, to, reason, false)
      return
    }
    const p = this.lookup(to)
    if (p !== undefined) this.applySignal(p, from, reason, false)
  }

  /** Erlang's receive-side rules for an exit signal that reached live process `p`. */
  applySignal(p: Process, from: Pid, why: unknown, viaLink: boolean): void {
    if (p.dead) return
    const reason = exitReason(why)
    if (!viaLink && reason === 'kill') {
      this.terminate(p, 'killed')
    } else if (p.trap) {
      p.deliver(['EXIT', from, reason])
    } else if (reason !== 'normal' || (!viaLink && from.equals(p.self))) {
      this.terminate(p, reason)
    }
  }

  /** Queue a link exit signal; applied iteratively so long link chains cannot overflow the stack. */
  queueSignal(p: Process, from: Pid, reason: unknown): void {
    this.sigQ.push(p, from, reason)
  }

  /**
   * Run an outbound call to the net kernel on a path that must not be interrupted (a process
   * exiting): a throw (say, an exit reason the codec cannot encode) is logged, not propagated.
   */
  toRemote(what: string, call: (remote: Remote) => void): void {
    const remote = this.remote
    if (remote === undefined) return
    try {
      call(remote)
    } catch (err) {
      this.logger.warn({ err }, `remote ${what} failed on ${this.node}`)
    }
  }

  /** End `p` with `reason`: free its name, fire its links and monitors. */
  terminate(p: Process, why: unknown): void {
    if (p.dead) return
    const reason = exitReason(why)
    p.die(reason)
    this.table.delete(p.self.id)
    this.peerProcesses.release(p)
    p.onExit?.(reason)
    if (p.regName !== undefined) this.registry.drop(p.regName)
    this.remoteTouched.delete(p)
    this.links.onExit(p, reason)
    this.monitors.onExit(p, reason)
    this.nodeMonitors.onExit(p)
    this.aliases.onExit(p)
    this.applyQueuedSignals()
  }

  /** Apply the queued link exit signals (sigQ); a call from within returns at once (the loop takes what it queued). */
  private applyQueuedSignals(): void {
    if (this.applyingSignals) return
    this.applyingSignals = true
    const q = this.sigQ
    try {
      for (let i = 0; i < q.length; i += 3) {
        this.applySignal(q[i] as Process, q[i + 1] as Pid, q[i + 2], true)
      }
    } finally {
      q.length = 0
      this.applyingSignals = false
    }
  }

  /** Kill every process (node stop). Further spawns throw ERR_NODE_STOPPED. */
  shutdown(reason: unknown): void {
    this.stopped = true
    for (const p of [...this.table.values()]) this.terminate(p, reason)
  }
}

function isRemoteName(dest: unknown): dest is [string, string] {
  return Array.isArray(dest) && dest.length === 2 && typeof dest[0] === 'string' && typeof dest[1] === 'string'
}
