// `netkernel demo` (npm run demo): the seed's examples across separate OS processes — a port
// mapper, nodes bar and baz in their own processes, and foo here — each step printed like
// an Erlang shell transcript. It runs them over plain TCP (cookie), again over TLS with client
// certificates naming the nodes, and over SSH through a private sshd when one can run here.
// Everything it starts, it stops: children, port mappers, sshd, temp dirs.
import process from 'node:process'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import type { Node } from '../node.js'
import { startEpmd } from '../epmd/daemon.js'
import { shortHostname } from '../node-name.js'
import { seedModules } from './seed-modules.js'
import { tlsSetup, sshSetup, q, type RoundSetup, type Say } from './demo-rounds.js'
import type { Pid } from '../terms/pid.js'
import { parseArgsMessage, usageError } from './usage.js'

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

/**
 * A child node: it stops when its standard input (a pipe from here) closes, never starts a
 * port mapper of its own (the demo's ends with the demo), and its stderr is passed on only
 * while the demo runs — nothing is printed after the demo has exited.
 */
function startChild(
  name: string,
  cookie: string,
  epmdPort: number,
  extra: string[],
  quiet: () => boolean,
): { child: ChildProcess; ready: Promise<void> } {
  const main = process.argv[1] as string
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      main,
      'node',
      '--sname',
      name,
      '--cookie',
      cookie,
      '--epmd-port',
      String(epmdPort),
      '--no-start-epmd',
      '--stdin-lifeline',
      ...extra,
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  child.stderr!.on('data', (d: Buffer) => {
    if (!quiet()) process.stderr.write(d)
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
        for (const [node, count] of [
          [f.name, 2],
          [baz, 3],
        ] as const) {
          prompt(`spawn('${node}', 'frequency', 'client', ['${bar}', ${count}, self()])`)
          say(String(await proc.spawn(node, 'frequency', 'client', [bar, count, proc.self])))
        }
        for (let i = 0; i < 2; i++) {
          const [, from, got] = (await proc.receive(m => Array.isArray(m) && m[0] === 'client_done', { timeout: 10_000 })) as [
            string,
            string,
            unknown[],
          ]
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

const TEMP_PREFIX = 'nk-demo-'
/** Set on Ctrl+C: the children's stderr is no longer passed on. */
let interrupted = false

/** The temp dirs of earlier demos that were killed (their pid is gone). */
function removeStaleTempDirs(): void {
  let entries: string[]
  try {
    entries = readdirSync(tmpdir())
  } catch {
    return
  }
  for (const e of entries) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(e)
    if (m === null || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue
    rmSync(join(tmpdir(), e), { recursive: true, force: true })
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function demoMain(argv: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { help: { type: 'boolean' }, transports: { type: 'string' }, sshd: { type: 'string' } },
    }))
  } catch (err) {
    return usageError('demo', parseArgsMessage(err))
  }
  if (values.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const asked = (values.transports ?? ROUNDS.join(','))
    .split(',')
    .map(s => s.trim().toLowerCase())
    .filter(Boolean)
  const unknown = asked.filter(r => !(ROUNDS as readonly string[]).includes(r))
  if (unknown.length > 0 || asked.length === 0)
    return usageError(
      'demo',
      `--transports takes a comma-separated list of ${ROUNDS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`,
    )
  const rounds = [...new Set(asked)] as RoundName[]
  const say: Say = line => {
    process.stdout.write(line + '\n')
  }
  const host = shortHostname()
  const cookie = randomBytes(12).toString('hex')

  // Ctrl+C: exit through process.exit so that 'exit' handlers run (temp dirs, sshd); the
  // children stop when their standard input closes, silently. A demo killed outright
  // (kill -9) leaves its temp dirs: the next run removes them.
  removeStaleTempDirs()
  const tempDirs = new Set<string>()
  const removeTempDirs = (): void => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
    tempDirs.clear()
  }
  const onSigint = (): void => {
    interrupted = true
    process.exit(130)
  }
  process.once('SIGINT', onSigint)
  process.once('exit', removeTempDirs)
  const tempDir = (what: string): string => {
    const d = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-${what}-`))
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
    say(
      `\ndemo finished: ${ran.length ? `${ran.join(', ')} ran` : 'nothing ran'}${skipped.length ? `; skipped: ${skipped.join(', ')} (see above)` : ''}`,
    )
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
      say(
        `$ netkernel node --sname ${n} --epmd-port ${port}${shown.length ? ' ' + shown.map(q).join(' ') : ''} &   # a separate OS process`,
      )
      return startChild(n, cookie, port, args, () => interrupted)
    })
    await Promise.all(children.map(c => c.ready))
    if (setup.fooLine) say(setup.fooLine)
    const seen = new Map<string, string>()
    foo = await startNode({ name: 'foo', cookie, epmd: { port, autoStart: false }, modules: seedModules, ...setup.foo })
    foo.on('nodeup', (n, info) => seen.set(n, String(info.transport)))
    await runExamples(foo, `bar@${host}`, `baz@${host}`, say)
    setup.after?.(foo, seen)
    say(
      `\n${round.toUpperCase()} round finished: stopping foo, bar, baz${setup.alsoStopping.map(s => `, ${s}`).join('')} and the port mapper`,
    )
    return undefined
  } finally {
    await foo?.stop()
    await Promise.all(children.map(c => stopChild(c.child)))
    await setup.cleanup()
    await epmd?.close()
  }
}
