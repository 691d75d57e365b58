// Terms as Elixir's `inspect/1` prints them (iex's defaults on one line: limit 50 items,
// printable_limit 4096), for the shell's --elixir mode: atoms `:ok`, `nil`, `:"hello world"`,
// module names `MyApp.Counter` (the atom 'Elixir.MyApp.Counter'), tuples `{:hi, 1}`, lists
// `[1, 2]` and `[1 | 2]`, keyword lists `[a: 1]`, charlists `~c"hi"` (Elixir 1.15 and later;
// `'hi'` with `charlists: 'quotes'`, as 1.14 prints them), strings `"héllo"`, other binaries
// `<<1, 2, 3>>`, bitstrings `<<1, 2::size(4)>>`, maps `%{a: 1}` / `%{"k" => 1}` with keys in
// Erlang's term order, structs `%MyApp.Point{x: 1}` (a map whose `__struct__` is a module
// name; Elixir's own Inspect implementations, `~D[...]` and the like, are not reproduced),
// floats in Erlang's shortest notation (as Elixir prints them). A JavaScript value prints as
// the term it becomes on the wire toward an OTP node: a string is a binary, null/undefined
// the atom `:undefined`, a plain object a map with binary keys. Pids, refs and ports keep
// netkernel's names for them inside Elixir's brackets (`#PID<e@vm.42.0>`), which name the
// node where iex shows a node index. Values that are not terms go to a fallback.
import { Buffer } from 'node:buffer'
import { Atom } from '../terms/atom.js'
import { Tuple, tuple } from '../terms/tuple.js'
import { ImproperList } from '../terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../terms/otp-terms.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { compareTerms, entriesOf, erlFloat, erlInteger, funParts, isPlainObject } from './erl-format.js'

/** Inspect.Opts' defaults: items per container (shared with what it contains), characters of a string. */
const LIMIT = 50
const PRINTABLE_LIMIT = 4096
const MAX_DEPTH = 12
/** The most keys of a map sorted for printing. */
const SORT_LIMIT = 1000

export interface ElixirFormatOptions {
  /** How a printable charlist prints: `~c"hi"` (Elixir 1.15 and later, the default) or `'hi'` (1.14). */
  charlists?: 'sigil' | 'quotes'
  /** What prints a value that is no term (an Error, a function, a Promise); default String. */
  fallback?: (v: unknown) => string
}

// ---- atoms --------------------------------------------------------------------------------

/** Operators Elixir writes after a bare colon (`:+`, `:<>`), and atoms it never calls (`:%{}`, `:..`). */
const UNQUOTED_OPERATORS = new Set([
  ...['@', '.', '=', '&', '|', '!', '^', '+', '-', '*', '/', '**', '++', '--', '+++', '---', '<>', '..', '..//'],
  ...['==', '!=', '===', '!==', '<', '>', '<=', '>=', '=~', '&&', '&&&', '||', '|||', '|>', '<<<', '>>>'],
  ...['<<~', '~>>', '<~', '~>', '<~>', '<|>', '^^^', '//', '\\\\', '<-', '->'],
  ...['%', '%{}', '{}', '<<>>', '...'],
])

/** Letters of the scripts Elixir takes in identifiers (UTS 39's recommended ones), by range; a conservative subset. */
const SCRIPT_RANGES: [number, number, string][] = [
  [0x41, 0x5a, 'Latin'],
  [0x61, 0x7a, 'Latin'],
  [0xc0, 0xd6, 'Latin'],
  [0xd8, 0xf6, 'Latin'],
  [0xf8, 0x131, 'Latin'],
  [0x134, 0x13e, 'Latin'],
  [0x141, 0x148, 'Latin'],
  [0x14a, 0x17e, 'Latin'],
  [0x1e00, 0x1e99, 'Latin'],
  [0x1e9e, 0x1e9e, 'Latin'],
  [0x1ea0, 0x1ef9, 'Latin'],
  [0x386, 0x386, 'Greek'],
  [0x388, 0x38a, 'Greek'],
  [0x38c, 0x38c, 'Greek'],
  [0x38e, 0x3a1, 'Greek'],
  [0x3a3, 0x3ce, 'Greek'],
  [0x400, 0x45f, 'Cyrillic'],
  [0x531, 0x556, 'Armenian'],
  [0x561, 0x586, 'Armenian'],
  [0x5d0, 0x5ea, 'Hebrew'],
  [0x620, 0x63f, 'Arabic'],
  [0x641, 0x64a, 'Arabic'],
  [0x10d0, 0x10fa, 'Georgian'],
  [0x3041, 0x3096, 'Hiragana'],
  [0x30a1, 0x30fa, 'Katakana'],
  [0x30fc, 0x30fc, 'Katakana'],
  [0x3105, 0x312f, 'Bopomofo'],
  [0x4e00, 0x9fff, 'Han'],
  [0xac00, 0xd7a3, 'Hangul'],
]

function scriptOf(c: number): string | undefined {
  for (const [lo, hi, script] of SCRIPT_RANGES) if (c >= lo && c <= hi) return script
  return undefined
}

/** Scripts Elixir lets one identifier mix (as UTS 39's highly restrictive profile does). */
const SCRIPT_MIXES = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Hangul']),
  new Set(['Latin', 'Han', 'Bopomofo']),
]

/**
 * Elixir's identifiers, `@` and a final `?`/`!` allowed (and ASCII ones that start uppercase,
 * which print bare too): ASCII, or letters of one script (Latin with Han, Hiragana, Katakana
 * or Hangul allowed) in NFC. Elixir takes more Unicode than this (its rules are Unicode's
 * identifier tables); an atom outside prints quoted, which reads back as the same atom.
 */
function isIdentifier(name: string): boolean {
  const cps = codePoints(name)
  const last = cps.length > 1 && (cps.at(-1) === 63 || cps.at(-1) === 33) ? cps.length - 1 : cps.length
  if (last === 0) return false
  const scripts = new Set<string>()
  for (let i = 0; i < last; i++) {
    const c = cps[i] as number
    const script = scriptOf(c)
    if (script !== undefined) scripts.add(script)
    else if (!(c === 95 || (i > 0 && (c === 64 || (c >= 48 && c <= 57))))) return false
  }
  if (scripts.size > 1 && !SCRIPT_MIXES.some(mix => [...scripts].every(s => mix.has(s)))) return false
  return name === name.normalize('NFC')
}
/** A module name: 'Elixir', or 'Elixir.' then dot-separated ASCII aliases. */
const MODULE = /^Elixir(\.[A-Z][A-Za-z0-9_]*)*$/

/** How `name` may be written without quotes: as a module name, after a colon, or not at all. */
function atomClass(name: string): 'module' | 'bare' | 'quoted' {
  if (MODULE.test(name)) return 'module'
  if (name === '::') return 'quoted'
  if (UNQUOTED_OPERATORS.has(name)) return 'bare'
  if (isIdentifier(name)) return 'bare'
  return 'quoted'
}

const ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  27: '\\e',
  127: '\\d',
  92: '\\\\',
}

const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0')

/** Code.Identifier.escape: `quote` and `#{` escaped, control characters by name or code. */
function escape(codes: Iterable<number>, quote: number): string {
  let s = ''
  let hash = false
  for (const c of codes) {
    if (hash && c === 123) s += '\\#'
    else if (hash) s += '#'
    hash = c === 35
    if (hash) continue
    if (c === quote) s += `\\${String.fromCharCode(c)}`
    else if (ESCAPES[c] !== undefined) s += ESCAPES[c]
    else if (c === 0) s += '\\0'
    else if (isPrintable(c)) s += String.fromCodePoint(c)
    else if (c < 0x100) s += `\\x${hex(c, 2)}`
    else if (c < 0x10000) s += `\\u${hex(c, 4)}`
    else s += `\\u{${hex(c, 0)}}`
  }
  return hash ? s + '#' : s
}

/** The text after a colon (or of a module name) that reads back as the atom `name`. */
export function elixirAtom(name: string): string {
  if (name === 'nil' || name === 'true' || name === 'false') return name
  const cls = atomClass(name)
  if (cls === 'module') return name === 'Elixir' ? name : name.slice('Elixir.'.length)
  if (cls === 'bare') return `:${name}`
  return `:"${escape(codePoints(name), 34)}"`
}

/** An atom as a keyword list's or a map's key: `a: `, `"hello world": `. */
function keyText(name: string): string {
  return atomClass(name) === 'bare' ? `${name}: ` : `"${escape(codePoints(name), 34)}": `
}

function codePoints(s: string): number[] {
  return Array.from(s, ch => ch.codePointAt(0) as number)
}

// ---- strings, charlists, binaries ----------------------------------------------------------

/** String.printable?'s characters, besides its named control characters. */
function isPrintable(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff)
}

const NAMED_CONTROLS = new Set([7, 8, 9, 10, 11, 12, 13, 27, 127])

/**
 * The code points of the first `max` characters of `bytes`, and whether bytes follow them;
 * undefined when those are not well-formed UTF-8 (as Erlang's `<<C::utf8>>` reads it: no
 * overlong forms, no surrogates). Reads no further than it needs, whatever the binary's size.
 */
function leadingCodePoints(bytes: Uint8Array, max: number): { cps: number[]; more: boolean } | undefined {
  const cps: number[] = []
  let i = 0
  while (i < bytes.length && cps.length < max) {
    const c = bytes[i] as number
    if (c < 0x80) {
      cps.push(c)
      i++
      continue
    }
    const [n, first, min] =
      c >= 0xc2 && c <= 0xdf
        ? [1, c & 0x1f, 0x80]
        : c >= 0xe0 && c <= 0xef
          ? [2, c & 0x0f, 0x800]
          : c >= 0xf0 && c <= 0xf4
            ? [3, c & 0x07, 0x10000]
            : [0, 0, 0]
    if (n === 0) return undefined
    let cp = first
    for (let k = 1; k <= n; k++) {
      const d = bytes[i + k]
      if (d === undefined || (d & 0xc0) !== 0x80) return undefined
      cp = (cp << 6) | (d & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined
    cps.push(cp)
    i += n + 1
  }
  return { cps, more: i < bytes.length }
}

/** A binary as Elixir prints it: `"text"` when its first 4096 characters are printable UTF-8. */
function binaryText(bytes: Uint8Array, limit: number): string {
  if (bytes.length === 0) return '""'
  const lead = leadingCodePoints(bytes, PRINTABLE_LIMIT)
  if (lead !== undefined && lead.cps.every(c => isPrintable(c) || NAMED_CONTROLS.has(c)))
    return `"${escape(lead.cps, 34)}"${lead.more ? ' <> ...' : ''}`
  return byteList(bytes, undefined, limit)
}

/** `<<1, 2, 3>>`, the last byte's high bits as `V::size(N)` for a bitstring; at most `limit` items. */
function byteList(bytes: Uint8Array, bits: number | undefined, limit: number): string {
  const whole = bits === undefined || bits >= 8 || bits < 1 ? bytes.length : bytes.length - 1
  const items: string[] = []
  for (let i = 0; i < whole; i++) {
    if (items.length === limit) return `<<${[...items, '...'].join(', ')}>>`
    items.push(String(bytes[i]))
  }
  if (whole < bytes.length) {
    if (items.length === limit) return `<<${[...items, '...'].join(', ')}>>`
    items.push(`${(bytes[whole] as number) >> (8 - bits!)}::size(${bits})`)
  }
  return `<<${items.join(', ')}>>`
}

/** List.ascii_printable?: every element a printable ASCII character or a named control but DEL. */
function asciiPrintable(o: readonly unknown[]): boolean {
  let n = 0
  for (const x of o) {
    if (n++ === PRINTABLE_LIMIT) return true
    if (typeof x !== 'number' || !Number.isInteger(x) || !((x >= 0x20 && x <= 0x7e) || (NAMED_CONTROLS.has(x) && x !== 127))) return false
  }
  return true
}

// ---- the printer --------------------------------------------------------------------------

function atomName(v: unknown): string | undefined {
  if (v instanceof Atom) return v.name
  if (typeof v === 'boolean') return String(v)
  if (v === null || v === undefined) return 'undefined'
  return undefined
}

/** Inspect.List.keyword?: [{atom, value}, ...] with no module names for keys. */
function isKeyword(pairs: readonly unknown[]): boolean {
  for (const p of pairs) {
    if (!(p instanceof Tuple) || p.length !== 2) return false
    const k = atomName(p[0])
    if (k === undefined || k.startsWith('Elixir.')) return false
  }
  return true
}

/**
 * A value as Elixir's `inspect/1` prints the term it is; `opts.fallback` prints what is no
 * term (an Error, a function, a Promise, a Set, a class instance).
 */
export function formatElixir(v: unknown, opts: ElixirFormatOptions = {}): string {
  const fallback = opts.fallback ?? String
  const seen = new Set<object>()

  /** A container's items as Inspect.Algebra.container_doc lays them out: each gets what is left of `limit`. */
  const items = <T>(xs: readonly T[], limit: number, depth: number, one: (x: T, limit: number) => string): string[] => {
    const out: string[] = []
    let left = limit
    for (const x of xs) {
      if (left === 0) {
        out.push('...')
        break
      }
      left--
      out.push(depth >= MAX_DEPTH ? '...' : one(x, left))
    }
    return out
  }

  const fmt = (x: unknown, limit: number, depth: number): string => {
    switch (typeof x) {
      case 'string':
        return binaryText(Buffer.from(x, 'utf8'), limit)
      case 'number':
        return Number.isInteger(x) ? erlInteger(x) : erlFloat(x)
      case 'bigint':
        return erlInteger(x)
      case 'boolean':
        return String(x)
      case 'undefined':
        return ':undefined'
      case 'symbol':
      case 'function':
        return fallback(x)
    }
    if (x === null) return ':undefined'
    const o = x as object
    if (o instanceof Atom) return elixirAtom(o.name)
    if (o instanceof Pid) return `#PID${o.toString()}`
    if (o instanceof Ref) return `#Reference<${o.toString().slice('#Ref<'.length)}`
    if (o instanceof Port) return o.toString()
    if (o instanceof OpaqueTerm) return fun(o)
    if (o instanceof BitBinary) return o.bits >= 8 || o.bits < 1 ? binaryText(o.bytes, limit) : byteList(o.bytes, o.bits, limit)
    if (o instanceof Uint8Array) return binaryText(o, limit)
    const tuple = o instanceof Tuple
    const container = tuple || Array.isArray(o) || o instanceof Map || o instanceof ImproperList || isPlainObject(o)
    if (!container) return fallback(o)
    if (seen.has(o)) return '...'
    seen.add(o)
    try {
      const each = (xs: readonly unknown[]): string[] => items(xs, limit, depth, (e, left) => fmt(e, left, depth + 1))
      if (tuple) return `{${each(o).join(', ')}}`
      if (o instanceof ImproperList) {
        const head = each(o.items)
        if (head.at(-1) === '...') return `[${head.join(', ')}]`
        return `[${head.join(', ')} | ${fmt(o.tail, Math.max(0, limit - o.items.length), depth + 1)}]`
      }
      if (Array.isArray(o)) {
        if (o.length === 0) return '[]'
        if (asciiPrintable(o)) {
          const shown = (o as number[]).slice(0, PRINTABLE_LIMIT)
          const more = o.length > PRINTABLE_LIMIT ? ' ++ ...' : ''
          return opts.charlists === 'quotes' ? `'${escape(shown, 39)}'${more}` : `~c"${escape(shown, 34)}"${more}`
        }
        if (isKeyword(o)) return `[${keywords(o as Tuple[], limit, depth).join(', ')}]`
        return `[${each(o).join(', ')}]`
      }
      return map(o, limit, depth)
    } finally {
      seen.delete(o)
    }
  }

  const keywords = (pairs: readonly Tuple[], limit: number, depth: number): string[] =>
    items(pairs, limit, depth, (p, left) => keyText(atomName(p[0])!) + fmt(p[1], left, depth + 1))

  const map = (o: object, limit: number, depth: number): string => {
    // Keys in Erlang's map-key order; a map too large to sort, as they come (past 32 keys
    // Elixir's own order is the map's hash order, which no one can reproduce anyway).
    const all = entriesOf(o)
    const entries = all.length <= SORT_LIMIT ? all.sort((p, q) => compareTerms(p[0], q[0], 0, true)) : all
    const struct = entries.find(([k]) => atomName(k) === '__struct__')
    const name = struct === undefined ? undefined : atomName(struct[1])
    const fields = name !== undefined && MODULE.test(name) && name !== 'Elixir' ? entries.filter(e => e !== struct) : entries
    const open = fields === entries ? '%{' : `%${elixirAtom(name!)}{`
    if (fields.length === 0) return `${open}}`
    const pairs = fields.map(([k, val]) => tuple(k, val))
    if (isKeyword(pairs)) return `${open}${keywords(pairs, limit, depth).join(', ')}}`
    const shown = items(fields, limit, depth, ([k, val], left) => `${fmt(k, left, depth + 1)} => ${fmt(val, left, depth + 1)}`)
    return `${open}${shown.join(', ')}}`
  }

  const fun = (o: OpaqueTerm): string => {
    const f = funParts(o)
    if (f === undefined) return '#Function<...>'
    const mod = elixirAtom(f.module)
    if (f.kind === 'local') return `#Function<${f.index}.${f.uniq}/${f.arity} in ${mod.startsWith(':') ? mod.slice(1) : mod}>`
    const cls = atomClass(f.name)
    const name = cls === 'quoted' || cls === 'module' ? `"${escape(codePoints(f.name), 34)}"` : f.name
    return `&${mod}.${name}/${f.arity}`
  }

  return fmt(v, LIMIT, 0)
}

/** An exit or DOWN reason as iex prints it: a string reason is the atom it travels as. */
export function formatElixirReason(reason: unknown, opts?: ElixirFormatOptions): string {
  return typeof reason === 'string' ? elixirAtom(reason) : formatElixir(reason, opts)
}
