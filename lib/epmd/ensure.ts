// ensureEpmd: make sure a port mapper answers on a local port, starting one that outlives the
// calling process if none does (as `erl` starts `epmd -daemon`). The started daemon is a
// detached OS process running daemon-main with the same loader flags as this process, so it
// works from the TypeScript sources (tap, tsx) and from the built dist alike. Two callers
// racing end with one daemon: the loser's listen fails with EADDRINUSE, it exits, and its
// caller re-checks.

import process from 'node:process'
import { spawn } from 'node:child_process'
import { EpmdError, abortError } from '../errors.js'
import { childLogger, silentLogger, type Logger } from '../logger.js'
import { listNames } from './client.js'
import { isLoopbackAddress } from './daemon.js'
import { DAEMON_MAIN_FLAG, daemonMainFile, type DaemonMainMessage } from './daemon-main.js'

export interface EnsureEpmdOptions {
  /** Where to look for the port mapper; must be this host (default '127.0.0.1'). */
  host?: string
  port: number
  /** Where a started daemon listens (default '0.0.0.0', as epmd). */
  listenHost?: string
  logger?: Logger
  signal?: AbortSignal
  /** Bound on the whole operation in ms (default 15000: a daemon may have to load TypeScript). */
  timeout?: number
  /** Called with the pid of each daemon process this call spawns. */
  onSpawn?: (pid: number) => void
}

/**
 * The node flags a child needs to load this code the way the current process does (the
 * TypeScript loader under tap or tsx), minus what makes no sense in a daemon (eval, inspect,
 * test runner, watch mode).
 */
export function inheritedExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--inspect-port') {
      i++
      continue
    }
    if (
      a === '-i' ||
      a === '-c' ||
      /^--(inspect|debug|test|watch|eval|print|input-type|interactive|check|cpu-prof|heap-prof|prof)/.test(a)
    ) {
      continue
    }
    out.push(a)
  }
  return out
}

/** The command line of a detached daemon for a port. */
export function daemonCommand(port: number, hosts: readonly string[]): { command: string; args: string[] } {
  const args = [...inheritedExecArgv(), daemonMainFile, DAEMON_MAIN_FLAG, '--port', String(port)]
  for (const h of hosts) args.push('--host', h)
  return { command: process.execPath, args }
}

export type SpawnOutcome = { status: 'listening'; pid: number } | { status: 'in-use'; pid: number }

/**
 * Start one detached daemon process and wait for its report. Resolves 'in-use' when another
 * port mapper holds the port; rejects (killing the child) on failure, timeout or abort.
 */
export function spawnDetachedEpmd(opts: {
  port: number
  hosts: readonly string[]
  signal: AbortSignal
  onSpawn?: (pid: number) => void
}): Promise<SpawnOutcome> {
  const { command, args } = daemonCommand(opts.port, opts.hosts)
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    windowsHide: true,
  })
  if (child.pid !== undefined) opts.onSpawn?.(child.pid)
  return new Promise<SpawnOutcome>((resolve, reject) => {
    const pid = child.pid ?? -1
    const done = (err: unknown, outcome?: SpawnOutcome): void => {
      opts.signal.removeEventListener('abort', onAbort)
      child.off('message', onMessage)
      child.off('exit', onExit)
      child.off('error', onError)
      if (child.connected) child.disconnect()
      child.unref()
      if (err !== undefined) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        reject(err)
      } else resolve(outcome!)
    }
    const onMessage = (msg: DaemonMainMessage): void => {
      if (msg.type === 'listening') done(undefined, { status: 'listening', pid })
      else if (msg.type === 'in-use') done(undefined, { status: 'in-use', pid })
      else done(new EpmdError('ERR_EPMD', `the port mapper daemon for port ${opts.port} failed: ${msg.message}`))
    }
    const onExit = (code: number | null, signal: string | null): void => {
      // Exit 0 without a report: it lost the race before it could say so.
      if (code === 0) done(undefined, { status: 'in-use', pid })
      else done(new EpmdError('ERR_EPMD', `the port mapper daemon for port ${opts.port} exited (${signal ?? `code ${code}`})`))
    }
    const onError = (err: Error): void =>
      done(new EpmdError('ERR_EPMD', `cannot start a port mapper daemon: ${err.message}`, { cause: err }))
    const onAbort = (): void => done(opts.signal.reason)
    if (opts.signal.aborted) {
      onAbort()
      return
    }
    opts.signal.addEventListener('abort', onAbort, { once: true })
    child.on('message', onMessage)
    child.on('exit', onExit)
    child.on('error', onError)
  })
}

async function answers(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  try {
    await listNames({ host, port, signal, timeout: 2000 })
    return true
  } catch (err) {
    if (signal.aborted) throw signal.reason
    if ((err as EpmdError).code === 'ERR_EPMD_UNREACHABLE') return false
    throw new EpmdError('ERR_EPMD', `port ${host}:${port} is in use by something that is not a port mapper`, {
      cause: err,
    })
  }
}

/**
 * Make sure a port mapper answers at host:port: 'running' if one already did (or another
 * caller's won the race), 'started' if this call started it. The started daemon is a detached
 * process that outlives the caller; stop it with killEpmd (KILL_REQ).
 */
export async function ensureEpmd(opts: EnsureEpmdOptions): Promise<'running' | 'started'> {
  const host = opts.host ?? '127.0.0.1'
  const what = `ensuring a port mapper on ${host}:${opts.port}`
  if (opts.signal?.aborted) throw abortError(opts.signal, what)
  const log = childLogger(opts.logger ?? silentLogger, { component: 'epmd' })
  const timeout = opts.timeout ?? 15_000
  const ac = new AbortController()
  const timer = setTimeout(
    () => ac.abort(new EpmdError('ERR_EPMD', `no port mapper answered on ${host}:${opts.port} within ${timeout} ms`)),
    timeout,
  )
  const onAbort = (): void => ac.abort(abortError(opts.signal!, what))
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      if (await answers(host, opts.port, ac.signal)) return 'running'
      if (!(isLoopbackAddress(host) || host === 'localhost')) {
        throw new EpmdError(
          'ERR_EPMD_UNREACHABLE',
          `no port mapper answers at ${host}:${opts.port}, and it is not a local address to start one on`,
        )
      }
      log.info({ port: opts.port }, 'no port mapper running: starting one')
      const outcome = await spawnDetachedEpmd({
        port: opts.port,
        hosts: [opts.listenHost ?? '0.0.0.0'],
        signal: ac.signal,
        onSpawn: opts.onSpawn,
      })
      if (outcome.status === 'listening') {
        log.info({ port: opts.port, pid: outcome.pid }, 'port mapper started')
        if (await answers(host, opts.port, ac.signal)) return 'started'
      }
      // Lost a race (or the winner vanished at once): look again.
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  }
}
