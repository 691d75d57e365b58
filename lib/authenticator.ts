// The Authenticator contract: an authenticator turns a transport's Conn into a connection
// to a named node by exchanging handshake messages over a HandshakeChannel. A custom
// authenticator is any object that fits these interfaces.
import type { Conn } from './transport.js'

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
