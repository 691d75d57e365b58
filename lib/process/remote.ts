// The seam between the local process runtime and the net kernel.
//
// The runtime (lib/process/runtime.ts) knows only local processes. Whenever a signal concerns
// a pid or name on another node it calls the `Remote` it was given; the net kernel implements
// `Remote` and, for signals arriving from other nodes, calls the runtime's inbound methods
// (see `RemoteInbound`). Without a Remote (a node with no distribution) remote signals are
// treated as to an unreachable node: messages dropped, links/monitors get 'noconnection'.
import type { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import type { RpcCall, RpcOptions } from './rpc.js'

/** A monitor/registered-send target on another node: [name, node]. */
export type RemoteName = [name: string, node: string]

export interface SpawnOptions {
  /** Link the new process to `from` atomically (spawn_link). */
  link?: boolean
}

/** How a module process is spawned for another node. */
export interface SpawnModuleOptions {
  /** Link it to this pid (spawn_link): a remote pid's own side is its node's to record. */
  linkTo?: Pid
  /** Told its exit reason when it ends (a monitor the requesting node's protocol keeps itself). */
  onExit?: (reason: unknown) => void
  /** The node that asked for it: counted for that node while it lives (processesFor). */
  forPeer?: string
}

/** Outbound: implemented by the net kernel. Every call is fire-and-forget except spawn. */
export interface Remote {
  /** Pid ! Msg, to a pid on another node. False: queued, but the connection is over its high-water mark. */
  send(from: Pid | undefined, to: Pid, msg: unknown): boolean
  /** {Name, Node} ! Msg, for another node. False as for send. */
  regSend(from: Pid | undefined, name: string, node: string, msg: unknown): boolean
  /**
   * Alias ! Msg, for process alias `alias` of another node (alias.node). Where that node's
   * connection does not carry aliases (a netkernel node of protocol version 4, an OTP node that
   * did not offer ALIAS), the message goes to `fallback` when given (a gen_server reply: the
   * caller's pid), else it is dropped: no process there can have made the alias. False as for
   * send.
   */
  aliasSend?(from: Pid | undefined, alias: Ref, msg: unknown, fallback?: Pid): boolean
  /** Resolves once the connection to `node` has drained below half its high-water mark (node.drain()). */
  drain(node: string, signal?: AbortSignal): Promise<void>
  /** Local `from` linked itself to remote `to` (the runtime already recorded its side). */
  link(from: Pid, to: Pid): void
  /** Local `from` unlinked from remote `to`. */
  unlink(from: Pid, to: Pid): void
  /**
   * An exit signal from local `from` to remote `to`: `viaLink` for link propagation when
   * `from` died, false for an explicit exit(to, reason).
   */
  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void
  /** Local `from` monitors a remote pid or [name, node]. */
  monitor(from: Pid, target: Pid | RemoteName, ref: Ref): void
  demonitor(from: Pid, target: Pid | RemoteName, ref: Ref): void
  /**
   * A local process monitored by remote `watcher` died (`from`; undefined when there was no
   * such process: noproc): deliver DOWN there, after what `from` sent.
   */
  down(watcher: Pid, ref: Ref, target: Pid | string, reason: unknown, from?: Pid): void
  /** Spawn mod:fun(args) on `node`; resolves with the new pid or rejects with a SpawnError. */
  spawn(from: Pid | undefined, node: string, mod: string, fun: string, args: unknown[], opts: SpawnOptions): Promise<Pid>
  /**
   * rpc(Node, Mod, Fun, Args) on another node: resolves with the function's result; rejects
   * with RpcError for an exception there, SpawnError for unknown code or a refused spawn,
   * ERR_RPC_TIMEOUT, ERR_CONNECTION_CLOSED when the node is lost or cannot be reached.
   */
  rpc(from: Pid | undefined, node: string, mod: string, fun: string, args: unknown[], opts: RpcOptions): Promise<unknown>
  /**
   * A local process asked to monitor `node` (monitor_node/2): connect if not connected.
   * If the connection cannot be set up the kernel calls `runtime.nodeDown(node)`.
   */
  ensureConnected(node: string): void
  /** True when a connection to `node` is up. */
  isConnected(node: string): boolean
}

/**
 * Inbound: what the runtime offers the kernel for signals from other nodes. Each method
 * applies Erlang's semantics as if the signal came from a local process.
 */
export interface RemoteInbound {
  /** A message for local pid `to`; dropped if it is not alive (or of an older creation). */
  deliver(to: Pid, msg: unknown): void
  /** A message for the locally registered `name`; dropped if unregistered. */
  deliverNamed(name: string, msg: unknown): void
  /** A message for process alias `alias` of this node: false (dropped) when it is not active. */
  deliverAlias(alias: Ref, msg: unknown): boolean
  /**
   * Remote `from` linked to local `to`. If `to` is not alive, exit(to → from, 'noproc'). False,
   * and nothing done, when the link is new and from's node has `max` links here already
   * (limits.linksPerPeer; default no bound).
   */
  linkFrom(from: Pid, to: Pid, max?: number): boolean
  unlinkFrom(from: Pid, to: Pid): void
  /** An exit signal from remote `from` to local `to` (link propagation or exit/2). */
  exitFrom(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void
  /**
   * Remote `watcher` monitors local `target` (pid or registered name). DOWN 'noproc' if absent.
   * False when a monitor with this ref exists already (it is kept; the new one is refused).
   */
  monitorFrom(watcher: Pid, target: Pid | string, ref: Ref): boolean
  demonitorFrom(watcher: Pid, ref: Ref): void
  /**
   * Node `from` reports that a process monitored by local `watcher` died. False (ignored)
   * unless the monitor exists with this ref and watcher and its target lives on `from`.
   */
  downFrom(from: string, watcher: Pid, ref: Ref, reason: unknown): boolean
  /** Links between local processes and those of `node` (what limits.linksPerPeer bounds). */
  linksWith(node: string): number
  /** Monitors the processes of `node` hold on local processes (what limits.monitorsPerPeer bounds). */
  monitorsHeldBy(node: string): number
  /**
   * Local processes running at `node`'s request, alive (what limits.processesPerPeer bounds):
   * those spawned or called with `forPeer` = node.
   */
  processesFor(node: string): number
  /**
   * The connection to `node` is gone (or could not be set up): every link across it
   * delivers 'noconnection', every monitor of a process there gives DOWN 'noconnection',
   * monitors held by processes there are dropped, node monitors deliver ['nodedown', node].
   */
  nodeDown(node: string): void
  /** Spawn mod:fun(args) here for a remote request; throws SpawnError for unknown code. */
  spawnModule(mod: string, fun: string, args: unknown[], opts: SpawnModuleOptions): Pid
  /**
   * A process that exits with `reason` as soon as it runs: what a BEAM does for a spawn of
   * unknown code (the Erlang/OTP spawn service answers with its pid, then it crashes with undef).
   */
  spawnFailing(reason: unknown, opts: SpawnModuleOptions): Pid
  /** The local process registered as `name`, if any. */
  whereis(name: string): Pid | undefined
  /**
   * Run mod:fun(proc, ...args) here in a new process for a remote call; `outcome` resolves
   * with how it ended (rpc.ts: return, error, throw, exit). Throws SpawnError for unknown code.
   * `forPeer`: the node that called, for which the process is counted while it lives.
   */
  callModule(mod: string, fun: string, args: unknown[], forPeer?: string): RpcCall
}
