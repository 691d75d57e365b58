// `netkernel shell`: erl's shell in JavaScript — a node plus a REPL in which the seed's
// transcripts work as written: S = self(), spawn('bar@vm', 's', 'send_node', [S]), flush().
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import { tcp } from '../../transports/tcp.js'
import { seedModules } from './seed-modules.js'
import { loadModules } from './shell-modules.js'
import { ShellProcess } from './shell-process.js'
import { shellContext } from './shell-context.js'
import { startShellRepl } from './shell-repl.js'
import { formatTerm } from './shell-format.js'

const HELP = `usage: netkernel shell (--sname NAME | --name NAME@HOST.DOMAIN) [options]

An interactive node, as erl's shell, in JavaScript:

  (foo@vm)1> S = self()
  (foo@vm)2> spawn('bar@vm', 's', 'send_node', [S])
  (foo@vm)3> flush()
  Shell got 'bar@vm'

options:
  --sname NAME         short node name (NAME@<short hostname>)
  --name NAME@HOST     long node name (fully qualified host)
  --cookie C           cookie (default: ~/.erlang.cookie)
  --hidden             a hidden node
  --epmd-port N        port mapper port (default: ERL_EPMD_PORT, else 4369)
  --port-min N         listen inside a fixed port range ...
  --port-max N         ... (for firewalls)
  --transport NAME     tcp (the default; the only one so far)
  --module FILE        load FILE's exported modules (objects of functions) as spawnable
                       code on this node; repeatable. The seed's modules s and frequency
                       are always there.
  --history FILE       command history (default: ~/.netkernel_history; '' for none)
  --help

In the shell, help() or .help lists the shell functions; Ctrl+D, .exit or q() stops the
node gracefully (its peers see nodedown).`

const TRANSPORTS = { tcp: () => tcp() } as const

function fail(msg: string): number {
  process.stderr.write(`netkernel shell: ${msg}\n`)
  return 2
}

function port(v: string | undefined, what: string): number | undefined | Error {
  if (v === undefined) return undefined
  const n = Number(v)
  return Number.isInteger(n) && n >= 0 && n < 65536 ? n : new Error(`bad ${what} '${v}'`)
}

export async function shellMain(argv: string[]): Promise<number> {
  let v
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        sname: { type: 'string' }, name: { type: 'string' }, cookie: { type: 'string' },
        hidden: { type: 'boolean' }, 'epmd-port': { type: 'string' }, 'port-min': { type: 'string' },
        'port-max': { type: 'string' }, transport: { type: 'string' }, module: { type: 'string', multiple: true },
        history: { type: 'string' }, help: { type: 'boolean' },
      },
    }))
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${HELP}`)
  }
  if (v.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  if ((v.sname === undefined) === (v.name === undefined)) return fail(`give one of --sname and --name\n\n${HELP}`)
  const epmdPort = port(v['epmd-port'], '--epmd-port')
  const portMin = port(v['port-min'], '--port-min')
  const portMax = port(v['port-max'], '--port-max') ?? portMin
  for (const p of [epmdPort, portMin, portMax]) if (p instanceof Error) return fail(p.message)
  const transport = v.transport ?? 'tcp'
  if (!Object.hasOwn(TRANSPORTS, transport)) return fail(`unknown transport '${transport}' (available: ${Object.keys(TRANSPORTS).join(', ')})`)

  const modules = { ...seedModules, ...(await loadModules(v.module ?? [])) }
  const node = await startNode({
    name: (v.name ?? v.sname) as string,
    longNames: v.name !== undefined,
    cookie: v.cookie,
    hidden: v.hidden,
    transport: TRANSPORTS[transport as keyof typeof TRANSPORTS](),
    epmd: epmdPort === undefined ? {} : { port: epmdPort as number },
    listen: { portMin: portMin as number | undefined, portMax: portMax as number | undefined },
    modules,
  })

  let print: (line: string) => void = line => process.stdout.write(line + '\n')
  const shell = await ShellProcess.start(node, {
    onRestart: (old, reason, now) => print(`*** shell process ${old.toString()} exited (${formatTerm(reason)}); self() is now ${now.toString()}`),
  })
  const session = await startShellRepl({
    name: node.name,
    historyFile: v.history ?? join(homedir(), '.netkernel_history'),
    banner: `netkernel shell: node ${node.name}${node.address ? ` on port ${node.address.port}` : ''}, modules ${Object.keys(modules).sort().join(', ')}\n` +
      'help() lists the shell functions; Ctrl+D, .exit or q() stops the node.',
    context: io => {
      print = io.print
      return shellContext(node, shell, io)
    },
  })

  const onSignal = (): void => session.close()
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', ...(process.stdin.isTTY ? [] : ['SIGINT' as const])]
  for (const s of signals) process.once(s, onSignal)
  try {
    await session.closed
  } finally {
    for (const s of signals) process.off(s, onSignal)
    shell.stop()
    await node.stop()
  }
  return 0
}
