// The distribution firewall's vocabulary: what an authenticated peer may ask of this node,
// and what `policy.allowSignal(fromNode, op, detail)` is shown to decide. A request is a
// discriminated union on `op`, so a policy written as
//
//   allowSignal: (from, op, detail) => op !== 'exit' || detail.reason !== 'kill'
//
// sees `detail` typed for the op it tests. The answer is synchronous: signals from one peer
// are applied in the order they arrive, and a pending decision would let later ones overtake.
// (An asynchronous decision on a spawn belongs in `policy.allowSpawn`.)
import type { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'

/** The details of each operation a peer can ask of this node, by op. */
export interface SignalDetails {
  /** Pid ! Msg to a local pid. */
  send: { to: Pid; message: unknown }
  /** {Name, Node} ! Msg to a locally registered name; `from` when the sender said who it is. */
  reg_send: { from: Pid | undefined; name: string; message: unknown }
  /** Alias ! Msg to a process alias of this node (proc.alias()); `from` when the sender said who it is. */
  alias_send: { from: Pid | undefined; alias: Ref; message: unknown }
  /** A remote process links itself to a local one. */
  link: { from: Pid; to: Pid }
  /** A remote process monitors a local pid or registered name. */
  monitor: { from: Pid; target: Pid | string }
  /** exit(To, Reason) from a remote process to a local one (exit/2, not link propagation). */
  exit: { from: Pid; to: Pid; reason: unknown }
  /** spawn(Node, Mod, Fun, Args) here; `link` for spawn_link. */
  spawn: { from: Pid | undefined; module: string; function: string; args: unknown[]; link: boolean }
  /**
   * rpc(Node, Mod, Fun, Args) here (node.rpc, proc.rpc; from an OTP node rpc:call, erpc:call):
   * the function runs in a new process, its result goes back; `from` when the caller said who it is.
   */
  rpc: { from: Pid | undefined; module: string; function: string; args: unknown[] }
  /** Read this node's statistics (node.stats(peer), `netkernel top`). */
  stats: Record<string, never>
}

export type SignalOp = keyof SignalDetails

/** `[op, detail]` pairs: what a peer asks, discriminated by op. */
export type SignalRequest = { [K in SignalOp]: [op: K, detail: SignalDetails[K]] }[SignalOp]

/** The arguments of allowSignal: `[fromNode, op, detail]`, discriminated by op. */
export type AllowSignalArgs = { [K in SignalOp]: [fromNode: string, op: K, detail: SignalDetails[K]] }[SignalOp]

/**
 * Decide whether `fromNode` may do `op` here. Anything but `true` refuses; so does a throw.
 * Called for every such frame from every peer, so keep it cheap.
 */
export type AllowSignal = (...args: AllowSignalArgs) => boolean
