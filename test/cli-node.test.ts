// `netkernel node` hosts modules from files (--module FILE, --module NAME=FILE) that other
// nodes spawn; and it refuses to start with tls-cert authentication when its certificate
// names another node (every peer would refuse it), saying so.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { full, inProcess, testEpmd, testNode } from './fixtures/cluster.js'
import { startCli } from './fixtures/cli-process.js'
import { testPki } from './fixtures/tls-certs.js'
import { writeCertFiles } from './fixtures/cert-files.js'

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-cli-node-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('--module FILE and --module NAME=FILE: other nodes spawn their functions', async t => {
  const epmd = await testEpmd(t)
  const dir = tempDir(t)
  writeFileSync(join(dir, 'greeter.mjs'), "export default { hello: (proc, to) => proc.send(to, ['hello from', proc.node]) }\n")
  writeFileSync(join(dir, 'mods.mjs'), 'export const counter = { count: (proc, to, n) => proc.send(to, n + 1) }\n')
  const bar = startCli(t, [
    'node',
    '--sname',
    'mbar',
    '--cookie',
    'test-cookie',
    '--epmd-port',
    String(epmd.port),
    '--listen-host',
    '127.0.0.1',
    '--stdin-lifeline',
    '--module',
    `hi=${join(dir, 'greeter.mjs')}`,
    '--module',
    join(dir, 'mods.mjs'),
  ])
  await bar.waitFor('stdout', /listening on port/)
  const foo = await testNode(t, epmd, { name: 'mfoo' })
  const mbar = full('mbar')
  t.same(
    await inProcess(foo, async proc => {
      await proc.spawn(mbar, 'hi', 'hello', [proc.self])
      return proc.receive(undefined, { timeout: 10_000 })
    }),
    ['hello from', mbar],
    'module hi (greeter.mjs, by NAME=FILE) ran on the command-line node',
  )
  t.equal(
    await inProcess(foo, async proc => {
      await proc.spawn(mbar, 'counter', 'count', [proc.self, 41])
      return proc.receive(undefined, { timeout: 10_000 })
    }),
    42,
    "module counter (mods.mjs's named export) ran",
  )
  t.equal(
    await inProcess(foo, async proc => {
      await proc.spawn(mbar, 's', 'send_node', [proc.self])
      return proc.receive(undefined, { timeout: 10_000 })
    }),
    mbar,
    "the seed's modules are still there",
  )
  bar.child.stdin.end()
  t.equal(await bar.exited(), 0)

  const bad = startCli(t, ['node', '--sname', 'mbad', '--epmd-port', String(epmd.port), '--module', join(dir, 'missing.mjs')])
  t.equal(await bad.exited(), 2, 'a module file that cannot be loaded: exit status 2')
  t.match(bad.stderr(), /netkernel node: --module: cannot load module file .*missing\.mjs/)

  const slow = startCli(t, ['node', '--sname', 'mslow', '--epmd-port', String(epmd.port), '--busy-wait', 'forever'])
  t.equal(await slow.exited(), 2, 'a --busy-wait that is neither a preset nor µs: exit status 2')
  t.match(slow.stderr(), /netkernel node: bad --busy-wait 'forever'/)
})

t.test('--no-global: the node runs no global name server; without it, it does', async t => {
  const epmd = await testEpmd(t)
  const foo = await testNode(t, epmd, { name: 'gfoo' })
  for (const [name, flags, has] of [
    ['gbar', [], true],
    ['gbaz', ['--no-global'], false],
  ] as const) {
    const cli = startCli(t, [
      'node',
      '--sname',
      name,
      '--cookie',
      'test-cookie',
      '--epmd-port',
      String(epmd.port),
      '--stdin-lifeline',
      ...flags,
    ])
    await cli.waitFor('stdout', /listening on port/)
    const stats = await foo.stats(full(name))
    t.equal(
      stats.registered.includes('global_name_server'),
      has,
      `${name} ${flags.join(' ')}: global_name_server ${has ? 'runs' : 'absent'}`,
    )
    t.ok(stats.registered.includes('pg'), `${name}: the pg scope runs either way`)
    cli.child.stdin.end()
    t.equal(await cli.exited(), 0)
  }
})

t.test('--tls-cert-auth with a certificate naming another node: refuses to start, says why', async t => {
  const epmd = await testEpmd(t)
  const files = writeCertFiles(testPki('cli node CA'), tempDir(t), [full('someone-else'), full('cgood')])
  const common = ['--cookie', 'c', '--epmd-port', String(epmd.port), '--listen-host', '127.0.0.1', '--stdin-lifeline']
  const wrong = startCli(t, ['node', '--sname', 'cbar', ...common, ...files.tlsArgs(full('someone-else')), '--tls-cert-auth'])
  t.equal(await wrong.exited(), 2, 'exit status 2')
  t.match(
    wrong.stderr(),
    new RegExp(
      `netkernel node: --tls-cert \\S+someone-else@\\S+\\.pem does not name this node cbar@\\S+ \\(CN someone-else@[^;]+; SAN [^)]*URI:netkernel:someone-else@`,
    ),
    'it names the file, this node and what the certificate names',
  )
  t.match(wrong.stderr(), /every peer would refuse it/)
  t.notMatch(wrong.stdout(), /listening/, 'it never listened')
  t.same(epmd.names(), [], 'nothing registered with the port mapper')

  // Its own certificate: it starts.
  const good = startCli(t, ['node', '--sname', 'cgood', ...common, ...files.tlsArgs(full('cgood')), '--tls-cert-auth'])
  await good.waitFor('stdout', /listening on port \d+ \(tls, tls-cert auth\)/)
  good.child.stdin.end()
  t.equal(await good.exited(), 0)
})
