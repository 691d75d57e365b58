// `--module FILE`: a JavaScript file (TypeScript too, under tsx) whose exports become code
// that local and remote spawns may start on the shell's node.
//
//   export const s = { send_node: (proc, to) => proc.send(to, proc.node) }     → module 's'
//   export default { s: { ... }, frequency: { ... } }                          → 's', 'frequency'
//   export default { send_node: ..., s: ... }   (functions)       → one module named after the file
//   --module counter=./c.mjs                                       → its one module, named counter
import process from 'node:process'
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

/** 'name=path' → ['name', 'path']; a plain path → [undefined, path]. */
export function moduleSpec(text: string): [name: string | undefined, file: string] {
  const m = /^([A-Za-z_][\w.-]*)=(.+)$/.exec(text)
  return m ? [m[1] as string, m[2] as string] : [undefined, text]
}

/** NAME=FILE: the module NAME is the file's module NAME, else its only module, else its default export. */
function namedModule(name: string, file: string, exports: Record<string, unknown>, found: Record<string, ModuleDef>): ModuleDef {
  const own = found[name]
  if (own !== undefined) return own
  const all = Object.values(found)
  if (all.length === 1) return all[0] as ModuleDef
  if (isModuleDef(exports.default)) return exports.default
  throw new ModuleLoadError(
    `${name}=${file}: ${file} defines several modules (${Object.keys(found).join(', ')}) and none is named ${name}: give the file alone to load them all`,
  )
}

/**
 * Import each file and collect its modules; a later file's module replaces an earlier one's.
 * An entry 'name=path' loads one module under that name.
 */
export async function loadModules(specs: readonly string[], cwd = process.cwd()): Promise<Record<string, ModuleDef>> {
  const all: Record<string, ModuleDef> = {}
  for (const spec of specs) {
    const [name, file] = moduleSpec(spec)
    const path = resolve(cwd, file)
    let exports: Record<string, unknown>
    try {
      exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>
    } catch (err) {
      throw new ModuleLoadError(`cannot load module file ${file}: ${(err as Error).message}`, { cause: err })
    }
    const found = modulesOf(path, exports)
    if (Object.keys(found).length === 0) {
      throw new ModuleLoadError(
        `${file} defines no module: export objects of functions, e.g. export const s = { send_node: (proc, to) => ... }`,
      )
    }
    if (name === undefined) Object.assign(all, found)
    else all[name] = namedModule(name, file, exports, found)
  }
  return all
}
