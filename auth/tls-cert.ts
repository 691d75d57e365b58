// The tls-cert authenticator: mutual TLS client certificates name the nodes.
//
// The tls transport has already verified, on both ends, that the peer's certificate chains
// to the cluster CA and is within its validity period (a connection failing that never
// reaches an authenticator: TransportError ERR_CERT_REQUIRED / ERR_CERT_UNTRUSTED /
// ERR_CERT_EXPIRED). What is left is identity: the certificate must NAME the node the peer
// claims to be (the dialled name, or the name in its hello), so a valid certificate for node
// A cannot pose as B. A certificate names node 'foo@host' when its subject CN is 'foo@host',
// or it has the URI SAN 'netkernel:foo@host' (issueNodeCert() sets both), or a URI or DNS SAN
// equal to 'foo@host'.
//
// Each side checks the other's certificate, then both state their verdict at once, bound to
// this TLS connection by a keying-material export (RFC 5705), so a verdict recorded on another
// connection is worthless:
//
//   both ──▶ { t: 'cert', b: <32 bytes exported from the TLS session> }
//        or  { t: 'refused', why: 'name' | 'no_certificate' | 'expired' | 'binding' | 'protocol' }
//
// Refusals: AuthError ERR_AUTH_FAILED (the certificate names another node; or a verdict for
// another connection), ERR_CERT_REQUIRED (no verified certificate: not the tls transport, or
// insecureSkipVerify), ERR_CERT_EXPIRED; the side refused gets the same code.
//
// tlsCert({ cookie: true }) then runs the cookie authenticator over the same channel: both the
// certificate and the cookie must match.
import { Buffer } from 'node:buffer'
import type { PeerCertificate } from 'node:tls'
import type { AuthContext, AuthResult, Authenticator, HandshakeChannel } from '../lib/authenticator.js'
import { AuthError, HandshakeError, NetkernelError, TransportError, errorFor, type ErrorCode } from '../lib/errors.js'
import { certificateNamesNode, commonNames, describeNames } from '../lib/certs/names.js'
import { cookie } from './cookie.js'

export interface TlsCertOptions {
  /** Also run the cookie handshake after the certificate check (default false). */
  cookie?: boolean
}

const BINDING_LABEL = 'EXPORTER-netkernel-tls-cert'
const BINDING_BYTES = 32

type Why = 'name' | 'no_certificate' | 'expired' | 'binding' | 'protocol'

interface Refusal {
  why: Why
  error: NetkernelError
}

/** Exported keying material of the connection's TLS session, when the stream is a TLSSocket. */
function binding(ctx: AuthContext): Buffer | undefined {
  const s = ctx.conn.stream as { exportKeyingMaterial?: (len: number, label: string) => Buffer }
  if (typeof s.exportKeyingMaterial !== 'function') return undefined
  try {
    return s.exportKeyingMaterial(BINDING_BYTES, BINDING_LABEL)
  } catch {
    return undefined // not (yet) a TLS session
  }
}

function isEmpty(cert: PeerCertificate | undefined): boolean {
  return cert === undefined || cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0
}

function who(ctx: AuthContext): string {
  return ctx.role === 'initiator' ? `node ${ctx.peerName} (dialled)` : `node ${ctx.peerName} (dialling us)`
}

/** This side's verdict on the peer's certificate: undefined = it names the peer. */
function check(ctx: AuthContext, now = Date.now()): Refusal | undefined {
  const { conn } = ctx
  const cert = conn.peerCertificate
  if (!conn.encrypted || isEmpty(cert)) {
    return {
      why: 'no_certificate',
      error: new TransportError(
        'ERR_CERT_REQUIRED',
        `${who(ctx)}: the ${conn.transport} connection carries no verified certificate (tlsCert() needs the tls transport with verification on)`,
      ),
    }
  }
  const c = cert as PeerCertificate
  const from = Date.parse(c.valid_from)
  const to = Date.parse(c.valid_to)
  if (!(now >= from && now <= to)) {
    return {
      why: 'expired',
      error: new TransportError('ERR_CERT_EXPIRED', `${who(ctx)}: its certificate is valid from ${c.valid_from} to ${c.valid_to}, not now`),
    }
  }
  if (!certificateNamesNode(c, ctx.peerName)) {
    return {
      why: 'name',
      error: new AuthError('ERR_AUTH_FAILED', `${who(ctx)}: its certificate does not name ${ctx.peerName} (${describeNames(c)})`),
    }
  }
  return undefined
}

/** The error for a refusal the peer sent us. */
function refusedBy(ctx: AuthContext, why: unknown): NetkernelError {
  const text: Record<Why, [ErrorCode, string]> = {
    name: ['ERR_AUTH_FAILED', `our certificate does not name ${ctx.localName}`],
    no_certificate: ['ERR_CERT_REQUIRED', 'it saw no verified certificate from us (is our transport tls()?)'],
    expired: ['ERR_CERT_EXPIRED', 'our certificate has expired or is not valid yet'],
    binding: ['ERR_AUTH_FAILED', 'our verdict was not bound to this TLS connection'],
    protocol: ['ERR_HANDSHAKE', 'it did not understand our verdict'],
  }
  const [code, reason] = text[why as Why] ?? ['ERR_AUTH_FAILED', 'no reason given']
  return errorFor(code, `${who(ctx)} refused authentication: ${reason}`)
}

function sameBytes(a: unknown, b: Buffer): boolean {
  return a instanceof Uint8Array && a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), b) === 0
}

/**
 * After refusing, take the verdict the peer sent meanwhile (each side sends exactly one)
 * before the connection is dropped: a socket closed with unread data is reset, and a reset
 * can destroy our refusal before the peer has read it.
 */
async function takePeerVerdict(ch: HandshakeChannel, ctx: AuthContext, ms = 1000): Promise<void> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), ms)
  const onAbort = (): void => ac.abort()
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  try {
    await ch.receive({ signal: ac.signal })
  } catch {
    // gone, timed out or refused as well: nothing to wait for
  } finally {
    clearTimeout(timer)
    ctx.signal.removeEventListener('abort', onAbort)
  }
}

/** Both sides run the same steps (see the top of this file). */
async function certStep(ch: HandshakeChannel, ctx: AuthContext): Promise<PeerCertificate> {
  if (ctx.signal.aborted)
    throw new NetkernelError('ERR_ABORTED', `certificate check with ${who(ctx)} aborted`, { cause: ctx.signal.reason })
  const refusal = check(ctx)
  if (refusal !== undefined) {
    ch.send({ t: 'refused', why: refusal.why })
    await takePeerVerdict(ch, ctx)
    throw refusal.error
  }
  const b = binding(ctx)
  ch.send(b === undefined ? { t: 'cert' } : { t: 'cert', b })
  const msg = await ch.receive({ signal: ctx.signal })
  if (msg !== null && typeof msg === 'object' && msg.t === 'refused') throw refusedBy(ctx, msg.why)
  if (msg === null || typeof msg !== 'object' || msg.t !== 'cert') {
    ch.send({ t: 'refused', why: 'protocol' })
    throw new HandshakeError(
      'ERR_HANDSHAKE',
      `certificate check with ${who(ctx)}: expected its verdict, got ${typeof msg?.t === 'string' ? JSON.stringify(msg.t) : 'a message without a type'}`,
    )
  }
  if (b !== undefined && !sameBytes(msg.b, b)) {
    ch.send({ t: 'refused', why: 'binding' })
    throw new AuthError('ERR_AUTH_FAILED', `${who(ctx)}: its verdict is not bound to this TLS connection (replayed or relayed)`)
  }
  return ctx.conn.peerCertificate as PeerCertificate
}

function info(cert: PeerCertificate): Record<string, unknown> {
  return {
    certificate: {
      subject: commonNames(cert.subject)[0],
      issuer: commonNames(cert.issuer)[0],
      serialNumber: cert.serialNumber,
      fingerprint256: cert.fingerprint256,
      validTo: cert.valid_to,
    },
  }
}

/** The tls-cert authenticator (see the top of this file). */
export function tlsCert(options: TlsCertOptions = {}): Authenticator {
  const withCookie = options.cookie === true ? cookie() : undefined
  return {
    name: 'tls-cert',
    needsCookie: withCookie !== undefined,
    async initiate(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
      const cert = await certStep(ch, ctx)
      if (withCookie) await withCookie.initiate(ch, ctx)
      return { peerName: ctx.peerName, info: info(cert) }
    },
    async respond(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
      const cert = await certStep(ch, ctx)
      if (withCookie) await withCookie.respond(ch, ctx)
      return { peerName: ctx.peerName, info: info(cert) }
    },
  }
}
