// The SSH transport against a real OpenSSH sshd on a free loopback port: the Transport
// compliance suite (forwarded channels, and a reverse listener), host key pinning and
// known_hosts, typed errors naming the gateway.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { ssh, SshGatewayError, SshHostKeyError, fingerprintOf, type SshTransport } from '../transports/ssh.js'
import { checkKnownHosts, hostMatches, keyTypeOf, parseKnownHosts } from '../transports/ssh-host-key.js'
import { NetkernelError, TransportError } from '../lib/errors.js'
import { transportCompliance } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'
import { sshdSkip, startSshd, makeKey, type Sshd } from './fixtures/sshd.js'
import { refusedPort } from './fixtures/ports.js'
import { createHmac } from 'node:crypto'

const skip = sshdSkip()
if (skip) t.comment(`skipping the SSH transport tests: ${skip}`)

/** One sshd for the whole file (each test opens its own SSH connections). */
let shared: Promise<Sshd> | undefined
const sshd = (): Promise<Sshd> => (shared ??= startSshd(t))

const transports: SshTransport[] = []
t.teardown(() => Promise.all(transports.map(tr => tr.close())))
const track = (tr: SshTransport): SshTransport => (transports.push(tr), tr)

t.test('forwarded channels', { skip }, async t => {
  tapCompliance(
    t,
    'ssh: Transport compliance',
    transportCompliance({
      name: 'ssh',
      leakCheck: false,
      setup: async () => {
        const d = await sshd()
        // The gateway key is the host the suite dials (127.0.0.1): every dial goes through sshd.
        return { transport: ssh({ gateways: { '127.0.0.1': d.gateway({ target: '127.0.0.1' }) } }), host: '127.0.0.1' }
      },
      teardown: ({ transport }) => transport.close(),
    }),
  )
})

t.test('reverse listener (sshd listens for us)', { skip }, async t => {
  tapCompliance(
    t,
    'ssh: Transport compliance',
    transportCompliance({
      name: 'ssh',
      leakCheck: false,
      setup: async () => {
        const d = await sshd()
        return { transport: ssh({ gateways: { relay: d.gateway() }, reverse: { gateway: 'relay' } }), host: '127.0.0.1' }
      },
      teardown: ({ transport }) => transport.close(),
    }),
  )
})

t.test('a dialled Conn: ssh, encrypted, named after the node address', { skip }, async t => {
  const d = await sshd()
  const tr = track(ssh({ gateways: { '127.0.0.1': d.gateway({ target: '127.0.0.1' }) } }))
  t.equal(tr.name, 'ssh')
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.stream.pipe(c.stream))
  t.teardown(() => l.close())
  const c = await tr.dial(l.address, { signal: AbortSignal.timeout(10_000) })
  t.teardown(() => c.destroy())
  t.equal(c.transport, 'ssh')
  t.equal(c.encrypted, true)
  t.equal(c.copiesWrites, true, 'a write is copied into SSH packets by its callback')
  t.equal(c.remoteAddress, '127.0.0.1')
  t.equal(c.remotePort, l.address.port)
  c.stream.write('echo')
  const [got] = (await new Promise(r => c.stream.once('data', (...a) => r(a)))) as [Buffer]
  t.equal(got.toString(), 'echo')
})

t.test("a host without a gateway: the direct transport's Conn, labelled ssh, keeps what the socket offers", async t => {
  const tr = track(ssh({ gateways: {} }))
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.stream.pipe(c.stream))
  t.teardown(() => l.close())
  const c = await tr.dial(l.address, { signal: AbortSignal.timeout(10_000) })
  t.teardown(() => c.destroy())
  t.equal(c.transport, 'ssh')
  t.equal(c.encrypted, false, 'plain tcp: not encrypted')
  t.type(c.readInto?.attach, 'function', 'reads into buffers the kernel picks, as over tcp')
  c.stream.write('echo')
  const [got] = (await new Promise(r => c.stream.once('data', (...a) => r(a)))) as [Buffer]
  t.equal(got.toString(), 'echo')
})

t.test('host keys: pinned, known_hosts, refused with a typed error naming the gateway', { skip }, async t => {
  const d = await sshd()
  const echo = async (tr: SshTransport): Promise<void> => {
    const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.stream.pipe(c.stream))
    try {
      const c = await tr.dial(l.address, { signal: AbortSignal.timeout(10_000) })
      c.destroy()
    } finally {
      await l.close()
    }
  }

  await t.test('the pinned fingerprint is the one ssh-keygen -lf prints', async t => {
    const tr = track(ssh({ gateways: { '127.0.0.1': d.gateway({ target: '127.0.0.1', hostKey: d.hostKey.fingerprint }) } }))
    await echo(tr)
    t.match(d.hostKey.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/)
    const blob = Buffer.from(d.hostKey.publicKey.split(' ')[1]!, 'base64')
    t.equal(fingerprintOf(blob), d.hostKey.fingerprint)
    t.equal(keyTypeOf(blob), 'ssh-ed25519')
  })

  await t.test('a wrong pinned fingerprint is refused: SshHostKeyError naming the gateway', async t => {
    const other = makeKey(d.dir, `other-${Date.now()}`)
    const tr = track(ssh({ gateways: { '127.0.0.1': d.gateway({ target: '127.0.0.1', hostKey: other.fingerprint }) } }))
    const before = d.logins()
    const e = await tr.dial({ host: '127.0.0.1', port: 1 }, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)
    t.ok(e instanceof SshHostKeyError, 'an SshHostKeyError', { found: e })
    t.ok(e instanceof SshGatewayError && e instanceof TransportError && e instanceof NetkernelError, 'in the hierarchy')
    const err = e as SshHostKeyError
    t.equal(err.code, 'ERR_CONNECT')
    t.equal(err.gateway, '127.0.0.1')
    t.equal(err.reason, 'host-key-changed')
    t.equal(err.presented, d.hostKey.fingerprint)
    t.match(err.message, `ssh gateway '127.0.0.1'`)
    t.match(err.message, d.hostKey.fingerprint)
    t.equal(d.logins(), before, 'no login happened')
  })

  await t.test('known_hosts: the listed key is accepted', async t => {
    const tr = track(
      ssh({ gateways: { '127.0.0.1': { ...d.gateway({ target: '127.0.0.1' }), hostKey: undefined, knownHosts: d.knownHostsFile } } }),
    )
    await echo(tr)
    t.pass('connected through a host verified by known_hosts')
  })

  await t.test('known_hosts: a hashed entry works (ssh-keygen -H style)', async t => {
    const salt = Buffer.from('0123456789abcdef0123')
    const name = `[127.0.0.1]:${d.port}`
    const hash = createHmac('sha1', salt).update(name).digest('base64')
    const file = path.join(d.dir, 'known_hosts_hashed')
    writeFileSync(file, `|1|${salt.toString('base64')}|${hash} ${d.hostKey.publicKey}\n`)
    const tr = track(ssh({ gateways: { gw: { ...d.gateway({ target: '127.0.0.1' }), hostKey: undefined, knownHosts: file } } }))
    const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.destroy())
    t.teardown(() => l.close())
    const c = await tr.dial({ host: 'gw', port: l.address.port }, { signal: AbortSignal.timeout(10_000) })
    c.destroy()
    t.pass('connected')
  })

  await t.test('known_hosts: a host that is not listed is unknown; another key listed is changed', async t => {
    const file = path.join(d.dir, 'known_hosts_other')
    const other = makeKey(d.dir, `other2-${Date.now()}`)
    writeFileSync(file, `[127.0.0.1]:1 ${d.hostKey.publicKey}\n`)
    const unknown = track(ssh({ gateways: { gw: { ...d.gateway(), hostKey: undefined, knownHosts: file } } }))
    const e1 = (await unknown
      .dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) })
      .catch((e: unknown) => e)) as SshHostKeyError
    t.ok(e1 instanceof SshHostKeyError, 'refused', { found: e1 })
    t.equal(e1.reason, 'host-key-unknown')
    t.match(e1.message, /ssh gateway 'gw'/)
    writeFileSync(file, `[127.0.0.1]:${d.port} ${other.publicKey}\n`)
    const changed = track(ssh({ gateways: { gw: { ...d.gateway(), hostKey: undefined, knownHosts: file } } }))
    const e2 = (await changed
      .dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) })
      .catch((e: unknown) => e)) as SshHostKeyError
    t.ok(e2 instanceof SshHostKeyError, 'refused', { found: e2 })
    t.equal(e2.reason, 'host-key-changed')
    const missing = track(ssh({ gateways: { gw: { ...d.gateway(), hostKey: undefined, knownHosts: path.join(d.dir, 'nope') } } }))
    const e3 = (await missing
      .dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) })
      .catch((e: unknown) => e)) as SshGatewayError
    t.ok(e3 instanceof SshGatewayError, 'an unreadable known_hosts refuses too', { found: e3 })
    t.match(e3.message, /known_hosts/)
  })
})

t.test('known_hosts parsing (pure)', async t => {
  const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIOkqg1Y1x2ugcHRD2T7eD3u0GBD6oV1m0j7mIRi1mJ1b'
  const blob = Buffer.from(key, 'base64')
  const text = [
    '# comment',
    '',
    'garbage',
    `@cert-authority *.example ssh-ed25519 ${key}`,
    `a.example,b.example ssh-ed25519 ${key} comment`,
    `*.wild,!bad.wild ssh-ed25519 ${key}`,
  ].join('\n')
  t.equal(parseKnownHosts(text).length, 3)
  t.ok(checkKnownHosts(blob, text, 'b.example', 22).ok)
  t.ok(checkKnownHosts(blob, text, 'x.wild', 22).ok, 'wildcard')
  t.notOk(checkKnownHosts(blob, text, 'bad.wild', 22).ok, 'negated pattern')
  t.notOk(checkKnownHosts(blob, text, 'a.example', 2222).ok, 'a non-22 port is [host]:port')
  t.notOk(hostMatches('|1|broken', 'a'))
  t.notOk(checkKnownHosts(blob, `@revoked * ssh-ed25519 ${key}\n${text}`, 'a.example', 22).ok, '@revoked wins')
})

t.test('options are checked up front', async t => {
  const pem = 'x'
  const fp = 'SHA256:' + 'A'.repeat(43)
  t.throws(() => ssh(undefined as never), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => ssh({ gateways: { w: { host: '' } as never } }), { code: 'ERR_BAD_ARGUMENT', message: /'w' needs a host/ })
  t.throws(() => ssh({ gateways: { w: { host: 'h', hostKey: fp } } }), { code: 'ERR_BAD_ARGUMENT', message: /privateKey or an agent/ })
  t.throws(() => ssh({ gateways: { w: { host: 'h', privateKey: pem } } }), {
    code: 'ERR_BAD_ARGUMENT',
    message: /never accepted unverified/,
  })
  t.throws(() => ssh({ gateways: { w: { host: 'h', privateKey: pem, hostKey: 'abc' } } }), {
    code: 'ERR_BAD_ARGUMENT',
    message: /fingerprint/,
  })
  t.throws(() => ssh({ gateways: { w: { host: 'h', port: 0, privateKey: pem, hostKey: fp } } }), {
    code: 'ERR_BAD_ARGUMENT',
    message: /bad port/,
  })
  t.throws(() => ssh({ gateways: { w: { host: 'h', privateKey: pem, hostKey: fp } }, reverse: { gateway: 'x' } }), {
    code: 'ERR_BAD_ARGUMENT',
    message: /reverse.gateway/,
  })
  const tr = ssh({ gateways: { w: { host: 'h', privateKey: pem, hostKey: [fp] } } })
  t.same(Object.keys(tr).sort(), ['close', 'dial', 'listen', 'name', 'portMapperStream'])
})

t.test('gateway failures are SshGatewayErrors naming the gateway', { skip }, async t => {
  const d = await sshd()
  await t.test('nothing listens at the gateway address', async t => {
    const port = await refusedPort()
    const tr = track(ssh({ gateways: { gw: { ...d.gateway(), port } } }))
    const e = (await tr.dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)) as SshGatewayError
    t.ok(e instanceof SshGatewayError, { found: e })
    t.equal(e.code, 'ERR_CONNECT')
    t.equal(e.reason, 'unreachable')
    t.match(e.message, `ssh gateway 'gw' (${d.username}@127.0.0.1:${port})`)
  })
  await t.test('the sshd refuses our key', async t => {
    const stranger = makeKey(d.dir, `stranger-${Date.now()}`)
    const tr = track(ssh({ gateways: { gw: { ...d.gateway(), privateKey: stranger.privateKey } } }))
    const e = (await tr.dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)) as SshGatewayError
    t.ok(e instanceof SshGatewayError, { found: e })
    t.equal(e.code, 'ERR_CONNECT', 'a TransportError code: ERR_AUTH_FAILED is an AuthError')
    t.equal(e.reason, 'auth')
    t.match(e.message, /ssh gateway 'gw'/)
  })
  await t.test('a private key that does not parse', async t => {
    const tr = track(ssh({ gateways: { gw: { ...d.gateway(), privateKey: 'not a key' } } }))
    const e = (await tr.dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)) as SshGatewayError
    t.ok(e instanceof SshGatewayError, { found: e })
    t.match(e.message, /ssh gateway 'gw'.*privateKey/)
  })
  await t.test('a login that does not finish within readyTimeout', async t => {
    // A TCP server that accepts and says nothing: no SSH banner ever arrives.
    const net = await import('node:net')
    const silent = net.createServer(() => {})
    await new Promise<void>(r => silent.listen(0, '127.0.0.1', r))
    t.teardown(() => silent.close())
    const port = (silent.address() as import('node:net').AddressInfo).port
    const tr = track(ssh({ gateways: { gw: { ...d.gateway(), port, readyTimeout: 300 } } }))
    const e = (await tr.dial({ host: 'gw', port: 1 }, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)) as SshGatewayError
    t.ok(e instanceof SshGatewayError, { found: e })
    t.equal(e.code, 'ERR_CONNECT_TIMEOUT')
    t.equal(e.reason, 'timeout')
  })
  await t.test('a reverse listen the sshd refuses: ERR_LISTEN naming the address', async t => {
    const tr = track(ssh({ gateways: { relay: d.gateway() }, reverse: { gateway: 'relay', host: '127.0.0.1' } }))
    // Port 22 below 1024 on 127.0.0.1 is either privileged for a non-root login or, for
    // root, taken by sshd's own listener when it runs on 22; use sshd's own port instead.
    const e = await tr.listen({ host: '127.0.0.1', port: d.port }, () => {}).catch((e: unknown) => e)
    t.ok(e instanceof TransportError, { found: e })
    t.equal((e as TransportError).code, 'ERR_LISTEN')
    t.match((e as Error).message, `127.0.0.1:${d.port}`)
  })
})

t.test('one SSH connection, shared; ended when idle; the next dial logs in again', { skip }, async t => {
  const d = await sshd()
  const tr = track(ssh({ gateways: { gw: d.gateway({ target: '127.0.0.1' }) }, idleTimeout: 300 }))
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.stream.pipe(c.stream))
  t.teardown(() => l.close())
  const before = d.logins()
  const conns = await Promise.all(
    [1, 2, 3].map(() => tr.dial({ host: 'gw', port: l.address.port }, { signal: AbortSignal.timeout(10_000) })),
  )
  const mapper = await tr.portMapperStream({ host: 'gw', port: l.address.port }, { signal: AbortSignal.timeout(10_000), purpose: 'lookup' })
  t.equal(d.logins() - before, 1, 'three dials and a port-mapper stream over one SSH login')
  for (const c of conns) c.destroy()
  mapper.destroy()
  await new Promise(r => setTimeout(r, 200))
  const c = await tr.dial({ host: 'gw', port: l.address.port }, { signal: AbortSignal.timeout(10_000) })
  t.equal(d.logins() - before, 1, 'reused while not idle for idleTimeout')
  c.destroy()
  await new Promise(r => setTimeout(r, 600))
  const c2 = await tr.dial({ host: 'gw', port: l.address.port }, { signal: AbortSignal.timeout(10_000) })
  t.equal(d.logins() - before, 2, 'after idleTimeout with no channel open it was ended; a new one opened')
  c2.destroy()
})

t.test('without target, the gateway resolves the node host itself', { skip }, async t => {
  const d = await sshd()
  const tr = track(ssh({ gateways: { localhost: d.gateway() } }))
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.stream.pipe(c.stream))
  t.teardown(() => l.close())
  const c = await tr.dial({ host: 'localhost', port: l.address.port }, { signal: AbortSignal.timeout(10_000) })
  t.equal(c.remoteAddress, 'localhost')
  c.stream.write('x')
  await new Promise(r => c.stream.once('data', r))
  c.destroy()
  const e = (await tr
    .dial({ host: 'LOCALHOST', port: 1 }, { signal: AbortSignal.timeout(10_000) })
    .catch((e: unknown) => e)) as SshGatewayError
  t.ok(e instanceof SshGatewayError, 'gateway keys match host names case-insensitively', { found: e })
  t.equal(e.reason, 'forward')
  t.match(e.message, /cannot connect to LOCALHOST:1 through ssh gateway 'localhost'/)
})

t.test('hosts without a gateway go direct (tcp by default), reported as ssh', { skip }, async t => {
  const tr = track(ssh({ gateways: {} }))
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.stream.pipe(c.stream))
  t.teardown(() => l.close())
  const c = await tr.dial(l.address, { signal: AbortSignal.timeout(10_000) })
  t.equal(c.transport, 'ssh')
  t.equal(c.encrypted, false, 'but not encrypted')
  c.destroy()
  const s = await tr.portMapperStream(l.address, { signal: AbortSignal.timeout(10_000), purpose: 'lookup' })
  s.destroy()
  t.pass('the port mapper is reached directly too')
})

t.test('when its last listener closes (the node stopped), idle SSH connections end at once', { skip }, async t => {
  const d = await sshd()
  const tr = track(ssh({ gateways: { gw: d.gateway({ target: '127.0.0.1' }) }, idleTimeout: 60_000 }))
  const l1 = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.destroy())
  const before = d.logins()
  ;(await tr.dial({ host: 'gw', port: l1.address.port }, { signal: AbortSignal.timeout(10_000) })).destroy()
  const disconnects = (): number => d.lines.filter(l => /Received disconnect/.test(l)).length
  const seen = disconnects()
  await l1.close()
  await l1.close()
  const ended = Date.now() + 5000
  while (disconnects() === seen && Date.now() < ended) await new Promise(r => setTimeout(r, 20))
  t.ok(disconnects() > seen, 'the SSH connection said goodbye')
  const l2 = await tr.listen({ host: '127.0.0.1', port: 0 }, c => c.destroy())
  t.teardown(() => l2.close())
  ;(await tr.dial({ host: 'gw', port: l2.address.port }, { signal: AbortSignal.timeout(10_000) })).destroy()
  t.equal(d.logins() - before, 2, 'the first SSH connection was ended long before idleTimeout; the next dial logged in again')
})
