// `netkernel shell`: erl's shell in JavaScript — a node plus a REPL in which the seed's
// transcripts work as written: S = self(), spawn('bar@vm', 's', 'send_node', [S]), flush().
import process from 'node:process'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ShellProcess } from './shell-process.js'
import { shellContext } from './shell-context.js'
import { startShellRepl, type ShellRepl } from './shell-repl.js'
import { shellFormat } from './shell-format.js'
import { nodeArgs } from './node-options-from-cli.js'
import { TRANSPORT_HELP, transportArgs } from './transport-options.js'
import { UsageError, parseArgsMessage, usageError } from './usage.js'
import { startCliNode } from './cli-node.js'
import { onStopSignals } from './stop-signals.js'

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
  --no-global          no global name server (startNode's global: false; hidden toward
                       Erlang/OTP peers, whose global would otherwise wait for it)
  --busy-wait W        poll for W after traffic instead of sleeping (startNode's busyWait):
                       none, short, medium, long, or µs; lower latency for CPU
  --erlang             also speak Erlang/OTP's distribution protocol (startNode's
                       erlang: true): erl and iex nodes can connect, and values
                       print as erl prints them: {hi,<foo@vm.1.0>}, <<"text">>
  --elixir             the same, with values printed as iex prints them:
                       {:hi, #PID<foo@vm.1.0>}, "text", %{a: 1}, [verbose: true]
  --epmd-port N        port mapper port (default: ERL_EPMD_PORT, else 4369)
  --no-start-epmd      do not start a port mapper when none answers (erl -start_epmd false)
  --listen-host ADDR   address to listen on (default 0.0.0.0)
  --port-min N         listen inside a fixed port range ...
  --port-max N         ... (for firewalls)
  --module FILE        load FILE's exported modules (objects of functions) as spawnable
                       code on this node; NAME=FILE loads FILE's module as NAME;
                       repeatable. The seed's modules s and frequency are always there.
  --history FILE       command history (default: ~/.netkernel_history; '' for none)
  --verbose, -v        the library's log on stderr (also: NETKERNEL_LOG=debug|info|warn|error)
  --help

${TRANSPORT_HELP}

examples:
  netkernel shell --sname foo --transport tls --tls-ca ca/ca.pem \\
      --tls-cert certs/foo@host.pem --tls-key certs/foo@host.key --tls-cert-auth
  netkernel shell --sname foo --transport ssh --ssh-gateway work=nk@10.0.8.2 \\
      --ssh-key ~/.ssh/id_ed25519 --ssh-known-hosts ~/.ssh/known_hosts --ssh-target 127.0.0.1

In the shell, help() or .help lists the shell functions; Ctrl+D, .exit or q() stops the
node gracefully (its peers see nodedown), as do the end of a piped or redirected input
and SIGTERM. A trailing '.' after an expression, as in erl (flush().), is accepted.
atom('ok') and tuple(a, b) make Erlang atoms and tuples; a JavaScript string reaches
an Erlang node as a binary: send(['server', 'e@vm'], tuple(atom('hi'), self())) is
{server, 'e@vm'} ! {hi, self()}; rpc.call('e@vm', 'erlang', 'node', []) calls it.
Refused connections (a wrong cookie, a certificate naming another node, another
transport) are printed on stderr, once per peer and reason.`

const fail = (msg: string): number => usageError('shell', msg)

export async function shellMain(argv: string[]): Promise<number> {
  let v
  try {
    ;({ values: v } = parseArgs({
      args: argv,
      options: {
        ...nodeArgs,
        history: { type: 'string' },
        elixir: { type: 'boolean' },
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
  if ((v.sname === undefined) === (v.name === undefined))
    return fail(v.sname === undefined ? 'give --sname NAME or --name NAME@HOST.DOMAIN' : 'give one of --sname and --name, not both')

  // --elixir is --erlang with iex's printing.
  if (v.elixir === true) v.erlang = true

  // Before the REPL is up, notices go straight to stderr; then above the prompt.
  let notice = (line: string): void => {
    process.stderr.write(line + '\n')
  }
  const say = (line: string): void => notice(line)
  // SIGINT too when the input is not a terminal (in a terminal, Ctrl+C stops a wait).
  const signals = onStopSignals(['SIGTERM', 'SIGHUP', ...(process.stdin.isTTY ? [] : ['SIGINT' as const])], { say })
  try {
    let cli
    try {
      cli = await startCliNode(v, { say })
    } catch (err) {
      if (err instanceof UsageError) return fail(err.message)
      throw err
    }
    const { node, built, modules } = cli
    const erlang = v.erlang === true
    const format = shellFormat(v.elixir === true ? 'elixir' : erlang)

    let print: (line: string) => void = line => process.stdout.write(line + '\n')
    const shell = await ShellProcess.start(node, {
      onRestart: (old, reason, now) =>
        print(`*** shell process ${old.toString()} exited (${format.reason(reason)}); self() is now ${now.toString()}`),
    })
    let session: ShellRepl | undefined
    try {
      session = await startShellRepl({
        name: node.name,
        historyFile: v.history ?? join(homedir(), '.netkernel_history'),
        banner:
          `netkernel shell: node ${node.name}${node.address ? ` on port ${node.address.port}` : ''} (${built.summary}${erlang ? ', Erlang/OTP distribution too' : ''}${v.elixir === true ? ', values as iex prints them' : ''}), modules ${Object.keys(modules).sort().join(', ')}\n` +
          'help() lists the shell functions; Ctrl+D, .exit or q() stops the node.',
        format,
        context: io => {
          print = io.print
          return shellContext(node, shell, io, { erlang, format })
        },
      })
      const s = session
      notice = line => s.notice(line)
      void signals.stopped.then(() => s.close())
      await session.closed
    } finally {
      shell.stop()
      await node.stop()
      await built.close()
    }
    return 0
  } finally {
    signals.dispose()
  }
}
