// The cookie authenticator: Erlang's shared-secret scheme, run as the balanced PAKE CPace
// (ristretto255, SHA-512; the construction is in cpace.ts). Nothing either side sends lets the
// other — or an eavesdropper — test cookie guesses offline: a wrong guess costs one online
// attempt. docs/protocol.md, "Cookie authentication (CPace)", has the full argument.
//
//   initiator (dialler)                                 responder
//   { t: 'start', s: sa }                         ──▶
//                                                 ◀──   { t: 'share', s: sb, y: Yb }
//   { t: 'confirm', y: Ya, m: Ta }                ──▶
//                                                 ◀──   { t: 'ok', m: Tb }
//
// sa, sb: fresh 16-byte session ids; sid = sa ‖ sb. CI binds both node names with their roles.
// g = calculate_generator(cookie for the peer, CI, sid); Ya = ya·g, Yb = yb·g; K = ya·Yb = yb·Ya;
// ISK over sid, K and both shares with their role labels; Ta, Tb are HMAC-SHA512 key
// confirmations under a key from ISK. The responder checks Ta before it sends anything derived
// from K: a dialler that has not proved the cookie receives only sb and Yb, a uniformly random
// group element whatever the cookie. Whichever side finds a bad tag sends { t: 'refused' } (no
// detail) and rejects with AuthError ERR_AUTH_FAILED; the other side rejects with the same code
// on receiving it. A share that is not a valid ristretto255 encoding, or is the identity, is a
// protocol violation: ERR_HANDSHAKE.
import { Buffer } from 'node:buffer'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AuthContext, AuthResult, Authenticator, HandshakeChannel, HandshakeMessage } from '../lib/authenticator.js'
import { AuthError, HandshakeError, NetkernelError } from '../lib/errors.js'
import {
  calculateGenerator,
  confirmationTag,
  deriveIsk,
  ELEMENT_BYTES,
  lvCat,
  macKey,
  sampleScalar,
  scalarMult,
  scalarMultVfy,
  TAG_BYTES,
} from './cpace.js'

/** Options for cookie(); none yet (the cookies come from the node's CookieStore). */
export type CookieAuthOptions = Record<string, never>

/** Bytes of each side's session id. */
export const SESSION_ID_BYTES = 16
const PROTOCOL = Buffer.from('netkernel-cookie-cpace-v1')
const INITIATOR = Buffer.from('initiator')
const RESPONDER = Buffer.from('responder')

type Role = 'initiator' | 'responder'

/** CI: the protocol label and both node names, each after its role. */
export function channelIdentifier(initiator: string, responder: string): Buffer {
  return lvCat(PROTOCOL, INITIATOR, Buffer.from(initiator, 'utf8'), RESPONDER, Buffer.from(responder, 'utf8'))
}

/** What both sides derive from K: the tag each side sends. */
export interface Confirmation {
  /** The initiator's tag (over Ya). */
  ta: Buffer
  /** The responder's tag (over Yb). */
  tb: Buffer
}

/** ISK and the two confirmation tags of one session, from K and the two shares. */
export function confirmations(sid: Uint8Array, k: Uint8Array, ya: Uint8Array, yb: Uint8Array): Confirmation {
  const key = macKey(sid, deriveIsk(sid, k, ya, INITIATOR, yb, RESPONDER))
  return { ta: confirmationTag(key, ya, INITIATOR), tb: confirmationTag(key, yb, RESPONDER) }
}

function sameTag(got: Uint8Array, want: Buffer): boolean {
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
  readonly ci: Buffer
  constructor(
    readonly ch: HandshakeChannel,
    readonly ctx: AuthContext,
    role: Role,
  ) {
    this.peer = ctx.peerName
    this.ci = role === 'initiator' ? channelIdentifier(ctx.localName, ctx.peerName) : channelIdentifier(ctx.peerName, ctx.localName)
  }

  cookie(): Buffer {
    const c = this.ctx.cookies.cookieFor(this.peer)
    if (typeof c !== 'string' || c.length === 0)
      throw this.refuse(new AuthError('ERR_AUTH_FAILED', `no cookie to authenticate node ${this.peer}`))
    return Buffer.from(c, 'utf8')
  }

  /** K from our scalar and the peer's share; an invalid share or the identity is refused. */
  sharedPoint(y: bigint, share: Uint8Array): Buffer {
    const k = scalarMultVfy(y, share)
    if (k === null) {
      throw this.refuse(
        new HandshakeError('ERR_HANDSHAKE', `cookie handshake with node ${this.peer}: its share is not a valid group element`),
      )
    }
    return k
  }

  /** Tell the peer only that it failed, and return `err` to throw. */
  refuse(err: Error): Error {
    this.ch.send({ t: 'refused' })
    return err
  }

  mismatch(): Error {
    return this.refuse(
      new AuthError(
        'ERR_AUTH_FAILED',
        `authentication with node ${this.peer} failed: its key confirmation does not match (wrong cookie, or not that node)`,
      ),
    )
  }

  /** Receive the message of type `t` (the channel rejects only with typed errors). */
  async expect(t: string, check: (m: HandshakeMessage) => boolean): Promise<HandshakeMessage> {
    const msg = await this.ch.receive({ signal: this.ctx.signal })
    if (msg !== null && typeof msg === 'object' && msg.t === 'refused') {
      throw new AuthError('ERR_AUTH_FAILED', `node ${this.peer} refused authentication (wrong cookie, or it expected another node)`)
    }
    if (msg === null || typeof msg !== 'object' || msg.t !== t || !check(msg)) {
      throw this.refuse(
        new HandshakeError(
          'ERR_HANDSHAKE',
          `cookie handshake with node ${this.peer}: expected ${JSON.stringify(t)}, got ${describe(msg ?? {})}`,
        ),
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
  const prs = run.cookie()
  const sa = randomBytes(SESSION_ID_BYTES)
  ch.send({ t: 'start', s: sa })
  const share = await run.expect('share', m => isBytes(m.s, SESSION_ID_BYTES) && isBytes(m.y, ELEMENT_BYTES))
  const yb = share.y as Uint8Array
  const sid = Buffer.concat([sa, share.s as Uint8Array])
  const y = sampleScalar()
  const ya = scalarMult(y, calculateGenerator(prs, run.ci, sid))
  const { ta, tb } = confirmations(sid, run.sharedPoint(y, yb), ya, yb)
  ch.send({ t: 'confirm', y: ya, m: ta })
  const ok = await run.expect('ok', m => isBytes(m.m, TAG_BYTES))
  if (!sameTag(ok.m as Uint8Array, tb)) throw run.mismatch()
  return { peerName: ctx.peerName }
}

async function respond(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
  const run = new Run(ch, ctx, 'responder')
  run.checkAborted()
  const prs = run.cookie()
  const start = await run.expect('start', m => isBytes(m.s, SESSION_ID_BYTES))
  const sb = randomBytes(SESSION_ID_BYTES)
  const sid = Buffer.concat([start.s as Uint8Array, sb])
  const y = sampleScalar()
  const yb = scalarMult(y, calculateGenerator(prs, run.ci, sid))
  ch.send({ t: 'share', s: sb, y: yb })
  const confirm = await run.expect('confirm', m => isBytes(m.y, ELEMENT_BYTES) && isBytes(m.m, TAG_BYTES))
  const ya = confirm.y as Uint8Array
  const { ta, tb } = confirmations(sid, run.sharedPoint(y, ya), ya, yb)
  // The dialler proves the cookie first; only then does anything derived from K leave here.
  if (!sameTag(confirm.m as Uint8Array, ta)) throw run.mismatch()
  ch.send({ t: 'ok', m: tb })
  return { peerName: ctx.peerName }
}

/** The cookie authenticator (CPace over ristretto255 with key confirmation; see the top of this file). */
export function cookie(_options: CookieAuthOptions = {}): Authenticator {
  return { name: 'cookie', needsCookie: true, initiate, respond }
}
