// What a fuzz target is, and the oracle's vocabulary. A target parses one input the way the
// code under test meets a peer's bytes; it may throw a NetkernelError (the input was refused,
// as it should be) and nothing else. It throws an InvariantViolation itself when the parser
// answered but broke a rule (a refusal that hides a foreign error, a count that cannot be).
import { ERROR_CODES, NetkernelError } from '../lib/errors.js'

export interface FuzzTarget {
  readonly name: string
  /** The starting inputs: captured from real exchanges and/or made by the real encoders. */
  seeds(): Buffer[]
  /**
   * Parse one input. `variant` (a 32-bit number) picks how it is fed (chunking, options), so
   * that an input and its variant reproduce a run exactly.
   */
  run(input: Buffer, variant: number): void | Promise<void>
  /** Frees what the target holds (timers, processes) at the end of a run. */
  close?(): void | Promise<void>
}

/** Thrown by a target when the parser's answer breaks a rule: always a finding. */
export class InvariantViolation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'InvariantViolation'
  }
}

/** Is `err` an accepted answer to hostile input: a NetkernelError with one of the stable codes? */
export function isAccepted(err: unknown): boolean {
  return err instanceof NetkernelError && Object.hasOwn(ERROR_CODES, err.code)
}

/**
 * A NetkernelError whose cause is a JavaScript runtime error (TypeError, RangeError, ...)
 * raised by our own code and hidden by a catch-all: a finding.
 */
export function checkCause(err: unknown, allowed: (cause: unknown) => boolean = () => false): void {
  if (!(err instanceof NetkernelError) || err.cause === undefined) return
  if (err.cause instanceof NetkernelError || allowed(err.cause)) return
  throw new InvariantViolation(`${err.name} ${err.code} hides a ${describeError(err.cause)}`, { cause: err.cause })
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return `non-error throw: ${String(err)}`
}
