/**
 * A process identifier: the node it lives on, a per-node id, a serial (bumped when ids wrap)
 * and the node's creation (so pids of a restarted node never match the new incarnation).
 */
export class Pid {
  constructor(
    readonly node: string,
    readonly id: number,
    readonly serial: number,
    readonly creation: number,
  ) {}

  equals(other: unknown): boolean {
    return (
      other instanceof Pid &&
      other.id === this.id &&
      other.serial === this.serial &&
      other.node === this.node &&
      other.creation === this.creation
    )
  }

  /** `<node.id.serial>` */
  toString(): string {
    return `<${this.node}.${this.id}.${this.serial}>`
  }

  /** A string unique to this pid, for use as a Map key. */
  get key(): string {
    return `${this.node}.${this.id}.${this.serial}.${this.creation}`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}
