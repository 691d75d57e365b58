// One error hierarchy with stable codes. Every error netkernel raises is a NetkernelError
// with a `code` from ERROR_CODES; messages name the node or address concerned, and low-level
// errors travel as `cause`.

/** Every stable error code, with the one-line meaning documented in the README. */
export const ERROR_CODES = {
  ERR_RECEIVE_TIMEOUT: 'a receive with a timeout saw no matching message in time',
  ERR_RECEIVE_BUSY: 'a process called receive while its previous receive was still waiting',
  ERR_NAME_TAKEN: 'register: the name is already registered to another process',
  ERR_ALREADY_REGISTERED: 'register: the process already has a registered name',
  ERR_BAD_REGISTERED_NAME: 'register: the name is not a non-empty string, or is reserved',
  ERR_NOPROC: 'the process does not exist (or is not alive) where one is required',
  ERR_BAD_ARGUMENT: 'an argument has the wrong type or shape',
  ERR_DECODE: 'bytes are not valid MessagePack, or not a term netkernel knows',
  ERR_UNKNOWN_EXTENSION: 'a MessagePack extension type code netkernel does not define',
  ERR_ENCODE: 'a value cannot be encoded as a term (function, symbol, cycle, ...)',
  ERR_FRAME_TOO_LARGE: 'a frame length prefix exceeds the configured maximum',
  ERR_BAD_NODE_NAME: 'a node name is illegal (empty, NUL, two @, over 255 bytes, bad host)',
  ERR_NAME_IN_USE: 'the port mapper already has a node registered under this name',
  ERR_EPMD: 'the port mapper refused or failed a request',
  ERR_EPMD_UNREACHABLE: 'no port mapper answers at the address',
  ERR_NODE_NOT_FOUND: 'the port mapper on the host does not know the node',
  ERR_LISTEN: 'the node could not listen (address in use, no port free in the range)',
  ERR_CONNECT: 'a dial failed (refused, unreachable, reset)',
  ERR_CONNECT_TIMEOUT: 'a dial or connection setup did not finish before its deadline',
  ERR_ABORTED: 'the operation was cancelled through its AbortSignal',
  ERR_CONNECTION_CLOSED: 'the connection closed while an operation needed it',
  ERR_HANDSHAKE: 'the peer broke the handshake protocol (bad frame, wrong step)',
  ERR_HANDSHAKE_TIMEOUT: 'a handshake step or the whole setup exceeded its deadline',
  ERR_NAME_FORM: 'short-name and long-name nodes cannot connect to each other',
  ERR_WRONG_NODE: 'the peer is not the node that was dialled',
  ERR_NOT_ALLOWED: 'policy.allowNode refused the peer',
  ERR_ALREADY_CONNECTED: 'a connection to that node already exists (or won a simultaneous dial)',
  ERR_INCOMPATIBLE: 'the peer speaks an incompatible protocol version or codec',
  ERR_AUTH_FAILED: 'authentication failed (wrong cookie or credential)',
  ERR_TLS_HANDSHAKE: 'an accepted connection failed its TLS handshake (not TLS, no common version, timed out)',
  ERR_CERT_REQUIRED: 'mutual TLS: a side presented no certificate (or tls-cert ran without a verified one)',
  ERR_CERT_UNTRUSTED: "a TLS certificate does not chain to a CA in the tls transport's `ca`",
  ERR_CERT_EXPIRED: 'a TLS certificate has expired or is not valid yet',
  ERR_CERT_HOSTNAME: "the server's TLS certificate does not name the host that was dialled",
  ERR_COOKIE_FILE: 'the cookie file is unreadable, too open (group/other access) or empty',
  ERR_SPAWN_UNKNOWN_MODULE: 'remote spawn: the node defines no such module',
  ERR_SPAWN_UNKNOWN_FUNCTION: 'remote spawn: the module has no such function',
  ERR_SPAWN_NOT_ALLOWED: 'remote spawn: policy.allowSpawn refused it',
  ERR_SPAWN_FAILED: 'remote spawn: the node could not be reached or the request failed',
  ERR_NODE_STOPPED: 'the node has been stopped',
  ERR_MESSAGE_TOO_LARGE: 'a message exceeds maxMessageSize (refused before encoding, or a frame announcing more is dropped)',
  ERR_LIMIT: 'a peer exceeded a bound on its connection (fragments, pending dials, handshakes, registrations)',
  ERR_PROTOCOL: 'an authenticated peer sent a frame it may not send (a signal for another node’s process, a forged reply)',
  ERR_SIGNAL_NOT_ALLOWED: 'policy.allowSignal refused an operation a peer asked of this node',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class NetkernelError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** proc.receive(..., { timeout }) found nothing in time. */
export class ReceiveTimeoutError extends NetkernelError {
  constructor(ms: number, where: string) {
    super('ERR_RECEIVE_TIMEOUT', `receive timed out after ${ms} ms in ${where}`)
  }
}

/** Name registry errors: taken names, double registration, bad names. */
export class RegistryError extends NetkernelError {}

/** Encoding or decoding of terms, and framing. */
export class CodecError extends NetkernelError {}

/** Illegal node names. */
export class NodeNameError extends NetkernelError {
  constructor(name: unknown, why: string) {
    super('ERR_BAD_NODE_NAME', `illegal node name ${JSON.stringify(String(name))}: ${why}`)
  }
}

/** Port mapper client and daemon errors. */
export class EpmdError extends NetkernelError {}

/** Listening, dialling and connection errors raised by transports and the kernel. */
export class TransportError extends NetkernelError {}

/** Connection setup failures before authentication (protocol, deadlines, policy). */
export class HandshakeError extends NetkernelError {}

/** Authenticator refusals. */
export class AuthError extends NetkernelError {}

/** Cookie file problems. */
export class CookieFileError extends NetkernelError {}

/** Remote spawn failures. */
export class SpawnError extends NetkernelError {}

/** An error for an aborted wait: the signal's own reason when it is an Error. */
export function abortError(signal: AbortSignal, what: string): Error {
  const r: unknown = signal.reason
  if (r instanceof Error && r.name !== 'AbortError') return r
  return new NetkernelError('ERR_ABORTED', `${what} aborted`, { cause: r })
}
