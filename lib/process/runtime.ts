// The local process runtime of one node: its public face, and the inbound half of the seam
// with the net kernel (RemoteInbound). Many runtimes can live in one OS process; all state is
// per instance (see ProcessSystem).
import { NetkernelError } from '../errors.js'
import { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import { ProcessSystem } from './process-system.js'
import { checkName } from './name-registry.js'
import type { Remote, RemoteInbound, SpawnModuleOptions } from './remote.js'
import type { Dest, ModuleDef, ProcessFn, RuntimeOptions } from './types.js'
import type { RpcCall, RpcOptions } from './rpc.js'

export type {
  DemonitorOptions,
  Dest,
  Match,
  ModuleDef,
  ModuleFn,
  MonitorOptions,
  MonitorTarget,
  Proc,
  ProcessFn,
  ReceiveOptions,
  RuntimeOptions,
  Timers,
} from './types.js'
export { ProcessExit } from './exit.js'
export type { RpcCall, RpcOptions, RpcOutcome } from './rpc.js'

export interface SpawnFnOptions {
  /**
   * Link the new process to this pid (spawn_link from `link`). A local pid is linked on both
   * sides; for a remote pid only this side is recorded (its node already linked its side, as
   * in a remote spawn_link request).
   */
  link?: Pid
}

export class Runtime implements RemoteInbound {
  private readonly system: ProcessSystem

  constructor(opts: RuntimeOptions) {
    this.system = new ProcessSystem(opts)
  }

  get node(): string {
    return this.system.node
  }

  get creation(): number {
    return this.system.creation
  }

  /** Set the node name and creation (once distribution has them); only with no live process. */
  setIdentity(node: string, creation: number): void {
    this.system.setIdentity(node, creation)
  }

  /** Attach (or detach) the net kernel after construction. */
  setRemote(remote: Remote | undefined): void {
    this.system.remote = remote
  }

  /** Live local processes. */
  get processCount(): number {
    return this.system.table.size
  }

  /** spawn/1: returns at once; `fn` starts in a microtask. */
  spawn(fn: ProcessFn, opts?: SpawnFnOptions): Pid {
    return this.system.spawn(fn, opts?.link).self
  }

  /** Start mod:fun(proc, ...args) here. Throws SpawnError for an unknown module or function. */
  spawnModule(mod: string, fun: string, args: unknown[], opts: SpawnModuleOptions = {}): Pid {
    return this.system.spawnModule(mod, fun, args, opts.linkTo, opts.onExit, opts.forPeer).self
  }

  /** A process that exits with `reason` at once (RemoteInbound: unknown code spawned for an OTP node). */
  spawnFailing(reason: unknown, opts: SpawnModuleOptions = {}): Pid {
    return this.system.spawnFailing(reason, opts.linkTo, opts.onExit, opts.forPeer).self
  }

  /** spawn(Node, Mod, Fun, Args) from outside any process: here, or through the net kernel. */
  spawnOn(node: string, mod: string, fun: string, args: unknown[] = []): Promise<Pid> {
    return this.system.spawnOn(node, mod, fun, args, undefined, false)
  }

  /** rpc(Node, Mod, Fun, Args) from outside any process: here, or through the net kernel (rpc.ts). */
  rpc(node: string, mod: string, fun: string, args: unknown[] = [], opts?: RpcOptions): Promise<unknown> {
    return this.system.rpc(undefined, node, mod, fun, args, opts)
  }

  /** Run mod:fun(proc, ...args) here in a new process; its outcome tells how it ended (RemoteInbound). */
  callModule(mod: string, fun: string, args: unknown[], forPeer?: string): RpcCall {
    return this.system.callModule(mod, fun, args, forPeer)
  }

  /** Add (or replace) spawnable code. */
  defineModule(name: string, mod: ModuleDef): void {
    this.system.modules.define(name, mod)
  }

  /**
   * Dest ! Msg. Dead pids and unreachable nodes drop the message; an unregistered local name
   * throws ERR_NOPROC (Erlang's badarg). Local messages are passed by reference, not copied.
   */
  drain(dest: Dest, signal?: AbortSignal): Promise<void> {
    return this.system.drainFor(dest, signal)
  }

  send(dest: Dest | Ref, msg: unknown, from?: Pid): boolean {
    return this.system.send(dest, msg, from)
  }

  register(name: string, pid: Pid): void {
    checkName(name)
    if (!(pid instanceof Pid)) throw new NetkernelError('ERR_BAD_ARGUMENT', 'register: expected a Pid')
    if (pid.node !== this.system.node) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `register: ${pid.toString()} is not a process of ${this.system.node}`)
    }
    const p = this.system.lookup(pid)
    if (p === undefined) throw new NetkernelError('ERR_NOPROC', `register(${name}): ${pid.toString()} is not alive`)
    this.system.registry.register(name, p)
  }

  /** True when the name was registered. */
  unregister(name: string): boolean {
    return this.system.registry.unregister(name)
  }

  whereis(name: string): Pid | undefined {
    return this.system.registry.get(name)?.self
  }

  registered(): string[] {
    return this.system.registry.names()
  }

  /** exit/2 from outside a process; the signal comes from `from` (default: the node's pid 0). */
  exit(pid: Pid, reason: unknown, from?: Pid): void {
    if (!(pid instanceof Pid)) throw new NetkernelError('ERR_BAD_ARGUMENT', 'exit: expected a Pid')
    this.system.exitSignal(pid, reason, from ?? this.system.nodePid)
  }

  /** is_process_alive/1 for a local pid; false for pids of other nodes or creations. */
  isAlive(pid: Pid): boolean {
    return this.system.lookup(pid) !== undefined
  }

  makeRef(): Ref {
    return this.system.makeRef()
  }

  /** Kill every process with `reason` (trapping or not); then spawns throw ERR_NODE_STOPPED. */
  shutdown(reason: unknown = 'shutdown'): void {
    this.system.shutdown(reason)
  }

  // ---- RemoteInbound: signals from other nodes -----------------------------------------

  deliver(to: Pid, msg: unknown): void {
    this.system.lookup(to)?.deliver(msg)
  }

  deliverNamed(name: string, msg: unknown): void {
    this.system.registry.get(name)?.deliver(msg)
  }

  deliverAlias(alias: Ref, msg: unknown): boolean {
    return this.system.aliases.deliver(alias, msg)
  }

  linkFrom(from: Pid, to: Pid, max = Infinity): boolean {
    return this.system.links.linkFrom(from, to, max)
  }

  unlinkFrom(from: Pid, to: Pid): void {
    this.system.links.unlinkFrom(from, to)
  }

  exitFrom(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    this.system.links.exitFrom(from, to, reason, viaLink)
  }

  monitorFrom(watcher: Pid, target: Pid | string, ref: Ref): boolean {
    return this.system.monitors.monitorFrom(watcher, target, ref)
  }

  demonitorFrom(watcher: Pid, ref: Ref): void {
    this.system.monitors.demonitorFrom(watcher, ref)
  }

  downFrom(from: string, watcher: Pid, ref: Ref, reason: unknown): boolean {
    return this.system.monitors.downFrom(from, watcher, ref, reason)
  }

  linksWith(node: string): number {
    return this.system.links.with(node)
  }

  monitorsHeldBy(node: string): number {
    return this.system.monitors.heldBy(node)
  }

  processesFor(node: string): number {
    return this.system.peerProcesses.of(node)
  }

  nodeDown(node: string): void {
    const system = this.system
    if (node === system.node) return
    for (const p of [...system.remoteTouched]) {
      if (p.dead) continue
      system.monitors.nodeDown(p, node)
      system.links.nodeDown(p, node)
    }
    system.nodeMonitors.nodeDown(node)
  }
}
