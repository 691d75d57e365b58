// Erlang atoms in JavaScript. An Atom is interned: atom('ok') === atom('ok') for as long as
// anything holds either. The table holds atoms weakly (a WeakRef each, the entry removed when
// the atom is collected), so atoms decoded from a peer's messages cannot grow memory without
// bound the way they grow a BEAM node's atom table. The table lives on globalThis under a
// registered symbol, so the ESM and CommonJS builds of the package share one set of atoms.
import { NetkernelError } from '../errors.js'

/** The brand every Atom carries, from either build of the package (see PID_BRAND). */
export const ATOM_BRAND: unique symbol = Symbol.for('netkernel.Atom')

/** The longest atom Erlang allows, in characters (code points). */
export const MAX_ATOM_CHARS = 255

interface AtomTable {
  readonly refs: Map<string, WeakRef<Atom>>
  readonly gone: FinalizationRegistry<string>
}

const TABLE_KEY = Symbol.for('netkernel.atoms')

function table(): AtomTable {
  const g = globalThis as { [TABLE_KEY]?: AtomTable }
  let t = g[TABLE_KEY]
  if (t === undefined) {
    const refs = new Map<string, WeakRef<Atom>>()
    const gone = new FinalizationRegistry<string>(name => {
      // Only if the entry still points at a collected atom (a new one may have taken the name).
      if (refs.get(name)?.deref() === undefined) refs.delete(name)
    })
    t = { refs, gone }
    g[TABLE_KEY] = t
  }
  return t
}

/** An Erlang atom. Make one with `atom(name)`; never with `new`. */
export class Atom {
  /** @internal Use atom(name). */
  constructor(
    /** The atom's text. */
    readonly name: string,
  ) {}

  /** `instanceof Atom` tests the brand, so it holds for an Atom of the other build. */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Branded)[ATOM_BRAND] === true
  }

  /** As erl prints it: `ok`, `'EXIT'`, `'hello world'`. */
  toString(): string {
    return quoteAtom(this.name)
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

type Branded = { [ATOM_BRAND]?: true }
Object.defineProperty(Atom.prototype, ATOM_BRAND, { value: true })

/** How many characters (code points) a string has. */
function codePoints(s: string): number {
  return Array.from(s).length
}

/** Can `name` name an atom: at most 255 characters (code points; each takes one or two units)? */
export function fitsAtom(name: string): boolean {
  return name.length <= MAX_ATOM_CHARS || (name.length <= MAX_ATOM_CHARS * 2 && codePoints(name) <= MAX_ATOM_CHARS)
}

/**
 * The atom named `name`, interned. Throws NetkernelError ERR_BAD_ARGUMENT for a name that is
 * not a string or is longer than 255 characters (Erlang's limit).
 */
export function atom(name: string): Atom {
  if (typeof name !== 'string') throw new NetkernelError('ERR_BAD_ARGUMENT', `atom(): the name must be a string, not ${typeof name}`)
  const t = table()
  const hit = t.refs.get(name)?.deref()
  if (hit !== undefined) return hit
  if (!fitsAtom(name)) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `atom(): an atom has at most ${MAX_ATOM_CHARS} characters (got ${codePoints(name)})`)
  }
  const a = new Atom(name)
  t.refs.set(name, new WeakRef(a))
  t.gone.register(a, name)
  return a
}

export function isAtom(v: unknown): v is Atom {
  return v instanceof Atom
}

/** Atoms that erl prints without quotes: a lowercase letter, then letters, digits, _ and @. */
const BARE = /^[a-z][a-zA-Z0-9_@]*$/
const RESERVED = new Set([
  'after',
  'and',
  'andalso',
  'band',
  'begin',
  'bnot',
  'bor',
  'bsl',
  'bsr',
  'bxor',
  'case',
  'catch',
  'cond',
  'div',
  'end',
  'fun',
  'if',
  'let',
  'maybe',
  'not',
  'of',
  'or',
  'orelse',
  'receive',
  'rem',
  'try',
  'when',
  'xor',
])

/** The atom's text as erl writes it: bare when it can be, else in single quotes with escapes. */
export function quoteAtom(name: string): string {
  if (BARE.test(name) && !RESERVED.has(name)) return name
  return `'${name
    .replace(/[\\']/g, c => `\\${c}`)
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')}'`
}
