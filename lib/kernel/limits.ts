// The kernel's bounds on what peers can make a node hold: handshakes, dials and gossip at once,
// one peer's links, monitors and processes (KernelLimits), and the largest message a connection takes
// (maxMessageSize). A concept of its own, apart from the kernel's options: the node's options,
// each connection and the fuzz targets read these defaults without depending on the net kernel.
import { NetkernelError } from '../errors.js'
import type { Logger } from '../logger.js'

/** Bounds on what peers, and gossip, can make a node hold at once. */
export interface KernelLimits {
  /**
   * Inbound handshakes under way at once (peers not yet authenticated), from all addresses.
   * Default 512. A connection over it is refused as it is accepted (ERR_LIMIT, logged once).
   */
  handshakes: number
  /** The same, from one address (a host, a NAT, an sshd gateway). Default 64. */
  handshakesPerAddress: number
  /**
   * Connection setups this node dials at once, to all nodes. Default 1024. Beyond it a new
   * dial is not started: it fails at once with ERR_LIMIT (a send to that node is dropped as
   * for any unreachable node, connect() resolves false).
   */
  pendingDials: number
  /**
   * Dials one peer's gossip (its list of nodes, mesh) may have under way at once. Default 32;
   * the names beyond are not dialled (a later gossip, or a use of the name, connects them).
   */
  gossipDialsPerPeer: number
  /**
   * New dials one peer's gossip may start per second (a budget of one second's worth,
   * refilled continuously). Default 32. Besides, a name whose gossip-started dial failed is
   * not dialled for gossip again for 30 s (connect() or a send to it still dials at once).
   */
  gossipDialsPerSecond: number
  /**
   * Monitors the processes of one peer node may hold on this node's processes (by pid or by
   * name) through its connection, on either wire. Default 2^20 (1,048,576). A monitor
   * released (demonitor, its DOWN sent, the target's exit) frees its place. The MONITOR
   * that would go over it drops the connection (ERR_LIMIT, logged with the peer's name).
   */
  monitorsPerPeer: number
  /**
   * Links between this node's processes and the processes of one peer node, on either wire
   * (whichever side made them). Default 2^20. A link released (unlink, an exit signal through
   * it, either process's exit) frees its place. The LINK from the peer that would go over it
   * drops the connection (ERR_LIMIT, logged with the peer's name).
   */
  linksPerPeer: number
  /**
   * Processes running on this node at one peer node's request: its spawn requests and its
   * rpc and erpc calls (each runs in a process), on either wire. Default 2^18 (262,144),
   * OTP's default process limit. Counted while alive: a process's exit, however it comes
   * (return, throw, exit, an exit signal, kill), frees its place. Not a connection drop: the
   * one request past it is refused (a spawn with ERR_SPAWN_FAILED, an rpc call with
   * ERR_LIMIT, toward Erlang/OTP system_limit), counted and published as a refusal (refusals.ts).
   */
  processesPerPeer: number
}

export const DEFAULT_LIMITS: KernelLimits = {
  handshakes: 512,
  handshakesPerAddress: 64,
  pendingDials: 1024,
  gossipDialsPerPeer: 32,
  gossipDialsPerSecond: 32,
  monitorsPerPeer: 1 << 20,
  linksPerPeer: 1 << 20,
  processesPerPeer: 1 << 18,
}

/** Default maxMessageSize: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

/**
 * A peer went over one of its bounds (limits.linksPerPeer, limits.monitorsPerPeer, on either
 * wire): the error that drops its connection, logged with the peer's name. Not a refusal of
 * one signal: the peer is hostile or broken, and what it holds here goes with the connection.
 */
export function peerOverLimit(logger: Logger, peer: string, what: 'links' | 'monitors', limit: number): NetkernelError {
  const field = what === 'links' ? 'linksPerPeer' : 'monitorsPerPeer'
  const err = new NetkernelError(
    'ERR_LIMIT',
    `${peer} asked for more than ${limit} ${what} on this node (limits.${field}): connection dropped`,
  )
  logger.warn({ node: peer, code: err.code, limit }, err.message)
  return err
}
