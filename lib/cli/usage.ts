// How every command reports a usage error — an unknown option, a bad value, a missing or
// contradictory argument: one line on stderr saying what is wrong, a pointer to the
// command's --help, and exit status 2:
//
//   netkernel top: --interval: give milliseconds, at least 50 (got '0')
//   (netkernel top --help lists the options)
//
// A runtime failure (a node that cannot be reached, a port in use, files that exist
// already) exits with status 1.
import process from 'node:process'
import type { Writable } from 'node:stream'

/** The exit status of a usage error. */
export const USAGE_EXIT = 2

/** A wrong, missing or contradictory option: reported with exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** util.parseArgs's message without its advice on positional arguments that start with '-'. */
export function parseArgsMessage(err: unknown): string {
  return (err as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '')
}

/**
 * Say a usage error of `command` ('' for `netkernel` itself) on `out` and return the exit
 * status, 2. The message is kept to one line.
 */
export function usageError(command: string, message: string, out: Writable = process.stderr): number {
  const who = command === '' ? 'netkernel' : `netkernel ${command}`
  const line = message.replace(/\s*\n\s*/g, ' ').trim()
  out.write(`${who}: ${line}\n(${who} --help lists the ${command === '' ? 'commands' : 'options'})\n`)
  return USAGE_EXIT
}
