// The Transport contract: a transport yields unauthenticated byte streams (Conn) by
// listening and dialling. A custom transport is any object that fits these interfaces.
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
  /**
   * Optional: the stream can read into buffers the reader picks (a socket's `onread`), so the
   * kernel reads without a fresh buffer per read, and a large message's bytes straight to their
   * final place. Until attach() the stream emits 'data' as usual.
   */
  readonly readInto?: ReadInto
  /**
   * True when the stream is done with a written buffer once that write's callback has run (it
   * has copied or sent the bytes by then): the kernel then writes each batch of frames from a
   * buffer it reuses, instead of a fresh one per write. Sockets (net.Socket, tls.TLSSocket) are
   * known to be, whatever this says; another Duplex may keep a written buffer by reference (a
   * PassThrough does), so leave it unset unless the stream copies.
   */
  readonly copiesWrites?: boolean
  /**
   * The length prefix of Erlang/OTP's handshake messages on this transport, in bytes: 2 over
   * plain TCP (OTP's inet_tcp distribution, the default), 4 over TLS (inet_tls). The frames
   * after the handshake have 4 either way.
   */
  readonly erlangHandshakeFraming?: 2 | 4
  /** Graceful: flush what was written, then end. */
  close(): void
  /** Abrupt: drop at once. */
  destroy(err?: Error): void
}

/** Reads into buffers the reader picks: see Conn.readInto. */
export interface ReadInto {
  /**
   * From now on every read lands in a buffer `sink.buffer()` gave and is reported to
   * `sink.read()`, instead of as 'data'. Bytes the stream had buffered before stay in it, for
   * `stream.read()`; 'end', 'close' and 'error' are emitted as before.
   */
  attach(sink: ReadSink): void
}

/** The reader behind ReadInto.attach. */
export interface ReadSink {
  /** Where the next read lands (at least one byte; at most its length is read); asked after each read. */
  buffer(): Buffer
  /** `n` bytes landed at the start of `buf`; they may be overwritten once this returns. */
  read(n: number, buf: Buffer): void
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
  /**
   * The protocol the peer speaks there, when the kernel knows it (its discovery's answer:
   * NodeAddress.protocol): 'erlang' for an Erlang/OTP node. A transport that puts a protocol
   * of its own around the stream leaves it out toward one (tls's verdicts: OTP's inet_tls
   * distribution has only TLS around its handshake).
   */
  protocol?: string
}

export interface Transport {
  readonly name: string
  listen(opts: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener>
  dial(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Conn>
  /**
   * Optional: open a raw byte stream to the port mapper at `addr`, for the port-mapper
   * Discovery (lib/epmd/discovery.ts). `purpose` says what for: 'lookup' (asking the port
   * mapper on a peer's host where that peer listens) or 'announce' (registering this node
   * with its own port mapper, and asking that one for its names). The SSH transport routes
   * lookups through the gateway of the peer's host and, with `reverse`, announcements to
   * the relay's port mapper. Default: a plain TCP connection.
   */
  portMapperStream?(addr: DialAddress, opts: { signal: AbortSignal; purpose: 'lookup' | 'announce' }): Promise<Duplex>
}
