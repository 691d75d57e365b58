// The cookie authenticator: Erlang's shared-secret scheme, made mutual and replay-proof.
// The cookie is only ever an HMAC key; it never crosses the wire.
//
//   initiator                                     responder
//   { t: 'challenge', c: A }               ──▶
//                                          ◀──    { t: 'reply', d: H(A, 'responder'), c: B }
//   { t: 'answer', d: H(B, 'initiator') }  ──▶
//                                          ◀──    { t: 'ok' }
//
// H(X, by) = HMAC-SHA256(cookie for the peer, X ‖ initiator name ‖ responder name ‖ by), each
// part length-prefixed. A and B are fresh 32-byte random challenges, so a recorded digest is
// worthless in a later handshake; the names bind the digest to this pair of nodes (a peer that
// is not the node dialled, or claims another name, fails); the direction label stops a digest
// from being reflected back. Whichever side sees a wrong digest sends { t: 'refused' } (no
// detail) and rejects with AuthError ERR_AUTH_FAILED; the other side rejects with the same code
// on receiving it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AuthContext, AuthResult, Authenticator, HandshakeChannel, HandshakeMessage } from '../lib/kernel/strategy.js'
import { AuthError, HandshakeError, NetkernelError } from '../lib/errors.js'

/** Options for cookie(); none yet (the cookies come from the node's CookieStore). */
export type CookieAuthOptions = Record<string, never>

const CHALLENGE_BYTES = 32
const DIGEST_BYTES = 32
const DOMAIN = Buffer.from('netkernel-cookie-v1')

type Role = 'initiator' | 'responder'

function lengthPrefixed(h: ReturnType<typeof createHmac>, part: Uint8Array | string): void {
  const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part
  const len = Buffer.alloc(4)
  len.writeUInt32BE(bytes.length)
  h.update(len).update(bytes)
}

function digest(cookie: string, challenge: Uint8Array, initiator: string, responder: string, by: Role): Buffer {
  const h = createHmac('sha256', cookie)
  for (const part of [DOMAIN, challenge, initiator, responder, by]) lengthPrefixed(h, part)
  return h.digest()
}

function sameDigest(got: Uint8Array, want: Buffer): boolean {
  return got.length === want.length && timingSafeEqual(got, want)
}

function isBytes(v: unknown, n: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === n
}

function describe(msg: HandshakeMessage): string {
  return typeof msg.t === 'string' ? JSON.stringify(msg.t) : 'a message without a type'
}

/** One run of the handshake on one side: the helpers share the channel, context and names. */
class Run {
  readonly peer: string
  readonly initiator: string
  readonly responder: string
  constructor(
    readonly ch: HandshakeChannel,
    readonly ctx: AuthContext,
    role: Role,
  ) {
    this.peer = ctx.peerName
    this.initiator = role === 'initiator' ? ctx.localName : ctx.peerName
    this.responder = role === 'initiator' ? ctx.peerName : ctx.localName
  }

  cookie(): string {
    const c = this.ctx.cookies.cookieFor(this.peer)
    if (typeof c !== 'string' || c.length === 0) throw this.refuse(new AuthError('ERR_AUTH_FAILED', `no cookie to authenticate node ${this.peer}`))
    return c
  }

  digest(cookie: string, challenge: Uint8Array, by: Role): Buffer {
    return digest(cookie, challenge, this.initiator, this.responder, by)
  }

  /** Tell the peer only that it failed (best effort), and return `err` to throw. */
  refuse(err: Error): Error {
    try {
      this.ch.send({ t: 'refused' })
    } catch {
      // the channel is already gone: the peer sees it close
    }
    return err
  }

  mismatch(): Error {
    return this.refuse(
      new AuthError('ERR_AUTH_FAILED', `authentication with node ${this.peer} failed: its digest does not match (wrong cookie, or not that node)`),
    )
  }

  /** Receive the message of type `t`; every failure comes out as a NetkernelError. */
  async expect(t: string, check: (m: HandshakeMessage) => boolean): Promise<HandshakeMessage> {
    const { signal } = this.ctx
    let msg: HandshakeMessage
    try {
      msg = await this.ch.receive({ signal })
    } catch (err) {
      if (err instanceof NetkernelError) throw err
      if (signal.aborted) {
        const timeout = (signal.reason as Error | undefined)?.name === 'TimeoutError'
        throw timeout
          ? new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `authentication with node ${this.peer} did not finish before the setup deadline`, { cause: err })
          : new NetkernelError('ERR_ABORTED', `authentication with node ${this.peer} aborted`, { cause: err })
      }
      throw new HandshakeError('ERR_HANDSHAKE', `authentication with node ${this.peer}: ${(err as Error).message}`, { cause: err })
    }
    if (msg !== null && typeof msg === 'object' && msg.t === 'refused') {
      throw new AuthError('ERR_AUTH_FAILED', `node ${this.peer} refused authentication (wrong cookie, or it expected another node)`)
    }
    if (msg === null || typeof msg !== 'object' || msg.t !== t || !check(msg)) {
      throw this.refuse(
        new HandshakeError('ERR_HANDSHAKE', `cookie handshake with node ${this.peer}: expected ${JSON.stringify(t)}, got ${describe(msg ?? {})}`),
      )
    }
    return msg
  }

  checkAborted(): void {
    const { signal } = this.ctx
    if (signal.aborted) throw new NetkernelError('ERR_ABORTED', `authentication with node ${this.peer} aborted`, { cause: signal.reason })
  }
}

async function initiate(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
  const run = new Run(ch, ctx, 'initiator')
  run.checkAborted()
  const cookie = run.cookie()
  const a = randomBytes(CHALLENGE_BYTES)
  ch.send({ t: 'challenge', c: a })
  const reply = await run.expect('reply', m => isBytes(m.d, DIGEST_BYTES) && isBytes(m.c, CHALLENGE_BYTES))
  if (!sameDigest(reply.d as Uint8Array, run.digest(cookie, a, 'responder'))) throw run.mismatch()
  ch.send({ t: 'answer', d: run.digest(cookie, reply.c as Uint8Array, 'initiator') })
  await run.expect('ok', () => true)
  return { peerName: ctx.peerName }
}

async function respond(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
  const run = new Run(ch, ctx, 'responder')
  run.checkAborted()
  const cookie = run.cookie()
  const challenge = await run.expect('challenge', m => isBytes(m.c, CHALLENGE_BYTES))
  const b = randomBytes(CHALLENGE_BYTES)
  ch.send({ t: 'reply', d: run.digest(cookie, challenge.c as Uint8Array, 'responder'), c: b })
  const answer = await run.expect('answer', m => isBytes(m.d, DIGEST_BYTES))
  if (!sameDigest(answer.d as Uint8Array, run.digest(cookie, b, 'initiator'))) throw run.mismatch()
  ch.send({ t: 'ok' })
  return { peerName: ctx.peerName }
}

/** The cookie authenticator (mutual HMAC-SHA256 challenge–response; see the top of this file). */
export function cookie(_options: CookieAuthOptions = {}): Authenticator {
  return { name: 'cookie', needsCookie: true, initiate, respond }
}
