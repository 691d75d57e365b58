// Remote calls toward and from Erlang/OTP: how an RpcOutcome (lib/process/rpc.ts) is written
// as the terms erpc and rpc expect, and how erpc's answer is read back (README "Remote calls"
// tables both directions).
//
// erpc:call(N, M, F, A) spawns erpc:execute_call(Ref, M, F, A) on N with a monitor; the
// process's exit reason is the answer, carried by the monitor's DOWN:
//
//   {Ref, return, Result} | {Ref, throw, Value} | {Ref, exit, Reason} | {Ref, error, Reason, Stack}
//
// rpc:call (and the rex server's calls) answer with the value itself for return and throw,
// {badrpc, {'EXIT', Reason}} for exit and {badrpc, {'EXIT', {Reason, Stack}}} for error.
import { Atom, atom } from '../../terms/atom.js'
import { Tuple, tuple } from '../../terms/tuple.js'
import type { RpcOutcome } from '../../process/rpc.js'

export const A = {
  erpc: atom('erpc'),
  execute_call: atom('execute_call'),
  execute_cast: atom('execute_cast'),
  return: atom('return'),
  throw: atom('throw'),
  exit: atom('exit'),
  error: atom('error'),
  undef: atom('undef'),
  badrpc: atom('badrpc'),
  EXIT: atom('EXIT'),
  monitor: atom('monitor'),
  link: atom('link'),
  yes: atom('yes'),
  notsup: atom('notsup'),
  system_limit: atom('system_limit'),
  badarg: atom('badarg'),
  noconnection: atom('noconnection'),
} as const

/** A JS string reason as OTP wants it (an atom), anything else as it is. */
export function reasonOut(r: unknown): unknown {
  if (typeof r !== 'string') return r instanceof Error ? errorTerm(r) : r
  try {
    return atom(r)
  } catch {
    return r // over 255 characters: a binary
  }
}

/** An OTP reason as native code sees it: an atom becomes its name. */
export function reasonIn(r: unknown): unknown {
  if (r instanceof Atom) return r.name
  if (typeof r === 'boolean') return String(r)
  return r
}

const ERROR_NAME = /^[A-Za-z_$][\w$]{0,62}$/

/**
 * A JS Error as an Erlang term: {Name, Message} — `{'TypeError', <<"bad input">>}` — and
 * `{Name, Message, Code}` when it has a string code. The name becomes an atom only when it
 * looks like a class name (so a peer's data cannot fill the BEAM's atom table), else 'Error'.
 */
export function errorTerm(err: Error): Tuple {
  const name = typeof err.name === 'string' && ERROR_NAME.test(err.name) ? err.name : 'Error'
  const code = (err as { code?: unknown }).code
  const message = typeof err.message === 'string' ? err.message : String(err.message)
  return typeof code === 'string' ? tuple(atom(name), message, code) : tuple(atom(name), message)
}

/** The stack of an exception raised by M:F(A) here: [{M, F, Arity, []}] (JS frames are not Erlang's). */
export function callStack(mod: Atom, fun: Atom, args: unknown[]): unknown[] {
  return [tuple(mod, fun, args.length, [])]
}

/** undef's stack, as a BEAM writes it for an unknown M:F(A): [{M, F, A, []}]. */
export function undefStack(mod: Atom, fun: Atom, args: unknown[]): unknown[] {
  return [tuple(mod, fun, args, [])]
}

/** An outcome as erpc:execute_call's exit reason: {Ref, Class, Reason[, Stack]}. */
export function erpcReason(ref: unknown, o: RpcOutcome, mod: Atom, fun: Atom, args: unknown[]): Tuple {
  switch (o.kind) {
    case 'return':
      return tuple(ref, A.return, o.value)
    case 'throw':
      return tuple(ref, A.throw, o.reason)
    case 'exit':
      return tuple(ref, A.exit, reasonOut(o.reason))
    case 'error':
      return tuple(ref, A.error, reasonOut(o.reason), callStack(mod, fun, args))
  }
}

/** An outcome as rpc:call's result (the rex server's answer). */
export function rexResult(o: RpcOutcome, mod: Atom, fun: Atom, args: unknown[]): unknown {
  switch (o.kind) {
    case 'return':
      return o.value
    case 'throw':
      return o.reason
    case 'exit':
      return tuple(A.badrpc, tuple(A.EXIT, reasonOut(o.reason)))
    case 'error':
      return tuple(A.badrpc, tuple(A.EXIT, tuple(reasonOut(o.reason), callStack(mod, fun, args))))
  }
}

/** rpc:call's answer for unknown code: {badrpc, {'EXIT', {undef, [{M, F, A, []}]}}}. */
export function rexUndef(mod: Atom, fun: Atom, args: unknown[]): Tuple {
  return tuple(A.badrpc, tuple(A.EXIT, tuple(A.undef, undefStack(mod, fun, args))))
}

/**
 * erpc's answer (the DOWN reason of execute_call) as an outcome, or undefined when it is not
 * an answer to `ref` (the process ended some other way: `reason` is then its exit reason).
 */
export function erpcOutcome(ref: unknown, reason: unknown): RpcOutcome | undefined {
  if (!(reason instanceof Tuple) || reason.length < 3 || !sameRef(reason[0], ref)) return undefined
  const [, kind, value] = reason
  if (kind === A.return && reason.length === 3) return { kind: 'return', value }
  if (kind === A.throw && reason.length === 3) return { kind: 'throw', reason: value }
  if (kind === A.exit && reason.length === 3) return { kind: 'exit', reason: reasonIn(value) }
  if (kind === A.error && reason.length === 4) return { kind: 'error', reason: value, stack: reason[3] }
  return undefined
}

function sameRef(a: unknown, b: unknown): boolean {
  return a === b || (typeof (a as { equals?: unknown })?.equals === 'function' && (a as { equals(o: unknown): boolean }).equals(b))
}
