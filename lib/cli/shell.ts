// `netkernel shell`: erl's shell in JavaScript — a node plus a REPL in which the seed's
// transcripts work as written: S = self(), spawn('bar@vm', 's', 'send_node', [S]), flush().
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import { seedModules } from './seed-modules.js'
import { loadModules } from './shell-modules.js'
import { ShellProcess } from './shell-process.js'
import { shellContext } from './shell-context.js'
import { startShellRepl } from './shell-repl.js'
import { formatTerm } from './shell-format.js'
import { nodeArgs, nodeOptionsFromCli, nodePortsFromCli, type NodeCliPorts } from './node-options-from-cli.js'
import { TRANSPORT_HELP, UsageError, transportArgs, transportFromOptions, type BuiltTransport } from './transport-options.js'

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
  --listen-host ADDR   address to listen on (default 0.0.0.0)
  --port-min N         listen inside a fixed port range ...
  --port-max N         ... (for firewalls)
  --module FILE        load FILE's exported modules (objects of functions) as spawnable
                       code on this node; repeatable. The seed's modules s and frequency
                       are always there.
  --history FILE       command history (default: ~/.netkernel_history; '' for none)
  --help

${TRANSPORT_HELP}

examples:
  netkernel shell --sname foo --transport tls --tls-ca ca/ca.pem \\
      --tls-cert certs/foo@host.pem --tls-key certs/foo@host.key --tls-cert-auth
  netkernel shell --sname foo --transport ssh --ssh-gateway work=nk@10.0.8.2 \\
      --ssh-key ~/.ssh/id_ed25519 --ssh-known-hosts ~/.ssh/known_hosts --ssh-target 127.0.0.1

In the shell, help() or .help lists the shell functions; Ctrl+D, .exit or q() stops the
node gracefully (its peers see nodedown).`

function fail(msg: string): number {
  process.stderr.write(`netkernel shell: ${msg}\n`)
  return 2
}

export async function shellMain(argv: string[]): Promise<number> {
  let v
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        ...nodeArgs, module: { type: 'string', multiple: true }, history: { type: 'string' },
        help: { type: 'boolean' }, ...transportArgs,
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
  let ports: NodeCliPorts
  let built: BuiltTransport
  try {
    ports = nodePortsFromCli(v)
    built = transportFromOptions(v)
  } catch (err) {
    if (err instanceof UsageError) return fail(`${err.message}\n(netkernel shell --help lists the options)`)
    throw err
  }

  const modules = { ...seedModules, ...(await loadModules(v.module ?? [])) }
  let node
  try {
    node = await startNode(nodeOptionsFromCli(v, ports, built, modules))
  } catch (err) {
    await built.close()
    throw err
  }

  let print: (line: string) => void = line => process.stdout.write(line + '\n')
  const shell = await ShellProcess.start(node, {
    onRestart: (old, reason, now) => print(`*** shell process ${old.toString()} exited (${formatTerm(reason)}); self() is now ${now.toString()}`),
  })
  const session = await startShellRepl({
    name: node.name,
    historyFile: v.history ?? join(homedir(), '.netkernel_history'),
    banner: `netkernel shell: node ${node.name}${node.address ? ` on port ${node.address.port}` : ''} (${built.summary}), modules ${Object.keys(modules).sort().join(', ')}\n` +
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
    await built.close()
  }
  return 0
}
