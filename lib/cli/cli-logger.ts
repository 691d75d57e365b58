// The command line's logger: the library's pino-style calls turned into one readable line
// each, `netkernel warn foo@vm: connection setup to bar@vm failed (code=ERR_AUTH_FAILED, ...)`,
// written to stderr. Its level comes from --verbose (debug) or NETKERNEL_LOG; silent otherwise.
import process from 'node:process'
import type { Logger } from '../logger.js'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export type LogThreshold = LogLevel | 'silent'

/** The level asked for: --verbose is debug; else NETKERNEL_LOG (trace|debug|info|warn|error|silent). */
export function logThreshold(verbose: boolean | undefined, env: string | undefined): { level: LogThreshold; problem?: string } {
  if (verbose) return { level: 'debug' }
  const v = env?.trim().toLowerCase()
  if (v === undefined || v === '') return { level: 'silent' }
  if (v === 'silent' || (LOG_LEVELS as readonly string[]).includes(v)) return { level: v as LogThreshold }
  return { level: 'silent', problem: `NETKERNEL_LOG='${env}' is not one of ${LOG_LEVELS.join(', ')}, silent; ignored` }
}

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s,=]/.test(v) ? JSON.stringify(v) : v
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code
    return JSON.stringify(`${typeof code === 'string' ? `${code}: ` : ''}${v.message}`)
  }
  if (typeof v === 'object' && v !== null && 'host' in v && 'port' in v) return `${String(v.host)}:${String(v.port)}`
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

/**
 * One line: level, the node logging, the message, then the other fields as key=value (a
 * `node` field of the call itself, naming a peer, as peer=).
 */
export function formatLogLine(level: LogLevel, bindings: Record<string, unknown>, fields: object, msg: string | undefined): string {
  const { node: peer, ...own } = fields as Record<string, unknown>
  const node = bindings.node ?? peer
  const rest: Record<string, unknown> = { ...bindings, ...(peer !== node ? { peer } : {}), ...own }
  delete rest.node
  const extra = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`)
  return `netkernel ${level} ${node === undefined ? '' : `${String(node)}: `}${msg ?? ''}${extra.length ? ` (${extra.join(', ')})` : ''}`
}

/** A Logger writing lines at `threshold` and above through `write`. */
export function cliLogger(threshold: LogThreshold, write: (line: string) => void, bindings: Record<string, unknown> = {}): Logger {
  const min = threshold === 'silent' ? LOG_LEVELS.length : LOG_LEVELS.indexOf(threshold)
  const at =
    (level: LogLevel) =>
    (obj: object | string, msg?: string): void => {
      if (LOG_LEVELS.indexOf(level) < min) return
      write(formatLogLine(level, bindings, typeof obj === 'string' ? {} : obj, typeof obj === 'string' ? obj : msg))
    }
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: more => cliLogger(threshold, write, { ...bindings, ...more }),
  }
}

/** The logger --verbose / NETKERNEL_LOG ask for, writing through `write` (a bad NETKERNEL_LOG is said once). */
export function loggerFromCli(verbose: boolean | undefined, write: (line: string) => void, env = process.env.NETKERNEL_LOG): Logger {
  const { level, problem } = logThreshold(verbose, env)
  if (problem !== undefined) write(`netkernel: ${problem}`)
  return cliLogger(level, write)
}
