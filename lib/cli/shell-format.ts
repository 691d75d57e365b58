// How the shell prints values and exceptions. By default JavaScript-ish, close to what erl
// shows — strings in single quotes ('bar@vm', as the seed's `Shell got 'bar@vm'`), arrays as
// ['hi', <foo@vm.1.0>], binaries as <<1,2,3>>, and the atom-like `ok` the shell functions
// return printed bare — with Erlang's own terms as erl writes them: atoms (ok, 'EXIT'),
// tuples {'hi', <foo@vm.1.0>}, improper lists [1 | 2], bitstrings, ports and funs. With
// --erlang (shellFormat('erlang')) every value prints as erl prints the term it is
// (erl-format.ts); with --elixir (shellFormat('elixir')) as Elixir's inspect/1 does
// (elixir-format.ts), and exceptions as iex reports them.
import { inspect } from 'node:util'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { Atom, quoteAtom } from '../terms/atom.js'
import { Tuple } from '../terms/tuple.js'
import { ImproperList } from '../terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../terms/otp-terms.js'
import { ProcessExit } from '../process/runtime.js'
import { NetkernelError } from '../errors.js'
import { erlBitBinary, erlFun, formatErl, formatErlReason } from './erl-format.js'
import { formatElixir, formatElixirReason } from './elixir-format.js'

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
  if (o instanceof Pid || o instanceof Ref || o instanceof Port) return o.toString()
  if (o instanceof Atom) return quoteAtom(o.name)
  if (o instanceof BitBinary) return erlBitBinary(o)
  if (o instanceof OpaqueTerm) return erlFun(o)
  if (o instanceof ProcessExit) return `[ProcessExit ${o.pid.toString()}: ${fmt(o.reason, depth + 1, seen)}]`
  if (o instanceof Error) return formatError(o)
  if (seen.has(o)) return '[Circular]'
  if (depth >= MAX_DEPTH) return Array.isArray(o) && !(o instanceof Tuple) ? '[...]' : '{...}'
  seen.add(o)
  try {
    if (o instanceof Uint8Array) {
      const shown = Array.from(o.subarray(0, MAX_ITEMS), String)
      return `<<${shown.join(',')}${o.length > MAX_ITEMS ? `,... ${o.length - MAX_ITEMS} more` : ''}>>`
    }
    if (o instanceof Tuple) {
      return `{${items(
        o.slice(0, MAX_ITEMS).map(x => fmt(x, depth + 1, seen)),
        o.length,
      )}}`
    }
    if (o instanceof ImproperList) {
      const shown = o.items.slice(0, MAX_ITEMS).map(x => fmt(x, depth + 1, seen))
      return `[${items(shown, o.items.length)} | ${fmt(o.tail, depth + 1, seen)}]`
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

/** How the shell prints: its results, flush()'s messages, exceptions, exit reasons. */
export interface ShellFormat {
  term(v: unknown): string
  exception(err: unknown): string
  /** An exit reason (a string reason travels as an atom). */
  reason(r: unknown): string
}

/** The default (JavaScript-ish) printing. */
export const jsFormat: ShellFormat = { term: formatTerm, exception: formatException, reason: formatTerm }

/** Printing as erl does: --erlang. Errors and other values that are no terms print as by default. */
export const erlFormat: ShellFormat = {
  term: v => formatErl(v, formatTerm),
  reason: r => formatErlReason(r, formatTerm),
  exception: err => {
    if (err instanceof ProcessExit) return `** exception exit: ${formatErlReason(err.reason, formatTerm)}`
    if (err instanceof Error) return formatException(err)
    return `** exception throw: ${formatErl(err, formatTerm)}`
  },
}

/** Printing as iex does: --elixir. Errors and other values that are no terms print as by default. */
export const exFormat: ShellFormat = {
  term: v => (v === OK ? ':ok' : formatElixir(v, { fallback: formatTerm })),
  reason: r => formatElixirReason(r, { fallback: formatTerm }),
  exception: err => {
    if (err instanceof ProcessExit) return `** (exit) ${formatElixirReason(err.reason, { fallback: formatTerm })}`
    if (err instanceof NetkernelError) return `** (${err.name}) ${err.code}: ${err.message}`
    if (err instanceof Error) {
      const code = (err as { code?: unknown }).code
      return `** (${err.name}) ${typeof code === 'string' ? `${code}: ` : ''}${err.message}`
    }
    return `** (throw) ${formatElixir(err, { fallback: formatTerm })}`
  },
}

/** The shell's printing: JavaScript-ish (plain), erl's (--erlang; `true` says the same) or iex's (--elixir). */
export function shellFormat(mode: 'plain' | 'erlang' | 'elixir' | boolean): ShellFormat {
  if (mode === 'elixir') return exFormat
  return mode === true || mode === 'erlang' ? erlFormat : jsFormat
}
