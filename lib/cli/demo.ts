// `netkernel demo` (npm run demo): the seed's examples across separate OS processes — a port
// mapper, nodes bar and baz in their own processes, and foo here — each step printed like
// an Erlang shell transcript. Everything it starts, it stops.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import { startEpmd } from '../epmd/daemon.js'
import { shortHostname } from '../kernel/node-name.js'
import { seedModules } from './seed-modules.js'
import type { Pid } from '../terms/pid.js'

const HELP = `usage: netkernel demo

Starts a port mapper on a free loopback port, nodes bar and baz as separate OS processes
and node foo in this one, then runs the seed's examples: remote spawn, the echo server and
the frequency server. Prints each step; stops everything at the end.`

function startChild(name: string, cookie: string, epmdPort: number): { child: ChildProcess; ready: Promise<void> } {
  const main = process.argv[1] as string
  const child = spawn(process.execPath, [...process.execArgv, main, 'node', '--sname', name, '--cookie', cookie, '--epmd-port', String(epmdPort), '--stdin-lifeline'], {
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
  return { child, ready }
}

export async function demoMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean' } } })
  if (values.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const say = (line: string): void => { process.stdout.write(line + '\n') }
  const host = shortHostname()
  const cookie = randomBytes(12).toString('hex')
  const epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
  say(`$ netkernel epmd --port ${epmd.port}        # the port mapper, on a free loopback port`)
  const children = ['bar', 'baz'].map(n => {
    say(`$ netkernel node --sname ${n} --epmd-port ${epmd.port} &   # a separate OS process`)
    return startChild(n, cookie, epmd.port)
  })
  let foo: Awaited<ReturnType<typeof startNode>> | undefined
  try {
    await Promise.all(children.map(c => c.ready))
    foo = await startNode({ name: 'foo', cookie, epmd: { port: epmd.port, autoStart: false }, modules: seedModules })
    const bar = `bar@${host}`
    const baz = `baz@${host}`
    const f = foo
    let n = 1
    const prompt = (expr: string): void => say(`(${f.name})${n++}> ${expr}`)
    const done = new Promise<void>((resolve, reject) => {
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
    await done
    say('\ndemo finished: stopping foo, bar, baz and the port mapper')
    return 0
  } finally {
    await foo?.stop()
    for (const { child } of children) {
      child.stdin!.end()
      if (child.exitCode === null && child.signalCode === null) {
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await once(child, 'exit')
        clearTimeout(t)
      }
    }
    await epmd.close()
  }
}
