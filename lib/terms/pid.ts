/**
 * The brand every Pid carries, from either build of the package (ESM and CommonJS): one
 * registered symbol per JavaScript realm, so a Pid made through require() is a Pid to code
 * loaded through import, and the codecs of both builds encode it.
 */
export const PID_BRAND: unique symbol = Symbol.for('netkernel.Pid')

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

  /** `instanceof Pid` tests the brand, so it holds for a Pid of the other build. */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Branded)[PID_BRAND] === true
  }

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

type Branded = { [PID_BRAND]?: true }
Object.defineProperty(Pid.prototype, PID_BRAND, { value: true })
