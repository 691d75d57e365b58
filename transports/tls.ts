// The TLS transport: node:tls both ways, mutual certificate verification always on.
//
//   tls({ ca, cert, key })   // PEM strings or Buffers; any other node:tls context option too
//
// - TLS 1.3 only, unless minVersion says otherwise.
// - Both ends present a certificate and verify the other's against `ca` (the cluster CA):
//   the listener asks for a client certificate and refuses a connection without a valid one;
//   the dialler refuses a server whose certificate is not valid for the host it dialled
//   (servername = that host; an IP address is checked against the IP SANs).
// - After the handshake each side tells the other its verdict (tls-verdict.ts), so a refused
//   node learns why: TransportError ERR_CERT_REQUIRED | ERR_CERT_UNTRUSTED | ERR_CERT_EXPIRED |
//   ERR_CERT_HOSTNAME, on both sides, the message saying which side refused what. Toward an
//   Erlang/OTP node (inet_tls distribution, which has no verdicts) neither side sends one, but
//   for a refusal of one dialling in: its certificate is judged before its first byte is read.
// - Other handshake failures: ERR_CONNECT when dialling (the address, and the TLS error as
//   cause), ERR_TLS_HANDSHAKE when accepting.
// - A connection refused while accepting is still handed to onConn, as a Conn whose stream
//   fails with that TransportError as soon as it is read, so the node reports it
//   (connectError, direction 'in') and counts it against the address.
// - Conn: encrypted true, peerCertificate = the peer's verified certificate, and readInto
//   (socket-reads.ts): decrypted bytes land in buffers the kernel picks, not a fresh 16 KiB
//   buffer per read — on a dialled socket through tls.connect's onread, on an accepted one
//   through routeReads() (node:tls's server never passes the option on).
//
// insecureSkipVerify: true turns every certificate check off (both directions); the peer's
// certificate is then not exposed (peerCertificate stays undefined unless it verified).
// Anyone who can reach the port can then connect: for experiments only.
import process from 'node:process'
import net from 'node:net'
import * as nodeTls from 'node:tls'
import type { TLSSocket } from 'node:tls'
import type { Conn, DialAddress, Listener, ListenOptions, Transport } from '../lib/transport.js'
import { NetkernelError, TransportError, abortError } from '../lib/errors.js'
import { formatAddress, ignore, listenServer, socketConn, watchDial } from './socket-common.js'
import { awaitVerdict, verdictBytes } from './tls-verdict.js'
import { alertRefusal, hint, judge, refusedByPeer, refusedConn, refusedPeer, type Refusal } from './tls-failures.js'
import { SocketReads, routeReads } from './socket-reads.js'

/** A PEM-encoded certificate or key, as a string or the bytes of one. */
export type Pem = string | Buffer

export interface TlsOptions extends Omit<nodeTls.SecureContextOptions, 'ca'> {
  /** The CA certificate(s) peers' certificates must chain to (PEM). The only ones trusted. */
  ca: Pem | Pem[]
  /** This node's certificate (PEM), presented to both the nodes it dials and those dialling it. */
  cert?: Pem | Pem[]
  /** Its private key (PEM). */
  key?: nodeTls.SecureContextOptions['key']
  /**
   * DANGER: turn certificate verification off, both directions. Any peer that speaks TLS
   * connects, whatever certificate it has (or none), and the dialler does not check the
   * host name. Never use it outside a lab.
   */
  insecureSkipVerify?: boolean
  /** Replaces node:tls's check of the server certificate against the host dialled. */
  checkServerIdentity?: nodeTls.ConnectionOptions['checkServerIdentity']
  /** Disable Nagle's algorithm (default true: the kernel coalesces writes). */
  noDelay?: boolean
  /** TCP keep-alive probes (default false: the kernel sends ticks). */
  keepAlive?: boolean
  /** After close(), how long to wait for the peer's end before destroying the socket (ms, default 5000). */
  closeTimeout?: number
  /** Deadline for an accepted connection's TLS handshake and verdict (ms, default 10000). */
  handshakeTimeout?: number
}

const OWN_KEYS = ['insecureSkipVerify', 'checkServerIdentity', 'noDelay', 'keepAlive', 'closeTimeout', 'handshakeTimeout'] as const
/** node:tls options that would weaken verification or that the transport sets itself. */
const FORBIDDEN = ['rejectUnauthorized', 'requestCert', 'servername', 'host', 'port', 'socket', 'isServer'] as const

let warnedInsecure = false

function contextOptions(options: TlsOptions): nodeTls.SecureContextOptions {
  const out: Record<string, unknown> = { ...options }
  for (const k of OWN_KEYS) delete out[k]
  for (const k of FORBIDDEN) {
    if (k in out) {
      const hint =
        k === 'rejectUnauthorized' || k === 'requestCert'
          ? ': verification is always on (insecureSkipVerify: true turns it off)'
          : ': the transport sets it'
      throw new NetkernelError('ERR_BAD_ARGUMENT', `tls(): option ${k} is not accepted${hint}`)
    }
  }
  out.minVersion ??= 'TLSv1.3'
  return out as nodeTls.SecureContextOptions
}

/** The TLS transport (see the top of this file). */
export function tls(options: TlsOptions): Transport {
  if (options === null || typeof options !== 'object')
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'tls(options): options must be an object with ca, cert and key')
  if (options.ca === undefined || options.ca === null || (Array.isArray(options.ca) && options.ca.length === 0)) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'tls(): option ca is required: the CA certificate(s) peer certificates must chain to')
  }
  const insecure = options.insecureSkipVerify === true
  const noDelay = options.noDelay ?? true
  const keepAlive = options.keepAlive ?? false
  const closeTimeout = options.closeTimeout ?? 5000
  const handshakeTimeout = options.handshakeTimeout ?? 10_000
  const ctxOptions = contextOptions(options)
  const hasCert = options.cert !== undefined || options.pfx !== undefined
  let secureContext: nodeTls.SecureContext
  try {
    secureContext = nodeTls.createSecureContext(ctxOptions)
  } catch (err) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `tls(): cannot load the certificates or key: ${(err as Error).message}`, { cause: err })
  }
  if (insecure && !warnedInsecure) {
    warnedInsecure = true
    process.emitWarning('tls({ insecureSkipVerify: true }): certificate verification is OFF; any TLS peer can connect', {
      code: 'NETKERNEL_TLS_INSECURE',
    })
  }

  const toConn = (socket: TLSSocket, reads?: SocketReads): Conn =>
    socketConn(socket, closeTimeout, {
      transport: 'tls',
      encrypted: true,
      peerCertificate: socket.authorized ? socket.getPeerCertificate() : undefined,
      readInto: reads,
      // OTP's inet_tls frames its handshake as it frames distribution messages
      erlangHandshakeFraming: 4,
    })

  /** Send our refusal, then end the connection (destroyed if the peer never ends its side). */
  function refuse(socket: TLSSocket, r: Refusal): void {
    socket.resume() // discard what the peer still sends, so its end is seen and nothing is left unread
    socket.end(verdictBytes(r))
    const timer = setTimeout(() => socket.destroy(), closeTimeout).unref()
    socket.once('close', () => clearTimeout(timer))
  }

  async function listen(opts: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    const { host, port, signal } = opts
    const where = formatAddress(host, port)
    if (signal?.aborted) throw abortError(signal, `listen on ${where}`)
    if (!hasCert)
      throw new TransportError('ERR_LISTEN', `cannot listen on ${where}: tls() needs this node's cert and key to accept connections`)
    const server = nodeTls.createServer({
      ...ctxOptions,
      requestCert: true,
      // node:tls would drop an unverified client without telling it why; the transport
      // checks socket.authorized itself (accepted()) and refuses with a verdict instead.
      rejectUnauthorized: false,
      handshakeTimeout,
      allowHalfOpen: true,
      noDelay,
      keepAlive,
    })

    const accepted = (socket: TLSSocket): void => {
      socket.on('error', ignore) // until the kernel attaches its own handlers
      const remoteAddress = socket.remoteAddress ?? ''
      const remotePort = socket.remotePort ?? 0
      const what = `TLS connection from ${formatAddress(remoteAddress, remotePort)}`
      const r = insecure ? undefined : judge(socket, 'server')
      if (r !== undefined) {
        refuse(socket, r)
        onConn(refusedConn(refusedPeer(what, r), remoteAddress, remotePort))
        return
      }
      const reads = routeReads(socket)
      // The dialler speaks first: a netkernel node its verdict, answered with ours; an
      // Erlang/OTP node (inet_tls) its handshake, which goes to the kernel as it is.
      const ac = new AbortController()
      const timer = setTimeout(
        () =>
          ac.abort(
            new TransportError('ERR_TLS_HANDSHAKE', `${what}: no certificate verdict from the client within ${handshakeTimeout} ms`),
          ),
        handshakeTimeout,
      )
      awaitVerdict(socket, { what, signal: ac.signal, failCode: 'ERR_TLS_HANDSHAKE', erlang: true }).then(
        kind => {
          clearTimeout(timer)
          if (kind === 'accepted') socket.write(verdictBytes(undefined))
          onConn(toConn(socket, reads))
        },
        (err: Error) => {
          clearTimeout(timer)
          socket.destroy()
          onConn(refusedConn(err, remoteAddress, remotePort))
        },
      )
    }
    const clientError = (err: NodeJS.ErrnoException, socket: TLSSocket): void => {
      const remoteAddress = socket.remoteAddress ?? ''
      const remotePort = socket.remotePort ?? 0
      const what = `TLS connection from ${formatAddress(remoteAddress, remotePort)}`
      const alert = alertRefusal(err)
      const e =
        alert !== undefined
          ? refusedByPeer(what, alert)
          : new TransportError('ERR_TLS_HANDSHAKE', `${what}: TLS handshake failed: ${err.message.trim()}${hint(err, 'server')}`, {
              cause: err,
            })
      socket.destroy()
      onConn(refusedConn(e, remoteAddress, remotePort))
    }
    server.on('secureConnection', accepted)
    server.on('tlsClientError', clientError)

    return listenServer(server, opts)
  }

  function dial(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Conn> {
    const { host, port } = addr
    // OTP's inet_tls: no verdicts (tls-verdict.ts); a certificate we refuse ends the connection.
    const erlang = addr.protocol === 'erlang'
    const { signal } = opts
    const where = formatAddress(host, port)
    const what = `TLS connection to ${where}`
    if (signal.aborted) return Promise.reject(abortError(signal, `dial ${where}`))
    return new Promise<Conn>((resolve, reject) => {
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
      let identityError: Error | undefined
      const reads = new SocketReads()
      const socket = nodeTls.connect({
        host: bare,
        port,
        // SNI and the identity check use the host dialled; an IP address is checked against
        // the certificate's IP SANs (node:tls falls back to `host` without a servername).
        ...(net.isIP(bare) === 0 ? { servername: bare } : {}),
        secureContext,
        // node:tls would drop a server that fails verification without telling it why; the
        // transport checks socket.authorized itself (secure()) and refuses with a verdict.
        rejectUnauthorized: false,
        checkServerIdentity: (name, cert) => {
          const e = (options.checkServerIdentity ?? nodeTls.checkServerIdentity)(name, cert)
          if (e) identityError = e
          return e
        },
        allowHalfOpen: true,
        onread: reads.onread,
      } as nodeTls.ConnectionOptions)
      reads.bind(socket)
      socket.on('error', ignore) // stays for the Conn's life
      socket.setNoDelay(noDelay)
      if (keepAlive) socket.setKeepAlive(true)
      let tcpUp = false
      const secure = (): void => {
        done() // from here on awaitVerdict watches the socket and the signal
        const r = insecure ? undefined : judge(socket, 'client')
        if (r !== undefined) {
          if (erlang) socket.destroy()
          else refuse(socket, r)
          const e = refusedPeer(what, r, identityError)
          if (identityError !== undefined) e.message += `: ${identityError.message}`
          reject(e)
          return
        }
        if (erlang) {
          resolve(toConn(socket, reads))
          return
        }
        socket.write(verdictBytes(undefined))
        awaitVerdict(socket, { what, signal, failCode: 'ERR_CONNECT' }).then(
          () => resolve(toConn(socket, reads)),
          (err: Error) => {
            socket.destroy()
            reject(err)
          },
        )
      }
      const onError = (err: NodeJS.ErrnoException): void => {
        done()
        socket.destroy()
        const alert = alertRefusal(err)
        if (alert !== undefined) {
          reject(refusedByPeer(what, alert))
          return
        }
        const during = tcpUp ? 'TLS handshake failed: ' : ''
        reject(
          new TransportError(
            'ERR_CONNECT',
            `cannot connect to ${where}: ${during}${err.message.trim()}${tcpUp ? hint(err, 'client') : ''}`,
            { cause: err },
          ),
        )
      }
      const done = watchDial(socket, signal, where, reject, {
        connect: () => {
          tcpUp = true
        },
        secureConnect: secure,
        error: onError,
        close: () => onError(Object.assign(new Error('the connection closed during the TLS handshake'), { code: 'ECONNRESET' })),
      })
    })
  }

  return { name: 'tls', listen, dial }
}
