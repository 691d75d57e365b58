// Public types of the process layer: what a process function receives (`Proc`) and the
// shapes the runtime accepts (destinations, monitor targets, modules, options).
import type { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import type { Logger } from '../logger.js'
import type { Remote, RemoteName } from './remote.js'
import type { RpcOptions } from './rpc.js'
import type { CallFrom, CallOptions } from './gen-call.js'
import type { AliasOptions, MonitorAlias } from './aliases.js'

/** Where a message can go: a pid, a locally registered name, or [name, node]. */
export type Dest = Pid | string | RemoteName

/** What monitor/1 accepts: a pid, a locally registered name, or [name, node]. */
export type MonitorTarget = Pid | string | RemoteName

/** A selective-receive predicate: true takes the message. */
export type Match = (msg: unknown) => boolean

/** A process body. Returning ends the process with reason 'normal'; throwing, with the error. */
export type ProcessFn = (proc: Proc) => unknown

/** A module function: a process body taking extra arguments (spawn(Node, Mod, Fun, Args)). */
export type ModuleFn = (proc: Proc, ...args: any[]) => unknown

/** A module: named functions that local or remote spawns may start. */
export type ModuleDef = Record<string, ModuleFn>

export interface ReceiveOptions {
  /** Milliseconds to wait for a matching message; then reject with ReceiveTimeoutError. 0 = poll. */
  timeout?: number
  /** Abort the wait: the receive rejects with `signal.reason`. */
  signal?: AbortSignal
}

export interface MonitorOptions {
  /**
   * The monitor's ref is also an alias of this process (monitor/3's `{alias, Mode}`, OTP 24+;
   * see `alias()`): 'explicit_unalias' — active until `unalias()`; 'demonitor' — it also ends
   * with the monitor (`demonitor()`, or its DOWN); 'reply_demonitor' — as 'demonitor', and the
   * first message through the alias (the reply) ends both, as OTP's gen:call waits.
   */
  alias?: MonitorAlias
}

export interface DemonitorOptions {
  /** Also remove a ['DOWN', ref, ...] message already in the mailbox (demonitor/2 flush). */
  flush?: boolean
}

/** The timer functions the runtime uses for receive timeouts (injectable for tests). */
export interface Timers {
  setTimeout(callback: (...args: any[]) => void, ms: number, ...args: any[]): unknown
  clearTimeout(handle: any): void
}

export interface RuntimeOptions {
  /** This node's name ('foo@host'); can be changed by setIdentity() before any spawn. */
  node: string
  /** This node's incarnation; pids and refs of another creation are of a dead incarnation. */
  creation: number
  /** The net kernel; without it remote sends are dropped and remote links/monitors fail. */
  remote?: Remote
  logger?: Logger
  timers?: Timers
}

/**
 * What a process function receives: Erlang's BIFs bound to the running process.
 * After the process has exited, receive() rejects with a ProcessExit, send() is dropped and
 * the other operations throw the ProcessExit, so that the function unwinds.
 */
export interface Proc {
  /** self() */
  readonly self: Pid
  /** node() */
  readonly node: string

  /**
   * The first message in the mailbox for which `match` is true (any message without one).
   * Skipped messages stay, in order, for later receives. Only one receive may wait at a time
   * (a second throws ERR_RECEIVE_BUSY). Like any promise, it adopts a message that is itself a
   * thenable: send promises wrapped, e.g. ['reply', promise].
   */
  receive<T>(match: (msg: unknown) => msg is T, opts?: ReceiveOptions): Promise<T>
  receive<T = any>(match?: Match, opts?: ReceiveOptions): Promise<T>

  /**
   * Dest ! Msg. Messages to dead pids or unreachable nodes are dropped. `dest` may also be a
   * process alias (`alias()`, here or on another node): a message to an alias that is no longer
   * active is dropped.
   */
  send(dest: Dest | Ref, msg: unknown): boolean

  /**

   * Resolves once the connection `dest` lives behind is below half its high-water mark: a

   * sender whose send() returned false awaits this to keep memory bounded (like a stream's

   * 'drain'). Local destinations resolve at once. In netkernel, "drain" means only this wait.

   */

  drain(dest: Dest, opts?: { signal?: AbortSignal }): Promise<void>

  /** spawn/1: a local process running `fn`. */
  spawn(fn: ProcessFn): Pid
  /** spawn/4: mod:fun(args) on `node` (this node: a local module spawn). args default []. */
  spawn(node: string, mod: string, fun: string, args?: unknown[]): Promise<Pid>
  /** spawn_link/1 */
  spawnLink(fn: ProcessFn): Pid
  /** spawn_link/4 */
  spawnLink(node: string, mod: string, fun: string, args?: unknown[]): Promise<Pid>

  /**
   * rpc:call / erpc:call: run `modules[mod][fun](proc, ...args)` in a new process on `node` (this
   * node: here) and resolve with its return value, awaited if a promise. Rejects with RpcError
   * (ERR_RPC, `kind` 'error' | 'throw' | 'exit' | 'badrpc') when it raised, SpawnError for an
   * unknown module or function or a refused call, ERR_LIMIT when this node has the peer's
   * limits.processesPerPeer processes running there, ERR_RPC_TIMEOUT, ERR_CONNECTION_CLOSED.
   */
  rpc<T = any>(node: string, mod: string, fun: string, args?: unknown[], opts?: RpcOptions): Promise<T>

  /**
   * gen_server:call(Dest, Request, Timeout): send `{'$gen_call', {self, Tag}, request}` to an
   * Erlang/OTP gen_server, an Elixir GenServer or a process here that answers with `reply()`,
   * and resolve with its reply. The server is monitored while the call waits: CallError
   * (ERR_CALL, `reason` 'noproc', 'noconnection' or the server's exit reason) when it is gone,
   * ERR_CALL_TIMEOUT after `timeout` ms (default 5000; a later reply is dropped), the signal's
   * reason on abort. Like any receive, one call (or receive) at a time per process.
   */
  call<T = any>(dest: Dest, request: unknown, opts?: CallOptions): Promise<T>
  /** gen_server:cast(Dest, Request): send `{'$gen_cast', request}`. */
  cast(dest: Dest, request: unknown): void
  /** gen_server:reply(From, Reply): answer a call received as `asCall(msg)`, `{ from, request }`. */
  reply(from: CallFrom, value: unknown): void

  link(pid: Pid): void
  unlink(pid: Pid): void
  /**
   * monitor(process, Target): ['DOWN', ref, 'process', pidOr[name, node], reason] when it
   * exits; with `{ alias }` the ref is also an alias of this process (monitor/3).
   */
  monitor(target: MonitorTarget, opts?: MonitorOptions): Ref
  /** Remove a monitor; true when it was still active. A DOWN already received stays unless flush. */
  demonitor(ref: Ref, opts?: DemonitorOptions): boolean
  /** process_flag(trap_exit, flag); returns the previous value. */
  trapExit(flag: boolean): boolean
  /** monitor_node(node, flag): each true adds one ['nodedown', node], each false removes one. */
  monitorNode(node: string, flag: boolean): void
  /** register(name, self()) */
  register(name: string): void
  /** exit/1: end this process now with `reason` (throws to unwind the function). */
  exit(reason: unknown): never
  /** exit/2: send an exit signal to `pid`. */
  exit(pid: Pid, reason: unknown): void
  /** make_ref() */
  makeRef(): Ref
  /**
   * alias/0,1: a new alias of this process — a Ref that `send(alias, msg)` on any node (and
   * `Alias ! Msg` on an Erlang/OTP node) delivers to this process while the alias is active.
   * `{ reply: true }`: the first message through it deactivates it. An alias is active until
   * `unalias()`, or until the process exits.
   */
  alias(opts?: AliasOptions): Ref
  /** unalias/1: deactivate an alias of this process; true when it was active. */
  unalias(alias: Ref): boolean
}
