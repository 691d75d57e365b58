/** The brand every Ref carries, from either build of the package (see PID_BRAND). */
export const REF_BRAND: unique symbol = Symbol.for('netkernel.Ref')

/**
 * A reference (make_ref/0): unique on its node's incarnation. A netkernel node makes refs of
 * one id word; an Erlang/OTP node's have three (up to five): `ids` keeps every word, so a ref
 * re-encodes exactly, and `id` is the first.
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
    this.ids = ids !== undefined && ids.length > 1 ? Object.freeze([...ids]) : [id]
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

  /**
   * A string unique to this ref, for use as a Map key: the numbers first, then the node (a
   * node's name may end in dotted digits — an IP long name — so with the node first the key of
   * a 3-word ref of `a@10.0.0` could be that of a 1-word ref of `a@10.0.0.1`).
   */
  get key(): string {
    return this.ids.length === 1 ? `${this.id}.${this.creation}@${this.node}` : `${this.ids.join('.')}.${this.creation}@${this.node}`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

type Branded = { [REF_BRAND]?: true }
Object.defineProperty(Ref.prototype, REF_BRAND, { value: true })
