// Group names of pg scopes. On the JavaScript side a group is usually a string, and a string
// names the atom of that name (OTP code joins atoms: pg:join(chat, self())). A group that came
// from an OTP peer as some other term (a binary, a tuple…) is kept as that term. Every group
// has a key: a string equal for equal terms, so that groups can be looked up in a Map.
import { Buffer } from 'node:buffer'
import { Atom, atom, fitsAtom } from '../terms/atom.js'
import { Tuple } from '../terms/tuple.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { NetkernelError } from '../errors.js'

/** A group: a string (an atom on the wire), an Atom, or any other term an OTP peer used. */
export type PgGroup = unknown

/** The longest group key accepted (a peer's group term written out); longer groups are refused. */
export const MAX_GROUP_KEY = 1024
const MAX_DEPTH = 8

/** The key of `group`, or undefined when it is not a term that can name a group (or is too big). */
export function groupKey(group: unknown): string | undefined {
  if (typeof group === 'string') return fitsAtom(group) ? atomKey(group) : undefined
  if (group instanceof Atom) return atomKey(group.name)
  const out: string[] = []
  const size = { n: 0 }
  return write(group, out, size, 0) ? out.join('') : undefined
}

/** What the wire carries for `group`: a string becomes the atom of that name. */
export function groupTerm(group: unknown): unknown {
  if (typeof group === 'string') return atom(group)
  return group
}

/** What the API shows for a group term: an atom as its name, any other term as it is. */
export function groupLabel(term: unknown): PgGroup {
  return term instanceof Atom ? term.name : term
}

/** The key of a group given by the API; throws ERR_BAD_ARGUMENT for one that cannot be a group. */
export function checkedGroupKey(group: unknown): string {
  if (typeof group === 'string') {
    try {
      atom(group)
    } catch (err) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `pg: a group name is an atom: ${(err as Error).message}`)
    }
  }
  const key = groupKey(group)
  if (key === undefined) throw new NetkernelError('ERR_BAD_ARGUMENT', 'pg: a group is a string or a term of at most 1 KiB')
  return key
}

function atomKey(name: string): string {
  return `a${name.length}:${name}`
}

function write(v: unknown, out: string[], size: { n: number }, depth: number): boolean {
  if (depth > MAX_DEPTH) return false
  let s: string
  if (v instanceof Atom) s = atomKey(v.name)
  else if (typeof v === 'string') s = `b${Buffer.from(v, 'utf8').toString('hex')};`
  else if (Buffer.isBuffer(v) || v instanceof Uint8Array) s = `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')};`
  else if (typeof v === 'number') s = Number.isInteger(v) ? `i${v};` : `f${v};`
  else if (typeof v === 'bigint') s = `i${v};`
  else if (typeof v === 'boolean') s = atomKey(String(v))
  // (a pid's and a ref's key after its length: a node's name may hold anything, `;` too)
  else if (v instanceof Pid) s = `p${v.key.length}:${v.key}`
  else if (v instanceof Ref) s = `r${v.key.length}:${v.key}`
  else if (v instanceof Tuple || Array.isArray(v)) {
    out.push(v instanceof Tuple ? `t${v.length}(` : `l${v.length}[`)
    size.n += 8
    for (const x of v) if (!write(x, out, size, depth + 1)) return false
    out.push(')')
    return size.n <= MAX_GROUP_KEY
  } else if (v instanceof Map) {
    const parts: string[] = []
    for (const [k, x] of v) {
      const kk: string[] = []
      const vv: string[] = []
      if (!write(k, kk, size, depth + 1) || !write(x, vv, size, depth + 1)) return false
      parts.push(`${kk.join('')}=${vv.join('')}`)
    }
    s = `m${v.size}{${parts.sort().join(',')}}`
  } else return false
  size.n += s.length
  out.push(s)
  return size.n <= MAX_GROUP_KEY
}
