// Terms as erl prints them (io_lib's `~0tp`: one line, no width limit), for the shell's
// --erlang mode: atoms bare or quoted (quoteAtom), tuples {a,b}, lists [1,2,3], improper
// lists [a|b], printable lists "hi", binaries <<"hi">> / <<"héllo"/utf8>> / <<1,2,3>>,
// bitstrings <<1,2:4>>, maps #{k => v} with keys in Erlang's term order, floats in erl's
// shortest notation (1.5, 1.0e6, 1.2e-4). A JavaScript value is printed as the term it
// becomes on the wire toward an OTP node (README, "Talking to Erlang and Elixir"): a string
// is a UTF-8 binary, an integral number an integer, a plain object a map with binary keys,
// null/undefined the atom undefined. Pids, refs and ports keep netkernel's notation
// (<node.id.serial>, #Ref<node.ids>), which names the node where erl shows a node index.
// Values that are not terms (errors, functions, promises) are left to a fallback.
import { Buffer } from 'node:buffer'
import { Atom, quoteAtom } from '../terms/atom.js'
import { Tuple } from '../terms/tuple.js'
import { ImproperList } from '../terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../terms/otp-terms.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'

const MAX_DEPTH = 12
const MAX_ITEMS = 100
const TWO_53 = 2 ** 53

// ---- numbers ------------------------------------------------------------------------------

/**
 * A float as erl writes it (OTP 25's io_lib_format:fwrite_g/1): the shortest digits that read
 * back to the same double, in plain notation when that is not longer than the scientific
 * one (and the value is below 2^53), else `d.ddde±x`; always with a dot (`100.0`, `1.0e6`).
 */
export function erlFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x) // no Erlang float is NaN or infinite
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const sign = x < 0 ? '-' : ''
  const [mantissa, e] = Math.abs(x).toExponential().split('e') as [string, string]
  const digits = mantissa.replace('.', '')
  const exp = Number(e)
  const L = digits.length
  const place = exp + 1 // digits before the decimal point
  const expText = String(exp)
  const sci = (): string => (L === 1 ? `${digits}.0e${expText}` : `${digits[0]}.${digits.slice(1)}e${expText}`)
  const expCost = expText.length + 1 + (L === 1 ? 2 : 1)
  let s: string
  if (place === 0) s = `0.${digits}`
  else if (place < 0) s = 2 - place <= expCost ? `0.${'0'.repeat(-place)}${digits}` : sci()
  else if (place >= L) s = place - L + 2 <= expCost && Math.abs(x) < TWO_53 ? `${digits}${'0'.repeat(place - L)}.0` : sci()
  else s = `${digits.slice(0, place)}.${digits.slice(place)}`
  return sign + s
}

/** An integral number or a bigint as erl writes the integer (no exponent, no `n`). */
export function erlInteger(x: number | bigint): string {
  return typeof x === 'bigint' ? x.toString() : Math.abs(x) < 1e21 ? String(x === 0 ? 0 : x) : BigInt(x).toString()
}

// ---- strings and binaries -----------------------------------------------------------------

const ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\e', 34: '\\"', 92: '\\\\' }

/** io_lib's printable latin-1 characters (erl's default printable range). */
function printable(c: number): boolean {
  return (c >= 32 && c <= 126) || (c >= 160 && c <= 255) || (c >= 8 && c <= 13) || c === 27
}

function quoteChars(codes: Iterable<number>): string {
  let s = '"'
  for (const c of codes) s += ESCAPES[c] ?? String.fromCodePoint(c)
  return s + '"'
}

/** The code points of `bytes` when they are well-formed UTF-8, else undefined. */
function utf8CodePoints(bytes: Uint8Array): number[] | undefined {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
  return Array.from(text, ch => ch.codePointAt(0) as number)
}

function byteList(bytes: Uint8Array, n: number): string[] {
  return Array.from(bytes.subarray(0, Math.min(n, MAX_ITEMS)), String)
}

/** A binary as erl writes it: `<<"hi">>`, `<<"héllo"/utf8>>`, `<<1,2,3>>`, `<<>>`. */
export function erlBinary(bytes: Uint8Array): string {
  if (bytes.length === 0) return '<<>>'
  const more = bytes.length > MAX_ITEMS ? `,... ${bytes.length - MAX_ITEMS} more` : ''
  if (bytes.length <= MAX_ITEMS * 10) {
    let ascii = true
    let latin1 = true
    for (const b of bytes) {
      if (b >= 128) ascii = false
      if (!printable(b)) latin1 = false
    }
    if (ascii && latin1) return `<<${quoteChars(bytes)}>>`
    const cps = ascii ? undefined : utf8CodePoints(bytes)
    if (cps !== undefined && cps.every(printable)) return `<<${quoteChars(cps)}/utf8>>`
    if (latin1) return `<<${quoteChars(bytes)}>>`
  }
  return `<<${byteList(bytes, bytes.length).join(',')}${more}>>`
}

/** A bitstring: the whole bytes, then the last byte's `bits` high bits as `V:bits`. */
export function erlBitBinary(b: BitBinary): string {
  const bits = b.bits
  const n = b.bytes.length
  if (n === 0) return '<<>>'
  if (bits >= 8 || bits < 1) return erlBinary(b.bytes)
  const last = (b.bytes[n - 1] as number) >> (8 - bits)
  const whole = byteList(b.bytes, n - 1)
  return `<<${[...whole, ...(n - 1 > MAX_ITEMS ? [`... ${n - 1 - MAX_ITEMS} more`] : []), `${last}:${bits}`].join(',')}>>`
}

// ---- funs (kept as their ETF bytes) -------------------------------------------------------

/** An atom at `at` in ETF bytes (any of the four atom tags): [text, next offset], or undefined. */
function readAtom(b: Buffer, at: number): [string, number] | undefined {
  const tag = b[at]
  const long = tag === 118 || tag === 100
  const short = tag === 119 || tag === 115
  if (!long && !short) return undefined
  const lenAt = at + 1
  if (lenAt + (long ? 2 : 1) > b.length) return undefined
  const len = long ? b.readUInt16BE(lenAt) : (b[lenAt] as number)
  const start = lenAt + (long ? 2 : 1)
  if (start + len > b.length) return undefined
  const text = b.toString(tag === 100 || tag === 115 ? 'latin1' : 'utf8', start, start + len)
  return [text, start + len]
}

/** A small integer at `at` (SMALL_INTEGER_EXT or INTEGER_EXT): [value, next offset], or undefined. */
function readInt(b: Buffer, at: number): [number, number] | undefined {
  if (b[at] === 97 && at + 2 <= b.length) return [b[at + 1] as number, at + 2]
  if (b[at] === 98 && at + 5 <= b.length) return [b.readInt32BE(at + 1), at + 5]
  return undefined
}

/**
 * What a fun kept as ETF bytes says of itself: an external fun's module, function and arity
 * (EXPORT_EXT), or a local fun's module, arity, old index and old uniq (NEW_FUN_EXT);
 * undefined when the bytes do not parse.
 */
export function funParts(
  o: OpaqueTerm,
):
  | { kind: 'export'; module: string; name: string; arity: number }
  | { kind: 'local'; module: string; arity: number; index: number; uniq: number }
  | undefined {
  const b = o.bytes
  if (o.tag === 113) {
    const m = readAtom(b, 0)
    const f = m && readAtom(b, m[1])
    const a = f && readInt(b, f[1])
    if (m && f && a) return { kind: 'export', module: m[0], name: f[0], arity: a[0] }
  } else if (o.tag === 112 && b.length > 29) {
    // Size:32 Arity:8 Uniq:16 bytes Index:32 NumFree:32, then Module OldIndex OldUniq …
    const m = readAtom(b, 29)
    const index = m && readInt(b, m[1])
    const uniq = index && readInt(b, index[1])
    if (m && index && uniq) return { kind: 'local', module: m[0], arity: b[4] as number, index: index[0], uniq: uniq[0] >>> 0 }
  }
  return undefined
}

/**
 * A fun as erl writes it: `fun lists:map/2` (EXPORT_EXT), `#Fun<erl_eval.44.65746770>`
 * (NEW_FUN_EXT: module, old index, old uniq); `#Fun<...>` when the bytes do not parse.
 */
export function erlFun(o: OpaqueTerm): string {
  const f = funParts(o)
  if (f === undefined) return '#Fun<...>'
  if (f.kind === 'export') return `fun ${quoteAtom(f.module)}:${quoteAtom(f.name)}/${f.arity}`
  return `#Fun<${quoteAtom(f.module)}.${f.index}.${f.uniq}>`
}

// ---- Erlang's term order (for map keys) ---------------------------------------------------

/** number < atom < reference < fun < port < pid < tuple < map < nil < list < bitstring */
function rank(v: unknown): number {
  if (typeof v === 'number' || typeof v === 'bigint') return 0
  if (v instanceof Atom || typeof v === 'boolean' || v === null || v === undefined) return 1
  if (v instanceof Ref) return 2
  if (v instanceof OpaqueTerm) return 3
  if (v instanceof Port) return 4
  if (v instanceof Pid) return 5
  if (v instanceof Tuple) return 6
  if (v instanceof Map) return 7
  if (Array.isArray(v) && v.length === 0) return 8
  if (Array.isArray(v) || v instanceof ImproperList) return 9
  if (typeof v === 'string' || v instanceof Uint8Array || v instanceof BitBinary) return 10
  if (typeof v === 'object') return 7 // a plain object is a map
  return 11
}

function atomText(v: unknown): string {
  if (v instanceof Atom) return v.name
  if (typeof v === 'boolean') return String(v)
  return 'undefined'
}

function bytesOf(v: unknown): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  if (v instanceof BitBinary) return v.bytes
  return v as Uint8Array
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

function cmpNum(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function entriesOf(v: object): [unknown, unknown][] {
  return v instanceof Map ? [...(v as Map<unknown, unknown>)] : Object.entries(v)
}

/** An integer on the wire: a bigint, or an integral number. */
const isInteger = (x: number | bigint): boolean => typeof x === 'bigint' || Number.isInteger(x)

/**
 * Erlang's term order (approximate where netkernel keeps less than erl: pids and refs by node,
 * then ids). `exact`: the order of map keys, in which every integer sorts before every float
 * (1 and 1.0 are two keys), as a map's keys come out of it and erl and Elixir print them.
 */
export function compareTerms(a: unknown, b: unknown, depth = 0, exact = false): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (depth > MAX_DEPTH) return 0
  switch (ra) {
    case 0: {
      const x = a as number | bigint
      const y = b as number | bigint
      if (exact && isInteger(x) !== isInteger(y)) return isInteger(x) ? -1 : 1
      return cmpNum(x, y)
    }
    case 1:
      return cmpStr(atomText(a), atomText(b))
    case 2: {
      const x = a as Ref
      const y = b as Ref
      return cmpStr(x.node, y.node) || cmpList(x.ids, y.ids, depth, exact)
    }
    case 4: {
      const x = a as Port
      const y = b as Port
      return cmpStr(x.node, y.node) || cmpNum(x.id, y.id)
    }
    case 5: {
      const x = a as Pid
      const y = b as Pid
      return cmpStr(x.node, y.node) || x.serial - y.serial || x.id - y.id
    }
    case 3:
      return cmpBytes((a as OpaqueTerm).bytes, (b as OpaqueTerm).bytes)
    case 6: {
      const x = a as Tuple
      const y = b as Tuple
      return x.length - y.length || cmpList(x, y, depth, exact)
    }
    case 7: {
      const x = sortedEntries(a as object, depth)
      const y = sortedEntries(b as object, depth)
      if (x.length !== y.length) return x.length - y.length
      return (
        cmpList(
          x.map(e => e[0]),
          y.map(e => e[0]),
          depth,
          exact,
        ) ||
        cmpList(
          x.map(e => e[1]),
          y.map(e => e[1]),
          depth,
          exact,
        )
      )
    }
    case 9: {
      const [xi, xt] = a instanceof ImproperList ? [a.items, a.tail] : [a as unknown[], []]
      const [yi, yt] = b instanceof ImproperList ? [b.items, b.tail] : [b as unknown[], []]
      const n = Math.min(xi.length, yi.length)
      for (let i = 0; i < n; i++) {
        const c = compareTerms(xi[i], yi[i], depth + 1, exact)
        if (c !== 0) return c
      }
      return compareTerms(xi.length > n ? xi.slice(n) : xt, yi.length > n ? yi.slice(n) : yt, depth + 1, exact)
    }
    case 10:
      return cmpBytes(bytesOf(a), bytesOf(b))
    default:
      return 0
  }
}

function cmpList(x: readonly unknown[], y: readonly unknown[], depth: number, exact: boolean): number {
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) {
    const c = compareTerms(x[i], y[i], depth + 1, exact)
    if (c !== 0) return c
  }
  return x.length - y.length
}

/** A map's entries in the order of its keys (map-key order). */
function sortedEntries(v: object, depth: number): [unknown, unknown][] {
  return entriesOf(v).sort((p, q) => compareTerms(p[0], q[0], depth + 1, true))
}

// ---- the printer --------------------------------------------------------------------------

export function isPlainObject(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as object | null
  return proto === null || proto === Object.prototype
}

function printableList(o: readonly unknown[]): boolean {
  if (o.length === 0 || o.length > MAX_ITEMS * 10) return false
  for (const x of o) if (typeof x !== 'number' || !Number.isInteger(x) || !printable(x)) return false
  return true
}

function seq(items: string[], total: number): string {
  return (total > items.length ? [...items, '...'] : items).join(',')
}

/**
 * A value as erl prints the term it is; `fallback` prints what is no term (an Error, a
 * function, a Promise, a Set, a class instance) and the shell's own `ok` symbol.
 */
export function formatErl(v: unknown, fallback: (v: unknown) => string = String): string {
  const seen = new Set<object>()
  const fmt = (x: unknown, depth: number): string => {
    switch (typeof x) {
      case 'string':
        return erlBinary(Buffer.from(x, 'utf8'))
      case 'number':
        return Number.isInteger(x) ? erlInteger(x) : erlFloat(x)
      case 'bigint':
        return erlInteger(x)
      case 'boolean':
        return String(x)
      case 'undefined':
        return 'undefined'
      case 'symbol':
      case 'function':
        return fallback(x)
    }
    if (x === null) return 'undefined'
    const o = x as object
    if (o instanceof Atom) return quoteAtom(o.name)
    if (o instanceof Pid || o instanceof Ref || o instanceof Port) return o.toString()
    if (o instanceof OpaqueTerm) return erlFun(o)
    if (o instanceof BitBinary) return erlBitBinary(o)
    if (o instanceof Uint8Array) return erlBinary(o)
    if (seen.has(o) || depth >= MAX_DEPTH) return '...'
    const tuple = o instanceof Tuple
    const plain = !tuple && !Array.isArray(o) && !(o instanceof Map) && !(o instanceof ImproperList) && isPlainObject(o)
    if (!tuple && !Array.isArray(o) && !(o instanceof Map) && !(o instanceof ImproperList) && !plain) return fallback(o)
    seen.add(o)
    try {
      const list = (xs: readonly unknown[]): string[] => xs.slice(0, MAX_ITEMS).map(e => fmt(e, depth + 1))
      if (tuple) return `{${seq(list(o), o.length)}}`
      if (o instanceof ImproperList) return `[${seq(list(o.items), o.items.length)}|${fmt(o.tail, depth + 1)}]`
      if (Array.isArray(o)) return printableList(o) ? quoteChars(o as number[]) : `[${seq(list(o), o.length)}]`
      const entries = entriesOf(o)
      const shown =
        entries.length <= MAX_ITEMS * 10
          ? entries.sort((p, q) => compareTerms(p[0], q[0], 0, true)).slice(0, MAX_ITEMS)
          : entries.slice(0, MAX_ITEMS)
      return `#{${seq(
        shown.map(([k, val]) => `${fmt(k, depth + 1)} => ${fmt(val, depth + 1)}`),
        entries.length,
      )}}`
    } finally {
      seen.delete(o)
    }
  }
  return fmt(v, 0)
}

/** An exit or DOWN reason as erl prints it: a string reason is the atom it travels as. */
export function formatErlReason(reason: unknown, fallback?: (v: unknown) => string): string {
  return typeof reason === 'string' ? quoteAtom(reason) : formatErl(reason, fallback)
}
