// The tls-cert authenticator: the Authenticator compliance suite over real TLS connections
// (the kernel's handshake channel on the tls transport), its own checks, and nodes using
// tls() + tlsCert(): mutual success, and each refusal with its typed code on both nodes.
import t, { type Test } from 'tap'
import { tlsCert } from '../auth/tls-cert.js'
import { tls } from '../transports/tls.js'
import { tcp } from '../transports/tcp.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import type { Conn, Transport } from '../lib/transport.js'
import type { AuthContext, AuthResult } from '../lib/authenticator.js'
import { NetkernelError } from '../lib/errors.js'
import type { Node } from '../lib/node.js'
import type { EpmdDaemon } from '../lib/epmd/daemon.js'
import { authenticatorCompliance, handshakeSession, kernelFaults, type AuthSession } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'
import { channelPair } from './fixtures/channel-pair.js'
import { testPki } from './fixtures/tls-certs.js'
import { full, testEpmd, testNode, nextEvent, inProcess } from './fixtures/cluster.js'

const pki = testPki()
const other = testPki('another CA')
const A = full('a')
const B = full('b')

/** A session over a real TLS connection: a dials presenting `certA`'s cert, b accepts with `certB`'s. */
function tlsSession(certA: string, certB: string, cookies: [string, string] = ['S', 'S']): Promise<AuthSession> {
  return handshakeSession(
    { name: A, cookies: new Cookies(cookies[0]), transport: pki.transport(certA) },
    { name: B, cookies: new Cookies(cookies[1]), transport: pki.transport(certB) },
  )
}

tapCompliance(
  t,
  'tls-cert over real TLS: Authenticator compliance',
  authenticatorCompliance({
    faults: kernelFaults,
    setup: () => ({
      a: tlsCert(),
      b: tlsCert(),
      good: () => tlsSession(A, B),
      // Both certificates are valid (same CA) but name other nodes.
      bad: () => tlsSession(full('c'), full('d')),
    }),
  }),
)

tapCompliance(
  t,
  'tls-cert with cookie over real TLS: Authenticator compliance',
  authenticatorCompliance({
    faults: kernelFaults,
    setup: () => ({
      a: tlsCert({ cookie: true }),
      b: tlsCert({ cookie: true }),
      good: () => tlsSession(A, B),
      // Right certificates, wrong cookie.
      bad: () => tlsSession(A, B, ['SECRET', 'OTHER']),
    }),
  }),
)

type Outcome = AuthResult | NetkernelError

async function run(s: AuthSession, auth = tlsCert(), ms = 5000): Promise<[Outcome, Outcome]> {
  const signal = AbortSignal.timeout(ms)
  const settle = (p: Promise<AuthResult>): Promise<Outcome> => p.catch((e: unknown) => e as NetkernelError)
  try {
    return await Promise.all([
      settle(auth.initiate(s.initiator.ch, { ...s.initiator.ctx, signal })),
      settle(auth.respond(s.responder.ch, { ...s.responder.ctx, signal })),
    ])
  } finally {
    await s.close?.()
  }
}

function code(o: Outcome): string | undefined {
  return o instanceof Error ? o.code : undefined
}

t.test('one verdict each way, bound to the TLS session; nodeup info gets the certificate', async t => {
  const s = await tlsSession(A, B)
  const auth = tlsCert()
  t.equal(auth.name, 'tls-cert')
  const [i, r] = await run(s, auth)
  t.equal((i as AuthResult).peerName, B)
  t.equal((r as AuthResult).peerName, A)
  t.match((i as AuthResult).info, { certificate: { subject: B, issuer: 'netkernel test CA', fingerprint256: /^[0-9A-F:]+$/ } })
  t.match((r as AuthResult).info, { certificate: { subject: A } })
  const seq = s.initiator.ch.transcript.map(e => `${e.dir}:${String(e.msg.t)}`)
  t.same(seq, ['out:cert', 'in:cert'])
  const mine = s.initiator.ch.transcript[0]?.msg.b as Buffer
  const theirs = s.initiator.ch.transcript[1]?.msg.b as Buffer
  t.equal(mine.length, 32)
  t.ok(mine.equals(theirs), 'both ends export the same keying material')
  const s2 = await tlsSession(A, B)
  await run(s2)
  t.notOk((s2.initiator.ch.transcript[0]?.msg.b as Buffer).equals(mine), 'another connection, another binding')
})

t.test('with cookie: the cookie handshake follows the certificate verdicts', async t => {
  const s = await tlsSession(A, B)
  const [i, r] = await run(s, tlsCert({ cookie: true }))
  t.equal((i as AuthResult).peerName, B)
  t.equal((r as AuthResult).peerName, A)
  t.same(
    s.initiator.ch.transcript.map(e => String(e.msg.t)),
    ['cert', 'cert', 'start', 'share', 'confirm', 'ok'],
  )
})

t.test('a certificate naming another node: ERR_AUTH_FAILED on both sides, saying what it names', async t => {
  // b presents a's (valid) certificate.
  const [i, r] = await run(await tlsSession(A, A))
  t.equal(code(i), 'ERR_AUTH_FAILED')
  t.match((i as Error).message, new RegExp(`does not name ${B}.*CN ${A}`))
  t.equal(code(r), 'ERR_AUTH_FAILED', 'the side whose certificate was refused learns it too')
  t.match((r as Error).message, `our certificate does not name ${B}`)
  // a presents b's certificate, claiming to be a.
  const [i2, r2] = await run(await tlsSession(B, B))
  t.equal(code(r2), 'ERR_AUTH_FAILED')
  t.match((r2 as Error).message, `does not name ${A}`)
  t.equal(code(i2), 'ERR_AUTH_FAILED')
})

t.test('over plain TCP (no certificate): ERR_CERT_REQUIRED on both sides', async t => {
  const s = await handshakeSession({ name: A, cookies: new Cookies('S') }, { name: B, cookies: new Cookies('S') })
  const [i, r] = await run(s)
  t.equal(code(i), 'ERR_CERT_REQUIRED')
  t.equal(code(r), 'ERR_CERT_REQUIRED')
  t.match((i as Error).message, /tcp connection carries no verified certificate/)
})

t.test('insecureSkipVerify: an unverified certificate is not exposed, so tls-cert refuses it', async t => {
  const stranger = other.node(A)
  const s = await handshakeSession(
    {
      name: A,
      cookies: new Cookies('S'),
      transport: tls({ ca: pki.ca.cert, cert: stranger.cert, key: stranger.key, insecureSkipVerify: true }),
    },
    { name: B, cookies: new Cookies('S'), transport: pki.transport(B, { insecureSkipVerify: true }) },
  )
  t.equal(s.responder.ctx.conn.peerCertificate, undefined, 'the stranger certificate is not exposed')
  t.ok(s.initiator.ctx.conn.peerCertificate, 'the verified one is')
  const [i, r] = await run(s)
  t.equal(code(r), 'ERR_CERT_REQUIRED', 'the responder refuses the unverified peer')
  t.equal(code(i), 'ERR_CERT_REQUIRED', 'and the dialler hears why')
})

t.test('an expired certificate (checked again by the authenticator) is ERR_CERT_EXPIRED', async t => {
  const s = await tlsSession(A, B)
  const real = s.initiator.ctx.conn.peerCertificate
  await s.close?.()
  t.ok(real)
  const [ci, cr] = channelPair()
  const conn = (cert: unknown): Conn => ({ ...s.initiator.ctx.conn, peerCertificate: cert as Conn['peerCertificate'] })
  const expired = { ...real, valid_to: 'Jan  1 00:00:00 2001 GMT' }
  const ctx = (c: Conn, role: 'initiator' | 'responder'): AuthContext => ({
    localName: role === 'initiator' ? A : B,
    peerName: role === 'initiator' ? B : A,
    role,
    conn: c,
    cookies: new Cookies('S'),
    signal: AbortSignal.timeout(5000),
  })
  const auth = tlsCert()
  const [i, r] = await Promise.all([
    auth.initiate(ci, ctx(conn(expired), 'initiator')).catch((e: unknown) => e as NetkernelError),
    auth.respond(cr, ctx(conn(s.responder.ctx.conn.peerCertificate), 'responder')).catch((e: unknown) => e as NetkernelError),
  ])
  t.equal(code(i), 'ERR_CERT_EXPIRED')
  t.match((i as Error).message, /valid from .* to Jan {1,2}1 00:00:00 2001 GMT, not now/)
  t.equal(code(r), 'ERR_CERT_EXPIRED')
})

// Nodes

type ErrInfo = { direction: 'in' | 'out'; code: string; error: Error }

/**
 * The typed code a connectError carries: its own, or — for a refusal the responding node saw
 * in its transport, which the kernel reports as ERR_CONNECTION_CLOSED — its cause's.
 */
function typedCode(info: ErrInfo): string {
  let e: unknown = info.error
  while (e instanceof NetkernelError) {
    if (e.code !== 'ERR_CONNECTION_CLOSED') return e.code
    e = e.cause
  }
  return info.code
}

/** A transport that listens with `listen` and dials with `dial`. */
function split(listen: Transport, dial: Transport): Transport {
  return { name: 'tls', listen: listen.listen, dial: dial.dial }
}

function tlsNode(t: Test, epmd: EpmdDaemon, name: string, transport: Transport, auth = tlsCert()): Promise<Node> {
  return testNode(t, epmd, { name, transport, auth })
}

/**
 * `from` dials `to`, which must fail: resolves with both connectErrors (the dialler's, out; the
 * target's, in) after checking that neither node saw a nodeup.
 */
async function refusedBothWays(t: Test, from: Node, to: Node): Promise<{ out: ErrInfo; in: ErrInfo }> {
  const ups: string[] = []
  from.on('nodeup', n => ups.push(`${from.name} saw ${n}`))
  to.on('nodeup', n => ups.push(`${to.name} saw ${n}`))
  const outErr = nextEvent<[string | undefined, ErrInfo]>(from, 'connectError', (_n, i) => i.direction === 'out')
  const inErr = nextEvent<[string | undefined, ErrInfo]>(to, 'connectError', (_n, i) => i.direction === 'in')
  t.equal(await from.connect(to.name), false, `${from.name} cannot connect to ${to.name}`)
  const [[, o], [, i]] = await Promise.all([outErr, inErr])
  t.same(ups, [], 'no nodeup on either side')
  t.same(from.nodes('connected'), [], 'nothing connected')
  return { out: o, in: i }
}

t.test('nodes with tls() + tlsCert()', async t => {
  const epmd = await testEpmd(t)

  await t.test('mutual success: nodeup with the certificate, messages both ways', async t => {
    const a = await tlsNode(t, epmd, 'a', pki.transport(A))
    const b = await tlsNode(t, epmd, 'b', pki.transport(B))
    const up = nextEvent<[string, Record<string, unknown>]>(b, 'nodeup')
    t.equal(await a.connect(b.name), true)
    const [name, info] = await up
    t.equal(name, a.name)
    t.match(info, { transport: 'tls', certificate: { subject: a.name, issuer: 'netkernel test CA' } })
    const reply = await inProcess(a, async proc => {
      const pid = await proc.spawn(b.name, 't', 'echo', [])
      proc.send(pid, ['ping', proc.self])
      return proc.receive(undefined, { timeout: 10_000 })
    })
    t.same(reply, ['ping', b.name])
    t.same(a.nodes(), [b.name])
    t.same(b.nodes(), [a.name])
  })

  await t.test('mutual success with cookie: true', async t => {
    const a = await tlsNode(t, epmd, 'ac', pki.transport(full('ac')), tlsCert({ cookie: true }))
    const b = await tlsNode(t, epmd, 'bc', pki.transport(full('bc')), tlsCert({ cookie: true }))
    t.equal(await a.connect(b.name), true)
    b.setCookie(full('ac2'), 'different')
    const c = await testNode(t, epmd, {
      name: 'ac2',
      cookie: 'different',
      transport: pki.transport(full('ac2')),
      auth: tlsCert({ cookie: true }),
    })
    const { out, in: inn } = await refusedBothWays(t, c, a)
    t.equal(out.code, 'ERR_AUTH_FAILED', 'a wrong cookie on top of a good certificate is still refused')
    t.equal(inn.code, 'ERR_AUTH_FAILED')
  })

  await t.test('no client certificate: ERR_CERT_REQUIRED on both nodes', async t => {
    const target = await tlsNode(t, epmd, 'nc-target', pki.transport(full('nc-target')))
    // It listens with a certificate but dials without one.
    const bare = split(pki.transport(full('nc')), tls({ ca: pki.ca.cert }))
    const from = await tlsNode(t, epmd, 'nc', bare)
    const r = await refusedBothWays(t, from, target)
    t.equal(r.out.code, 'ERR_CERT_REQUIRED', 'the dialler is told it presented no certificate')
    t.match(r.out.error.message, /refused by the peer: our certificate was not presented/)
    t.equal(typedCode(r.in), 'ERR_CERT_REQUIRED', 'the target reports the missing certificate')
    t.match(r.in.error.message, /the peer's certificate was not presented/)
  })

  await t.test('a certificate from an untrusted CA: ERR_CERT_UNTRUSTED on both nodes, both directions', async t => {
    const target = await tlsNode(t, epmd, 'uc-target', pki.transport(full('uc-target')))
    // Its certificate comes from another CA; it trusts both CAs, so only the target refuses.
    const c = other.node(full('uc'))
    const from = await tlsNode(t, epmd, 'uc', tls({ ca: [pki.ca.cert, other.ca.cert], cert: c.cert, key: c.key }))
    const r = await refusedBothWays(t, from, target)
    t.equal(r.out.code, 'ERR_CERT_UNTRUSTED')
    t.match(r.out.error.message, /refused by the peer: our certificate/)
    t.equal(typedCode(r.in), 'ERR_CERT_UNTRUSTED')
    t.match(r.in.error.message, /refused: the peer's certificate .*CA/)
    // The other way: the target dials and refuses the untrusted server itself.
    const back = await refusedBothWays(t, target, from)
    t.equal(back.out.code, 'ERR_CERT_UNTRUSTED')
    t.match(back.out.error.message, /TLS connection to .* refused: the peer's certificate/)
    t.equal(typedCode(back.in), 'ERR_CERT_UNTRUSTED')
  })

  await t.test('an expired certificate: ERR_CERT_EXPIRED on both nodes', async t => {
    const target = await tlsNode(t, epmd, 'ex-target', pki.transport(full('ex-target')))
    const c = pki.node(full('ex'), { notAfter: new Date(Date.now() - 86_400_000) })
    const from = await tlsNode(t, epmd, 'ex', tls({ ca: pki.ca.cert, cert: c.cert, key: c.key }))
    const r = await refusedBothWays(t, from, target)
    t.equal(r.out.code, 'ERR_CERT_EXPIRED')
    t.match(r.out.error.message, /our certificate has expired \(CERT_HAS_EXPIRED\)/)
    t.equal(typedCode(r.in), 'ERR_CERT_EXPIRED')
    t.match(r.in.error.message, /the peer's certificate has expired/)
  })

  await t.test("name mismatch: node b presenting a's certificate is refused, both directions", async t => {
    const target = await tlsNode(t, epmd, 'nm-target', pki.transport(full('nm-target')))
    const aCert = pki.node(full('nm-a'))
    const impostor = await tlsNode(t, epmd, 'nm-b', tls({ ca: pki.ca.cert, cert: aCert.cert, key: aCert.key }))
    const r = await refusedBothWays(t, impostor, target)
    t.equal(r.in.code, 'ERR_AUTH_FAILED', 'the target refuses nm-b')
    t.match(r.in.error.message, new RegExp(`does not name ${full('nm-b')}.*CN ${full('nm-a')}`))
    t.equal(r.out.code, 'ERR_AUTH_FAILED', 'nm-b is told its certificate does not name it')
    t.match(r.out.error.message, `our certificate does not name ${full('nm-b')}`)
    const back = await refusedBothWays(t, target, impostor)
    t.equal(back.out.code, 'ERR_AUTH_FAILED', 'dialling nm-b, the target finds a certificate for nm-a')
    t.match(back.out.error.message, new RegExp(`node ${full('nm-b')} \\(dialled\\): its certificate does not name`))
    t.equal(back.in.code, 'ERR_AUTH_FAILED')
  })

  await t.test('tlsCert over tcp(): refused with ERR_CERT_REQUIRED', async t => {
    const a = await tlsNode(t, epmd, 'tcp-a', tcp())
    const b = await tlsNode(t, epmd, 'tcp-b', tcp())
    const r = await refusedBothWays(t, a, b)
    t.equal(r.out.code, 'ERR_CERT_REQUIRED')
    t.equal(r.in.code, 'ERR_CERT_REQUIRED')
  })
})
