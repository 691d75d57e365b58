// startNode() options (README.md, "Starting a node") and their defaults.
import type { Authenticator, DialAddress, Transport } from './kernel/strategy.js'
import type { KernelPolicy } from './kernel/net-kernel.js'
import type { CodecName } from './terms/codec.js'
import type { Logger } from './logger.js'
import type { Clock } from './kernel/clock.js'
import type { ModuleDef } from './process/runtime.js'

export interface ListenOptions {
  /** Address to bind. Default '0.0.0.0'. */
  host?: string
  /** Fixed port range, like inet_dist_listen_min/max. Default: any free port. */
  portMin?: number
  portMax?: number
}

export interface EpmdOptions {
  /** Where the local port mapper listens. Default '127.0.0.1'. */
  host?: string
  /** Default: env ERL_EPMD_PORT, else 4369. Remote hosts are asked on the same port. */
  port?: number
  /** Start a port mapper (a detached process that outlives this node) when none answers. Default true. */
  autoStart?: boolean
  /** Where a port mapper this node starts listens. Default '0.0.0.0' (as epmd). */
  listenHost?: string
  /** Called with the pid of a port mapper process this node starts (to stop it later). */
  onSpawn?: (pid: number) => void
}

export interface StartNodeOptions {
  /** 'foo' → 'foo@<short hostname>' (erl -sname foo); 'foo@host' is taken as given. */
  name: string
  /** erl -name: the host part must be fully qualified. Default false. */
  longNames?: boolean
  /** Default: read `cookieFile`, creating it when missing. */
  cookie?: string
  /** Default '~/.erlang.cookie'. */
  cookieFile?: string
  /** erl -hidden. Default false. */
  hidden?: boolean
  /** Default tcp(). */
  transport?: Transport
  /** Default cookie(). */
  auth?: Authenticator
  /**
   * Where to accept connections. Default: '0.0.0.0', any free port — except for a node with
   * `epmd: false` and no `listen`, which accepts nothing (a purely local node).
   */
  listen?: ListenOptions | false
  /** The port mapper; false = none (peers are then found through `resolve`). */
  epmd?: EpmdOptions | false
  /** net_ticktime in ms. Default 60000. */
  tickTime?: number
  /** Transitive mesh of visible nodes. Default true. */
  connectAll?: boolean
  /** Code that remote nodes may spawn, by module name. */
  modules?: Record<string, ModuleDef>
  /**
   * Net kernel policy hooks: `allowNode(name, { address, hidden })` admits peers before
   * authentication; `allowSignal(fromNode, op, detail)`, the distribution firewall, decides
   * each send, reg_send, link, monitor, exit (exit/2) and spawn a peer asks of this node
   * (synchronously; read once at start; a refusal is dropped, or answered 'noproc' for a link
   * or monitor, ERR_SPAWN_NOT_ALLOWED for a spawn, and counted); `allowSpawn(fromNode, mod,
   * fun)` may then still refuse a spawn, asynchronously. Default: everything allowed.
   */
  policy?: KernelPolicy
  /** Default 'msgpackr'. Both codecs produce identical bytes. */
  codec?: CodecName
  /** A pino-compatible logger. Default: silent. */
  logger?: Logger
  /** Deadline for setting up one connection (resolve + dial + handshake), ms. Default 7000 (OTP's net_setuptime). */
  setupTimeout?: number
  /** Deadline for one handshake step, ms. Default 5000. */
  handshakeStepTimeout?: number
  /** How long a remote spawn waits for its reply, ms. Default 30000. */
  spawnTimeout?: number
  /**
   * Bytes queued on one connection above which send() returns false (busy); the message is
   * still queued, never dropped. `await node.drain(dest)` / `proc.drain(dest)` waits for the
   * queue to fall below half of it. Default 8 MiB.
   */
  highWater?: number
  /**
   * The largest message, in encoded bytes (the message plus its destination, a few dozen
   * bytes), a node sends or takes. send() of a larger one throws NetkernelError
   * ERR_MESSAGE_TOO_LARGE and queues nothing ('msgpackr' stops encoding once past the bound,
   * 'msgpack-lite' after encoding); a peer announcing a larger frame, or a fragmented message
   * growing past it, is disconnected with that code before its bytes are buffered.
   * Default 64 MiB (DEFAULT_MAX_MESSAGE_SIZE).
   */
  maxMessageSize?: number
  /** Find a node's address yourself instead of asking its host's port mapper. */
  resolve?: (node: string, signal: AbortSignal) => Promise<DialAddress>
  /** Injectable time source (tests). */
  clock?: Clock
}

export { DEFAULT_MAX_MESSAGE_SIZE } from './kernel/kernel-options.js'

export function defaultEpmdPort(): number {
  const env = Number(process.env.ERL_EPMD_PORT)
  return Number.isInteger(env) && env > 0 && env < 65536 ? env : 4369
}
