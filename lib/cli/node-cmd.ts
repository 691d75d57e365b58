// `netkernel node`: a headless node hosting the seed's modules, until SIGINT/SIGTERM or
// until its standard input closes (when started with --stdin-lifeline by a parent).
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import { seedModules } from './seed-modules.js'
import { TRANSPORT_HELP, UsageError, transportArgs, transportFromOptions, type BuiltTransport } from './transport-options.js'

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

/** A port option: undefined when absent; throws UsageError when not a port number. */
export function portOption(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`bad ${what} '${v}'`)
  return n
}

export async function nodeMain(argv: string[]): Promise<number> {
  let v
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        sname: { type: 'string' }, name: { type: 'string' }, cookie: { type: 'string' },
        hidden: { type: 'boolean' }, 'epmd-port': { type: 'string' }, 'port-min': { type: 'string' },
        'port-max': { type: 'string' }, 'listen-host': { type: 'string' }, 'stdin-lifeline': { type: 'boolean' },
        help: { type: 'boolean' }, ...transportArgs,
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
  let epmdPort: number | undefined
  let portMin: number | undefined
  let portMax: number | undefined
  let built: BuiltTransport
  try {
    epmdPort = portOption(v['epmd-port'], '--epmd-port')
    portMin = portOption(v['port-min'], '--port-min')
    portMax = portOption(v['port-max'], '--port-max') ?? portMin
    if (portMin === undefined && portMax !== undefined) throw new UsageError('--port-max needs --port-min')
    if (portMin !== undefined && portMax !== undefined && portMax < portMin) throw new UsageError(`--port-max ${portMax} is below --port-min ${portMin}`)
    if (v['listen-host'] === '') throw new UsageError('--listen-host: give an address (e.g. 127.0.0.1)')
    built = transportFromOptions(v)
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message)
    throw err
  }
  let node
  try {
    node = await startNode({
      name: (v.name ?? v.sname) as string,
      longNames: v.name !== undefined,
      cookie: v.cookie,
      hidden: v.hidden,
      transport: built.transport,
      ...(built.auth ? { auth: built.auth } : {}),
      epmd: epmdPort === undefined ? {} : { port: epmdPort },
      listen: { ...(v['listen-host'] === undefined ? {} : { host: v['listen-host'] }), portMin, portMax },
      modules: seedModules,
    })
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
