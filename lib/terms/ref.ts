/** The brand every Ref carries, from either build of the package (see PID_BRAND). */
export const REF_BRAND: unique symbol = Symbol.for('netkernel.Ref')

/**
 * A reference (make_ref/0): unique on its node's incarnation. A netkernel node makes refs of
 * three id words, two of them random (lib/process/ref-words.ts; older nodes made one); an
 * Erlang/OTP node's have three (up to five): `ids` keeps every word, so a ref re-encodes
 * exactly, and `id` is the first.
 */
export class Ref {
  /** Every id word, `id` first. */
  readonly ids: readonly number[]

  constructor(
    readonly node: string,
    readonly id: number,
    readonly creation: number,
    /** All id words when there are more than one (an OTP ref); ids[0] must equal id. */
    ids?: readonly number[],
  ) {
    this.ids =
      ids === undefined || ids.length < 2
        ? [id]
        : Object.freeze(ids.length === 3 ? [ids[0] as number, ids[1] as number, ids[2] as number] : [...ids])
  }

  /** `instanceof Ref` tests the brand, so it holds for a Ref of the other build. */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Branded)[REF_BRAND] === true
  }

  equals(other: unknown): boolean {
    if (!(other instanceof Ref) || other.id !== this.id || other.node !== this.node || other.creation !== this.creation) return false
    const a = this.ids
    const b = other.ids
    if (a.length !== b.length) return false
    for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }

  /** `#Ref<node.id>` (`#Ref<node.id0.id1.id2>` for an OTP ref) */
  toString(): string {
    return `#Ref<${this.node}.${this.ids.join('.')}>`
  }

  /** The key, made on first use (a ref's key is looked up more than once: a monitor's, a call's). */
  #key: string | undefined

  /**
   * A string unique to this ref, for use as a Map key (equal exactly when the refs are). A ref
   * of 32-bit words — this node's and OTP's — is keyed by its words and creation as UTF-16
   * code units after a unit for the word count, then the node: writing its random words out in
   * digits (ref-words.ts) took longer than the rest of a local call. Another (a 1-word ref with
   * a larger id) is keyed by the numbers in digits first, then the node: a node's name may end
   * in dotted digits — an IP long name — so with the node first the key of a 3-word ref of
   * `a@10.0.0` could be that of a 1-word ref of `a@10.0.0.1`. The two forms cannot meet: one
   * starts with a unit below 6, the other with a digit.
   */
  get key(): string {
    return (this.#key ??= refKey(this))
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

function isU32(n: number): boolean {
  return n >>> 0 === n
}

function refKey(r: Ref): string {
  const a = r.ids
  const c = r.creation
  if (a.length === 3) {
    // (the words checked one by one: through a.every() the key took twice as long)
    const x = a[0] as number
    const y = a[1] as number
    const z = a[2] as number
    if (x >>> 0 === x && y >>> 0 === y && z >>> 0 === z && c >>> 0 === c) {
      return String.fromCharCode(3, x & 0xffff, x >>> 16, y & 0xffff, y >>> 16, z & 0xffff, z >>> 16, c & 0xffff, c >>> 16) + r.node
    }
  } else if (a.length === 1) {
    const id = r.id
    if (id >>> 0 === id && c >>> 0 === c) return String.fromCharCode(1, id & 0xffff, id >>> 16, c & 0xffff, c >>> 16) + r.node
  } else if (c >>> 0 === c && a.every(isU32)) {
    const units = [a.length]
    for (const w of a) units.push(w & 0xffff, w >>> 16)
    units.push(c & 0xffff, c >>> 16)
    return String.fromCharCode(...units) + r.node
  }
  return `${a.join('.')}.${c}@${r.node}`
}

type Branded = { [REF_BRAND]?: true }
Object.defineProperty(Ref.prototype, REF_BRAND, { value: true })
