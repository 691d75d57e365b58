// The tls transport: the Transport compliance suite, TLS 1.3 and verification on by default,
// typed refusals on both ends, TLS and TCP nodes refusing each other with a clear reason, and
// certificates made by the openssl command line as well as by netkernel/certs.
import t, { type Test } from 'tap'
import net from 'node:net'
import nodeTls from 'node:tls'
import { once } from 'node:events'
import { spawnSync, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tls } from '../transports/tls.js'
import { tcp } from '../transports/tcp.js'
import { cookie } from '../auth/cookie.js'
import { tlsCert } from '../auth/tls-cert.js'
import { createCodec } from '../lib/terms/codec.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { initiateHandshake } from '../lib/kernel/handshake.js'
import { initiateOtpHandshake } from '../lib/kernel/otp/otp-handshake.js'
import { issueNodeCert } from '../lib/certs/index.js'
import type { Conn, Transport } from '../lib/transport.js'
import type { Node } from '../lib/node.js'
import { NetkernelError } from '../lib/errors.js'
import { transportCompliance } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'
import { testPki } from './fixtures/tls-certs.js'
import { full, host, testEpmd, testNode, nextEvent, inProcess } from './fixtures/cluster.js'

const pki = testPki()
const other = testPki('another CA')

tapCompliance(
  t,
  'tls: Transport compliance',
  transportCompliance({
    name: 'tls',
    setup: () => ({ transport: pki.transport(full('a')), host: '127.0.0.1' }),
  }),
)

tapCompliance(
  t,
  'tls: Transport compliance',
  transportCompliance({
    name: 'tls',
    setup: () => ({ transport: pki.transport(full('a'), { noDelay: false, keepAlive: true }), host: '127.0.0.1' }),
  }),
)

/** Listen with `server`, dial with `client`; resolves with the dial's outcome and the accepted Conn. */
async function attempt(t: Test, server: Transport, client: Transport, dialHost = '127.0.0.1') {
  let onAccepted!: (c: Conn) => void
  const accepted = new Promise<Conn>(resolve => {
    onAccepted = resolve
  })
  const l = await server.listen({ host: '127.0.0.1', port: 0 }, onAccepted)
  t.teardown(() => l.close())
  const dialled = await client
    .dial({ host: dialHost, port: l.address.port }, { signal: AbortSignal.timeout(5000) })
    .catch((e: unknown) => e as NetkernelError)
  const conn = await accepted
  t.teardown(() => {
    conn.destroy()
    if (!(dialled instanceof Error)) dialled.destroy()
  })
  return { dialled, conn, port: l.address.port }
}

/** What a refused Conn's stream fails with once read. */
function failure(conn: Conn): Promise<NetkernelError> {
  return new Promise(resolve => {
    conn.stream.once('error', e => resolve(e as NetkernelError))
    conn.stream.resume()
  })
}

t.test('the factory returns a plain object named tls', async t => {
  const tr = pki.transport(full('a'))
  t.equal(tr.name, 'tls')
  t.same(Object.keys(tr).sort(), ['dial', 'listen', 'name'])
})

t.test('Conn: TLS 1.3, encrypted, the verified peer certificate on both ends', async t => {
  const { dialled, conn } = await attempt(t, pki.transport(full('srv')), pki.transport(full('cli')))
  if (dialled instanceof Error) throw dialled
  for (const [c, peer] of [
    [dialled, full('srv')],
    [conn, full('cli')],
  ] as const) {
    t.equal(c.transport, 'tls')
    t.equal(c.encrypted, true)
    t.equal(c.peerCertificate?.subject.CN, peer, `the certificate of ${peer}`)
    t.equal((c.stream as nodeTls.TLSSocket).getProtocol(), 'TLSv1.3')
  }
  t.equal(dialled.remoteAddress, '127.0.0.1')
})

t.test('minVersion can be lowered: TLS 1.2 when both ends allow it', async t => {
  const v12 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const
  const { dialled } = await attempt(t, pki.transport(full('srv'), v12), pki.transport(full('cli'), { minVersion: 'TLSv1.2' }))
  if (dialled instanceof Error) throw dialled
  t.equal((dialled.stream as nodeTls.TLSSocket).getProtocol(), 'TLSv1.2')
  const refused = await attempt(t, pki.transport(full('srv'), v12), pki.transport(full('cli')))
  t.equal((refused.dialled as NetkernelError).code, 'ERR_CONNECT', 'a TLS 1.3 dialler and a TLS 1.2 server have no version in common')
  t.match((refused.dialled as Error).message, /no TLS version in common/)
})

t.test('the dialler checks the server certificate against the host it dials', async t => {
  // A certificate naming only the node's host part, not 127.0.0.1 or localhost.
  const narrow = issueNodeCert(pki.ca, full('srv'), { hosts: [] })
  const server = tls({ ca: pki.ca.cert, cert: narrow.cert, key: narrow.key })
  const byIp = await attempt(t, server, pki.transport(full('cli')))
  t.equal((byIp.dialled as NetkernelError).code, 'ERR_CERT_HOSTNAME', 'by IP address: no such IP SAN')
  t.match((byIp.dialled as Error).message, /does not name the host that was dialled .*IP: 127\.0\.0\.1 is not in the cert's list/)
  t.equal((await failure(byIp.conn)).code, 'ERR_CERT_HOSTNAME', 'the server is told why')
  const byName = await attempt(t, server, pki.transport(full('cli')), 'localhost')
  t.equal((byName.dialled as NetkernelError).code, 'ERR_CERT_HOSTNAME', 'by a host name it does not list')
  const good = await attempt(t, server, pki.transport(full('cli')), host)
  t.notOk(good.dialled instanceof Error, `by the node's own host part (${host}): accepted`)
})

t.test('refusals are typed on both ends', async t => {
  const server = pki.transport(full('srv'))
  const cases: Array<[string, Transport, string]> = [
    ['no client certificate', tls({ ca: pki.ca.cert }), 'ERR_CERT_REQUIRED'],
    [
      'a client certificate from another CA',
      tls({ ...other.options(full('cli')), ca: [pki.ca.cert, other.ca.cert] }),
      'ERR_CERT_UNTRUSTED',
    ],
    [
      'an expired client certificate',
      tls({ ca: pki.ca.cert, ...certOf(pki.node(full('old'), { notAfter: new Date(Date.now() - 60_000) })) }),
      'ERR_CERT_EXPIRED',
    ],
    ['a client that does not trust the server', other.transport(full('cli')), 'ERR_CERT_UNTRUSTED'],
  ]
  for (const [what, client, code] of cases) {
    const { dialled, conn, port } = await attempt(t, server, client)
    t.ok(dialled instanceof NetkernelError && dialled.name === 'TransportError', `${what}: the dial rejects with a TransportError`)
    t.equal((dialled as NetkernelError).code, code, `${what}: ${code} for the dialler`)
    t.match((dialled as Error).message, `127.0.0.1:${port}`, `${what}: naming the address`)
    const e = await failure(conn)
    t.equal(e.code, code, `${what}: ${code} for the listener`)
    t.match(e.message, /TLS connection from 127\.0\.0\.1:\d+ refused/)
  }
})

function certOf(c: { cert: string; key: string }) {
  return { cert: c.cert, key: c.key }
}

t.test('insecureSkipVerify: anything connects, and no unverified certificate is exposed', async t => {
  const { dialled, conn } = await attempt(
    t,
    pki.transport(full('srv'), { insecureSkipVerify: true }),
    tls({ ca: other.ca.cert, ...certOf(other.node(full('cli'))), insecureSkipVerify: true }),
  )
  if (dialled instanceof Error) throw dialled
  t.equal(conn.peerCertificate, undefined, 'the listener does not expose the untrusted client certificate')
  t.equal(dialled.peerCertificate, undefined, 'nor the dialler the server certificate it could not verify')
  t.equal(conn.encrypted, true)
})

t.test('options: ca required, verification cannot be weakened by node:tls options, bad PEM', async t => {
  t.throws(() => tls(undefined as never), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => tls({} as never), { code: 'ERR_BAD_ARGUMENT', message: /ca is required/ })
  t.throws(() => tls({ ca: [] }), { code: 'ERR_BAD_ARGUMENT' })
  for (const k of ['rejectUnauthorized', 'requestCert']) {
    t.throws(() => tls({ ...pki.options(full('a')), [k]: false } as never), { code: 'ERR_BAD_ARGUMENT', message: /insecureSkipVerify/ })
  }
  t.throws(() => tls({ ...pki.options(full('a')), servername: 'x' } as never), { code: 'ERR_BAD_ARGUMENT', message: /servername/ })
  t.throws(() => tls({ ca: 'not a certificate', cert: 'nope', key: 'nope' }), { code: 'ERR_BAD_ARGUMENT', message: /cannot load/ })
  await t.rejects(
    tls({ ca: pki.ca.cert }).listen({ host: '127.0.0.1', port: 0 }, () => {}),
    { code: 'ERR_LISTEN', message: /needs this node's cert and key/ },
  )
})

t.test('a client that never completes the TLS handshake is dropped at handshakeTimeout', async t => {
  const conns: Conn[] = []
  const l = await pki.transport(full('srv'), { handshakeTimeout: 150 }).listen({ host: '127.0.0.1', port: 0 }, c => conns.push(c))
  t.teardown(() => l.close())
  const raw = net.connect(l.address.port, '127.0.0.1')
  raw.on('error', () => {})
  t.teardown(() => raw.destroy())
  await once(raw, 'close')
  while (conns.length === 0) await new Promise(r => setTimeout(r, 10))
  const e = await failure(conns[0] as Conn)
  t.equal(e.code, 'ERR_TLS_HANDSHAKE')
  t.match(e.message, /timeout/i)
})

t.test('a TLS server that is not a netkernel tls transport', async t => {
  const c = pki.node(full('srv'))
  const start = async (onSecure: (s: nodeTls.TLSSocket) => void) => {
    const srv = nodeTls.createServer({ ca: pki.ca.cert, cert: c.cert, key: c.key, requestCert: true }, onSecure)
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    t.teardown(() => srv.close())
    return (srv.address() as net.AddressInfo).port
  }
  const chatty = await start(s => s.end('HELLO\r\n'))
  await t.rejects(pki.transport(full('cli')).dial({ host: '127.0.0.1', port: chatty }, { signal: AbortSignal.timeout(5000) }), {
    code: 'ERR_CONNECT',
    message: /not a netkernel tls transport/,
  })
  const silent = await start(s => void s)
  const ac = new AbortController()
  const p = pki.transport(full('cli')).dial({ host: '127.0.0.1', port: silent }, { signal: ac.signal })
  setTimeout(() => ac.abort(), 200)
  await t.rejects(p, { code: 'ERR_ABORTED' }, 'a dial waiting for the verdict is cancelled by its signal')
  const closing = await start(s => s.end())
  await t.rejects(pki.transport(full('cli')).dial({ host: '127.0.0.1', port: closing }, { signal: AbortSignal.timeout(5000) }), {
    code: 'ERR_CONNECT',
    message: /closed the connection before accepting our certificate/,
  })
})

t.test('bytes that arrive together with a verdict are kept for the kernel', async t => {
  // A raw TLS client that sends its verdict and its first bytes in one write.
  const conns: Conn[] = []
  const l = await pki.transport(full('srv')).listen({ host: '127.0.0.1', port: 0 }, c => conns.push(c))
  t.teardown(() => l.close())
  const c = pki.node(full('cli'))
  const raw = nodeTls.connect({ host: '127.0.0.1', port: l.address.port, ca: pki.ca.cert, cert: c.cert, key: c.key })
  t.teardown(() => raw.destroy())
  await once(raw, 'secureConnect')
  raw.write(Buffer.concat([Buffer.from('NK\x00'), Buffer.from('first bytes')]))
  while (conns.length === 0) await new Promise(r => setTimeout(r, 5))
  const [got] = await once((conns[0] as Conn).stream, 'data')
  t.equal(String(got), 'first bytes', 'accepting side')
  t.teardown(() => conns[0]?.destroy())

  // A raw TLS server that sends its verdict and data in one write.
  const s = pki.node(full('srv'))
  const srv = nodeTls.createServer({ ca: pki.ca.cert, cert: s.cert, key: s.key, requestCert: true }, sock =>
    sock.write(Buffer.from('NK\x00server data')),
  )
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  t.teardown(() => srv.close())
  const d = await pki
    .transport(full('cli'))
    .dial({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }, { signal: AbortSignal.timeout(5000) })
  t.teardown(() => d.destroy())
  const [got2] = await once(d.stream, 'data')
  t.equal(String(got2), 'server data', 'dialling side')
})

// Nodes

type ErrInfo = { direction: 'in' | 'out'; code: string; error: Error }

/** The first code in the error's cause chain that is not the kernel's ERR_CONNECTION_CLOSED wrapper. */
/** How many times `sub` occurs in `s`. */
const occurrences = (s: string, sub: string): number => s.split(sub).length - 1

function typedCode(info: ErrInfo): string {
  let e: unknown = info.error
  while (e instanceof NetkernelError) {
    if (e.code !== 'ERR_CONNECTION_CLOSED') return e.code
    e = e.cause
  }
  return info.code
}

/** `from` dials `to` and fails: the dialler's connectError (with the name) and the listener's. */
async function failedDial(t: Test, from: Node, to: Node): Promise<[string | undefined, ErrInfo, ErrInfo]> {
  const outErr = nextEvent<[string | undefined, ErrInfo]>(from, 'connectError', (_n, i) => i.direction === 'out')
  const inErr = nextEvent<[string | undefined, ErrInfo]>(to, 'connectError', (_n, i) => i.direction === 'in')
  t.equal(await from.connect(to.name), false)
  const [[name, o], [, i]] = await Promise.all([outErr, inErr])
  return [name, o, i]
}

t.test('a TLS node and a TCP node with the same cookie cannot talk; both say why', async t => {
  const epmd = await testEpmd(t)
  const secure = await testNode(t, epmd, { name: 'sec', cookie: 'same', transport: pki.transport(full('sec')), auth: cookie() })
  const plain = await testNode(t, epmd, { name: 'pln', cookie: 'same', transport: tcp() })

  await t.test('the TLS node dials the TCP node', async t => {
    const [name, o, i] = await failedDial(t, secure, plain)
    t.equal(name, plain.name)
    t.equal(o.code, 'ERR_CONNECT')
    t.match(o.error.message, /TLS handshake failed: .*does it use the tls transport\?/)
    t.match(i.code, /^(ERR_HANDSHAKE|ERR_FRAME_TOO_LARGE)$/, `the TCP node refuses the TLS bytes (${i.code}: ${i.error.message})`)
  })

  /** A TCP dialler's error: it names the TLS node and its address once, and asks whether it uses tls. */
  const saysTls = (t: Test, o: ErrInfo): void => {
    t.match(o.code, /^(ERR_CONNECTION_CLOSED|ERR_HANDSHAKE)$/, `the TCP node sees the TLS node hang up (${o.error.message})`)
    t.equal(occurrences(o.error.message, secure.name), 1, `the message names the TLS node once (${o.error.message})`)
    t.equal(occurrences(o.error.message, `:${secure.address?.port}`), 1, "the message names the TLS node's address once")
    t.match(
      o.error.message,
      o.code === 'ERR_CONNECTION_CLOSED'
        ? /closed the connection during the handshake \(it answered nothing: does it use the tls transport\? This node uses tcp\)/
        : /speaks TLS; this node's transport does not/,
      'and asks whether the peer uses the tls transport, as the TLS node does in reverse',
    )
  }

  await t.test('the TCP node dials the TLS node', async t => {
    const [name, o, i] = await failedDial(t, plain, secure)
    t.equal(name, secure.name)
    saysTls(t, o)
    t.equal(typedCode(i), 'ERR_TLS_HANDSHAKE')
    t.match(i.error.message, /the client does not speak TLS: does it use the tls transport\?/)
  })

  await t.test('the TCP node dials the TLS node with the Erlang/OTP handshake', async t => {
    // As toward an Erlang node: its discovery says the TLS node's port speaks Erlang/OTP.
    const port = secure.address!.port
    const otp = await testNode(t, epmd, {
      name: 'plnotp',
      cookie: 'same',
      transport: tcp(),
      erlang: true,
      resolve: async () => ({ host: '127.0.0.1', port, protocol: 'erlang' }),
    })
    const outErr = nextEvent<[string | undefined, ErrInfo]>(otp, 'connectError', (_n, i) => i.direction === 'out')
    t.equal(await otp.connect(secure.name), false)
    const [name, o] = await outErr
    t.equal(name, secure.name)
    saysTls(t, o)
    t.same(otp.nodes('connected'), [])
  })

  t.same(secure.nodes('connected'), [])
  t.same(plain.nodes('connected'), [])
})

// Each handshake a node dials with: netkernel's own, and Erlang/OTP's (toward a peer its
// discovery says is an Erlang node). `partial`: the start of a first answer that is no TLS record.
const diallers = [
  {
    handshake: 'netkernel',
    initiate: initiateHandshake,
    partial: createCodec().encodeFrame({ t: 'status', s: 'up' }).subarray(0, -1),
  },
  {
    handshake: 'Erlang/OTP',
    initiate: initiateOtpHandshake,
    partial: Buffer.from([0x00, 0x05, 0x73, 0x6f]),
  },
]

for (const { handshake, initiate, partial } of diallers) {
  t.test(
    `a TCP dialler (${handshake} handshake): a TLS alert for an answer, or a hang-up before any, names TLS; other failures don't`,
    async t => {
      /** What the dialler's handshake fails with when the peer answers `reply`, hangs up, or resets. */
      const answer = async (reply: Buffer | undefined | 'reset'): Promise<NetkernelError> => {
        const srv = net.createServer(s => {
          s.on('error', () => {})
          s.once('data', () => (reply === 'reset' ? s.resetAndDestroy() : reply === undefined ? s.end() : s.end(reply)))
        })
        srv.listen(0, '127.0.0.1')
        await once(srv, 'listening')
        t.teardown(() => srv.close())
        const port = (srv.address() as net.AddressInfo).port
        const conn = await tcp().dial({ host: '127.0.0.1', port }, { signal: AbortSignal.timeout(5000) })
        t.teardown(() => conn.destroy())
        const deps = {
          localName: full('dialler'),
          hidden: true,
          longNames: false,
          creation: 1,
          codec: createCodec(),
          auth: cookie(),
          cookies: new Cookies('c'),
          stepTimeout: 5000,
          allowNode: () => true,
        }
        return initiate(deps, conn, full('peer'), AbortSignal.timeout(5000)).then(
          () => {
            throw new Error('the handshake succeeded')
          },
          (e: unknown) => e as NetkernelError,
        )
      }
      // A TLS record: an alert (level fatal, protocol_version), as a TLS 1.2 server answers a plain hello.
      const alert = await answer(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))
      t.equal(alert.code, 'ERR_HANDSHAKE')
      t.match(alert.message, new RegExp(`^${full('peer')} \\(127\\.0\\.0\\.1:\\d+\\) speaks TLS; this node's transport does not`))
      const silent = await answer(undefined)
      t.equal(silent.code, 'ERR_CONNECTION_CLOSED')
      t.match(
        silent.message,
        new RegExp(
          `^${full('peer')} \\(127\\.0\\.0\\.1:\\d+\\) closed the connection during the handshake \\(it answered nothing: does it use the tls transport\\? This node uses tcp\\)$`,
        ),
      )
      const reset = await answer('reset')
      t.equal(reset.code, 'ERR_CONNECTION_CLOSED')
      t.match(
        reset.message,
        new RegExp(
          `^connection to ${full('peer')} \\(127\\.0\\.0\\.1:\\d+\\) failed during the handshake: .+ \\(it answered nothing: does it use the tls transport\\? This node uses tcp\\)$`,
        ),
        `a reset before any answer asks too (${reset.message})`,
      )
      for (const [what, e] of [
        ['a TLS alert', alert],
        ['a hang-up', silent],
        ['a reset', reset],
      ] as const) {
        t.equal(occurrences(e.message, full('peer')), 1, `${what}: the peer named once (${e.message})`)
        t.equal(e.message.match(/127\.0\.0\.1:\d+/g)?.length, 1, `${what}: its address named once`)
      }
      // A peer that answered something first, then hung up: not a TLS node's doing.
      const late = await answer(partial)
      t.equal(late.code, 'ERR_CONNECTION_CLOSED')
      t.notMatch(late.message, /tls/, `no TLS hint (${late.message})`)
    },
  )
}

// Certificates made by the openssl command line

const haveOpenssl = spawnSync('openssl', ['version']).status === 0

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** An openssl-made leaf for `name` signed by the CA in dir/ca.pem + ca.key; SANs as given. */
function opensslLeaf(dir: string, file: string, name: string, san: string): { cert: string; key: string } {
  writeFileSync(
    join(dir, `${file}.ext`),
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n`,
  )
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${name}`])
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${file}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${file}.pem`,
    '-days',
    '30',
    '-extfile',
    `${file}.ext`,
  ])
  return { cert: readFileSync(join(dir, `${file}.pem`), 'utf8'), key: readFileSync(join(dir, `${file}.key`), 'utf8') }
}

t.test(
  'certificates made with the openssl command line',
  {
    skip:
      !haveOpenssl && process.env.NETKERNEL_REQUIRE_PEERS !== '1'
        ? 'openssl is not installed (set NETKERNEL_REQUIRE_PEERS=1 to fail instead)'
        : false,
  },
  async t => {
    t.ok(haveOpenssl, 'openssl is installed')
    const sans = `DNS:${host},IP:127.0.0.1,DNS:localhost`

    await t.test('an openssl CA and openssl node certificates', async t => {
      const dir = mkdtempSync(join(tmpdir(), 'nk-openssl-'))
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      openssl(dir, [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '30',
        '-subj',
        '/CN=openssl test CA',
      ])
      const ca = readFileSync(join(dir, 'ca.pem'), 'utf8')
      // One names its node by URI SAN and CN, the other by CN only.
      const a = opensslLeaf(dir, 'a', full('oa'), `URI:netkernel:${full('oa')},${sans}`)
      const b = opensslLeaf(dir, 'b', full('ob'), sans)
      const { dialled, conn } = await attempt(t, tls({ ca, ...b }), tls({ ca, ...a }))
      if (dialled instanceof Error) throw dialled
      t.equal(dialled.peerCertificate?.subject.CN, full('ob'))
      t.equal(conn.peerCertificate?.subject.CN, full('oa'))
      dialled.stream.write('over openssl certificates')
      const [got] = await once(conn.stream, 'data')
      t.equal(String(got), 'over openssl certificates')

      const epmd = await testEpmd(t)
      const na = await testNode(t, epmd, { name: 'oa', transport: tls({ ca, ...a }), auth: tlsCert() })
      const nb = await testNode(t, epmd, { name: 'ob', transport: tls({ ca, ...b }), auth: tlsCert() })
      t.equal(await na.connect(nb.name), true, 'tls-cert accepts the URI SAN and the CN-only certificate')
      const reply = await inProcess(nb, async proc => {
        const pid = await proc.spawn(na.name, 't', 'echo', [])
        proc.send(pid, ['hi', proc.self])
        return proc.receive(undefined, { timeout: 10_000 })
      })
      t.same(reply, ['hi', na.name])
      // And the forge-made certificates of another CA are refused by this openssl-CA node.
      const stranger = await testNode(t, epmd, {
        name: 'fs',
        transport: tls({ ca: [ca, pki.ca.cert], ...certOf(pki.node(full('fs'))) }),
        auth: tlsCert(),
      })
      const refused = nextEvent<[string | undefined, ErrInfo]>(stranger, 'connectError')
      t.equal(await stranger.connect(na.name), false)
      t.equal((await refused)[1].code, 'ERR_CERT_UNTRUSTED')
    })

    await t.test('an openssl-signed node certificate under a netkernel/certs CA', async t => {
      const dir = mkdtempSync(join(tmpdir(), 'nk-openssl-'))
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      writeFileSync(join(dir, 'ca.pem'), pki.ca.cert)
      writeFileSync(join(dir, 'ca.key'), pki.ca.key, { mode: 0o600 })
      const leaf = opensslLeaf(dir, 'leaf', full('ol'), `URI:netkernel:${full('ol')},${sans}`)
      const forgeSide = pki.transport(full('fg'))
      const opensslSide = tls({ ca: pki.ca.cert, ...leaf })
      for (const [server, client, what] of [
        [forgeSide, opensslSide, 'openssl leaf dials'],
        [opensslSide, forgeSide, 'openssl leaf accepts'],
      ] as const) {
        const { dialled, conn } = await attempt(t, server, client)
        t.notOk(dialled instanceof Error, what, { found: dialled })
        t.ok(conn.peerCertificate, `${what}: verified on both ends`)
      }
    })
  },
)
