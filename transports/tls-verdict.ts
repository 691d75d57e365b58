// The tls transport's certificate verdicts. node:tls verifies the peer's certificate on both
// ends, but a refusal made in JavaScript (as every node:tls certificate check is) reaches the
// peer only as a closed socket: the node refused would not know why. So after the TLS
// handshake each side states its verdict on the other's certificate, as its first bytes:
//
//   accepted:  'N' 'K' 0x00
//   refused:   'N' 'K' 0x01 <length: 1 byte> <ASCII: "ERR_CERT_... OPENSSL_REASON">
//
// and the refusing side then ends the connection. A Conn is handed over only when both sides
// accepted, so the kernel's first frame always travels over a mutually verified connection.
//
// An Erlang/OTP node's distribution over TLS (inet_tls) has nothing between TLS and its
// handshake: toward one (the kernel's DialAddress says 'erlang') the dialler sends no verdict
// and waits for none, and the accepting side, which answers the dialler's verdict instead of
// speaking first, hands over a connection whose first bytes are OTP's name message (a 4-byte
// length over TLS, then 'N' or 'n') as they are, for the kernel's handshake to read.
import { Buffer } from 'node:buffer'
import type { TLSSocket } from 'node:tls'
import { TransportError, abortError, type CodeOf } from '../lib/errors.js'
import { CERT_CODES, refusedByPeer, type CertCode, type Refusal } from './tls-failures.js'

const MAGIC_0 = 0x4e // 'N'
const MAGIC_1 = 0x4b // 'K'
const ACCEPTED = 0x00
const REFUSED = 0x01

/** The verdict bytes a side sends. */
export function verdictBytes(r: Refusal | undefined): Buffer {
  if (r === undefined) return Buffer.from([MAGIC_0, MAGIC_1, ACCEPTED])
  const text = Buffer.from(`${r.code} ${r.reason}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 255), 'ascii')
  return Buffer.concat([Buffer.from([MAGIC_0, MAGIC_1, REFUSED, text.length]), text])
}

type Parsed = { refusal: Refusal | undefined; rest: Buffer } | { bad: string } | { erlang: true } | undefined

/** Parse a verdict at the start of `b` (or, with `erlang`, OTP's name message): undefined = need more bytes. */
function parse(b: Buffer, erlang: boolean): Parsed {
  // OTP's name message over inet_tls: a 4-byte length, then 'N' (or 'n', before OTP 23)
  if (erlang && b.length >= 1 && b[0] === 0) {
    if (b.length < 5) return undefined
    if (b[1] === 0 && (b[4] === 0x4e || b[4] === 0x6e)) return { erlang: true }
  }
  if (b.length >= 1 && b[0] !== MAGIC_0) return { bad: `its first bytes are ${b.subarray(0, 3).toString('hex')}` }
  if (b.length >= 2 && b[1] !== MAGIC_1) return { bad: `its second byte is 0x${(b[1] as number).toString(16)}` }
  if (b.length < 3) return undefined
  if (b[2] === ACCEPTED) return { refusal: undefined, rest: b.subarray(3) }
  if (b[2] !== REFUSED) return { bad: `verdict byte 0x${(b[2] as number).toString(16)}` }
  if (b.length < 4) return undefined
  const len = b[3] as number
  if (b.length < 4 + len) return undefined
  const text = b.subarray(4, 4 + len).toString('ascii')
  const space = text.indexOf(' ')
  const code = space < 0 ? text : text.slice(0, space)
  const reason = space < 0 ? 'UNKNOWN' : text.slice(space + 1)
  return { refusal: { code: (CERT_CODES.has(code) ? code : 'ERR_CERT_UNTRUSTED') as CertCode, reason }, rest: b.subarray(4 + len) }
}

export interface AwaitVerdictOptions {
  /** 'TLS connection to 127.0.0.1:9100', for messages. */
  what: string
  signal: AbortSignal
  /** The code for a peer that closes or sends something else (ERR_CONNECT when dialling). */
  failCode: CodeOf<'TransportError'>
  /** The accepting side: the peer may be an Erlang/OTP node, whose first bytes are its handshake. */
  erlang?: boolean
}

/**
 * Wait for the peer's verdict on our certificate. Resolves 'accepted' when it accepted, or
 * (with `erlang`) 'erlang' when its first bytes are an Erlang/OTP handshake instead (they stay
 * in the socket); rejects with the peer's refusal (TransportError ERR_CERT_*), failCode when
 * the peer closes or does not speak this protocol, or the abort reason. Bytes behind the
 * verdict stay in the socket.
 */
export function awaitVerdict(socket: TLSSocket, o: AwaitVerdictOptions): Promise<'accepted' | 'erlang'> {
  if (o.signal.aborted) return Promise.reject(abortError(o.signal, o.what))
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0)
    const done = (): void => {
      // With no 'readable' or 'data' listener left the stream goes back to its initial
      // state, so whoever attaches a 'data' listener next (the kernel) starts it flowing.
      socket.off('readable', onReadable)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onError)
      o.signal.removeEventListener('abort', onAbort)
    }
    const fail = (err: Error): void => {
      done()
      reject(err)
    }
    const onReadable = (): void => {
      let chunk: Buffer | null
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
        const p = parse(buf, o.erlang === true)
        if (p === undefined) continue
        if ('erlang' in p) {
          done()
          socket.unshift(buf)
          resolve('erlang')
          return
        }
        if ('bad' in p) {
          fail(
            new TransportError(
              o.failCode,
              `${o.what}: the peer is not a netkernel tls transport (${p.bad} where its certificate verdict belongs)`,
            ),
          )
          return
        }
        done()
        if (p.rest.length > 0) socket.unshift(p.rest)
        if (p.refusal === undefined) resolve('accepted')
        else reject(refusedByPeer(o.what, p.refusal))
        return
      }
    }
    const onEnd = (): void =>
      fail(new TransportError(o.failCode, `${o.what}: the peer closed the connection before accepting our certificate`))
    const onError = (err: Error): void => fail(new TransportError(o.failCode, `${o.what}: ${err.message}`, { cause: err }))
    const onAbort = (): void => fail(abortError(o.signal, o.what))
    socket.on('readable', onReadable)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    socket.once('error', onError)
    o.signal.addEventListener('abort', onAbort, { once: true })
  })
}
