// What a NetKernel (net-kernel.ts) is built with: the node's identity and mode, its
// transport, authenticator, cookies and codec, timeouts, the admission policy, and the
// callbacks through which the kernel reaches the rest of the node (name resolution, events,
// inbound frames, nodes gone). Import it through net-kernel.ts.
import type { Transport } from '../transport.js'
import type { Authenticator } from '../authenticator.js'
import type { Discovery } from '../discovery.js'
import type { Codec } from '../terms/codec.js'
import type { Logger } from '../logger.js'
import type { Clock } from '../clock.js'
import type { Cookies } from './cookie-store.js'
import type { RemoteInbound } from '../process/remote.js'
import type { Connection } from './connection.js'
import type { AllowSignal } from './signal-policy.js'

export interface KernelPolicy {
  allowNode?: (name: string, info: { address: string; hidden: boolean }) => boolean | Promise<boolean>
  allowSpawn?: (fromNode: string, mod: string, fun: string) => boolean | Promise<boolean>
  /** The distribution firewall: may `fromNode` do this here? Read once, when the node starts. */
  allowSignal?: AllowSignal
}

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

export interface KernelOptions {
  name: string
  hidden: boolean
  longNames: boolean
  connectAll: boolean
  transport: Transport
  auth: Authenticator
  cookies: Cookies
  codec: Codec
  runtime: RemoteInbound
  logger: Logger
  clock: Clock
  tickTime: number
  setupTimeout: number
  stepTimeout: number
  /** Bytes queued on one connection above which sends report busy. */
  highWater?: number
  /** The largest message (frame body) a connection takes from its peer; default DEFAULT_MAX_MESSAGE_SIZE. */
  maxMessageSize?: number
  policy: KernelPolicy
  /** Defaults: DEFAULT_LIMITS. */
  limits?: Partial<KernelLimits>
  /** The table of up connections by peer, which the kernel keeps (others may read it). Default: its own. */
  connections?: Map<string, Connection>
  /** Where a peer listens: the node's Discovery resolves it (lib/discovery.ts). */
  resolve: Discovery['resolve']
  emit(event: 'nodeup' | 'nodedown', name: string, info: Record<string, unknown>): void
  emit(event: 'connectError', name: string | undefined, info: Record<string, unknown>): void
  /** Decoded frames from a connection go here (dispatch.ts). */
  onFrame(conn: Connection, frame: unknown): void
  /** A node went down or could not be reached: fail what waits on it (spawn replies). */
  onNodeGone(node: string): void
}
