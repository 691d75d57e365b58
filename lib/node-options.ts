// startNode() options (README.md, "Starting a node") and their defaults: DEFAULTS holds every default value, and
// resolveOptions() turns what the caller gave into fully resolved options, the only values
// startNode() reads. The README's options table shows the same defaults (a test checks).
import process from 'node:process'
import type { DialAddress, Transport } from './transport.js'
import type { Authenticator } from './authenticator.js'
import type { Discovery } from './discovery.js'
import type { KernelLimits, KernelPolicy } from './kernel/net-kernel.js'
import { DEFAULT_LIMITS, DEFAULT_MAX_MESSAGE_SIZE } from './kernel/limits.js'
import { MAX_MESSAGE_TERMS } from './terms/ext-codes.js'
import { NetkernelError } from './errors.js'
import { DEFAULT_HIGH_WATER } from './kernel/outbox.js'
import { busyWaitMicros, type BusyWait } from './kernel/busy-wait.js'
import { DEFAULT_SCAVENGE_EVERY, scavengeEveryBytes } from './kernel/scavenge-assist.js'
import { DEFAULT_COOKIE_FILE } from './kernel/cookie-file.js'
import type { CodecName } from './terms/codec.js'
import { silentLogger, childLogger, type Logger } from './logger.js'
import { systemClock, type Clock } from './clock.js'
import type { ModuleDef, Timers } from './process/types.js'
import { parseNodeName } from './node-name.js'
import { tcp } from '../transports/tcp.js'
import { cookie as cookieAuth } from '../auth/cookie.js'

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
  /**
   * Also speak Erlang/OTP's distribution protocol: dial OTP nodes (those the port mapper
   * lists without netkernel's marker) and take their handshakes. A node that is not `hidden`
   * is a visible member of their cluster (it speaks OTP's `global`: docs/global.md); a
   * hidden one is hidden toward them too. The cookie is then also proven with OTP's MD5
   * digest, to OTP peers only. Default false.
   */
  erlang?: boolean
  /**
   * Run the global name server (node.global, OTP's `global`). Default true. Without it the
   * node stays hidden toward Erlang/OTP peers (a visible node that ignores global makes
   * global:sync() hang cluster-wide).
   */
  global?: boolean
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
  /** Default 'netkernel' (netkernel's own writer/reader), or 'msgpack-lite'; 'msgpackr' is an alias of 'netkernel'. Both codecs produce identical bytes. */
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
   * queue to fall below half of it. Default 2 MiB.
   */
  highWater?: number
  /**
   * The largest message, in encoded bytes (the message plus its destination, a few dozen
   * bytes), a node sends or takes. send() of a larger one throws NetkernelError
   * ERR_MESSAGE_TOO_LARGE and queues nothing ('netkernel' stops encoding once past the bound,
   * 'msgpack-lite' after encoding); a peer announcing a larger frame, or a fragmented message
   * growing past it, is disconnected with that code before its bytes are buffered.
   * Default 64 MiB (DEFAULT_MAX_MESSAGE_SIZE).
   */
  maxMessageSize?: number
  /**
   * The most terms one received message may decode into (every value counts: each element,
   * key and value, number, string, binary, pid, tuple), on both wires. A message's size alone
   * does not bound the heap its decoding takes: 64 MiB of empty arrays or tuples is 67 million
   * objects, several GB. A peer sending more is disconnected with NetkernelError
   * ERR_MESSAGE_TOO_LARGE, refused as soon as a container announces more than are left, before
   * it is made. Default 4,000,000 (MAX_MESSAGE_TERMS): at most ~256 MB of objects per
   * message; a list of a million small tuples passes. An integer from 1 to 2^32 − 1.
   */
  maxMessageTerms?: number
  /**
   * Keep the event loop polling for this long after each frame read or written, instead of
   * sleeping in the OS at once — what the BEAM's schedulers do by default (+sbwt). An idle
   * Node process takes tens of µs to wake for the next message; polling halves a ping-pong's
   * round trip or better, at the cost of up to this much CPU per quiet spell (a node that
   * gets a message at least every window keeps a core busy). 'none' (0, the default),
   * 'short' (50 µs), 'medium' (200 µs), 'long' (1000 µs), or µs from 0 to 100000. The event
   * loop is the process's: the longest window any running node asks for applies to all.
   */
  busyWait?: BusyWait
  /**
   * Ask V8 for a young-generation collection (a scavenge) each time this many bytes of large
   * messages (about 64 KiB or more: the size netkernel cuts into pieces) have come in, so that
   * bodies the program has dropped are freed young instead of filling the old generation's
   * headroom and forcing a mark-compact of the whole heap, which holds up every message for
   * milliseconds (README, "Large messages"). A scavenge with little young data alive takes
   * tens to hundreds of µs. The heap is the process's: the shortest interval any running node
   * asks for applies to all. Bytes from 0 to 1 GiB; false or 0: never ask. Default 4 MiB
   * (DEFAULT_SCAVENGE_EVERY).
   */
  scavengeEvery?: number | false
  /** Find a node's address yourself instead of asking its host's port mapper. */
  resolve?: (node: string, signal: AbortSignal) => Promise<DialAddress>
  /**
   * How peers are found and this node is made findable (DNS, Kubernetes, ...), in place of
   * the port mapper and `resolve`: startNode announces the node through it once it listens,
   * and resolves every peer with it. Not together with `resolve` or an `epmd` object.
   */
  discovery?: Discovery
  /**
   * Bounds on what peers and gossip can make this node hold (inbound handshakes, in all and
   * per address; dials under way; dials one peer's gossip may have under way and start per
   * second; one peer's monitors and links, and the processes running at its request). Each
   * field given replaces its default.
   */
  limits?: Partial<KernelLimits>
  /**
   * Injectable time source (tests): every timer of the node (receive and spawn timeouts,
   * ticks, setup deadlines, port mapper re-registration) runs on it. Default: the system's.
   */
  clock?: Clock
}

export { DEFAULT_MAX_MESSAGE_SIZE } from './kernel/limits.js'
export { MAX_MESSAGE_TERMS } from './terms/ext-codes.js'
export { DEFAULT_SCAVENGE_EVERY } from './kernel/scavenge-assist.js'

/** Every default of startNode(), in one place. */
export const DEFAULTS = {
  longNames: false,
  cookieFile: DEFAULT_COOKIE_FILE,
  hidden: false,
  erlang: false,
  global: true,
  listen: { host: '0.0.0.0' },
  epmd: { host: '127.0.0.1', port: 4369, autoStart: true, listenHost: '0.0.0.0' },
  tickTime: 60_000,
  connectAll: true,
  codec: 'netkernel' as CodecName,
  setupTimeout: 7000,
  handshakeStepTimeout: 5000,
  spawnTimeout: 30_000,
  highWater: DEFAULT_HIGH_WATER,
  busyWait: 'none' as BusyWait,
  scavengeEvery: DEFAULT_SCAVENGE_EVERY,
  limits: DEFAULT_LIMITS,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  maxMessageTerms: MAX_MESSAGE_TERMS,
} as const

/** startNode() options with every default applied. */
export interface ResolvedOptions {
  /** The full node name ('foo@host'). */
  name: string
  longNames: boolean
  /** The cookie given, if any (else the file is read when first needed). */
  cookie: string | undefined
  cookieFile: string
  hidden: boolean
  erlang: boolean
  global: boolean
  transport: Transport
  auth: Authenticator
  /** false: accept nothing. Port 0 = any free port. */
  listen: { host: string; portMin: number; portMax: number } | false
  epmd: { host: string; port: number; autoStart: boolean; listenHost: string; onSpawn?: (pid: number) => void } | false
  tickTime: number
  connectAll: boolean
  modules: Record<string, ModuleDef>
  policy: KernelPolicy
  codec: CodecName
  /** The caller's logger (or a silent one) bound to the node's name. */
  logger: Logger
  setupTimeout: number
  handshakeStepTimeout: number
  spawnTimeout: number
  highWater: number
  /** µs of polling after traffic (0: none). */
  busyWait: number
  /** Bytes of large bodies between two scavenges asked for (0: never). */
  scavengeEvery: number
  limits: KernelLimits
  /** The largest encoded message sent or taken (bytes). */
  maxMessageSize: number
  /** The most terms a received message may decode into. */
  maxMessageTerms: number
  /** undefined: peers are found through the port mapper. */
  resolve: ((node: string, signal: AbortSignal) => Promise<DialAddress>) | undefined
  /** undefined: the port mapper and `resolve` (see nodeDiscovery). */
  discovery: Discovery | undefined
  clock: Clock
  /**
   * The process runtime's timers: the clock's when one was given; else undefined, and the
   * runtime uses the host's own (which, unlike the system clock's, keep the process alive
   * while a receive waits).
   */
  processTimers: Timers | undefined
  /** Whether the node takes part in distribution (listens, or can find peers). */
  distributed: boolean
}

/** Apply every default; throws NodeNameError for an illegal name. */
function checkedMaxMessageSize(v: number | undefined): number {
  const n = v ?? DEFAULTS.maxMessageSize
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `maxMessageSize must be an integer from 1 to ${0xffffffff}, got ${String(v)}`)
  }
  return n
}

/** The limits over their defaults: each a known field, a whole number ≥ 0 or Infinity. */
function checkedLimits(v: Partial<KernelLimits> | undefined): KernelLimits {
  const out: KernelLimits = { ...DEFAULTS.limits }
  for (const [k, n] of Object.entries(v ?? {})) {
    if (!Object.hasOwn(DEFAULTS.limits, k)) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `limits.${k} is not a limit: expected one of ${Object.keys(DEFAULTS.limits).join(', ')}`)
    }
    if (n === undefined) continue // (the default)
    if (!(n === Infinity || (Number.isSafeInteger(n) && (n as number) >= 0))) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `limits.${k} must be a whole number from 0 (or Infinity), got ${String(n)}`)
    }
    out[k as keyof KernelLimits] = n as number
  }
  return out
}

function checkedMaxMessageTerms(v: number | undefined): number {
  const n = v ?? DEFAULTS.maxMessageTerms
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `maxMessageTerms must be an integer from 1 to ${0xffffffff}, got ${String(v)}`)
  }
  return n
}

function checkedDiscovery(opts: StartNodeOptions): Discovery | undefined {
  if (opts.discovery !== undefined && (opts.resolve !== undefined || (opts.epmd !== undefined && opts.epmd !== false))) {
    throw new NetkernelError(
      'ERR_BAD_ARGUMENT',
      `startNode(${opts.name}): discovery replaces the port mapper and resolve; give it without resolve and without an epmd object`,
    )
  }
  return opts.discovery
}

export function resolveOptions(opts: StartNodeOptions): ResolvedOptions {
  const longNames = opts.longNames ?? DEFAULTS.longNames
  const { full: name } = parseNodeName(opts.name, longNames)
  const e = opts.epmd
  const epmd: ResolvedOptions['epmd'] =
    e === false
      ? false
      : {
          host: e?.host ?? DEFAULTS.epmd.host,
          port: e?.port ?? defaultEpmdPort(),
          autoStart: e?.autoStart ?? DEFAULTS.epmd.autoStart,
          listenHost: e?.listenHost ?? DEFAULTS.epmd.listenHost,
          onSpawn: e?.onSpawn,
        }
  const l = opts.listen === false || (opts.listen === undefined && epmd === false) ? false : (opts.listen ?? {})
  const listen: ResolvedOptions['listen'] =
    l === false
      ? false
      : {
          host: l.host ?? DEFAULTS.listen.host,
          portMin: l.portMin ?? 0,
          portMax: l.portMax ?? l.portMin ?? 0,
        }
  const clock = opts.clock ?? systemClock
  return {
    name,
    longNames,
    cookie: opts.cookie,
    cookieFile: opts.cookieFile ?? DEFAULTS.cookieFile,
    hidden: opts.hidden ?? DEFAULTS.hidden,
    erlang: opts.erlang ?? DEFAULTS.erlang,
    global: opts.global ?? DEFAULTS.global,
    transport: opts.transport ?? tcp(),
    auth: opts.auth ?? cookieAuth(),
    listen,
    epmd,
    tickTime: opts.tickTime ?? DEFAULTS.tickTime,
    connectAll: opts.connectAll ?? DEFAULTS.connectAll,
    modules: opts.modules ?? {},
    policy: opts.policy ?? {},
    codec: opts.codec ?? DEFAULTS.codec,
    logger: childLogger(opts.logger ?? silentLogger, { node: name }),
    setupTimeout: opts.setupTimeout ?? DEFAULTS.setupTimeout,
    handshakeStepTimeout: opts.handshakeStepTimeout ?? DEFAULTS.handshakeStepTimeout,
    spawnTimeout: opts.spawnTimeout ?? DEFAULTS.spawnTimeout,
    highWater: opts.highWater ?? DEFAULTS.highWater,
    busyWait: busyWaitMicros(opts.busyWait ?? DEFAULTS.busyWait),
    scavengeEvery: scavengeEveryBytes(opts.scavengeEvery ?? DEFAULTS.scavengeEvery),
    limits: checkedLimits(opts.limits),
    maxMessageSize: checkedMaxMessageSize(opts.maxMessageSize),
    maxMessageTerms: checkedMaxMessageTerms(opts.maxMessageTerms),
    resolve: opts.resolve,
    discovery: checkedDiscovery(opts),
    clock,
    processTimers: opts.clock === undefined ? undefined : clockTimers(opts.clock),
    distributed: listen !== false || opts.resolve !== undefined || opts.discovery !== undefined,
  }
}

/** A clock as the process runtime's timers (which pass arguments to the callback). */
function clockTimers(clock: Clock): Timers {
  return {
    setTimeout: (fn, ms, ...args) => clock.setTimeout(() => fn(...args), ms),
    clearTimeout: h => clock.clearTimeout(h),
  }
}

/** The port mapper's port: env ERL_EPMD_PORT, else DEFAULTS.epmd.port. */
export function defaultEpmdPort(): number {
  const env = Number(process.env.ERL_EPMD_PORT)
  return Number.isInteger(env) && env > 0 && env < 65536 ? env : DEFAULTS.epmd.port
}
