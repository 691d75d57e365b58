// Spawnable code: named modules of process functions, for spawn(Node, Mod, Fun, Args) from
// this node or from remote nodes. Only own properties that are functions can be spawned.
//
// Arity: Erlang has a function per M:F/Arity, and a call whose arity matches none is undef.
// JavaScript functions have no strict arity; the rule is that a call with fewer arguments than
// the function's `length` (its parameters before the first default or rest parameter) is
// refused exactly as an unknown function is, and more arguments are allowed (defaults, rest
// parameters). The first parameter is the process (`proc`), which the caller does not supply:
// it is not counted.
import { NetkernelError, SpawnError } from '../errors.js'
import type { ModuleDef, ModuleFn } from './types.js'

export class Modules {
  private readonly byName = new Map<string, ModuleDef>()

  define(name: string, mod: ModuleDef): void {
    if (typeof name !== 'string' || name === '') {
      throw new NetkernelError('ERR_BAD_ARGUMENT', 'defineModule: name must be a non-empty string')
    }
    if (mod === null || typeof mod !== 'object') {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `defineModule(${name}): expected an object of functions`)
    }
    this.byName.set(name, mod)
  }

  /**
   * The function `mod:fun` for a call with `args`; SpawnError ERR_SPAWN_UNKNOWN_MODULE, or
   * ERR_SPAWN_UNKNOWN_FUNCTION when it has no such function or needs more arguments than given.
   */
  resolve(mod: string, fun: string, node: string, args?: unknown[]): ModuleFn {
    const m = typeof mod === 'string' ? this.byName.get(mod) : undefined
    if (m === undefined) {
      throw new SpawnError('ERR_SPAWN_UNKNOWN_MODULE', `spawn on ${node}: no module ${JSON.stringify(mod)}`)
    }
    const f = typeof fun === 'string' && Object.hasOwn(m, fun) ? m[fun] : undefined
    if (typeof f !== 'function') {
      throw new SpawnError('ERR_SPAWN_UNKNOWN_FUNCTION', `spawn on ${node}: module ${mod} has no function ${JSON.stringify(fun)}`)
    }
    const needs = requiredArgs(f)
    if (Array.isArray(args) && args.length < needs) {
      throw new SpawnError(
        'ERR_SPAWN_UNKNOWN_FUNCTION',
        `spawn on ${node}: module ${mod} has no function ${fun}/${args.length} (${fun} needs at least ${needs} argument${needs === 1 ? '' : 's'})`,
      )
    }
    return f
  }
}

/** The arguments a caller must supply: the function's `length` less its first parameter, `proc`. */
export function requiredArgs(f: ModuleFn): number {
  return Math.max(0, f.length - 1)
}
