// `netkernel epmd`: run the port mapper in the foreground, or query a running one, with the
// flags of Erlang's epmd (-names, -kill, -stop NAME, -port N, -address A).

import process from 'node:process'
import { parseArgs } from 'node:util'
import type { Writable } from 'node:stream'
import { NetkernelError } from '../errors.js'
import type { Logger } from '../logger.js'
import { killEpmd, listNames, stopName } from '../epmd/client.js'
import { relaxedFromEnv, startEpmd } from '../epmd/daemon.js'
import { EPMD_DEFAULT_PORT } from '../epmd/protocol.js'
import { parseArgsMessage, usageError } from './usage.js'

export const EPMD_HELP = `Usage: netkernel epmd [options]

Run the Erlang port mapper (EPMD protocol) in the foreground until SIGINT/SIGTERM or a
KILL request, or query a running one.

Options:
  --port N        port (default: env ERL_EPMD_PORT, else ${EPMD_DEFAULT_PORT})
  --address A     address(es) to listen on, comma-separated (default 0.0.0.0; a specific
                  address also gets the loopback, as epmd -address does)
  --relaxed       serve KILL while nodes are registered, and STOP (epmd
                  -relaxed_command_check; also when ERL_EPMD_RELAXED_COMMAND_CHECK
                  is set). Without it, as epmd: KILL answers NO while nodes are
                  registered and STOP is refused
  --strict        that check even when ERL_EPMD_RELAXED_COMMAND_CHECK is set
                  (not with --relaxed)
  --debug, -d     log every request to stderr
  --names         list the names registered with the port mapper on this host
  --kill          stop the port mapper on this host
  --stop NAME     drop the registration of NAME
  --help, -h      this text
`

export interface EpmdMainIo {
  stdout?: Writable
  stderr?: Writable
  env?: NodeJS.ProcessEnv
  /** Stops a foreground daemon (besides SIGINT/SIGTERM). */
  signal?: AbortSignal
}

function stderrLogger(out: Writable): Logger {
  const line =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      const text = typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`
      out.write(`epmd ${level}: ${text}\n`)
    }
  return { trace: line('trace'), debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
}

/** `netkernel epmd ...`; resolves with the exit code. */
export async function epmdMain(argv: string[], io: EpmdMainIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout
  const stderr = io.stderr ?? process.stderr
  const env = io.env ?? process.env
  const fail = (msg: string): number => usageError('epmd', msg, stderr)
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        address: { type: 'string' },
        relaxed: { type: 'boolean' },
        strict: { type: 'boolean' }, // the default, and over ERL_EPMD_RELAXED_COMMAND_CHECK
        debug: { type: 'boolean', short: 'd' },
        names: { type: 'boolean' },
        kill: { type: 'boolean' },
        stop: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    return fail(parseArgsMessage(err))
  }
  if (values.relaxed && values.strict) return fail('give at most one of --relaxed, --strict')
  if (values.help) {
    stdout.write(EPMD_HELP)
    return 0
  }
  const portText = values.port ?? env.ERL_EPMD_PORT ?? String(EPMD_DEFAULT_PORT)
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 0xffff)
    return fail(`bad port ${JSON.stringify(portText)}${values.port === undefined ? ' (from ERL_EPMD_PORT)' : ''}`)
  const target = { host: '127.0.0.1', port }
  const queries = [values.names, values.kill, values.stop !== undefined].filter(Boolean).length
  if (queries > 1) return fail('give at most one of --names, --kill, --stop')
  const hosts = (values.address ?? '0.0.0.0').split(/[\s,]+/).filter(Boolean)
  if (hosts.length === 0) return fail('--address: give an address (e.g. 127.0.0.1)')

  try {
    if (values.names) {
      const { epmdPort, names } = await listNames(target)
      stdout.write(`epmd: up and running on port ${epmdPort} with data:\n`)
      for (const n of names) stdout.write(`name ${n.name} at port ${n.port}\n`)
      return 0
    }
    if (values.kill) {
      const killed = await killEpmd(target)
      stdout.write(killed ? 'Killed\n' : 'Killing not allowed - living nodes in database.\n')
      return killed ? 0 : 1
    }
    if (values.stop !== undefined) {
      const stopped = await stopName({ ...target, name: values.stop })
      stdout.write(stopped ? 'STOPPED\n' : 'NOEXIST\n')
      return stopped ? 0 : 1
    }
  } catch (err) {
    // A port mapper that is not relaxed closes the connection on STOP_REQ, as Erlang's does.
    const hint =
      values.stop !== undefined && /closed the connection/.test((err as Error).message)
        ? " (a port mapper serves --stop only when it runs relaxed: netkernel epmd --relaxed, or ERL_EPMD_RELAXED_COMMAND_CHECK=1 in its environment, as Erlang's epmd)"
        : ''
    stderr.write(`netkernel epmd: ${(err as Error).message}${hint}\n`)
    return 1
  }

  const ac = new AbortController()
  const onSignal = (): void => ac.abort()
  const onAbort = (): void => ac.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  io.signal?.addEventListener('abort', onAbort, { once: true })
  if (io.signal?.aborted) ac.abort()
  try {
    const daemon = await startEpmd({
      host: hosts,
      port,
      relaxed: values.relaxed === true || (values.strict !== true && relaxedFromEnv(env)),
      signal: ac.signal,
      logger: values.debug ? stderrLogger(stderr) : undefined,
    })
    if (values.debug) stderr.write(`epmd: listening on ${daemon.addresses.map(a => `${a.host}:${a.port}`).join(', ')}\n`)
    await daemon.closed
    return 0
  } catch (err) {
    if (ac.signal.aborted && !(err instanceof NetkernelError && err.code !== 'ERR_ABORTED')) return 0
    stderr.write(`netkernel epmd: ${(err as Error).message}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    io.signal?.removeEventListener('abort', onAbort)
  }
}
