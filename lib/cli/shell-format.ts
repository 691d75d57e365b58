// How the shell prints values and exceptions: JavaScript-ish, close to what erl shows —
// strings in single quotes ('bar@vm', as the seed's `Shell got 'bar@vm'`), arrays as
// ['hi', <foo@vm.1.0>], binaries as <<1,2,3>>, and the atom-like `ok` the shell functions
// return printed bare.
import { inspect } from 'node:util'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { ProcessExit } from '../process/runtime.js'
import { NetkernelError } from '../errors.js'

/** What shell functions return where Erlang returns the atom `ok`; printed `ok`. */
export const OK: unique symbol = Symbol('ok')

const MAX_DEPTH = 12
const MAX_ITEMS = 100
const IDENT = /^[A-Za-z_$][\w$]*$/

function quote(s: string): string {
  return `'${s.replace(/[\\'\n\r\t\0]/g, c => ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' })[c] as string)}'`
}

function items(list: string[], total: number): string {
  return total > list.length ? [...list, `... ${total - list.length} more`].join(', ') : list.join(', ')
}

function fmt(v: unknown, depth: number, seen: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return quote(v)
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v)
    case 'bigint':
      return `${v}n`
    case 'boolean':
      return String(v)
    case 'undefined':
      return 'undefined'
    case 'symbol':
      return v === OK ? 'ok' : v.toString()
    case 'function':
      return `[Function${v.name ? ` ${v.name}` : ''}]`
  }
  if (v === null) return 'null'
  const o = v as object
  if (o instanceof Pid || o instanceof Ref) return o.toString()
  if (o instanceof ProcessExit) return `[ProcessExit ${o.pid.toString()}: ${fmt(o.reason, depth + 1, seen)}]`
  if (o instanceof Error) return formatError(o)
  if (seen.has(o)) return '[Circular]'
  if (depth >= MAX_DEPTH) return Array.isArray(o) ? '[...]' : '{...}'
  seen.add(o)
  try {
    if (o instanceof Uint8Array) {
      const shown = Array.from(o.subarray(0, MAX_ITEMS), String)
      return `<<${shown.join(',')}${o.length > MAX_ITEMS ? `,... ${o.length - MAX_ITEMS} more` : ''}>>`
    }
    if (Array.isArray(o)) {
      return `[${items(
        o.slice(0, MAX_ITEMS).map(x => fmt(x, depth + 1, seen)),
        o.length,
      )}]`
    }
    if (o instanceof Map) {
      const shown = [...o].slice(0, MAX_ITEMS).map(([k, x]) => `${fmt(k, depth + 1, seen)} => ${fmt(x, depth + 1, seen)}`)
      return `Map{${items(shown, o.size)}}`
    }
    if (o instanceof Set) {
      return `Set{${items(
        [...o].slice(0, MAX_ITEMS).map(x => fmt(x, depth + 1, seen)),
        o.size,
      )}}`
    }
    const proto = Object.getPrototypeOf(o) as object | null
    // Anything but a plain object (a Timeout, a Promise, a class instance) as Node shows it.
    if (proto !== null && proto !== Object.prototype) return inspect(o, { depth: 0, breakLength: Infinity })
    const keys = Object.keys(o)
    const shown = keys
      .slice(0, MAX_ITEMS)
      .map(k => `${IDENT.test(k) ? k : quote(k)}: ${fmt((o as Record<string, unknown>)[k], depth + 1, seen)}`)
    return `{${items(shown, keys.length)}}`
  } finally {
    seen.delete(o)
  }
}

function formatError(e: Error): string {
  const code = (e as { code?: unknown }).code
  return `${e.name}${typeof code === 'string' ? ` ${code}` : ''}: ${e.message}`
}

/** A value as the shell prints it. */
export function formatTerm(v: unknown): string {
  return fmt(v, 0, new Set())
}

/** An exception as erl reports one: `** exception error: ...`, `** exception exit: ...`. */
export function formatException(err: unknown): string {
  if (err instanceof ProcessExit) return `** exception exit: ${formatTerm(err.reason)}`
  if (err instanceof NetkernelError) return `** exception error: ${err.code}: ${err.message}`
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return `** exception error: ${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}`
  }
  return `** exception throw: ${formatTerm(err)}`
}
