// The two replaceable strategies under the net kernel (docs/architecture.md, README.md):
// a Transport yields unauthenticated byte streams; an Authenticator turns one into a
// connection to a named node. A custom strategy is any object that fits these interfaces.
import type { Duplex } from 'node:stream'
import type { PeerCertificate } from 'node:tls'

/** A duplex byte stream plus what the transport established about it. */
export interface Conn {
  /** The byte stream. The kernel reads and writes it; the transport owns its lifecycle. */
  readonly stream: Duplex
  /** Name of the transport that made it ('tcp', 'tls', 'ssh', ...). */
  readonly transport: string
  /** The peer address as the transport sees it (for messages, rate limiting). */
  readonly remoteAddress: string
  readonly remotePort: number
  /** True when the bytes are encrypted on the wire. */
  readonly encrypted: boolean
  /** The peer's verified certificate, when the transport established one (TLS). */
  readonly peerCertificate?: PeerCertificate
  /**
   * True when the stream has flow control of its own (an SSH channel's window): the kernel
   * then adds no window of its own for large-message fragments.
   */
  readonly flowControlled?: boolean
  /** Graceful: flush what was written, then end. */
  close(): void
  /** Abrupt: drop at once. */
  destroy(err?: Error): void
}

export interface ListenOptions {
  /** Address to bind (default '0.0.0.0'). */
  host: string
  /** Port to bind; 0 = any free port. The kernel walks a port range itself. */
  port: number
  signal?: AbortSignal
}

export interface Listener {
  /** Where it actually listens. */
  readonly address: { host: string; port: number }
  /** Graceful: stop accepting; connections already made are left alone. */
  close(): Promise<void>
}

export interface DialAddress {
  host: string
  port: number
}

export interface Transport {
  readonly name: string
  listen(opts: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener>
  dial(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Conn>
  /**
   * Optional: open a raw byte stream to a port-mapper address on a host (used by the SSH
   * transport to reach a remote epmd through its tunnel). Default: a plain TCP connection.
   */
  dialPortMapper?(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Duplex>
  /**
   * Optional: open the stream a node registers with its port mapper over (used by the SSH
   * transport's `reverse` mode to register on the relay's host). Default: plain TCP.
   */
  registerPortMapper?(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Duplex>
}

/** A decoded handshake message: a plain object of terms (strings, numbers, Buffers, ...). */
export type HandshakeMessage = Record<string, unknown>

/**
 * Sends and receives decoded handshake messages, so an authenticator never touches bytes.
 * Each receive is bounded by the per-step deadline and the setup signal; messages are
 * limited to a few KB.
 *
 * The channel owns its error contract, so an authenticator passes its errors on unmapped:
 * - `receive()` rejects only with a NetkernelError: ERR_HANDSHAKE_TIMEOUT (the step deadline,
 *   or a signal aborted with a TimeoutError), ERR_ABORTED (or the signal's reason when that is
 *   a NetkernelError), the refusal's code when the peer refused the connection with a status
 *   (ERR_ALREADY_CONNECTED, ERR_NOT_ALLOWED, ...), ERR_CONNECTION_CLOSED when the connection
 *   closed (or the transport's own NetkernelError, a refused certificate say), ERR_HANDSHAKE
 *   for garbled or out-of-step data.
 * - `send()` never throws once the channel is gone: a write after close is dropped, and the
 *   next receive reports why. (It may throw for a message that cannot be sent at all.)
 */
export interface HandshakeChannel {
  send(msg: HandshakeMessage): void
  receive(opts?: { signal?: AbortSignal }): Promise<HandshakeMessage>
}

/** The cookies a node uses: its own, and any set per peer node (set_cookie/2). */
export interface CookieStore {
  /** The cookie to use with `node` (the per-node one if set, else the node's own). */
  cookieFor(node: string): string
}

export interface AuthContext {
  /** This node's full name. */
  readonly localName: string
  /** The peer's full name: the dialled name (initiating) or the claimed name (responding). */
  readonly peerName: string
  readonly role: 'initiator' | 'responder'
  readonly conn: Conn
  readonly cookies: CookieStore
  /** Aborted at the connection-setup deadline. */
  readonly signal: AbortSignal
}

export interface AuthResult {
  /** The authenticated peer name (must equal ctx.peerName). */
  peerName: string
  /** Anything the authenticator wants recorded in nodeup info (e.g. certificate subject). */
  info?: Record<string, unknown>
}

export interface Authenticator {
  readonly name: string
  /**
   * True when it authenticates with the node's cookies (`ctx.cookies`). startNode then reads
   * (or creates) the cookie file at once, so a bad file fails the start; otherwise the file is
   * read only when something first asks for the node's own cookie (an authenticator calling
   * `ctx.cookies.cookieFor()`, `node.getCookie()`), and a node that never does leaves it alone.
   */
  readonly needsCookie?: boolean
  /** Dialling side. Resolves when the peer is authenticated; rejects with an AuthError. */
  initiate(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult>
  /** Accepting side. */
  respond(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult>
}
