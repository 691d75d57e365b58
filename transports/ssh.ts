// The SSH transport: distribution through SSH gateways, for nodes behind a firewall that
// lets only sshd through. A factory returning a plain object; ssh2 is loaded lazily, the
// first time a gateway is used.
//
//   ssh({ gateways: { 'work.example': { host: 'work.example', username: 'nk', privateKey,
//         hostKey: 'SHA256:...', target: '127.0.0.1' } } })
//
// A node whose host part is a gateway key is reached through ONE SSH connection per gateway
// (opened on first use, shared by every node behind it): the port mapper and the node's port
// are each a direct-tcpip channel to `target`. Other hosts use `direct` (default tcp()).
// With `reverse`, listen() asks a reachable sshd to listen for this node instead.
import process from 'node:process'
import { userInfo } from 'node:os'
import type { Duplex } from 'node:stream'
import type { Conn, DialAddress, Listener, ListenOptions, Transport } from '../lib/transport.js'
import { abortError, NetkernelError, TransportError } from '../lib/errors.js'
import { tcpConnect } from '../lib/net/tcp-connect.js'
import { tcp, formatAddress } from './tcp.js'
import { ChannelStream } from './ssh-channel-stream.js'
import { channelConn, relabel } from './ssh-conn.js'
import { SshGatewayError } from './ssh-errors.js'
import { isFingerprint } from './ssh-host-key.js'
import { reverseListen } from './ssh-reverse.js'
import { describeGateway, SshSession, type GatewayConfig } from './ssh-session.js'

export { SshGatewayError, SshHostKeyError, type SshGatewayFailure } from './ssh-errors.js'
export { fingerprintOf } from './ssh-host-key.js'

/** One SSH gateway: an sshd that can reach the nodes whose host part is its key. */
export interface SshGateway {
  /** The sshd's address. */
  host: string
  /** Default 22. */
  port?: number
  /** Default: the local user name. */
  username?: string
  /** A private key (OpenSSH or PEM format) ... */
  privateKey?: string | Buffer
  /** ... and its passphrase, when it is encrypted. */
  passphrase?: string | Buffer
  /** ... or an ssh-agent socket path (e.g. process.env.SSH_AUTH_SOCK). */
  agent?: string
  /**
   * The sshd's host key, pinned: its fingerprint as `ssh-keygen -lf` prints it
   * ('SHA256:...'), or several (any one may match). Either this or `knownHosts` is required.
   */
  hostKey?: string | readonly string[]
  /** An OpenSSH known_hosts file listing the sshd's key (hashed names and `[host]:port` work). */
  knownHosts?: string
  /**
   * Where the gateway forwards to (e.g. '127.0.0.1' when the nodes listen on the gateway
   * host's loopback). Default: the node's host part, as the gateway resolves it.
   */
  target?: string
  /** Deadline for the TCP connect, SSH handshake and login, ms. Default 10000. */
  readyTimeout?: number
  /** SSH keepalive interval, ms (0 = off). Default 15000. */
  keepaliveInterval?: number
  /** Unanswered keepalives before the connection is dropped. Default 3. */
  keepaliveCountMax?: number
}

export interface SshReverseOptions {
  /** The key of the gateway (in `gateways`) whose sshd listens for this node. */
  gateway: string
  /** The port the sshd listens on. Default: the port the node asks for (0 = any). */
  port?: number
  /**
   * The address the sshd binds. Default: the node's listen host. Addresses other than
   * loopback need `GatewayPorts clientspecified` (or yes) in the sshd's config.
   */
  host?: string
}

export interface SshOptions {
  /** Key: the host part of the node names behind that gateway ('work' for foo@work). */
  gateways: Record<string, SshGateway>
  /** For hosts with no gateway. Default tcp(). */
  direct?: Transport
  /** Listen through a reachable sshd (behind NAT) instead of on a local port. */
  reverse?: SshReverseOptions
  /**
   * An SSH connection with no channel open is ended after this long, ms. Default 10000.
   * Once every listener of this transport has closed (the node stopped), idle connections
   * end at once, so the process can exit.
   */
  idleTimeout?: number
  /** After close() has sent EOF on a channel, how long to wait for the peer's, ms. Default 5000. */
  closeTimeout?: number
}

/** The SSH transport: a Transport plus portMapperStream and close(). */
export interface SshTransport extends Transport {
  readonly name: 'ssh'
  /**
   * A stream to the port mapper at addr. For a 'lookup', through the gateway of addr's host
   * (direct without one). For an 'announce': with `reverse`, the relay's port mapper (addr as
   * seen from the relay, through the SSH connection), so that the node is found on the relay's
   * host; else the local one at addr. startNode's port-mapper discovery uses it.
   */
  portMapperStream(addr: DialAddress, opts: { signal: AbortSignal; purpose: 'lookup' | 'announce' }): Promise<Duplex>
  /** End every SSH connection (their channels close, so those nodes go down) and reverse listener. */
  close(): Promise<void>
}

type ClientCtor = ConstructorParameters<typeof SshSession>[1]

function badArgument(msg: string): NetkernelError {
  return new NetkernelError('ERR_BAD_ARGUMENT', `ssh(): ${msg}`)
}

function localUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'root'
  }
}

function gatewayConfig(key: string, g: SshGateway): GatewayConfig {
  if (typeof g !== 'object' || g === null) throw badArgument(`gateway '${key}' must be an object`)
  if (typeof g.host !== 'string' || g.host === '') throw badArgument(`gateway '${key}' needs a host`)
  const port = g.port ?? 22
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badArgument(`gateway '${key}': bad port ${String(g.port)}`)
  if (g.privateKey === undefined && g.agent === undefined) throw badArgument(`gateway '${key}' needs a privateKey or an agent socket`)
  const pins = g.hostKey === undefined ? undefined : typeof g.hostKey === 'string' ? [g.hostKey] : [...g.hostKey]
  if (pins === undefined && g.knownHosts === undefined) {
    throw badArgument(
      `gateway '${key}' needs hostKey ('SHA256:...' as ssh-keygen -lf prints it) or knownHosts: host keys are never accepted unverified`,
    )
  }
  for (const p of pins ?? [])
    if (!isFingerprint(p)) throw badArgument(`gateway '${key}': hostKey ${JSON.stringify(p)} is not a 'SHA256:...' fingerprint`)
  return {
    key,
    host: g.host,
    port,
    username: g.username ?? localUser(),
    privateKey: g.privateKey,
    passphrase: g.passphrase,
    agent: g.agent,
    hostKey: pins,
    knownHosts: g.knownHosts,
    target: g.target,
    readyTimeout: g.readyTimeout ?? 10_000,
    keepaliveInterval: g.keepaliveInterval ?? 15_000,
    keepaliveCountMax: g.keepaliveCountMax ?? 3,
  }
}

/** Reject when `signal` aborts first; `p` itself goes on. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p
  if (signal.aborted) return Promise.reject(abortError(signal, what))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, what))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      v => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    )
  })
}

export function ssh(options: SshOptions): SshTransport {
  if (typeof options !== 'object' || options === null || typeof options.gateways !== 'object' || options.gateways === null) {
    throw badArgument('options.gateways must be an object of gateways by host')
  }
  const gateways = new Map<string, GatewayConfig>()
  for (const [key, g] of Object.entries(options.gateways)) gateways.set(key.toLowerCase(), gatewayConfig(key, g))
  const reverse = options.reverse
  const reverseGateway = reverse === undefined ? undefined : gateways.get(String(reverse.gateway).toLowerCase())
  if (reverse !== undefined && reverseGateway === undefined)
    throw badArgument(`reverse.gateway '${String(reverse.gateway)}' is not one of the gateways`)
  const direct = options.direct ?? tcp()
  const idleTimeout = options.idleTimeout ?? 10_000
  const closeTimeout = options.closeTimeout ?? 5000

  const sessions = new Map<string, SshSession>()
  const reverseListeners = new Set<Listener>()
  // Listeners open now; when the last one closes the node is gone: stop keeping SSH connections.
  let openListeners = 0
  let draining = false
  const listening = (l: Listener): Listener => {
    openListeners++
    draining = false
    let closed = false
    return {
      address: l.address,
      close: async () => {
        if (!closed) {
          closed = true
          if (--openListeners === 0) {
            draining = true
            for (const s of sessions.values()) s.idleCheck()
          }
        }
        await l.close()
      },
    }
  }
  let loaded: Promise<ClientCtor> | undefined

  const loadClient = (code: 'ERR_CONNECT' | 'ERR_LISTEN'): Promise<ClientCtor> => {
    loaded ??= import('ssh2').then(m => (m.Client ?? (m as unknown as { default: typeof m }).default.Client) as ClientCtor)
    return loaded.catch((err: Error) => {
      loaded = undefined
      throw new TransportError(code, `the ssh transport needs the ssh2 package (npm i ssh2): ${err.message}`, { cause: err })
    })
  }

  /** The shared, logged-in SSH connection to `g`, opened on first use. */
  const session = async (
    g: GatewayConfig,
    signal: AbortSignal | undefined,
    code: 'ERR_CONNECT' | 'ERR_LISTEN' = 'ERR_CONNECT',
  ): Promise<SshSession> => {
    let s = sessions.get(g.key)
    if (s === undefined || s.closed || s.ending) {
      const Client = await raceSignal(loadClient(code), signal, `connect to ${describeGateway(g)}`)
      s = sessions.get(g.key)
      if (s === undefined || s.closed || s.ending) {
        s = new SshSession(
          g,
          Client,
          () => (draining ? 0 : idleTimeout),
          gone => {
            if (sessions.get(g.key) === gone) sessions.delete(g.key)
          },
        )
        if (!s.closed) sessions.set(g.key, s)
      }
    }
    await raceSignal(s.ready, signal, `connect to ${describeGateway(g)}`)
    return s
  }

  const gatewayFor = (host: string): GatewayConfig | undefined => gateways.get(host.toLowerCase())

  /** A direct-tcpip channel through `g` to `to`:addr.port (errors name `addr`, the address asked for). */
  const forward = async (g: GatewayConfig, addr: DialAddress, to: string, signal: AbortSignal): Promise<ChannelStream> => {
    const where = formatAddress(addr.host, addr.port)
    const s = await session(g, signal)
    let ch
    try {
      ch = await s.forwardOut(to, addr.port, signal)
    } catch (err) {
      if (signal.aborted) throw abortError(signal, `dial ${where}`)
      const via = to === addr.host ? '' : ` (${formatAddress(to, addr.port)} as the gateway sees it)`
      throw new SshGatewayError(
        'ERR_CONNECT',
        g.key,
        'forward',
        `cannot connect to ${where}${via} through ${describeGateway(g)}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    const stream = new ChannelStream(
      ch,
      () => s.release(),
      () => s.closed,
      s.socket,
    )
    stream.on('error', () => {}) // until the kernel attaches its own (as tcp does)
    return stream
  }

  async function dial(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Conn> {
    const { signal } = opts
    if (signal.aborted) throw abortError(signal, `dial ${formatAddress(addr.host, addr.port)}`)
    const g = gatewayFor(addr.host)
    if (g === undefined) return relabel(await direct.dial(addr, opts))
    const stream = await forward(g, addr, g.target ?? addr.host, signal)
    return channelConn(stream, addr.host, addr.port, closeTimeout)
  }

  type PortMapperOpts = { signal: AbortSignal; purpose: 'lookup' | 'announce' }
  const directPortMapper = (addr: DialAddress, opts: PortMapperOpts): Promise<Duplex> =>
    direct.portMapperStream ? direct.portMapperStream(addr, opts) : tcpConnect(addr, opts)

  async function portMapperStream(addr: DialAddress, opts: PortMapperOpts): Promise<Duplex> {
    if (opts.purpose === 'announce') {
      if (reverseGateway === undefined) return directPortMapper(addr, opts)
      // addr is the port mapper as the node would reach it locally (127.0.0.1:4369): the same
      // address on the relay's side is the relay's own port mapper, which accepts
      // registrations from its loopback — where the sshd's forwarded connection comes from.
      return forward(reverseGateway, addr, addr.host, opts.signal)
    }
    const g = gatewayFor(addr.host)
    if (g === undefined) return directPortMapper(addr, opts)
    return forward(g, addr, g.target ?? addr.host, opts.signal)
  }

  async function listen(opts: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    if (reverse === undefined || reverseGateway === undefined) return listening(await direct.listen(opts, c => onConn(relabel(c))))
    const g = reverseGateway
    const l = await reverseListen(
      {
        session: signal => session(g, signal, 'ERR_LISTEN'),
        what: describeGateway(g),
        gatewayHost: g.host,
        bindHost: reverse.host ?? opts.host,
        port: reverse.port ?? opts.port,
        signal: opts.signal,
        closeTimeout,
      },
      onConn,
    )
    reverseListeners.add(l)
    return listening({
      address: l.address,
      close: async () => {
        reverseListeners.delete(l)
        await l.close()
      },
    })
  }

  async function close(): Promise<void> {
    await Promise.all([...reverseListeners].map(l => l.close()))
    reverseListeners.clear()
    for (const s of sessions.values()) s.end()
    sessions.clear()
  }

  return { name: 'ssh', listen, dial, portMapperStream, close }
}
