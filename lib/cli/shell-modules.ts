// `--module FILE`: a JavaScript file (TypeScript too, under tsx) whose exports become code
// that local and remote spawns may start on the shell's node.
//
//   export const s = { send_node: (proc, to) => proc.send(to, proc.node) }     → module 's'
//   export default { s: { ... }, frequency: { ... } }                          → 's', 'frequency'
//   export default { send_node: ..., s: ... }   (functions)       → one module named after the file
import { basename, extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ModuleDef } from '../process/runtime.js'

export class ModuleLoadError extends Error {
  override readonly name = 'ModuleLoadError'
}

function isModuleDef(v: unknown): v is ModuleDef {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const fns = Object.values(v)
  return fns.length > 0 && fns.every(f => typeof f === 'function')
}

/** The modules a loaded file's exports define, by name. */
export function modulesOf(file: string, exports: Record<string, unknown>): Record<string, ModuleDef> {
  const out: Record<string, ModuleDef> = {}
  for (const [name, value] of Object.entries(exports)) {
    if (name === 'default') continue
    if (isModuleDef(value)) out[name] = value
  }
  const def = exports.default
  if (isModuleDef(def)) {
    out[basename(file, extname(file))] = def
  } else if (typeof def === 'object' && def !== null) {
    for (const [name, value] of Object.entries(def)) {
      if (isModuleDef(value)) out[name] = value
    }
  }
  return out
}

/** Import each file and collect its modules; a later file's module replaces an earlier one's. */
export async function loadModules(files: readonly string[], cwd = process.cwd()): Promise<Record<string, ModuleDef>> {
  const all: Record<string, ModuleDef> = {}
  for (const file of files) {
    const path = resolve(cwd, file)
    let exports: Record<string, unknown>
    try {
      exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>
    } catch (err) {
      throw new ModuleLoadError(`cannot load module file ${file}: ${(err as Error).message}`, { cause: err })
    }
    const found = modulesOf(path, exports)
    if (Object.keys(found).length === 0) {
      throw new ModuleLoadError(`${file} defines no module: export objects of functions, e.g. export const s = { send_node: (proc, to) => ... }`)
    }
    Object.assign(all, found)
  }
  return all
}
