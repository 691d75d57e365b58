/** A reference (make_ref/0): unique on its node's incarnation. */
export class Ref {
  constructor(
    readonly node: string,
    readonly id: number,
    readonly creation: number,
  ) {}

  equals(other: unknown): boolean {
    return (
      other instanceof Ref &&
      other.id === this.id &&
      other.node === this.node &&
      other.creation === this.creation
    )
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
