// How a command-line node stops on a signal: the first SIGTERM/SIGINT/SIGHUP asks for a
// graceful stop (peers see nodedown, the port mapper entry goes); a second one, or a graceful
// stop that takes longer than graceMs, exits at once with 128 + the signal's number.
import process from 'node:process'
import { constants } from 'node:os'

export interface StopSignals {
  /** Resolves with the first signal received. */
  stopped: Promise<NodeJS.Signals>
  /** Stop listening (the grace timer, if started, stays: it does not keep the process up). */
  dispose(): void
}

export function onStopSignals(
  signals: readonly NodeJS.Signals[],
  opts: { graceMs?: number; say?: (line: string) => void } = {},
): StopSignals {
  const graceMs = opts.graceMs ?? 10_000
  const say =
    opts.say ??
    ((line: string) => {
      process.stderr.write(line + '\n')
    })
  let first: NodeJS.Signals | undefined
  let resolve: (s: NodeJS.Signals) => void = () => {}
  const stopped = new Promise<NodeJS.Signals>(r => {
    resolve = r
  })
  const exitCode = (s: NodeJS.Signals): number => 128 + (constants.signals[s] ?? 0)
  const on = (s: NodeJS.Signals): void => {
    if (first !== undefined) {
      say(`netkernel: ${s} again: exiting without a graceful stop`)
      process.exit(exitCode(s))
    }
    first = s
    setTimeout(() => {
      say(`netkernel: the graceful stop after ${s} took over ${graceMs} ms: exiting`)
      process.exit(exitCode(s))
    }, graceMs).unref()
    resolve(s)
  }
  for (const s of signals) process.on(s, on)
  return {
    stopped,
    dispose: () => {
      for (const s of signals) process.off(s, on)
    },
  }
}
