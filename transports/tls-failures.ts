// Why a tls transport connection failed: node:tls's verdict on a peer certificate turned into
// typed TransportErrors (ERR_CERT_*), hints for handshake failures, and the Conn that carries
// a refusal to the kernel on the accepting side.
import { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import type { Conn } from '../lib/transport.js'
import { TransportError } from '../lib/errors.js'

/** The codes of certificate refusals (both sides use them; the message says who refused). */
export type CertCode = 'ERR_CERT_REQUIRED' | 'ERR_CERT_UNTRUSTED' | 'ERR_CERT_EXPIRED' | 'ERR_CERT_HOSTNAME'
export const CERT_CODES: ReadonlySet<string> = new Set<CertCode>([
  'ERR_CERT_REQUIRED',
  'ERR_CERT_UNTRUSTED',
  'ERR_CERT_EXPIRED',
  'ERR_CERT_HOSTNAME',
])

/** What was wrong with a certificate, as node:tls / OpenSSL reports it. */
export interface Refusal {
  code: CertCode
  /** The node:tls authorizationError ('CERT_HAS_EXPIRED', ...) or 'NO_CERTIFICATE'. */
  reason: string
}

/** Classify node:tls's verdict on the peer: undefined = accepted. */
export function judge(socket: TLSSocket, side: 'client' | 'server'): Refusal | undefined {
  if (socket.authorized) return undefined
  const cert = socket.getPeerCertificate()
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return { code: 'ERR_CERT_REQUIRED', reason: 'NO_CERTIFICATE' }
  const reason = String(socket.authorizationError ?? 'UNKNOWN')
  if (reason === 'CERT_HAS_EXPIRED' || reason === 'CERT_NOT_YET_VALID') return { code: 'ERR_CERT_EXPIRED', reason }
  if (side === 'client' && reason === 'ERR_TLS_CERT_ALTNAME_INVALID') return { code: 'ERR_CERT_HOSTNAME', reason }
  return { code: 'ERR_CERT_UNTRUSTED', reason }
}

/** What the certificate's problem is, in words ('has expired'). */
function phrase(r: Refusal): string {
  switch (r.reason) {
    case 'NO_CERTIFICATE':
      return 'was not presented (mutual TLS needs a cert and key on both sides)'
    case 'CERT_HAS_EXPIRED':
      return 'has expired'
    case 'CERT_NOT_YET_VALID':
      return 'is not valid yet'
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'does not name the host that was dialled (give issueNodeCert that host in `hosts`)'
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'is self-signed, not issued by a CA in `ca`'
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return 'chains to a CA that is not in `ca`'
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'is not issued by a CA in `ca`'
    default:
      return r.code === 'ERR_CERT_UNTRUSTED' ? 'is not trusted' : 'was refused'
  }
}

/** The error for a peer whose certificate we refused. `what`: 'TLS connection to 127.0.0.1:9100'. */
export function refusedPeer(what: string, r: Refusal, cause?: unknown): TransportError {
  return new TransportError(r.code, `${what} refused: the peer's certificate ${phrase(r)} (${r.reason})`, { cause })
}

/** The error for a peer that refused our certificate. */
export function refusedByPeer(what: string, r: Refusal): TransportError {
  return new TransportError(r.code, `${what} refused by the peer: our certificate ${phrase(r)} (${r.reason})`)
}

/** A Conn for a connection refused while accepting: its stream fails with `err` when read. */
export function refusedConn(err: Error, remoteAddress: string, remotePort: number): Conn {
  const stream = new Duplex({
    read() {
      this.destroy(err)
    },
    write(_chunk, _enc, cb) {
      cb(err)
    },
  })
  stream.on('error', ignore)
  return {
    stream,
    transport: 'tls',
    remoteAddress,
    remotePort,
    encrypted: true,
    close: () => void stream.destroy(),
    destroy: (e?: Error) => void stream.destroy(e),
  }
}

/** A hint for a TLS error's usual cause. */
export function hint(err: NodeJS.ErrnoException, side: 'client' | 'server'): string {
  const code = err.code ?? ''
  const other = side === 'client' ? 'the peer' : 'the client'
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE/.test(code)) {
    return ` (${other} does not speak TLS: does it use the tls transport?)`
  }
  if (/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE/.test(code))
    return ' (no TLS version in common: check minVersion/maxVersion)'
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return ` (${other} closed the connection during the TLS handshake: does it use the tls transport?)`
  return ''
}

/** A TLS alert from a peer that refused our certificate inside the TLS handshake (not netkernel). */
export function alertRefusal(err: NodeJS.ErrnoException): Refusal | undefined {
  const code = err.code ?? ''
  if (code.endsWith('ALERT_CERTIFICATE_REQUIRED') || code.endsWith('PEER_DID_NOT_RETURN_A_CERTIFICATE'))
    return { code: 'ERR_CERT_REQUIRED', reason: 'NO_CERTIFICATE' }
  if (code.endsWith('ALERT_CERTIFICATE_EXPIRED')) return { code: 'ERR_CERT_EXPIRED', reason: 'CERT_HAS_EXPIRED' }
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE)$/.test(code))
    return { code: 'ERR_CERT_UNTRUSTED', reason: code }
  return undefined
}

const ignore = (): void => {}
