/** The brand every Ref carries, from either build of the package (see PID_BRAND). */
export const REF_BRAND: unique symbol = Symbol.for('netkernel.Ref')

/** A reference (make_ref/0): unique on its node's incarnation. */
export class Ref {
  constructor(
    readonly node: string,
    readonly id: number,
    readonly creation: number,
  ) {}

  /** `instanceof Ref` tests the brand, so it holds for a Ref of the other build. */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Branded)[REF_BRAND] === true
  }

  equals(other: unknown): boolean {
    return other instanceof Ref && other.id === this.id && other.node === this.node && other.creation === this.creation
  }

  /** `#Ref<node.id>` */
  toString(): string {
    return `#Ref<${this.node}.${this.id}>`
  }

  /** A string unique to this ref, for use as a Map key. */
  get key(): string {
    return `${this.node}.${this.id}.${this.creation}`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

type Branded = { [REF_BRAND]?: true }
Object.defineProperty(Ref.prototype, REF_BRAND, { value: true })
