import t from 'tap'
import { Packr } from 'msgpackr'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import type { AuthContext, AuthResult, HandshakeChannel, HandshakeMessage } from '../lib/authenticator.js'
import { AuthError, HandshakeError, type NetkernelError } from '../lib/errors.js'
import { authenticatorCompliance, type AuthSession } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'
import { channelPair, fakeConn, type TestChannel } from './fixtures/channel-pair.js'

const A = 'a@host'
const B = 'b@host'

function sessionWith(aCookies: Cookies, bCookies: Cookies, opts: { stepTimeout?: number } = {}) {
  const [ia, rb] = channelPair(opts)
  const s: AuthSession & { initiator: { ch: TestChannel }; responder: { ch: TestChannel } } = {
    initiator: { ch: ia, ctx: { localName: A, peerName: B, role: 'initiator', conn: fakeConn(), cookies: aCookies } },
    responder: { ch: rb, ctx: { localName: B, peerName: A, role: 'responder', conn: fakeConn(), cookies: bCookies } },
    close: () => ia.close(),
  }
  return s
}

function ctx(s: AuthSession, role: 'initiator' | 'responder', signal = AbortSignal.timeout(5000)): AuthContext {
  return { ...s[role].ctx, signal }
}

async function settle(p: Promise<AuthResult>): Promise<AuthResult | Error> {
  return p.catch((e: unknown) => e as Error)
}

tapCompliance(
  t,
  'cookie: Authenticator compliance',
  authenticatorCompliance({
    // The in-memory pair carries decoded messages only: no garbage case.
    faults: { closePeer: s => (s.initiator.ch as TestChannel).close() },
    setup: () => ({
      a: cookie(),
      b: cookie(),
      good: () => sessionWith(new Cookies('SECRET'), new Cookies('SECRET')),
      bad: () => sessionWith(new Cookies('SECRET'), new Cookies('OTHER')),
    }),
  }),
)

t.test('message sequence: start, share, confirm, ok; 16-byte session ids, 32-byte shares, 64-byte tags', async t => {
  const s = sessionWith(new Cookies('SECRET'), new Cookies('SECRET'))
  const auth = cookie()
  t.equal(auth.name, 'cookie')
  const [i, r] = await Promise.all([auth.initiate(s.initiator.ch, ctx(s, 'initiator')), auth.respond(s.responder.ch, ctx(s, 'responder'))])
  t.same(i, { peerName: B })
  t.same(r, { peerName: A })
  const seq = s.initiator.ch.transcript.map(e => `${e.dir}:${String(e.msg.t)}`)
  t.same(seq, ['out:start', 'in:share', 'out:confirm', 'in:ok'])
  const [start, share, confirm, ok] = s.initiator.ch.transcript.map(e => e.msg)
  t.same(Object.keys(start).sort(), ['s', 't'])
  t.equal((start.s as Buffer).length, 16)
  t.same(Object.keys(share).sort(), ['s', 't', 'y'])
  t.equal((share.s as Buffer).length, 16)
  t.equal((share.y as Buffer).length, 32)
  t.same(Object.keys(confirm).sort(), ['m', 't', 'y'])
  t.equal((confirm.y as Buffer).length, 32)
  t.equal((confirm.m as Buffer).length, 64)
  t.same(Object.keys(ok).sort(), ['m', 't'])
  t.equal((ok.m as Buffer).length, 64)
})

t.test('the cookie never crosses the wire, and session ids, shares and tags are fresh each time', async t => {
  const secret = 'THE-SECRET-COOKIE-VALUE'
  const packr = new Packr({ useRecords: false })
  const seen = new Set<string>()
  for (let n = 0; n < 3; n++) {
    const s = sessionWith(new Cookies(secret), new Cookies(secret))
    await Promise.all([cookie().initiate(s.initiator.ch, ctx(s, 'initiator')), cookie().respond(s.responder.ch, ctx(s, 'responder'))])
    for (const e of [...s.initiator.ch.transcript, ...s.responder.ch.transcript]) {
      const bytes = packr.pack(e.msg)
      t.notOk(bytes.includes(Buffer.from(secret)), `no cookie in ${String(e.msg.t)}`)
      for (const v of Object.values(e.msg)) if (Buffer.isBuffer(v) && e.dir === 'out') seen.add(v.toString('hex'))
    }
  }
  t.equal(seen.size, 3 * 6, 'every session id, share and tag of three sessions differs')
})

t.test('on a wrong cookie the peer is told only { t: "refused" }, and both sides get AuthError', async t => {
  const s = sessionWith(new Cookies('SECRET'), new Cookies('OTHER'))
  const [i, r] = await Promise.all([
    settle(cookie().initiate(s.initiator.ch, ctx(s, 'initiator'))),
    settle(cookie().respond(s.responder.ch, ctx(s, 'responder'))),
  ])
  t.ok(i instanceof AuthError)
  t.ok(r instanceof AuthError)
  t.equal((i as AuthError).code, 'ERR_AUTH_FAILED')
  t.equal((r as AuthError).code, 'ERR_AUTH_FAILED')
  t.match((i as Error).message, B, 'the initiator error names the peer')
  t.match((r as Error).message, A, 'the responder error names the peer')
  const refusal = s.responder.ch.transcript.at(-1)
  t.same(refusal, { dir: 'out', msg: { t: 'refused' } }, 'the responder (which saw the bad tag) sent a bare refusal')
  t.same(s.initiator.ch.transcript.at(-1), { dir: 'in', msg: { t: 'refused' } }, 'all the initiator got after its confirm')
})

t.test('per-node cookies (set_cookie/2) are used for that peer only', async t => {
  const a = new Cookies('A-OWN')
  const b = new Cookies('B-OWN')
  a.setFor(B, 'SHARED')
  b.setFor(A, 'SHARED')
  const s = sessionWith(a, b)
  const [i, r] = await Promise.all([
    cookie().initiate(s.initiator.ch, ctx(s, 'initiator')),
    cookie().respond(s.responder.ch, ctx(s, 'responder')),
  ])
  t.equal(i.peerName, B)
  t.equal(r.peerName, A)
})

t.test("a reflected share is refused: the responder's own Yb sent back as Ya", async t => {
  // The attacker claims to be A to B without knowing the cookie and answers B's share with
  // that same share. K would be yb²·g, which the attacker cannot compute, so it has no tag to
  // send; B refuses and sends nothing derived from K.
  const s = sessionWith(new Cookies('unused'), new Cookies('SECRET'))
  const v = settle(cookie().respond(s.responder.ch, ctx(s, 'responder')))
  const sig = AbortSignal.timeout(5000)
  s.initiator.ch.send({ t: 'start', s: Buffer.alloc(16, 1) })
  const share = await s.initiator.ch.receive({ signal: sig })
  s.initiator.ch.send({ t: 'confirm', y: share.y as Buffer, m: Buffer.alloc(64) })
  const r = await v
  t.ok(r instanceof AuthError, 'refused')
  t.equal((r as AuthError).code, 'ERR_AUTH_FAILED')
  t.same(await s.initiator.ch.receive({ signal: sig }), { t: 'refused' })
})

const malformed: Array<[string, HandshakeMessage]> = [
  ['a session id of 15 bytes', { t: 'start', s: Buffer.alloc(15) }],
  ['a session id that is a string', { t: 'start', s: 'x'.repeat(16) }],
  ['a confirm first', { t: 'confirm', y: Buffer.alloc(32), m: Buffer.alloc(64) }],
  ['no type', { s: Buffer.alloc(16) }],
]
for (const [what, msg] of malformed) {
  t.test(`responder: ${what} → HandshakeError ERR_HANDSHAKE, peer told 'refused'`, async t => {
    const s = sessionWith(new Cookies('S'), new Cookies('S'))
    const p = settle(cookie().respond(s.responder.ch, ctx(s, 'responder')))
    s.initiator.ch.send(msg)
    const err = await p
    t.ok(err instanceof HandshakeError)
    t.equal((err as HandshakeError).code, 'ERR_HANDSHAKE')
    t.match((err as Error).message, A)
    t.same(await s.initiator.ch.receive(), { t: 'refused' })
  })
}

t.test('initiator: a share of 16 bytes → ERR_HANDSHAKE', async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'))
  const p = settle(cookie().initiate(s.initiator.ch, ctx(s, 'initiator')))
  await s.responder.ch.receive()
  s.responder.ch.send({ t: 'share', s: Buffer.alloc(16), y: Buffer.alloc(16) })
  const err = await p
  t.equal((err as NetkernelError).code, 'ERR_HANDSHAKE')
})

t.test('a refusal at the first step is an AuthError naming the peer', async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'))
  const p = settle(cookie().respond(s.responder.ch, ctx(s, 'responder')))
  s.initiator.ch.send({ t: 'refused' })
  const err = await p
  t.ok(err instanceof AuthError)
  t.match((err as Error).message, `node ${A} refused`)
})

t.test('the channel per-step timeout surfaces as ERR_HANDSHAKE_TIMEOUT', async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'), { stepTimeout: 50 })
  s.responder.ch.drop = true // the responder's share never arrives
  const [i] = await Promise.all([
    settle(cookie().initiate(s.initiator.ch, ctx(s, 'initiator'))),
    settle(cookie().respond(s.responder.ch, ctx(s, 'responder'))),
  ])
  t.equal((i as NetkernelError).code, 'ERR_HANDSHAKE_TIMEOUT')
})

t.test('the connection closing mid-handshake is a typed error on both sides', async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'))
  s.initiator.ch.intercept = msg => {
    if (msg.t === 'confirm') {
      queueMicrotask(() => s.initiator.ch.close())
      return null
    }
    return msg
  }
  const [i, r] = await Promise.all([
    settle(cookie().initiate(s.initiator.ch, ctx(s, 'initiator'))),
    settle(cookie().respond(s.responder.ch, ctx(s, 'responder'))),
  ])
  t.equal((i as NetkernelError).code, 'ERR_CONNECTION_CLOSED')
  t.equal((r as NetkernelError).code, 'ERR_CONNECTION_CLOSED')
})

t.test("a signal aborted without a reason gives ERR_ABORTED; a channel's own error passes through", async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'))
  const ac = new AbortController()
  const p = settle(cookie().respond(s.responder.ch, { ...s.responder.ctx, signal: ac.signal }))
  ac.abort()
  t.equal(((await p) as NetkernelError).code, 'ERR_ABORTED')

  // The error contract is the channel's (HandshakeChannel, lib/authenticator.ts): the authenticator
  // does not map what receive() rejects with.
  const closed = new HandshakeError('ERR_HANDSHAKE_TIMEOUT', 'step deadline')
  const odd: HandshakeChannel = { send: () => {}, receive: async () => Promise.reject(closed) }
  t.equal(await settle(cookie().respond(odd, ctx(s, 'responder'))), closed)
})

t.test('a refusal on a dead channel (its send dropped, as the contract says) still rejects with the refusal', async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'))
  const ch: HandshakeChannel = {
    send: () => {},
    receive: async () => ({ t: 'start', s: Buffer.alloc(1) }),
  }
  const err = await settle(cookie().respond(ch, ctx(s, 'responder')))
  t.equal((err as NetkernelError).code, 'ERR_HANDSHAKE')
})

t.test('a store that has no cookie for the peer refuses locally', async t => {
  const s = sessionWith(new Cookies('S'), new Cookies('S'))
  const err = await settle(cookie().initiate(s.initiator.ch, { ...ctx(s, 'initiator'), cookies: { cookieFor: () => '' } }))
  t.equal((err as NetkernelError).code, 'ERR_AUTH_FAILED')
  t.same(
    s.initiator.ch.transcript.map(e => e.msg),
    [{ t: 'refused' }],
  )
})

// Cookies, the CookieStore the authenticator reads

t.test('own cookie, per-node cookies, replacing and forgetting', async t => {
  const c = new Cookies('OWN')
  t.equal(c.own, 'OWN')
  t.equal(c.cookieFor('a@h'), 'OWN')
  c.setFor('a@h', 'FOR-A')
  t.equal(c.cookieFor('a@h'), 'FOR-A')
  t.equal(c.cookieFor('b@h'), 'OWN')
  c.set('NEW')
  t.equal(c.own, 'NEW')
  t.equal(c.cookieFor('b@h'), 'NEW')
  t.equal(c.cookieFor('a@h'), 'FOR-A', 'a per-node cookie survives set()')
  c.own = 'NEWER'
  t.equal(c.cookieFor('b@h'), 'NEWER')
  t.equal(c.deleteFor('a@h'), true)
  t.equal(c.deleteFor('a@h'), false)
  t.equal(c.cookieFor('a@h'), 'NEWER')
})

t.test('the cookie is not exposed by enumeration or JSON', async t => {
  const c = new Cookies('SECRET')
  c.setFor('a@h', 'OTHER')
  t.notMatch(JSON.stringify(c), /SECRET|OTHER/)
})

t.test('empty or non-string cookies and node names are refused', async t => {
  t.throws(() => new Cookies(''), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => new Cookies(42 as unknown as string), { code: 'ERR_BAD_ARGUMENT' })
  const c = new Cookies('OK')
  t.throws(() => c.set(''), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => c.setFor('', 'X'), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => c.setFor('a@h', ''), { code: 'ERR_BAD_ARGUMENT', message: /a@h/ })
  t.equal(c.own, 'OK')
})
