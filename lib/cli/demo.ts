// `netkernel demo` (npm run demo): the seed's examples across separate OS processes — a port
// mapper, nodes bar and baz in their own processes, and foo here — each step printed like
// an Erlang shell transcript. It runs them over plain TCP (cookie), again over TLS with client
// certificates naming the nodes, and over SSH through a private sshd when one can run here.
// Everything it starts, it stops: children, port mappers, sshd, temp dirs.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import type { Node } from '../node.js'
import type { StartNodeOptions } from '../node-options.js'
import { startEpmd } from '../epmd/daemon.js'
import { shortHostname } from '../kernel/node-name.js'
import { tls } from '../../transports/tls.js'
import { ssh, type SshTransport } from '../../transports/ssh.js'
import { tlsCert } from '../../auth/tls-cert.js'
import { seedModules } from './seed-modules.js'
import { startDemoSshd } from './demo-sshd.js'
import type { Pid } from '../terms/pid.js'

const ROUNDS = ['tcp', 'tls', 'ssh'] as const
type RoundName = (typeof ROUNDS)[number]

const HELP = `usage: netkernel demo [--transports tcp,tls,ssh] [--sshd PATH]

Starts a port mapper on a free loopback port, nodes bar and baz as separate OS processes
and node foo in this one, then runs the seed's examples: remote spawn, the echo server and
the frequency server. Prints each step; stops everything at the end. It does so once per
transport:

  tcp   plain TCP, cookie authentication
  tls   TLS 1.3 with client certificates naming the nodes (a CA and node certificates made
        in a temp dir, as 'netkernel certs' would; bar and baz started with --transport tls,
        foo with tls() + tlsCert())
  ssh   bar and baz listen on 127.0.0.1 only; foo reaches them through a private sshd (its
        own config and keys in a temp dir, on a free loopback port). Skipped, saying why,
        when sshd is not installed or cannot run here.

options:
  --transports LIST   which rounds, in order (default tcp,tls,ssh)
  --sshd PATH         the sshd to run (default: sshd on PATH, else /usr/sbin/sshd)
  --help`

type Say = (line: string) => void

function startChild(name: string, cookie: string, epmdPort: number, extra: string[]): { child: ChildProcess; ready: Promise<void> } {
  const main = process.argv[1] as string
  const child = spawn(process.execPath, [...process.execArgv, main, 'node', '--sname', name, '--cookie', cookie, '--epmd-port', String(epmdPort), '--stdin-lifeline', ...extra], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const ready = new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('listening on port')) resolve()
    })
    child.once('exit', code => reject(new Error(`node ${name} exited with ${code} before it was ready`)))
  })
  ready.catch(() => {})
  return { child, ready }
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.stdin!.end()
  if (child.exitCode === null && child.signalCode === null) {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await once(child, 'exit')
    clearTimeout(t)
  }
}

/** The seed's three examples, from a process on foo, against bar and baz. */
function runExamples(f: Node, bar: string, baz: string, say: Say): Promise<void> {
  let n = 1
  const prompt = (expr: string): void => say(`(${f.name})${n++}> ${expr}`)
  return new Promise<void>((resolve, reject) => {
    f.spawn(async proc => {
      try {
        say('\n%% 1. Remote spawn: s:send_node(Self) runs on bar and sends back its node name')
        prompt(`S = self()`)
        say(String(proc.self))
        prompt(`spawn('${bar}', 's', 'send_node', [S])`)
        say(String(await proc.spawn(bar, 's', 'send_node', [proc.self])))
        prompt('flush()')
        say(`Shell got '${String(await proc.receive(undefined, { timeout: 10_000 }))}'`)

        say('\n%% 2. The echo server: s:s() registered as server on bar')
        prompt(`spawn('${bar}', 's', 'server', [])`)
        say(String(await proc.spawn(bar, 's', 'server', [])))
        prompt(`send(['server', '${bar}'], ['hi', self()])`)
        proc.send(['server', bar], ['hi', proc.self])
        prompt('flush()')
        say(`Shell got '${String(await proc.receive(m => m === 'hi', { timeout: 10_000 }))}'`)

        say('\n%% 3. The frequency server on bar; clients on foo and baz, through call/reply')
        prompt(`spawn('${bar}', 'frequency', 'init', [[10, 11, 12, 13, 14, 15]])`)
        say(String(await proc.spawn(bar, 'frequency', 'init', [[10, 11, 12, 13, 14, 15]])))
        await new Promise(r => setTimeout(r, 100))
        for (const [node, count] of [[f.name, 2], [baz, 3]] as const) {
          prompt(`spawn('${node}', 'frequency', 'client', ['${bar}', ${count}, self()])`)
          say(String(await proc.spawn(node, 'frequency', 'client', [bar, count, proc.self])))
        }
        for (let i = 0; i < 2; i++) {
          const [, from, got] = (await proc.receive(m => Array.isArray(m) && m[0] === 'client_done', { timeout: 10_000 })) as [string, string, unknown[]]
          say(`client on ${from} allocated ${JSON.stringify(got)} and freed them`)
        }
        prompt('nodes()')
        say(JSON.stringify(f.nodes()))
        proc.send(['frequency', bar], 'stop')
        proc.send(['server', bar], 'stop')
        resolve()
      } catch (err) {
        reject(err as Error)
      }
    }) as Pid
  })
}

/** What a round adds to the common steps. */
interface RoundSetup {
  /** Extra `netkernel node` arguments for bar and baz: [as run, as printed]. */
  childArgs(name: string): [string[], string[]]
  /** foo's transport and authenticator. */
  foo: Pick<StartNodeOptions, 'transport' | 'auth' | 'listen'>
  /** Printed before foo starts. */
  fooLine: string
  /** Runs after the port mapper is up, before the children start: a reason = skip the round. */
  check?(epmdPort: number): Promise<string | undefined>
  /** Printed after the examples. */
  after?(f: Node, seen: Map<string, string>): void
  /** What else there is to stop, for the closing line. */
  alsoStopping: string[]
  cleanup(): Promise<void>
}

const q = (s: string): string => (/^[\w@%+=:,./$-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

export async function demoMain(argv: string[]): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options: { help: { type: 'boolean' }, transports: { type: 'string' }, sshd: { type: 'string' } } }))
  } catch (err) {
    process.stderr.write(`netkernel demo: ${(err as Error).message}\n\n${HELP}\n`)
    return 2
  }
  if (values.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const asked = (values.transports ?? ROUNDS.join(',')).split(',').map(s => s.trim().toLowerCase()).filter(Boolean)
  const unknown = asked.filter(r => !(ROUNDS as readonly string[]).includes(r))
  if (unknown.length > 0 || asked.length === 0) {
    process.stderr.write(`netkernel demo: --transports takes a comma-separated list of ${ROUNDS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}\n`)
    return 2
  }
  const rounds = [...new Set(asked)] as RoundName[]
  const say: Say = line => { process.stdout.write(line + '\n') }
  const host = shortHostname()
  const cookie = randomBytes(12).toString('hex')

  // Ctrl+C: exit through process.exit so that 'exit' handlers run (temp dirs, sshd); the
  // children stop when their standard input closes.
  const tempDirs = new Set<string>()
  const removeTempDirs = (): void => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
    tempDirs.clear()
  }
  const onSigint = (): void => process.exit(130)
  process.once('SIGINT', onSigint)
  process.once('exit', removeTempDirs)
  const tempDir = (what: string): string => {
    const d = mkdtempSync(join(tmpdir(), `nk-demo-${what}-`))
    tempDirs.add(d)
    return d
  }
  const dropTempDir = (d: string): void => {
    rmSync(d, { recursive: true, force: true })
    tempDirs.delete(d)
  }

  const ran: string[] = []
  const skipped: string[] = []
  try {
    for (const [i, round] of rounds.entries()) {
      const header = (text: string): void => say(`${i === 0 ? '' : '\n'}===== ${text} =====`)
      let setup: RoundSetup | { skipped: string }
      if (round === 'tcp') {
        header('TCP: plain TCP, cookie authentication')
        setup = { childArgs: () => [[], []], foo: {}, fooLine: '', alsoStopping: [], cleanup: async () => {} }
      } else if (round === 'tls') {
        header('TLS: TLS 1.3, client certificates name the nodes (tls() + tlsCert())')
        setup = await tlsSetup(tempDir('tls'), host, say, dropTempDir)
      } else {
        header('SSH: bar and baz listen on 127.0.0.1 only; foo reaches them through sshd')
        setup = await sshSetup(tempDir('ssh'), host, values.sshd, say, dropTempDir)
      }
      if ('skipped' in setup) {
        say(`SSH round skipped: ${setup.skipped}`)
        skipped.push(round)
        continue
      }
      const done = await runRound(round, setup, host, cookie, say)
      if (done === undefined) ran.push(round)
      else {
        say(`SSH round skipped: ${done}`)
        skipped.push(round)
      }
    }
    say(`\ndemo finished: ${ran.length ? `${ran.join(', ')} ran` : 'nothing ran'}${skipped.length ? `; skipped: ${skipped.join(', ')} (see above)` : ''}`)
    return 0
  } finally {
    process.off('SIGINT', onSigint)
    process.off('exit', removeTempDirs)
    removeTempDirs()
  }
}

/** One round: a port mapper, bar and baz as OS processes, foo here, the examples. Resolves with a skip reason, or undefined when it ran. */
async function runRound(round: RoundName, setup: RoundSetup, host: string, cookie: string, say: Say): Promise<string | undefined> {
  let epmd: Awaited<ReturnType<typeof startEpmd>> | undefined
  let children: Array<{ child: ChildProcess; ready: Promise<void> }> = []
  let foo: Node | undefined
  try {
    epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
    say(`$ netkernel epmd --port ${epmd.port}        # the port mapper, on a free loopback port`)
    const reason = await setup.check?.(epmd.port)
    if (reason !== undefined) return reason
    const port = epmd.port
    children = ['bar', 'baz'].map(n => {
      const [args, shown] = setup.childArgs(n)
      say(`$ netkernel node --sname ${n} --epmd-port ${port}${shown.length ? ' ' + shown.map(q).join(' ') : ''} &   # a separate OS process`)
      return startChild(n, cookie, port, args)
    })
    await Promise.all(children.map(c => c.ready))
    if (setup.fooLine) say(setup.fooLine)
    const seen = new Map<string, string>()
    foo = await startNode({ name: 'foo', cookie, epmd: { port, autoStart: false }, modules: seedModules, ...setup.foo })
    foo.on('nodeup', (n, info) => seen.set(n, String(info.transport)))
    await runExamples(foo, `bar@${host}`, `baz@${host}`, say)
    setup.after?.(foo, seen)
    say(`\n${round.toUpperCase()} round finished: stopping foo, bar, baz${setup.alsoStopping.map(s => `, ${s}`).join('')} and the port mapper`)
    return undefined
  } finally {
    await foo?.stop()
    await Promise.all(children.map(c => stopChild(c.child)))
    await setup.cleanup()
    await epmd?.close()
  }
}

async function tlsSetup(dir: string, host: string, say: Say, dropTempDir: (d: string) => void): Promise<RoundSetup> {
  // node-forge is loaded only when certificates are made.
  const { createCa, issueNodeCert } = await import('../certs/index.js')
  const D = (p: string): string => `$D/${p}`
  say(`$ D=$(mktemp -d)        # here ${dir}`)
  say(`$ netkernel certs ca --out $D/ca        # done in this process: createCa()`)
  const ca = createCa({ commonName: 'netkernel demo CA', days: 1 })
  mkdirSync(join(dir, 'ca'))
  mkdirSync(join(dir, 'certs'))
  writeFileSync(join(dir, 'ca', 'ca.pem'), ca.cert)
  writeFileSync(join(dir, 'ca', 'ca.key'), ca.key, { mode: 0o600 })
  const files = (n: string): { cert: string; key: string } => ({ cert: join(dir, 'certs', `${n}@${host}.pem`), key: join(dir, 'certs', `${n}@${host}.key`) })
  const pems = new Map<string, { cert: string; key: string }>()
  for (const n of ['foo', 'bar', 'baz']) {
    say(`$ netkernel certs node ${n}@${host} --ca $D/ca --out $D/certs --host 127.0.0.1 --days 1   # issueNodeCert()`)
    const c = issueNodeCert(ca, `${n}@${host}`, { hosts: ['127.0.0.1', 'localhost'], days: 1 })
    writeFileSync(files(n).cert, c.cert)
    writeFileSync(files(n).key, c.key, { mode: 0o600 })
    pems.set(n, c)
  }
  const foo = pems.get('foo')!
  return {
    childArgs: n => {
      const args = (p: (s: string) => string): string[] => [
        '--transport', 'tls', '--tls-ca', p(join(dir, 'ca', 'ca.pem')), '--tls-cert', p(files(n).cert), '--tls-key', p(files(n).key), '--tls-cert-auth',
      ]
      return [args(s => s), args(s => D(s.slice(dir.length + 1)))]
    },
    foo: { transport: tls({ ca: ca.cert, cert: foo.cert, key: foo.key }), auth: tlsCert() },
    fooLine: `%% foo, in this process: startNode({ name: 'foo', transport: tls({ ca, cert, key }), auth: tlsCert() })`,
    after: (f, seen) => {
      say(`%% foo's connections: ${f.nodes().map(n => `${n} over ${seen.get(n) ?? '?'}`).join(', ')}; each peer's certificate, issued by the demo CA, names it`)
    },
    alsoStopping: [],
    cleanup: async () => dropTempDir(dir),
  }
}

async function sshSetup(dir: string, host: string, sshdPath: string | undefined, say: Say, dropTempDir: (d: string) => void): Promise<RoundSetup | { skipped: string }> {
  const sshd = await startDemoSshd(dir, { sshd: sshdPath })
  if ('skipped' in sshd) {
    dropTempDir(dir)
    return sshd
  }
  let cleaned = false
  const cleanup = async (): Promise<void> => {
    if (cleaned) return
    cleaned = true
    await transport.close()
    await sshd.stop()
    dropTempDir(dir)
  }
  let transport: SshTransport
  try {
    transport = ssh({
      gateways: {
        [host]: {
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          privateKey: sshd.privateKey,
          hostKey: sshd.hostKeyFingerprint,
          target: '127.0.0.1',
          readyTimeout: 5000,
        },
      },
    })
  } catch (err) {
    await sshd.stop()
    dropTempDir(dir)
    return { skipped: `cannot use the sshd: ${(err as Error).message}` }
  }
  say(`$ D=$(mktemp -d)        # here ${dir}`)
  say(`$ ssh-keygen -t ed25519 -f $D/host_ed25519; ssh-keygen -t ed25519 -f $D/client_ed25519   # host and client keys`)
  say(`$ ${sshd.path} -D -e -f $D/sshd_config   # AllowTcpForwarding yes, only $D/client_ed25519.pub may log in; on ${sshd.host}:${sshd.port}, user ${sshd.username}`)
  const gatewayArg = `${host}=${sshd.username}@${sshd.host}:${sshd.port}`
  return {
    async check(epmdPort) {
      // Log in and reach the port mapper through the gateway once, before anything else runs.
      try {
        const s = await transport.dialPortMapper({ host, port: epmdPort }, { signal: AbortSignal.timeout(8000) })
        s.destroy()
        return undefined
      } catch (err) {
        const e = err as Error & { code?: string }
        return `cannot log in to the private sshd or forward through it (${e.code ? `${e.code}: ` : ''}${e.message}${sshd.tail() ? `; sshd: ${sshd.tail(2)}` : ''})`
      }
    },
    childArgs: () => [['--listen-host', '127.0.0.1'], ['--listen-host', '127.0.0.1']],
    foo: { transport, listen: { host: '127.0.0.1' } },
    fooLine: `%% foo, in this process, as 'netkernel shell --sname foo --transport ssh --ssh-gateway ${gatewayArg}\n` +
      `%%   --ssh-key $D/client_ed25519 --ssh-host-key ${sshd.hostKeyFingerprint} --ssh-target 127.0.0.1' would be:\n` +
      `%% startNode({ name: 'foo', transport: ssh({ gateways: { '${host}': { host, port, username, privateKey, hostKey, target: '127.0.0.1' } } }) })`,
    after: (f, seen) => {
      const logins = sshd.logins()
      say(`%% foo's connections: ${f.nodes().map(n => `${n} over ${seen.get(n) ?? '?'}`).join(', ')}; sshd accepted ${logins} login${logins === 1 ? '' : 's'}: ` +
        'one SSH connection carries the port-mapper lookups and both node connections')
    },
    alsoStopping: ['sshd'],
    cleanup,
  }
}
