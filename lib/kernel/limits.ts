// The kernel's bounds on what peers can make a node hold: handshakes, dials and gossip at once
// (KernelLimits), and the largest message a connection takes (maxMessageSize). A concept of
// its own, apart from the kernel's options: the node's options, each connection and the fuzz
// targets read these defaults without depending on the net kernel.

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
}

export const DEFAULT_LIMITS: KernelLimits = {
  handshakes: 512,
  handshakesPerAddress: 64,
  pendingDials: 1024,
  gossipDialsPerPeer: 32,
}

/** Default maxMessageSize: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
