// Entry of the detached port mapper that ensureEpmd starts: `node [loader flags] <this file>
// --netkernel-epmd-daemon --port N [--host A ...]`. It reports over IPC whether it listens,
// then runs until KILL_REQ, SIGTERM or SIGINT. Like `epmd -daemon`, it is relaxed (serves KILL
// with nodes registered, and STOP) only when ERL_EPMD_RELAXED_COMMAND_CHECK is set. When
// netkernel is bundled, this module's code sits in a chunk; daemonMainFile names that chunk
// and the guard at the bottom runs there.

import process from 'node:process'
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { relaxedFromEnv, startEpmd } from './daemon.js'

export const DAEMON_MAIN_FLAG = '--netkernel-epmd-daemon'

/**
 * Set by the CommonJS build (tsup.config.ts) to `__filename`: there `import.meta.url` is tsup's
 * shim, computed once in a shared chunk, so it named that chunk and the daemon ran nothing.
 */
declare const NETKERNEL_CJS_FILENAME: string | undefined

/** The file to run as the detached daemon (this module, wherever it was built to). */
export const daemonMainFile: string = typeof NETKERNEL_CJS_FILENAME === 'string' ? NETKERNEL_CJS_FILENAME : fileURLToPath(import.meta.url)

export type DaemonMainMessage =
  { type: 'listening'; port: number; pid: number } | { type: 'in-use'; port: number } | { type: 'error'; message: string }

/** Send a report to the process that spawned this one (over IPC), then let go of the channel. */
function reportToParent(msg: DaemonMainMessage): Promise<void> {
  const send = process.send?.bind(process)
  if (!send) return Promise.resolve()
  return new Promise(resolve => {
    send(msg, undefined, {}, () => {
      if (process.connected) process.disconnect()
      resolve()
    })
  })
}

/** Run the daemon until it is killed; resolves with the process exit code. */
export async function runDaemonMain(args: string[], opts: { report?: (msg: DaemonMainMessage) => Promise<void> } = {}): Promise<number> {
  const report = opts.report ?? reportToParent
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string', multiple: true } },
    strict: true,
  })
  const port = Number(values.port ?? 'NaN')
  let daemon
  try {
    daemon = await startEpmd({ port, host: values.host ?? '0.0.0.0', relaxed: relaxedFromEnv() })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'EADDRINUSE') {
      // Another port mapper won the race: as epmd does, leave quietly.
      await report({ type: 'in-use', port })
      return 0
    }
    await report({ type: 'error', message: (err as Error).message })
    return 1
  }
  const stop = (): void => void daemon.close()
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => {}) // detached: a vanished terminal is no reason to stop
  await report({ type: 'listening', port: daemon.port, pid: process.pid })
  await daemon.closed
  return 0
}

function isEntry(): boolean {
  if (process.argv[2] !== DAEMON_MAIN_FLAG || !process.argv[1]) return false
  try {
    return realpathSync(process.argv[1]) === realpathSync(daemonMainFile)
  } catch {
    return false
  }
}

if (isEntry()) {
  runDaemonMain(process.argv.slice(3)).then(
    code => process.exit(code),
    () => process.exit(1),
  )
}
