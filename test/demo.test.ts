// `netkernel demo` (behind `npm run demo`) runs the seed's examples across separate OS
// processes — over TCP, then TLS with client certificates, then SSH through a private sshd
// when one can run — prints each step, and leaves nothing running.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { requirePeers } from './fixtures/epmd-real.js'
import { sshdPath } from './fixtures/sshd.js'
import { runCli } from './fixtures/cli-process.js'

const MAIN = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))

function demo(args: string[] = []): Promise<{ code: number; out: string; err: string }> {
  return runCli(['demo', ...args], 60_000)
}

/** The demo's output split by its '===== ... =====' headers: TCP, TLS, SSH. */
function rounds(out: string): Record<string, string> {
  const parts: Record<string, string> = {}
  for (const m of out.matchAll(/^===== (\w+): [^\n]*=====\n([\s\S]*?)(?=^===== |^demo finished)/gm)) parts[m[1] as string] = m[2] as string
  return parts
}

function examplesRan(t: Test, text: string, what: string): void {
  t.match(text, /Shell got 'bar@[^']+'/, `${what} example 1: the remote node name came back`)
  t.match(text, /Shell got 'hi'/, `${what} example 2: the echo server answered`)
  t.match(text, /client on foo@\S+ allocated \[\["ok",\d+\]/, `${what} example 3: the client on foo got frequencies`)
  t.match(text, /client on baz@\S+ allocated \[\["ok",\d+\]/, `${what} example 3: the client on baz got frequencies`)
  t.match(text, /nodes\(\)\n\["bar@[^"]+","baz@[^"]+"\]/, `${what}: foo is connected to bar and baz`)
}

/** Resolves true when something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })
}

const isRoot = process.getuid?.() === 0
const sshd = sshdPath()

t.test('the demo runs the seed examples over tcp, tls and ssh and exits 0', async t => {
  const started = Date.now()
  const { code, out, err } = await demo()
  t.equal(code, 0, `exit code 0 (stderr: ${err.slice(-500)})`)
  t.ok(Date.now() - started < 30_000, `it took ${Date.now() - started} ms (under 30 s)`)
  const r = rounds(out)
  t.same(Object.keys(r), ['TCP', 'TLS', 'SSH'], 'one header per transport, in order')

  examplesRan(t, r.TCP ?? '', 'TCP')
  t.match(r.TCP, /\$ netkernel node --sname bar --epmd-port \d+ &/, 'TCP: bar started as before')

  const tls = r.TLS ?? ''
  examplesRan(t, tls, 'TLS')
  t.match(tls, /\$ netkernel certs ca --out \$D\/ca/, 'TLS: a CA was made')
  t.match(tls, /\$ netkernel certs node bar@\S+ --ca \$D\/ca --out \$D\/certs/, 'TLS: a certificate for bar')
  t.match(
    tls,
    /\$ netkernel node --sname bar --epmd-port \d+ --transport tls --tls-ca \$D\/ca\/ca\.pem --tls-cert \$D\/certs\/bar@\S+\.pem --tls-key \$D\/certs\/bar@\S+\.key --tls-cert-auth &/,
    'TLS: bar started with the tls options',
  )
  t.match(tls, /foo's connections: bar@\S+ over tls, baz@\S+ over tls/, 'TLS: foo reached bar and baz over tls')

  const ssh = r.SSH ?? ''
  const ran = /SSH round finished/.test(ssh)
  if (requirePeers || (sshd !== undefined && isRoot)) {
    t.ok(
      ran,
      `the SSH round ran (sshd ${sshd}, ${isRoot ? 'root' : 'not root'}${requirePeers ? ', NETKERNEL_REQUIRE_PEERS=1' : ''}): ${ran ? '' : ssh}`,
    )
  } else if (sshd === undefined) {
    t.match(ssh, /^SSH round skipped: sshd is not installed/m, 'no sshd: the SSH round says it was skipped and why')
  } else {
    t.ok(ran || /^SSH round skipped: \S.*$/m.test(ssh), 'not root: the SSH round ran, or says why it was skipped')
  }
  if (ran) {
    examplesRan(t, ssh, 'SSH')
    t.match(ssh, /\$ netkernel node --sname bar --epmd-port \d+ --listen-host 127\.0\.0\.1 &/, 'SSH: bar listens on loopback only')
    t.match(ssh, /foo's connections: bar@\S+ over ssh, baz@\S+ over ssh; sshd accepted 1 login\b/, 'SSH: both through one SSH login')
    t.match(out, /demo finished: tcp, tls, ssh ran\n/)
  } else {
    t.match(out, /demo finished: tcp, tls ran; skipped: ssh/)
  }

  // Nothing it started is left: temp dirs, port mappers, sshd.
  for (const [, dir] of out.matchAll(/# here (\/\S+)/g)) t.notOk(existsSync(dir as string), `${dir} was removed`)
  const ports = [...out.matchAll(/netkernel epmd --port (\d+)/g), ...out.matchAll(/on 127\.0\.0\.1:(\d+), user/g)].map(m => Number(m[1]))
  t.ok(ports.length >= 3, "the port mappers' (and sshd's) ports are printed")
  for (const p of ports) t.notOk(await listening(p), `nothing listens on 127.0.0.1:${p} any more`)
})

t.test('the SSH round says why it is skipped when sshd cannot run', async t => {
  const { code, out, err } = await demo(['--transports', 'ssh', '--sshd', '/nonexistent/sshd'])
  t.equal(code, 0, `exit code 0 (stderr: ${err.slice(-500)})`)
  t.match(out, /===== SSH: [^\n]+=====\nSSH round skipped: \/nonexistent\/sshd does not exist\n/)
  t.match(out, /demo finished: nothing ran; skipped: ssh/)
})

t.test('--transports chooses the rounds; a bad one is a usage error', async t => {
  const a = await demo(['--transports', 'tls'])
  t.equal(a.code, 0, `exit code 0 (stderr: ${a.err.slice(-500)})`)
  t.same(Object.keys(rounds(a.out)), ['TLS'], 'only the TLS round')
  examplesRan(t, rounds(a.out).TLS ?? '', 'TLS alone')
  const b = await demo(['--transports', 'tcp,udp'])
  t.equal(b.code, 2)
  t.match(b.err, /--transports takes a comma-separated list of tcp, tls, ssh \(not udp\)/)
})

t.test('demo --help', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
  t.match(out, /usage: netkernel demo \[--transports tcp,tls,ssh\]/)
})
