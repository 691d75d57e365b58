// `netkernel node`: a headless node hosting the seed's modules (and --module's), until
// SIGINT/SIGTERM or until its standard input closes (when started with --stdin-lifeline by a
// parent). Refused connections are said on stderr; --verbose adds the library's log.
import process from 'node:process'
import { parseArgs } from 'node:util'
import { TRANSPORT_HELP, transportArgs } from './transport-options.js'
import { UsageError, parseArgsMessage, usageError } from './usage.js'
import { nodeArgs } from './node-options-from-cli.js'
import { startCliNode } from './cli-node.js'
import { onStopSignals } from './stop-signals.js'

const HELP = `usage: netkernel node (--sname NAME | --name NAME@HOST.DOMAIN) [options]

  --sname NAME         short node name (NAME@<short hostname>)
  --name NAME@HOST     long node name (fully qualified host)
  --cookie C           cookie (default: ~/.erlang.cookie)
  --hidden             a hidden node
  --no-global          no global name server (startNode's global: false; hidden toward
                       Erlang/OTP peers, whose global would otherwise wait for it)
  --busy-wait W        poll for W after traffic instead of sleeping (startNode's busyWait):
                       none, short, medium, long, or µs; lower latency for CPU
  --erlang             also speak Erlang/OTP's distribution protocol (startNode's
                       erlang: true): erl and iex nodes can connect, spawn and rpc:call
  --epmd-port N        port mapper port (default: ERL_EPMD_PORT, else 4369)
  --no-start-epmd      do not start a port mapper when none answers (erl -start_epmd false)
  --listen-host ADDR   address to listen on (default 0.0.0.0; 127.0.0.1 for a node that
                       others reach only through an SSH gateway on its host)
  --port-min N         listen inside a fixed port range ...
  --port-max N         ... (for firewalls)
  --module FILE        host the modules FILE exports (objects of functions) besides the
                       seed's s and frequency; NAME=FILE hosts FILE's module as NAME;
                       repeatable
  --stdin-lifeline     stop when standard input closes
  --verbose, -v        the library's log on stderr (also: NETKERNEL_LOG=debug|info|warn|error)
  --help

Refused connections (a wrong cookie, a certificate naming another node, another
transport) are printed on stderr, once per peer and reason.

${TRANSPORT_HELP}

examples:
  netkernel node --sname bar --module ./counter.mjs
  netkernel node --sname bar --transport tls --tls-ca ca/ca.pem \\
      --tls-cert certs/bar@host.pem --tls-key certs/bar@host.key --tls-cert-auth
  netkernel node --sname bar --listen-host 127.0.0.1     # reached through this host's sshd`

const fail = (msg: string): number => usageError('node', msg)

export async function nodeMain(argv: string[]): Promise<number> {
  let v
  try {
    ;({ values: v } = parseArgs({
      args: argv,
      options: {
        ...nodeArgs,
        'stdin-lifeline': { type: 'boolean' },
        help: { type: 'boolean' },
        ...transportArgs,
      },
    }))
  } catch (err) {
    return fail(parseArgsMessage(err))
  }
  if (v.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  if (v.sname === undefined && v.name === undefined) return fail('give --sname NAME or --name NAME@HOST.DOMAIN')
  if (v.sname !== undefined && v.name !== undefined) return fail('give one of --sname and --name, not both')
  const say = (line: string): void => {
    process.stderr.write(line + '\n')
  }
  const signals = onStopSignals(['SIGINT', 'SIGTERM'])
  try {
    let cli
    try {
      cli = await startCliNode(v, { say })
    } catch (err) {
      if (err instanceof UsageError) return fail(err.message)
      throw err
    }
    const { node, built } = cli
    process.stdout.write(`node ${node.name} listening on port ${node.address?.port} (${built.summary})\n`)
    node.on('nodeup', (n, i) => process.stdout.write(`nodeup ${n} (${i.transport})\n`))
    node.on('nodedown', (n, i) => process.stdout.write(`nodedown ${n} (${i.reason})\n`))
    await new Promise<void>(resolve => {
      void signals.stopped.then(() => resolve())
      if (v['stdin-lifeline']) {
        process.stdin.once('end', resolve)
        process.stdin.once('close', resolve)
        process.stdin.resume()
      }
    })
    await node.stop()
    await built.close()
    if (v['stdin-lifeline']) process.stdin.destroy()
    return 0
  } finally {
    signals.dispose()
  }
}
