// The transport options `netkernel shell` and `netkernel node` share
// (lib/cli/transport-options.ts): good and bad combinations, gateway parsing, building the
// transports from files, and the commands' exit code 2 with a message for bad ones.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  UsageError,
  buildTransport,
  parseGateway,
  parseTransportOptions,
  transportArgs,
  transportFromOptions,
  type TransportValues,
} from '../lib/cli/transport-options.js'
import { testPki } from './fixtures/tls-certs.js'
import { runCli } from './fixtures/cli-process.js'

const FP = 'SHA256:' + 'A'.repeat(43)

/** What parseArgs makes of argv with the transport options. */
function values(argv: string[]): TransportValues {
  return parseArgs({ args: argv, options: transportArgs }).values
}

const parse = (argv: string[]): ReturnType<typeof parseTransportOptions> => parseTransportOptions(values(argv))

/** fn() must throw a UsageError whose message matches `re`. */
function usageError(t: Test, fn: () => unknown, re: RegExp, what: string): void {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  t.ok(err instanceof UsageError, `${what}: refused with a UsageError`)
  t.match((err as Error | undefined)?.message ?? '(accepted)', re, what)
}

function refuses(t: Test, argv: string[], re: RegExp, what: string): void {
  usageError(t, () => parse(argv), re, what)
}

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-cli-opts-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('good combinations', async t => {
  t.same(parse([]), { kind: 'tcp' }, 'no option: tcp')
  t.same(parse(['--transport', 'tcp']), { kind: 'tcp' })
  t.same(
    parse(['--transport', 'tls', '--tls-ca', 'ca.pem', '--tls-cert', 'n.pem', '--tls-key', 'n.key']),
    { kind: 'tls', ca: 'ca.pem', cert: 'n.pem', key: 'n.key', auth: 'cookie' },
    'tls with cookie auth',
  )
  t.equal(
    (parse(['--transport', 'tls', '--tls-ca', 'a', '--tls-cert', 'b', '--tls-key', 'c', '--tls-cert-auth']) as { auth: string }).auth,
    'tls-cert',
  )
  t.equal(
    (parse(['--transport', 'tls', '--tls-ca', 'a', '--tls-cert', 'b', '--tls-key', 'c', '--tls-cert-auth-cookie']) as { auth: string })
      .auth,
    'tls-cert+cookie',
  )
  t.equal(
    (
      parse(['--transport', 'tls', '--tls-ca', 'a', '--tls-cert', 'b', '--tls-key', 'c', '--tls-cert-auth', '--tls-cert-auth-cookie']) as {
        auth: string
      }
    ).auth,
    'tls-cert+cookie',
    'both flags: certificates and cookie',
  )
  t.same(
    parse([
      '--transport',
      'ssh',
      '--ssh-gateway',
      'work=nk@10.0.8.2:2222',
      '--ssh-gateway',
      'lab=lab.example',
      '--ssh-key',
      'id',
      '--ssh-host-key',
      FP,
      '--ssh-host-key',
      'SHA256:' + 'b'.repeat(43),
      '--ssh-target',
      '127.0.0.1',
    ]),
    {
      kind: 'ssh',
      gateways: [
        { key: 'work', host: '10.0.8.2', port: 2222, username: 'nk' },
        { key: 'lab', host: 'lab.example', port: 22 },
      ],
      keyFile: 'id',
      hostKeys: [FP, 'SHA256:' + 'b'.repeat(43)],
      target: '127.0.0.1',
    },
    'ssh: two gateways, two pinned keys, a target',
  )
  t.same(
    parse(['--transport', 'ssh', '--ssh-gateway', 'gw=127.0.0.1', '--ssh-key', 'id', '--ssh-known-hosts', '~/.ssh/known_hosts']),
    { kind: 'ssh', gateways: [{ key: 'gw', host: '127.0.0.1', port: 22 }], keyFile: 'id', knownHosts: '~/.ssh/known_hosts' },
    'ssh with known_hosts',
  )
})

t.test('gateways', async t => {
  t.same(parseGateway('work=nk@10.0.8.2:22'), { key: 'work', host: '10.0.8.2', port: 22, username: 'nk' })
  t.same(parseGateway('w=host'), { key: 'w', host: 'host', port: 22 })
  t.same(parseGateway('w=[::1]:2200'), { key: 'w', host: '::1', port: 2200 })
  t.same(parseGateway('w=u@::1'), { key: 'w', host: '::1', port: 22, username: 'u' }, 'a bare IPv6 address: port 22')
  t.same(parseGateway('10.0.8.2=10.0.8.2'), { key: '10.0.8.2', host: '10.0.8.2', port: 22 }, 'an address as the host key')
  for (const [bad, re] of [
    ['work', /expected HOSTKEY=\[USER@\]HOST\[:PORT\]/],
    ['=host', /expected HOSTKEY=/],
    ['a@b=host', /no '@'/],
    ['w=', /no HOST/],
    ['w=u@', /no HOST/],
    ['w=@host', /empty user name/],
    ['w=host:0', /bad port '0'/],
    ['w=host:99999', /bad port '99999'/],
    ['w=host:ssh', /bad port 'ssh'/],
    ['w=[::1', /expected HOSTKEY=/],
    ['w=[::1]x', /expected HOSTKEY=/],
  ] as const) {
    usageError(t, () => parseGateway(bad), re, `${bad} is refused`)
  }
})

t.test('missing and contradictory options', async t => {
  const tlsFiles = ['--tls-ca', 'a', '--tls-cert', 'b', '--tls-key', 'c']
  const sshOk = ['--ssh-gateway', 'gw=h', '--ssh-key', 'id', '--ssh-host-key', FP]
  refuses(t, ['--transport', 'udp'], /unknown transport 'udp' \(--transport tcp\|tls\|ssh\)/, 'an unknown transport')
  refuses(
    t,
    ['--transport', 'tls'],
    /--transport tls needs --tls-ca FILE, --tls-cert FILE and --tls-key FILE .*--tls-ca, --tls-cert and --tls-key missing/,
    'tls without files',
  )
  refuses(t, ['--transport', 'tls', '--tls-ca', 'a', '--tls-cert', 'b'], /--tls-key missing/, 'tls without a key')
  refuses(t, ['--transport', 'tls', '--tls-ca', '', '--tls-cert', 'b', '--tls-key', 'c'], /--tls-ca missing/, 'an empty file name')
  refuses(
    t,
    tlsFiles,
    /--tls-ca, --tls-cert and --tls-key are options of --transport tls \(no --transport was given: tcp\)/,
    'tls options without --transport',
  )
  refuses(t, ['--tls-cert-auth'], /--tls-cert-auth is an option of --transport tls/, '--tls-cert-auth alone')
  refuses(
    t,
    ['--transport', 'tcp', '--tls-cert-auth-cookie'],
    /--tls-cert-auth-cookie is an option of --transport tls \(the transport is tcp\)/,
    'tls flag with tcp',
  )
  refuses(
    t,
    ['--transport', 'ssh', ...sshOk, '--tls-cert-auth'],
    /--tls-cert-auth is an option of --transport tls \(the transport is ssh\)/,
    'tls flag with ssh',
  )
  refuses(
    t,
    ['--transport', 'tls', ...tlsFiles, '--ssh-target', '127.0.0.1'],
    /--ssh-target is an option of --transport ssh \(the transport is tls\)/,
    'ssh option with tls',
  )
  refuses(
    t,
    ['--ssh-gateway', 'gw=h', '--tls-ca', 'x'],
    /--tls-ca and --ssh-gateway are options of --transport tls \/ ssh/,
    'both kinds without --transport',
  )
  refuses(t, ['--transport', 'ssh'], /needs at least one --ssh-gateway/, 'ssh without a gateway')
  refuses(t, ['--transport', 'ssh', '--ssh-gateway', 'gw=h', '--ssh-host-key', FP], /needs --ssh-key FILE/, 'ssh without a key')
  refuses(
    t,
    ['--transport', 'ssh', '--ssh-gateway', 'gw=h', '--ssh-key', 'id'],
    /--ssh-host-key SHA256:.* or --ssh-known-hosts FILE: host keys are never accepted unverified/,
    'ssh without a host key',
  )
  refuses(
    t,
    ['--transport', 'ssh', ...sshOk, '--ssh-known-hosts', 'kh'],
    /either --ssh-host-key or --ssh-known-hosts, not both/,
    'pinned and known_hosts',
  )
  refuses(
    t,
    ['--transport', 'ssh', '--ssh-gateway', 'gw=h', '--ssh-key', 'id', '--ssh-host-key', 'md5:ab:cd'],
    /--ssh-host-key 'md5:ab:cd' is not a SHA256 fingerprint/,
    'a bad fingerprint',
  )
  refuses(t, ['--transport', 'ssh', ...sshOk, '--ssh-gateway', 'GW=other'], /two gateways for host 'GW'/, 'the same host key twice')
  refuses(
    t,
    ['--transport', 'ssh', ...sshOk, '--ssh-gateway', 'x=y:70000'],
    /--ssh-gateway 'x=y:70000': bad port '70000'/,
    'a bad gateway port',
  )
  refuses(t, ['--transport', 'ssh', ...sshOk, '--ssh-target', ' '], /--ssh-target: give an address/, 'an empty target')
})

t.test('building: files are read, the transports made; unreadable or bad files are usage errors', async t => {
  const dir = tempDir(t)
  const pki = testPki('cli options CA')
  const node = pki.node('opt@host')
  writeFileSync(join(dir, 'ca.pem'), pki.ca.cert)
  writeFileSync(join(dir, 'n.pem'), node.cert)
  writeFileSync(join(dir, 'n.key'), node.key)
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n')
  writeFileSync(join(dir, 'id'), 'an ssh key, read but only parsed when a gateway is used\n')
  writeFileSync(join(dir, 'known_hosts'), '# empty\n')
  const tlsArgs = (...extra: string[]): string[] => [
    '--transport',
    'tls',
    '--tls-ca',
    join(dir, 'ca.pem'),
    '--tls-cert',
    join(dir, 'n.pem'),
    '--tls-key',
    join(dir, 'n.key'),
    ...extra,
  ]

  const plain = transportFromOptions(values([]))
  t.equal(plain.transport.name, 'tcp')
  t.equal(plain.auth, undefined, 'tcp: the default authenticator (cookie)')
  const a = transportFromOptions(values(tlsArgs()))
  t.equal(a.transport.name, 'tls')
  t.equal(a.auth, undefined, 'tls without --tls-cert-auth: the cookie')
  t.equal(a.summary, 'tls, cookie auth')
  const b = transportFromOptions(values(tlsArgs('--tls-cert-auth')))
  t.equal(b.auth?.name, 'tls-cert', '--tls-cert-auth: tlsCert()')
  t.equal(b.summary, 'tls, tls-cert auth')
  const c = transportFromOptions(values(tlsArgs('--tls-cert-auth-cookie')))
  t.equal(c.summary, 'tls, tls-cert + cookie auth')

  const bad = (argv: string[], re: RegExp, what: string): void => {
    usageError(t, () => transportFromOptions(values(argv)), re, what)
  }
  bad(
    ['--transport', 'tls', '--tls-ca', join(dir, 'nope.pem'), '--tls-cert', join(dir, 'n.pem'), '--tls-key', join(dir, 'n.key')],
    /cannot read --tls-ca .*nope\.pem: no such file/,
    'a missing CA file',
  )
  bad(
    ['--transport', 'tls', '--tls-ca', join(dir, 'ca.pem'), '--tls-cert', join(dir, 'junk.pem'), '--tls-key', join(dir, 'n.key')],
    /--transport tls: tls\(\): cannot load the certificates or key/,
    'a file that is not a certificate',
  )
  bad(
    ['--transport', 'tls', '--tls-ca', join(dir, 'ca.pem'), '--tls-cert', join(dir, 'n.pem'), '--tls-key', dir],
    /cannot read --tls-key /,
    'a directory as the key',
  )

  const s = transportFromOptions(
    values([
      '--transport',
      'ssh',
      '--ssh-gateway',
      'work=nk@127.0.0.1:2222',
      '--ssh-key',
      join(dir, 'id'),
      '--ssh-host-key',
      FP,
      '--ssh-target',
      '127.0.0.1',
    ]),
  )
  t.equal(s.transport.name, 'ssh')
  t.equal(s.summary, 'ssh via gateway work (nk@127.0.0.1:2222)')
  await s.close()
  const k = buildTransport(
    parseTransportOptions(
      values([
        '--transport',
        'ssh',
        '--ssh-gateway',
        'a=h',
        '--ssh-gateway',
        'b=[::1]:2',
        '--ssh-key',
        join(dir, 'id'),
        '--ssh-known-hosts',
        join(dir, 'known_hosts'),
      ]),
    ),
  )
  t.equal(k.summary, 'ssh via gateways a (h:22), b ([::1]:2)')
  await k.close()
  bad(
    ['--transport', 'ssh', '--ssh-gateway', 'a=h', '--ssh-key', join(dir, 'missing'), '--ssh-host-key', FP],
    /cannot read --ssh-key .*missing: no such file/,
    'a missing ssh key',
  )
  bad(
    ['--transport', 'ssh', '--ssh-gateway', 'a=h', '--ssh-key', join(dir, 'id'), '--ssh-known-hosts', join(dir, 'missing')],
    /cannot read --ssh-known-hosts .*missing: no such file/,
    'a missing known_hosts',
  )
})

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCli(args)
}

t.test('the commands: exit code 2 and a message for bad options; --help documents them', async t => {
  for (const cmd of ['node', 'shell']) {
    const a = await run(
      [cmd, '--sname', 'x', '--transport', 'tls', '--tls-ca', 'ca.pem', '--history', ''].filter(
        a => cmd === 'shell' || !['--history', ''].includes(a),
      ),
    )
    t.equal(a.code, 2, `${cmd}: exit code 2`)
    t.match(
      a.err,
      new RegExp(
        `netkernel ${cmd}: --transport tls needs --tls-ca FILE, --tls-cert FILE and --tls-key FILE .*--tls-cert and --tls-key missing`,
      ),
      `${cmd}: says what is missing`,
    )
    const b = await run([cmd, '--sname', 'x', '--ssh-gateway', 'gw=h'])
    t.equal(b.code, 2)
    t.match(b.err, /--ssh-gateway is an option of --transport ssh/, `${cmd}: an ssh option without --transport ssh`)
    const c = await run([cmd, '--sname', 'x', '--transport', 'tls', '--tls-ca', '/nonexistent/ca.pem', '--tls-cert', 'b', '--tls-key', 'c'])
    t.equal(c.code, 2)
    t.match(c.err, /cannot read --tls-ca \/nonexistent\/ca\.pem: no such file/, `${cmd}: an unreadable file`)
    const d = await run([cmd, '--sname', 'x', '--bogus'])
    t.equal(d.code, 2, `${cmd}: an unknown option is exit code 2`)
    t.match(d.err, /Unknown option '--bogus'/)
    const h = await run([cmd, '--help'])
    t.equal(h.code, 0)
    for (const o of [
      '--transport tcp|tls|ssh',
      '--tls-ca FILE',
      '--tls-cert FILE',
      '--tls-key FILE',
      '--tls-cert-auth',
      '--tls-cert-auth-cookie',
      '--ssh-gateway HOSTKEY=[USER@]HOST[:PORT]',
      '--ssh-key FILE',
      '--ssh-host-key SHA256:...',
      '--ssh-known-hosts FILE',
      '--ssh-target ADDR',
      '--listen-host ADDR',
    ]) {
      t.ok(h.out.includes(o), `${cmd} --help documents ${o}`)
    }
  }
})
