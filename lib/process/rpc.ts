// Remote calls on the process side (rpc:call / erpc:call): what a call's function did — the
// outcome the node that ran it reports — and how the caller turns that into its result.
//
// JavaScript has one way to raise (throw), Erlang three exception classes; an outcome maps
// them so that an OTP caller sees what it would see from a BEAM function:
//
//   the function                       outcome                        Erlang
//   returns v (or a promise of v)      { kind: 'return', value: v }   returns V
//   throws an Error                    { kind: 'error', reason, stack } erlang:error(Reason)
//   throws any other value             { kind: 'throw', reason }      throw(Value)
//   proc.exit(r), or an exit signal    { kind: 'exit', reason: r }    exit(Reason)
//     ended it ('killed' for 'kill')
//
// The caller gets the value, or an RpcError with that kind and reason.
import { NetkernelError, RpcError, SpawnError, abortError, errorFor, isCodeOf } from '../errors.js'
import { describeReason } from './exit.js'
import type { Pid } from '../terms/pid.js'
import type { Timers } from './types.js'

/** How a called function ended (see the table above). */
export type RpcOutcome =
  | { kind: 'return'; value: unknown }
  | { kind: 'error'; reason: unknown; stack?: unknown }
  | { kind: 'throw'; reason: unknown }
  | { kind: 'exit'; reason: unknown }

/** A function started for a remote call: its process, and how it will end. */
export interface RpcCall {
  pid: Pid
  outcome: Promise<RpcOutcome>
}

export interface RpcOptions {
  /**
   * Milliseconds to wait for the result; then the call rejects with ERR_RPC_TIMEOUT (the
   * function may still be running there: it is not killed, and its late result is dropped).
   * Default Infinity, as erpc:call and rpc:call: a lost connection still ends the wait.
   */
  timeout?: number
  /** Abort the wait: the call rejects with the signal's reason (ERR_ABORTED for a plain abort). */
  signal?: AbortSignal
}

/** The longest timer Node can arm (larger ones fire after 1 ms). */
const MAX_TIMEOUT = 0x7fffffff

/** 'mod:fun/arity on node', as messages name a call. */
export function describeCall(node: string, mod: string, fun: string, args: unknown[]): string {
  return `${mod}:${fun}/${Array.isArray(args) ? args.length : '?'} on ${node}`
}

/** Check rpc's arguments; throws ERR_BAD_ARGUMENT. */
export function checkRpcArgs(node: unknown, mod: unknown, fun: unknown, args: unknown, opts: RpcOptions | undefined): void {
  if (typeof node !== 'string' || node === '') throw new NetkernelError('ERR_BAD_ARGUMENT', 'rpc: node must be a node name')
  if (typeof mod !== 'string' || mod === '' || typeof fun !== 'string' || fun === '') {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `rpc on ${node}: module and function must be non-empty strings`)
  }
  if (!Array.isArray(args)) throw new NetkernelError('ERR_BAD_ARGUMENT', `rpc ${mod}:${fun} on ${node}: args must be an array`)
  if (opts === undefined) return
  if (typeof opts !== 'object' || opts === null) throw new NetkernelError('ERR_BAD_ARGUMENT', 'rpc: options must be an object')
  const { timeout } = opts
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && (timeout <= MAX_TIMEOUT || timeout === Infinity))) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `rpc: timeout must be 0..${MAX_TIMEOUT} ms or Infinity, got ${String(timeout)}`)
  }
}

/** The error of a call that saw no result within `ms`. */
export function rpcTimeout(what: string, ms: number): NetkernelError {
  return new NetkernelError('ERR_RPC_TIMEOUT', `rpc ${what}: no result within ${ms} ms`)
}

/** The caller's side of an outcome: the returned value, or an RpcError of the outcome's kind. */
export function outcomeResult(outcome: RpcOutcome, what: string): unknown {
  if (outcome.kind === 'return') return outcome.value
  const { kind, reason } = outcome
  const stack = kind === 'error' ? outcome.stack : undefined
  throw new RpcError(kind, reason, `rpc ${what} raised ${kind}: ${describeReason(reason)}`, {
    cause: reason instanceof Error ? reason : undefined,
    remoteStack: stack,
  })
}

/** The codes a refused or failed call may carry from the node that refused it: raised as their own class. */
const PASSED_CODES = new Set(['ERR_SIGNAL_NOT_ALLOWED', 'ERR_NODE_STOPPED', 'ERR_BAD_ARGUMENT', 'ERR_LIMIT'])

/**
 * A call the node did not run, or whose result could not come back: `{ code, message }` as
 * that node sent it. Its spawn refusals (unknown module or function, allowSpawn) and the
 * codes above keep their code; anything else is an RpcError of kind 'badrpc'.
 */
export function badrpcError(node: string, what: string, value: unknown): Error {
  const v = (typeof value === 'object' && value !== null ? value : {}) as { code?: unknown; message?: unknown }
  const message = `rpc ${what}: ${typeof v.message === 'string' ? v.message : 'refused'}`
  if (isCodeOf(v.code, 'SpawnError') && v.code !== 'ERR_SPAWN_FAILED') return new SpawnError(v.code, message)
  if (typeof v.code === 'string' && PASSED_CODES.has(v.code)) return errorFor(v.code as 'ERR_SIGNAL_NOT_ALLOWED', message)
  return new RpcError('badrpc', { code: typeof v.code === 'string' ? v.code : 'ERR_PROTOCOL', message: v.message }, message)
}

/** Wait for a local call's outcome within the caller's timeout and signal. */
export function awaitOutcome(
  outcome: Promise<RpcOutcome>,
  opts: RpcOptions | undefined,
  what: string,
  timers: Timers,
): Promise<RpcOutcome> {
  const timeout = opts?.timeout ?? Infinity
  const signal = opts?.signal
  if (timeout === Infinity && signal === undefined) return outcome
  if (signal?.aborted) return Promise.reject(abortError(signal, `rpc ${what}`))
  return new Promise<RpcOutcome>((resolve, reject) => {
    let timer: unknown
    const onAbort = (): void => done(abortError(signal as AbortSignal, `rpc ${what}`))
    const done = (r: RpcOutcome | Error): void => {
      if (timer !== undefined) timers.clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (r instanceof Error) reject(r)
      else resolve(r)
    }
    if (timeout !== Infinity) timer = timers.setTimeout(() => done(rpcTimeout(what, timeout)), timeout)
    signal?.addEventListener('abort', onAbort, { once: true })
    outcome.then(done, done)
  })
}
