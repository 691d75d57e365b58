// `netkernel node` and `netkernel shell` with --transport tls / ssh: a node started from the
// command line with the tls options (files as `netkernel certs` writes them) talks to an
// in-process TLS node and refuses one whose certificate another CA issued; a shell with the
// tls options, and one with the ssh options (through a real sshd), reach nodes over them.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tls } from '../transports/tls.js'
import { tlsCert } from '../auth/tls-cert.js'
import { full, inProcess, nextEvent, testEpmd, testNode } from './fixtures/cluster.js'
import { testPki } from './fixtures/tls-certs.js'
import { writeCertFiles, type CertFiles } from './fixtures/cert-files.js'
import { startShell, tmuxSkip } from './fixtures/shell-tmux.js'
import { sshdSkip, startSshd } from './fixtures/sshd.js'

const MAIN = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

interface Teardown {
  teardown(fn: () => unknown): void
}

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-cli-tr-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const pki = testPki('cli transports CA')

function writeCerts(dir: string, names: string[]): CertFiles {
  return writeCertFiles(pki, dir, names)
}

/** `netkernel node ...args` as a child process; resolves with its first line once it listens. Stopped at teardown. */
async function startNodeCmd(t: Teardown, args: string[]): Promise<{ child: ChildProcess; line: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'node', '--stdin-lifeline', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  t.teardown(async () => {
    child.stdin!.end()
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await once(child, 'exit')
      clearTimeout(timer)
    }
  })
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`netkernel node did not start: ${out}${err}`)), 20_000)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /^node .* listening on port .*$/m.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[0])
      }
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`netkernel node exited with ${code}: ${out}${err}`))
    })
  })
  return { child, line, output: () => out }
}

t.test("netkernel node --transport tls --tls-cert-auth: a TLS node reaches it; another CA's certificate is refused", async t => {
  const epmd = await testEpmd(t)
  const dir = tempDir(t)
  const bar = full('bar')
  const files = writeCerts(dir, [bar])
  const cmd = await startNodeCmd(t, [
    '--sname',
    'bar',
    '--cookie',
    'not-used-by-tls-cert',
    '--epmd-port',
    String(epmd.port),
    '--listen-host',
    '127.0.0.1',
    '--transport',
    'tls',
    '--tls-ca',
    files.ca,
    '--tls-cert',
    files.cert(bar),
    '--tls-key',
    files.key(bar),
    '--tls-cert-auth',
  ])
  t.match(
    cmd.line,
    new RegExp(`^node ${esc(bar)} listening on port \\d+ \\(tls, tls-cert auth\\)$`),
    'it says it listens over tls with tls-cert auth',
  )

  // foo: tls() + tlsCert(), another cookie: the certificates alone authenticate.
  const foo = await testNode(t, epmd, { name: 'foo', cookie: 'another-cookie', transport: pki.transport(full('foo')), auth: tlsCert() })
  const up = nextEvent<[string, { transport: string }]>(foo, 'nodeup', n => n === bar)
  const got = await inProcess(foo, async proc => {
    await proc.spawn(bar, 's', 'send_node', [proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.equal(got, bar, 's:send_node ran on the command-line node and answered over TLS')
  t.equal((await up)[1].transport, 'tls', 'the connection is TLS')
  const seen = new RegExp(`nodeup ${esc(full('foo'))} \\(tls\\)`)
  for (const deadline = Date.now() + 5000; !seen.test(cmd.output()) && Date.now() < deadline;) await new Promise(r => setTimeout(r, 20))
  t.match(cmd.output(), seen, 'the command-line node saw foo come up over tls')

  // A node whose certificate another CA issued is refused by the command-line node.
  const other = testPki('some other CA')
  const oc = other.node(full('eve'))
  const eve = await testNode(t, epmd, { name: 'eve', transport: tls({ ca: pki.ca.cert, cert: oc.cert, key: oc.key }), auth: tlsCert() })
  const refused = nextEvent<[string | undefined, { code: string }]>(eve, 'connectError', n => n === bar)
  t.equal(await eve.connect(bar), false, 'eve cannot connect')
  t.equal((await refused)[1].code, 'ERR_CERT_UNTRUSTED', 'refused: its certificate is not from the cluster CA')
})

const tmux = tmuxSkip()
if (tmux) t.comment(`skipping the shell's terminal tests: ${tmux}`)

t.test('netkernel shell --transport tls --tls-cert-auth-cookie reaches a TLS node', { skip: tmux }, async t => {
  const epmd = await testEpmd(t)
  const dir = tempDir(t)
  const sh1 = full('sh1')
  const files = writeCerts(dir, [sh1])
  const bar = await testNode(t, epmd, { name: 'tbar', transport: pki.transport(full('tbar')), auth: tlsCert({ cookie: true }) })
  const sh = await startShell(t, [
    '--sname',
    'sh1',
    '--cookie',
    'test-cookie',
    '--epmd-port',
    String(epmd.port),
    '--history',
    '',
    '--transport',
    'tls',
    '--tls-ca',
    files.ca,
    '--tls-cert',
    files.cert(sh1),
    '--tls-key',
    files.key(sh1),
    '--tls-cert-auth-cookie',
  ])
  await sh.waitFor(new RegExp(`node ${esc(sh1)} on port \\d+ \\(tls, tls-cert \\+ cookie auth\\)[\\s\\S]*${esc(`(${sh1})1>`)}$`))
  t.pass('the banner names the transport and the authentication')
  const up = nextEvent<[string, { transport: string }]>(bar, 'nodeup', n => n === sh1)
  await sh.line(`net_adm.ping('${bar.name}')`)
  await sh.waitFor(/net_adm\.ping\('[^']+'\)\n'pong'\n/)
  t.equal((await up)[1].transport, 'tls', 'bar saw the shell come up over tls')
  await sh.line(`spawn('${bar.name}', 's', 'send_node', [self()])`)
  await sh.waitFor(new RegExp(`\\n<${esc(bar.name)}\\.\\d+\\.\\d+>\\n`))
  await sh.line('receive(5000)')
  await sh.waitFor(new RegExp(`receive\\(5000\\)\\n'${esc(bar.name)}'\\n`))
  t.pass('a remote spawn over TLS answered')
  await sh.line('q()')
  t.equal(await sh.exitStatus(), 0)
})

const sshSkip = tmux || sshdSkip()
t.test('netkernel shell --transport ssh reaches a loopback-only node through sshd', { skip: sshSkip }, async t => {
  const sshd = await startSshd(t)
  const epmd = await testEpmd(t)
  // bar lives "behind" gateway gw: its name says @gw, it listens on 127.0.0.1 only.
  const bar = await testNode(t, epmd, { name: 'sbar@gw', connectAll: false })
  const sh2 = full('sh2')
  const before = sshd.logins()
  const sh = await startShell(t, [
    '--sname',
    'sh2',
    '--cookie',
    'test-cookie',
    '--epmd-port',
    String(epmd.port),
    '--history',
    '',
    '--transport',
    'ssh',
    '--ssh-gateway',
    `gw=${sshd.username}@${sshd.host}:${sshd.port}`,
    '--ssh-key',
    sshd.clientKey.file,
    '--ssh-known-hosts',
    sshd.knownHostsFile,
    '--ssh-target',
    '127.0.0.1',
  ])
  await sh.waitFor(
    new RegExp(`\\(ssh via gateway gw \\(${esc(`${sshd.username}@${sshd.host}:${sshd.port}`)}\\)\\)[\\s\\S]*${esc(`(${sh2})1>`)}$`),
  )
  const up = nextEvent<[string, { transport: string }]>(bar, 'nodeup', n => n === sh2)
  await sh.line(`net_adm.ping('${bar.name}')`)
  await sh.waitFor(/net_adm\.ping\('[^']+'\)\n'pong'\n/)
  await up
  t.equal(sshd.logins() - before, 1, 'the shell logged in to the sshd once')
  await sh.line(`spawn('${bar.name}', 's', 'send_node', [self()])`)
  await sh.waitFor(new RegExp(`\\n<${esc(bar.name)}\\.\\d+\\.\\d+>\\n`))
  await sh.line('receive(5000)')
  await sh.waitFor(new RegExp(`receive\\(5000\\)\\n'${esc(bar.name)}'\\n`))
  t.pass('a remote spawn through the SSH gateway answered')
  const down = nextEvent(bar, 'nodedown', n => n === sh2)
  await sh.line('q()')
  t.equal(await sh.exitStatus(), 0)
  await down
})
