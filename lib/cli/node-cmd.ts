// `netkernel node`: a headless node hosting the seed's modules, until SIGINT/SIGTERM or
// until its standard input closes (when started with --stdin-lifeline by a parent).
import { parseArgs } from 'node:util'
import { startNode } from '../node.js'
import { seedModules } from './seed-modules.js'

const HELP = `usage: netkernel node (--sname NAME | --name NAME@HOST.DOMAIN) [options]

  --sname NAME         short node name (NAME@<short hostname>)
  --name NAME@HOST     long node name (fully qualified host)
  --cookie C           cookie (default: ~/.erlang.cookie)
  --hidden             a hidden node
  --epmd-port N        port mapper port (default: ERL_EPMD_PORT, else 4369)
  --port-min N         listen inside a fixed port range ...
  --port-max N         ... (for firewalls)
  --stdin-lifeline     stop when standard input closes
  --help`

export async function nodeMain(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      sname: { type: 'string' }, name: { type: 'string' }, cookie: { type: 'string' },
      hidden: { type: 'boolean' }, 'epmd-port': { type: 'string' }, 'port-min': { type: 'string' },
      'port-max': { type: 'string' }, 'stdin-lifeline': { type: 'boolean' }, help: { type: 'boolean' },
    },
  })
  if (v.help || (v.sname === undefined && v.name === undefined)) {
    process.stdout.write(HELP + '\n')
    return v.help ? 0 : 1
  }
  const portMin = v['port-min'] === undefined ? undefined : Number(v['port-min'])
  const node = await startNode({
    name: (v.name ?? v.sname) as string,
    longNames: v.name !== undefined,
    cookie: v.cookie,
    hidden: v.hidden,
    epmd: v['epmd-port'] === undefined ? {} : { port: Number(v['epmd-port']) },
    listen: { portMin, portMax: v['port-max'] === undefined ? portMin : Number(v['port-max']) },
    modules: seedModules,
  })
  process.stdout.write(`node ${node.name} listening on port ${node.address?.port}\n`)
  node.on('nodeup', n => process.stdout.write(`nodeup ${n}\n`))
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
  return 0
}
