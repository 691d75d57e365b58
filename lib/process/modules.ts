// Spawnable code: named modules of process functions, for spawn(Node, Mod, Fun, Args) from
// this node or from remote nodes. Only own properties that are functions can be spawned.
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

  resolve(mod: string, fun: string, node: string): ModuleFn {
    const m = typeof mod === 'string' ? this.byName.get(mod) : undefined
    if (m === undefined) {
      throw new SpawnError('ERR_SPAWN_UNKNOWN_MODULE', `spawn on ${node}: no module ${JSON.stringify(mod)}`)
    }
    const f = typeof fun === 'string' && Object.hasOwn(m, fun) ? m[fun] : undefined
    if (typeof f !== 'function') {
      throw new SpawnError('ERR_SPAWN_UNKNOWN_FUNCTION', `spawn on ${node}: module ${mod} has no function ${JSON.stringify(fun)}`)
    }
    return f
  }
}
