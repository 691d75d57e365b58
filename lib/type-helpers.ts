// Identity functions that give plain objects their types, so that code written naturally
// under `--strict` needs no annotations: `module({ f: (proc, to: Pid) => ... })` types `proc`
// as a Proc, and `authenticator({ initiate(ch, ctx) { ... } })` types `ch` and `ctx`. At run
// time each returns its argument unchanged.
import type { Authenticator } from './authenticator.js'
import type { ModuleDef } from './process/types.js'

/**
 * A module of spawnable functions, each `(proc, ...args)`: `proc` is typed as a `Proc`, the
 * other parameters as annotated, and the result keeps each function's own type. A function
 * that calls another of the same module (`await s.loop(proc)`) should not `return` that
 * call: its type would then depend on the module being defined (TS7022).
 */
export function module<M extends ModuleDef>(def: M): M {
  return def
}

/** A custom authenticator: `initiate(ch, ctx)` and `respond(ch, ctx)` get their types. */
export function authenticator<A extends Authenticator>(def: A): A {
  return def
}
