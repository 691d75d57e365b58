// netkernel/certs (createCa, issueNodeCert) and `netkernel certs`: what the certificates
// contain, that node:tls (and openssl, when installed) accepts them, and the CLI's files.
import t from 'tap'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import nodeTls from 'node:tls'
import type net from 'node:net'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { createCa, issueNodeCert, certificateNamesNode, nodeUri } from '../lib/certs/index.js'
import { parseSubjectAltName, describeNames } from '../lib/certs/names.js'
import { certsMain } from '../lib/cli/certs.js'
import { tls } from '../transports/tls.js'
import { full, host } from './fixtures/cluster.js'
import { runCli } from './fixtures/cli-process.js'

const ca = createCa()
const DAY = 86_400_000

function x509(pem: string): X509Certificate {
  return new X509Certificate(pem)
}

t.test('createCa: a self-signed RSA 2048 CA certificate and a PKCS#8 key', async t => {
  const c = x509(ca.cert)
  t.equal(c.ca, true)
  t.equal(c.subject, 'CN=netkernel CA')
  t.equal(c.issuer, c.subject)
  t.ok(c.verify(c.publicKey), 'self-signed')
  t.match(ca.key, /^-----BEGIN PRIVATE KEY-----/)
  const key = createPrivateKey(ca.key)
  t.equal(key.asymmetricKeyType, 'rsa')
  t.equal(key.asymmetricKeyDetails?.modulusLength, 2048)
  t.ok(c.checkPrivateKey(key), 'the key matches the certificate')
  const life = Date.parse(c.validTo) - Date.parse(c.validFrom)
  t.ok(Math.abs(life - 3650 * DAY) < 2 * DAY, 'ten years by default')
  t.ok(Date.parse(c.validFrom) <= Date.now(), 'valid already')
  const named = x509(createCa({ commonName: 'my cluster', days: 2 }).cert)
  t.equal(named.subject, 'CN=my cluster')
  t.ok(Math.abs(Date.parse(named.validTo) - Date.parse(named.validFrom) - 2 * DAY) < 2000)
  t.throws(() => createCa({ commonName: '' }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => createCa({ days: 0 }), { code: 'ERR_BAD_ARGUMENT' })
  t.not(x509(createCa().cert).serialNumber, c.serialNumber, 'a fresh serial number each time')
})

t.test('issueNodeCert: names the node and its hosts, signed by the CA, for both TLS ends', async t => {
  const n = issueNodeCert(ca, 'foo@vmhost', { hosts: ['127.0.0.1', 'localhost', '::1', 'vmhost'] })
  const c = x509(n.cert)
  t.equal(c.subject, 'CN=foo@vmhost')
  t.equal(c.subjectAltName, 'URI:netkernel:foo@vmhost, DNS:vmhost, IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1')
  t.ok(c.checkIssued(x509(ca.cert)), 'issued by the CA')
  t.ok(c.verify(x509(ca.cert).publicKey), 'signed by the CA key')
  t.equal(c.ca, false)
  t.same(c.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'extended key usage: serverAuth and clientAuth')
  t.ok(c.checkPrivateKey(createPrivateKey(n.key)))
  t.ok(c.checkHost('vmhost'), 'the host part passes a host name check')
  t.ok(c.checkIP('127.0.0.1'))
  const life = Date.parse(c.validTo) - Date.parse(c.validFrom)
  t.ok(Math.abs(life - 365 * DAY) < 2 * DAY, 'a year by default')

  t.equal(x509(issueNodeCert(ca, 'bar').cert).subject, `CN=${full('bar')}`, "'bar' means bar@<short hostname>, as startNode")
  t.match(x509(issueNodeCert(ca, 'baz@10.0.0.7').cert).subjectAltName, 'IP Address:10.0.0.7', 'an IP host part is an IP SAN')
  t.match(x509(issueNodeCert(ca, 'qux@h.example.com').cert).subjectAltName, 'DNS:h.example.com', 'a long name')
  t.throws(() => issueNodeCert(ca, 'a@b@c'), { code: 'ERR_BAD_NODE_NAME' })
  t.throws(() => issueNodeCert(ca, 'x', { hosts: [''] }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => issueNodeCert({ cert: 'x', key: 'y' }, 'x'), { code: 'ERR_BAD_ARGUMENT', message: /cannot read the CA/ })
  t.throws(() => issueNodeCert(null as never, 'x'), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('issueNodeCert: validity window', async t => {
  const from = new Date(Date.now() + 10 * DAY)
  const to = new Date(Date.now() + 20 * DAY)
  const future = x509(issueNodeCert(ca, 'f', { notBefore: from, notAfter: to }).cert)
  t.equal(Date.parse(future.validFrom), Math.floor(from.getTime() / 1000) * 1000)
  t.equal(Date.parse(future.validTo), Math.floor(to.getTime() / 1000) * 1000)
  const expired = x509(issueNodeCert(ca, 'e', { notAfter: new Date(Date.now() - DAY) }).cert)
  t.ok(Date.parse(expired.validTo) < Date.now(), 'notAfter in the past: an expired certificate')
  t.ok(Date.parse(expired.validFrom) < Date.parse(expired.validTo))
  const short = x509(issueNodeCert(ca, 's', { days: 1 }).cert)
  t.ok(Math.abs(Date.parse(short.validTo) - Date.parse(short.validFrom) - DAY) < 2000)
  t.throws(() => issueNodeCert(ca, 'x', { notBefore: to, notAfter: from }), { code: 'ERR_BAD_ARGUMENT', message: /later than notBefore/ })
  t.throws(() => issueNodeCert(ca, 'x', { notAfter: new Date(NaN) }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => issueNodeCert(ca, 'x', { days: -1 }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('node:tls accepts them: mutual TLS 1.3 with verification on both ends', async t => {
  const s = issueNodeCert(ca, full('srv'), { hosts: ['127.0.0.1'] })
  const c = issueNodeCert(ca, full('cli'))
  const server = nodeTls.createServer({
    ca: ca.cert,
    cert: s.cert,
    key: s.key,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  })
  const accepted = once(server, 'secureConnection') as Promise<[nodeTls.TLSSocket]>
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const { port } = server.address() as net.AddressInfo
  const client = nodeTls.connect({ host: '127.0.0.1', port, ca: ca.cert, cert: c.cert, key: c.key, rejectUnauthorized: true })
  t.teardown(() => client.destroy())
  await once(client, 'secureConnect')
  const [sock] = await accepted
  t.teardown(() => sock.destroy())
  t.equal(client.authorized, true, 'the client verified the server (chain and IP SAN)')
  t.equal(sock.authorized, true, 'the server verified the client')
  t.equal(sock.getPeerCertificate().subject.CN, full('cli'))
  t.equal(client.getProtocol(), 'TLSv1.3')
  // and by host name, the node's own host part
  const byName = nodeTls.connect({ host, port, servername: host, ca: ca.cert, cert: c.cert, key: c.key, rejectUnauthorized: true })
  t.teardown(() => byName.destroy())
  await once(byName, 'secureConnect')
  t.equal(byName.authorized, true, `by host name ${host}`)
})

t.test(
  'openssl verify accepts them',
  { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed' },
  async t => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-certs-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const n = issueNodeCert(ca, full('v'))
    writeFileSync(join(dir, 'ca.pem'), ca.cert)
    writeFileSync(join(dir, 'n.pem'), n.cert)
    const r = spawnSync('openssl', ['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient', 'n.pem'], { cwd: dir, encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    t.match(r.stdout, /n\.pem: OK/)
    const s = spawnSync('openssl', ['verify', '-CAfile', 'ca.pem', '-purpose', 'sslserver', 'n.pem'], { cwd: dir, encoding: 'utf8' })
    t.equal(s.status, 0, s.stderr)
  },
)

t.test('certificateNamesNode: CN, URI SAN netkernel:NAME, or a URI/DNS SAN equal to the name', async t => {
  const name = 'foo@h'
  t.equal(nodeUri(name), 'netkernel:foo@h')
  t.ok(certificateNamesNode({ subject: { CN: name } }, name), 'by CN')
  t.ok(certificateNamesNode({ subject: { CN: ['x', name] } }, name), 'by one of several CNs')
  t.ok(certificateNamesNode({ subject: { CN: 'other' }, subjectaltname: 'DNS:h, URI:netkernel:foo@h' }, name), 'by URI SAN')
  t.ok(certificateNamesNode({ subjectaltname: 'URI:foo@h' }, name), 'by a bare URI SAN')
  t.ok(certificateNamesNode({ subjectaltname: 'DNS:foo@h' }, name), 'by a DNS SAN')
  t.notOk(certificateNamesNode({ subject: { CN: 'Foo@h' } }, name), 'case-sensitive')
  t.notOk(
    certificateNamesNode({ subject: { CN: 'foo@h2' }, subjectaltname: 'DNS:h, URI:netkernel:foo@h2, email:foo@h' }, name),
    'another node; email SANs do not count',
  )
  t.notOk(certificateNamesNode({}, name))
  t.same(
    parseSubjectAltName('DNS:a, URI:"netkernel:x@y, z", IP Address:127.0.0.1'),
    [
      ['DNS', 'a'],
      ['URI', 'netkernel:x@y, z'],
      ['IP Address', '127.0.0.1'],
    ],
    'quoted values',
  )
  t.same(parseSubjectAltName(undefined), [])
  t.equal(describeNames({ subject: { CN: 'a@h' }, subjectaltname: 'DNS:h' }), 'CN a@h; SAN DNS:h')
  t.equal(describeNames({}), 'no CN')
})

// The CLI

async function cli(argv: string[]) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', d => (out += String(d)))
  stderr.on('data', d => (err += String(d)))
  const code = await certsMain(argv, { stdout, stderr })
  return { code, stdout: out, stderr: err }
}

const mode = (p: string): number => statSync(p).mode & 0o777
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

t.test('netkernel certs: help and usage errors', async t => {
  const help = await cli(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: netkernel certs/)
  t.match(help.stdout, /netkernel certs ca --out ca && netkernel certs node foo@host --ca ca --out certs/)
  t.match(await cli(['--bogus']), { code: 2, stderr: /bogus/ })
  t.match(await cli([]), { code: 2, stderr: /--out DIR is required/ })
  t.match(await cli(['--out', '/tmp/x']), { code: 2, stderr: /ca or node/ })
  t.match(await cli(['wat', '--out', '/tmp/x']), { code: 2, stderr: /unknown subcommand "wat"/ })
  t.match(await cli(['ca', 'extra', '--out', '/tmp/x']), { code: 2, stderr: /unexpected argument/ })
  t.match(await cli(['node', '--out', '/tmp/x', '--ca', '/tmp/y']), { code: 2, stderr: /exactly one node name/ })
  t.match(await cli(['node', 'n', '--out', '/tmp/x']), { code: 2, stderr: /--ca DIR is required/ })
  t.match(await cli(['ca', '--out', '/tmp/x', '--days', 'ten']), { code: 2, stderr: /bad --days/ })
})

t.test('netkernel certs ca / node: PEM files, keys at mode 0600, usable by node:tls', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'nk-certs-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const caDir = join(dir, 'ca')
  const out = join(dir, 'certs')
  const made = await cli(['ca', '--out', caDir, '--cn', 'cli CA', '--days', '30'])
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, /ca\.pem.*ca\.key/)
  t.equal(mode(join(caDir, 'ca.key')), 0o600, 'the CA key is private')
  t.equal(mode(join(caDir, 'ca.pem')), 0o644)
  const caPem = readFileSync(join(caDir, 'ca.pem'), 'utf8')
  const caCert = x509(caPem)
  t.equal(caCert.subject, 'CN=cli CA')
  t.equal(caCert.ca, true)

  const name = `foo@${host}`
  const node = await cli(['node', name, '--ca', caDir, '--out', out, '--host', '127.0.0.1', '--host', 'localhost'])
  t.equal(node.code, 0, node.stderr)
  t.equal(mode(join(out, `${name}.key`)), 0o600, 'the node key is private')
  const leaf = x509(readFileSync(join(out, `${name}.pem`), 'utf8'))
  t.equal(leaf.subject, `CN=${name}`)
  t.equal(leaf.subjectAltName, `URI:netkernel:${name}, DNS:${host}, IP Address:127.0.0.1, DNS:localhost`)
  t.ok(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey), 'signed by the CA on disk')
  const files = { ca: caPem, cert: readFileSync(join(out, `${name}.pem`)), key: readFileSync(join(out, `${name}.key`)) }
  t.equal(tls(files).name, 'tls', 'the files load into tls()')

  const short = await cli(['node', 'bar', '--ca', caDir, '--out', out])
  t.equal(short.code, 0, short.stderr)
  t.match(short.stdout, `for node bar@${host}`)
  t.equal(mode(join(out, `bar@${host}.key`)), 0o600)

  // Existing files are kept unless --force.
  const again = await cli(['ca', '--out', caDir])
  t.equal(again.code, 1)
  t.match(again.stderr, /already exist.*--force/)
  t.equal(readFileSync(join(caDir, 'ca.pem'), 'utf8'), caPem, 'the CA is untouched')
  const forced = await cli(['ca', '--out', caDir, '--force'])
  t.equal(forced.code, 0, forced.stderr)
  t.not(readFileSync(join(caDir, 'ca.pem'), 'utf8'), caPem, 'replaced with --force')
  t.equal(mode(join(caDir, 'ca.key')), 0o600)

  t.match(await cli(['node', 'a@b@c', '--ca', caDir, '--out', out]), { code: 2, stderr: /illegal node name "a@b@c"/ })
})

t.test('netkernel certs node: a --ca without a usable CA is a usage error naming the file and what it expected', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'nk-certs-ca-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'out')
  const pointer = '\\(netkernel certs --help lists the options\\)\\n$'
  const node = (caDir: string) => cli(['node', 'foo', '--ca', caDir, '--out', out])

  const nowhere = join(dir, 'nowhere')
  t.match(await node(nowhere), {
    code: 2,
    stdout: '',
    stderr: new RegExp(
      `^netkernel certs: --ca ${esc(nowhere)}: cannot read ${esc(join(nowhere, 'ca.pem'))} \\(no such file\\); ` +
        `expected the CA's certificate there, as 'netkernel certs ca --out ${esc(nowhere)}' writes it\\n${pointer}`,
    ),
  })

  const half = join(dir, 'half')
  t.equal((await cli(['ca', '--out', half])).code, 0)
  rmSync(join(half, 'ca.key'))
  t.match(await node(half), {
    code: 2,
    stderr: new RegExp(
      `^netkernel certs: --ca ${esc(half)}: cannot read ${esc(join(half, 'ca.key'))} \\(no such file\\); expected the CA's private key`,
    ),
  })
  t.match(await node(join(half, 'ca.pem')), {
    code: 2,
    stderr: /^netkernel certs: --ca \S+ca\.pem is a file: give the directory that holds ca\.pem and ca\.key\n/,
  })

  const junk = join(dir, 'junk')
  t.equal((await cli(['ca', '--out', junk])).code, 0)
  writeFileSync(join(junk, 'ca.pem'), 'not a certificate\n')
  t.match(await node(junk), {
    code: 2,
    stderr: new RegExp(`^netkernel certs: --ca ${esc(junk)}: ${esc(join(junk, 'ca.pem'))} is not the CA's certificate in PEM`),
  })

  const leaf = join(dir, 'leaf')
  t.equal((await cli(['ca', '--out', leaf])).code, 0)
  writeFileSync(join(leaf, 'ca.pem'), issueNodeCert(ca, 'bar@h').cert)
  t.match(await node(leaf), { code: 2, stderr: /ca\.pem is not a CA certificate \(CN=bar@h\)/ })

  const mixed = join(dir, 'mixed')
  t.equal((await cli(['ca', '--out', mixed])).code, 0)
  writeFileSync(join(mixed, 'ca.key'), ca.key)
  t.match(await node(mixed), {
    code: 2,
    stderr: new RegExp(`${esc(join(mixed, 'ca.key'))} is not the private key of ${esc(join(mixed, 'ca.pem'))}`),
  })

  // As a person runs it: two lines, no stack.
  const run = await runCli(['certs', 'node', 'foo', '--ca', '/nonexistent-ca', '--out', out])
  t.equal(run.code, 2)
  t.match(
    run.err,
    new RegExp(`^netkernel certs: --ca /nonexistent-ca: cannot read /nonexistent-ca/ca\\.pem \\(no such file\\)[^\\n]*\\n${pointer}`),
  )
  t.notMatch(run.err, /^\s+at /m, 'no stack trace')
})
