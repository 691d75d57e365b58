// `netkernel node`: a headless node hosting the seed's modules, until SIGINT/SIGTERM or
// until its standard input closes (when started with --stdin-lifeline by a parent).
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import { seedModules } from './seed-modules.js'
import { TRANSPORT_HELP, UsageError, transportArgs, transportFromOptions, type BuiltTransport } from './transport-options.js'
import { nodeArgs, nodeOptionsFromCli, nodePortsFromCli, type NodeCliPorts } from './node-options-from-cli.js'

const HELP = `usage: netkernel node (--sname NAME | --name NAME@HOST.DOMAIN) [options]

  --sname NAME         short node name (NAME@<short hostname>)
  --name NAME@HOST     long node name (fully qualified host)
  --cookie C           cookie (default: ~/.erlang.cookie)
  --hidden             a hidden node
  --epmd-port N        port mapper port (default: ERL_EPMD_PORT, else 4369)
  --listen-host ADDR   address to listen on (default 0.0.0.0; 127.0.0.1 for a node that
                       others reach only through an SSH gateway on its host)
  --port-min N         listen inside a fixed port range ...
  --port-max N         ... (for firewalls)
  --stdin-lifeline     stop when standard input closes
  --help

${TRANSPORT_HELP}

examples:
  netkernel node --sname bar --transport tls --tls-ca ca/ca.pem \\
      --tls-cert certs/bar@host.pem --tls-key certs/bar@host.key --tls-cert-auth
  netkernel node --sname bar --listen-host 127.0.0.1     # reached through this host's sshd`

function fail(msg: string): number {
  process.stderr.write(`netkernel node: ${msg}\n(netkernel node --help lists the options)\n`)
  return 2
}

export async function nodeMain(argv: string[]): Promise<number> {
  let v
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        ...nodeArgs, 'stdin-lifeline': { type: 'boolean' }, help: { type: 'boolean' }, ...transportArgs,
      },
    }))
  } catch (err) {
    return fail((err as Error).message)
  }
  if (v.help || (v.sname === undefined && v.name === undefined)) {
    process.stdout.write(HELP + '\n')
    return v.help ? 0 : 1
  }
  if (v.sname !== undefined && v.name !== undefined) return fail('give one of --sname and --name, not both')
  let ports: NodeCliPorts
  let built: BuiltTransport
  try {
    ports = nodePortsFromCli(v, { checkRange: true })
    built = transportFromOptions(v)
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message)
    throw err
  }
  let node
  try {
    node = await startNode(nodeOptionsFromCli(v, ports, built, seedModules))
  } catch (err) {
    await built.close()
    throw err
  }
  process.stdout.write(`node ${node.name} listening on port ${node.address?.port} (${built.summary})\n`)
  node.on('nodeup', (n, i) => process.stdout.write(`nodeup ${n} (${i.transport})\n`))
  node.on('nodedown', (n, i) => process.stdout.write(`nodedown ${n} (${i.reason})\n`))
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
    if (v['stdin-lifeline']) {
      process.stdin.once('end', resolve)
      process.stdin.once('close', resolve)
      process.stdin.resume()
    }
  })
  await node.stop()
  await built.close()
  return 0
}
