// The marker a dead process's function sees: proc.exit(reason) throws it, and receives after
// death reject with it, so the async function unwinds (finally blocks run). The runtime
// recognises it and never reports it as a crash. User code that catches everything should
// rethrow it: `catch (e) { if (e instanceof ProcessExit) throw e; ... }`.
//
// Deliberately not an Error: killing 100,000 waiting processes must not capture 100,000 stacks.
import type { Pid } from '../terms/pid.js'
import { isAtom } from '../terms/atom.js'
import { isTuple } from '../terms/tuple.js'

export class ProcessExit {
  readonly name = 'ProcessExit'
  constructor(
    /** The process that exited. */
    readonly pid: Pid,
    /** Its exit reason. */
    readonly reason: unknown,
  ) {}

  get message(): string {
    return `process ${this.pid.toString()} exited: ${describeReason(this.reason)}`
  }

  toString(): string {
    return `ProcessExit: ${this.message}`
  }
}

/**
 * An exit reason as the runtime reads it: the atoms `normal` and `kill` (an `Atom`, say taken
 * out of Erlang data) are the strings 'normal' and 'kill', whose meaning OTP fixes — exit(normal)
 * never kills a linked process, exit(Pid, kill) cannot be trapped. Any other reason is kept.
 */
export function exitReason(reason: unknown): unknown {
  return isAtom(reason) && (reason.name === 'normal' || reason.name === 'kill') ? reason.name : reason
}

/** A short printable form of an exit reason, for log lines and messages. */
export function describeReason(reason: unknown): string {
  if (typeof reason === 'string') return reason
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`
  if (isAtom(reason)) return reason.name
  if (isTuple(reason)) return `{${reason.map(describeReason).join(', ')}}`
  try {
    return JSON.stringify(reason) ?? String(reason)
  } catch {
    return String(reason)
  }
}

/** A no-op rejection handler: marks a promise the runtime rejects as handled. */
export function noop(): void {}
