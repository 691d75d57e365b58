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
  ERR_SPAWN_UNKNOWN_MODULE: 'spawn or rpc: the node defines no such module',
  ERR_SPAWN_UNKNOWN_FUNCTION: 'spawn or rpc: the module has no such function',
  ERR_SPAWN_NOT_ALLOWED: 'remote spawn: policy.allowSpawn refused it',
  ERR_SPAWN_FAILED: 'remote spawn: the node could not be reached or the request failed',
  ERR_NODE_STOPPED: 'the node has been stopped',
  ERR_MESSAGE_TOO_LARGE:
    'a message exceeds maxMessageSize (refused before encoding, or a frame announcing more is dropped), or a received one decodes into more than maxMessageTerms terms',
  ERR_LIMIT:
    'a peer exceeded a bound on its connection (fragments, links, monitors, pending dials, handshakes, registrations), or an rpc call was refused because its caller’s node has limits.processesPerPeer processes running there',
  ERR_PROTOCOL: 'an authenticated peer sent a frame it may not send (a signal for another node’s process, a forged reply)',
  ERR_SIGNAL_NOT_ALLOWED: 'policy.allowSignal refused an operation a peer asked of this node',
  ERR_RPC: 'rpc: the called function raised an exception (throw, exit, error) or the call could not run (badrpc)',
  ERR_RPC_TIMEOUT: 'rpc: no result within the timeout (the remote function may still be running)',
  ERR_CALL:
    'call (gen_server:call): the server exited before it replied, no process had the name (noproc), or its node went down (noconnection)',
  ERR_CALL_TIMEOUT: 'call (gen_server:call): no reply within the timeout (a reply that comes later is dropped)',
  ERR_GLOBAL_NOT_REGISTERED: 'global.send: no process is registered under the global name',
  ERR_GLOBAL_TIMEOUT: 'global: the cluster lock (register, unregister) or a sync did not complete within the timeout',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/**
 * The one class each code is raised as: `e.code` tells `e`'s class (a subclass, like the ssh
 * transport's SshGatewayError of TransportError, may raise its base's codes). Each class's
 * constructor accepts only its own codes, so a mismatch does not compile.
 */
export const ERROR_CLASS = {
  ERR_RECEIVE_TIMEOUT: 'ReceiveTimeoutError',
  ERR_RECEIVE_BUSY: 'NetkernelError',
  ERR_NAME_TAKEN: 'RegistryError',
  ERR_ALREADY_REGISTERED: 'RegistryError',
  ERR_BAD_REGISTERED_NAME: 'RegistryError',
  ERR_NOPROC: 'NetkernelError',
  ERR_BAD_ARGUMENT: 'NetkernelError',
  ERR_DECODE: 'CodecError',
  ERR_UNKNOWN_EXTENSION: 'CodecError',
  ERR_ENCODE: 'CodecError',
  ERR_FRAME_TOO_LARGE: 'CodecError',
  ERR_BAD_NODE_NAME: 'NodeNameError',
  ERR_NAME_IN_USE: 'EpmdError',
  ERR_EPMD: 'EpmdError',
  ERR_EPMD_UNREACHABLE: 'EpmdError',
  ERR_NODE_NOT_FOUND: 'EpmdError',
  ERR_LISTEN: 'TransportError',
  ERR_CONNECT: 'TransportError',
  ERR_CONNECT_TIMEOUT: 'TransportError',
  ERR_ABORTED: 'NetkernelError',
  ERR_CONNECTION_CLOSED: 'NetkernelError',
  ERR_HANDSHAKE: 'HandshakeError',
  ERR_HANDSHAKE_TIMEOUT: 'HandshakeError',
  ERR_NAME_FORM: 'HandshakeError',
  ERR_WRONG_NODE: 'HandshakeError',
  ERR_NOT_ALLOWED: 'HandshakeError',
  ERR_ALREADY_CONNECTED: 'HandshakeError',
  ERR_INCOMPATIBLE: 'HandshakeError',
  ERR_AUTH_FAILED: 'AuthError',
  ERR_TLS_HANDSHAKE: 'TransportError',
  ERR_CERT_REQUIRED: 'TransportError',
  ERR_CERT_UNTRUSTED: 'TransportError',
  ERR_CERT_EXPIRED: 'TransportError',
  ERR_CERT_HOSTNAME: 'TransportError',
  ERR_COOKIE_FILE: 'CookieFileError',
  ERR_SPAWN_UNKNOWN_MODULE: 'SpawnError',
  ERR_SPAWN_UNKNOWN_FUNCTION: 'SpawnError',
  ERR_SPAWN_NOT_ALLOWED: 'SpawnError',
  ERR_SPAWN_FAILED: 'SpawnError',
  ERR_NODE_STOPPED: 'NetkernelError',
  ERR_MESSAGE_TOO_LARGE: 'NetkernelError',
  ERR_LIMIT: 'NetkernelError',
  ERR_PROTOCOL: 'NetkernelError',
  ERR_SIGNAL_NOT_ALLOWED: 'NetkernelError',
  ERR_RPC: 'RpcError',
  ERR_RPC_TIMEOUT: 'NetkernelError',
  ERR_CALL: 'CallError',
  ERR_CALL_TIMEOUT: 'NetkernelError',
  ERR_GLOBAL_NOT_REGISTERED: 'NetkernelError',
  ERR_GLOBAL_TIMEOUT: 'NetkernelError',
} as const satisfies Record<ErrorCode, string>

export type ErrorClassName = (typeof ERROR_CLASS)[ErrorCode]

/** The codes raised as class `N`. */
export type CodeOf<N extends ErrorClassName> = { [C in ErrorCode]: (typeof ERROR_CLASS)[C] extends N ? C : never }[ErrorCode]

/** True when `code` is a code raised as class `N` (for codes that arrive from a peer). */
export function isCodeOf<N extends ErrorClassName>(code: unknown, cls: N): code is CodeOf<N> {
  return typeof code === 'string' && Object.hasOwn(ERROR_CLASS, code) && ERROR_CLASS[code as ErrorCode] === cls
}

// The subclasses' way past NetkernelError's own-codes-only constructor; not exported.
const SUBCLASS: unique symbol = Symbol('netkernel.subclass')
/** Options of every netkernel error: the low-level error it wraps. */
export type NetkernelErrorOptions = { cause?: unknown }

// Error classes keep their identity across the ESM and CommonJS builds (one application may
// load both): `instanceof` tests a brand registered with Symbol.for, left on the prototype.
const BRANDS = new Map<Function, symbol>()

/** Brand `cls` as `netkernel.<name>`, so that `instanceof cls` holds for both builds' instances. */
export function brandClass(cls: Function, name: string): void {
  const brand = Symbol.for(`netkernel.${name}`)
  BRANDS.set(cls, brand)
  Object.defineProperty(cls.prototype, brand, { value: true })
}

export class NetkernelError extends Error {
  readonly code: ErrorCode
  constructor(code: CodeOf<'NetkernelError'>, message: string, options?: NetkernelErrorOptions)
  /** For subclasses, which pass their own codes. */
  constructor(code: ErrorCode, message: string, options: NetkernelErrorOptions | undefined, subclass: typeof SUBCLASS)
  constructor(code: ErrorCode, message: string, options?: NetkernelErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    const brand = BRANDS.get(this)
    if (brand === undefined) return Function.prototype[Symbol.hasInstance].call(this, v)
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[brand] === true
  }
}

/** A NetkernelError subclass whose constructor takes the codes of class `N` only. */
function ownCodes<N extends ErrorClassName>() {
  return class extends NetkernelError {
    declare readonly code: CodeOf<N>
    constructor(code: CodeOf<N>, message: string, options?: NetkernelErrorOptions) {
      super(code, message, options, SUBCLASS)
    }
  }
}

/** proc.receive(..., { timeout }) found nothing in time. */
export class ReceiveTimeoutError extends NetkernelError {
  declare readonly code: CodeOf<'ReceiveTimeoutError'>
  /** `message` replaces the default one for a wait with more to say. */
  constructor(ms: number, where: string, message = `receive timed out after ${ms} ms in ${where}`) {
    super('ERR_RECEIVE_TIMEOUT', message, undefined, SUBCLASS)
  }
}

/** Name registry errors: taken names, double registration, bad names. */
export class RegistryError extends ownCodes<'RegistryError'>() {}

/** Encoding or decoding of terms, and framing. */
export class CodecError extends ownCodes<'CodecError'>() {}

/** Illegal node names: ours, or one a peer sent. */
export class NodeNameError extends NetkernelError {
  declare readonly code: CodeOf<'NodeNameError'>
  /** `message` replaces the default one where the name came from a peer. */
  constructor(name: unknown, why: string, message = `illegal node name ${JSON.stringify(String(name))}: ${why}`) {
    super('ERR_BAD_NODE_NAME', message, undefined, SUBCLASS)
  }
}

/** Port mapper client and daemon errors. */
export class EpmdError extends ownCodes<'EpmdError'>() {}

/** Listening, dialling and connection errors raised by transports (certificates included). */
export class TransportError extends ownCodes<'TransportError'>() {}

/** Connection setup failures before authentication (protocol, deadlines, policy). */
export class HandshakeError extends ownCodes<'HandshakeError'>() {}

/** Authenticator refusals. */
export class AuthError extends ownCodes<'AuthError'>() {}

/** Cookie file problems. */
export class CookieFileError extends ownCodes<'CookieFileError'>() {}

/** Remote spawn failures. */
export class SpawnError extends ownCodes<'SpawnError'>() {}

/**
 * How a remote call ended when it did not return a value (Erlang's exception classes, plus
 * rpc's badrpc): 'error' — the function threw an Error (erlang:error/1); 'throw' — it threw
 * any other value (throw/1); 'exit' — the process exited (proc.exit(reason), or an exit
 * signal killed it: exit/1); 'badrpc' — the call did not run or its result could not come
 * back (a reply that cannot be encoded, a malformed request), reason `{ code, message }` from
 * the node that refused.
 */
export type RpcErrorKind = 'throw' | 'exit' | 'error' | 'badrpc'

export interface RpcErrorOptions extends NetkernelErrorOptions {
  /** The stack where the exception was raised, on the node that ran the function. */
  remoteStack?: unknown
}

/**
 * node.rpc() / proc.rpc(): the function raised an exception on the node that ran it (code
 * ERR_RPC). `kind` is its class, `reason` the thrown value or exit reason (for 'error', the
 * Error as it crossed: name, message and code).
 */
export class RpcError extends NetkernelError {
  declare readonly code: CodeOf<'RpcError'>
  /** For kind 'error' from a netkernel node: the remote `err.stack` text; from an OTP node, its stack term. */
  readonly remoteStack: unknown
  constructor(
    readonly kind: RpcErrorKind,
    readonly reason: unknown,
    message: string,
    options?: RpcErrorOptions,
  ) {
    super('ERR_RPC', message, options?.cause === undefined ? undefined : { cause: options.cause }, SUBCLASS)
    this.remoteStack = options?.remoteStack
  }
}

/**
 * node.call() / proc.call() (gen_server:call): the call ended without a reply (code ERR_CALL).
 * `reason` is why, as gen_server:call exits: 'noproc' (no such process or name), 'noconnection'
 * (its node could not be reached or went down; Erlang's `{nodedown, Node}`), or the reason the
 * server exited with while the call waited.
 */
export class CallError extends NetkernelError {
  declare readonly code: CodeOf<'CallError'>
  constructor(
    readonly reason: unknown,
    message: string,
    options?: NetkernelErrorOptions,
  ) {
    super('ERR_CALL', message, options, SUBCLASS)
  }
}

/** Every class ERROR_CLASS names, by name. */
export const ERROR_CLASSES = {
  NetkernelError,
  ReceiveTimeoutError,
  RegistryError,
  CodecError,
  NodeNameError,
  EpmdError,
  TransportError,
  HandshakeError,
  AuthError,
  CookieFileError,
  SpawnError,
  RpcError,
  CallError,
} as const satisfies Record<ErrorClassName, Function>

for (const [name, cls] of Object.entries(ERROR_CLASSES)) brandClass(cls, name)

/** An error of `code`'s own class, for a code chosen at run time (a refusal a peer sent). */
export function errorFor(code: ErrorCode, message: string, options?: NetkernelErrorOptions): NetkernelError {
  const cls = ERROR_CLASS[code]
  if (cls === 'NodeNameError') return new NodeNameError(undefined, '', message)
  if (cls === 'ReceiveTimeoutError') return new ReceiveTimeoutError(0, '', message)
  if (cls === 'RpcError') return new RpcError('badrpc', undefined, message, options)
  if (cls === 'CallError') return new CallError(undefined, message, options)
  const E = ERROR_CLASSES[cls] as new (code: ErrorCode, message: string, options?: NetkernelErrorOptions) => NetkernelError
  return new E(code, message, options)
}

/** An error for an aborted wait: the signal's own reason when it is an Error. */
export function abortError(signal: AbortSignal, what: string): Error {
  const r: unknown = signal.reason
  if (r instanceof Error && r.name !== 'AbortError') return r
  return new NetkernelError('ERR_ABORTED', `${what} aborted`, { cause: r })
}
