// Terms only Erlang/OTP peers make, kept opaque so that they cross a netkernel node unchanged:
// bitstrings, ports, and funs (local and external). They can be received, stored and sent
// back; a netkernel node cannot call a fun.

const BIT_BINARY_BRAND: unique symbol = Symbol.for('netkernel.BitBinary')
const PORT_BRAND: unique symbol = Symbol.for('netkernel.Port')
const OPAQUE_BRAND: unique symbol = Symbol.for('netkernel.OpaqueTerm')

/** A bitstring whose length is not a whole number of bytes: `bits` (1–8) of the last byte are used. */
export class BitBinary {
  constructor(
    readonly bytes: Buffer,
    readonly bits: number,
  ) {}

  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BIT_BINARY_BRAND] === true
  }
}
Object.defineProperty(BitBinary.prototype, BIT_BINARY_BRAND, { value: true })

/** An Erlang port identifier: opaque. */
export class Port {
  constructor(
    readonly node: string,
    readonly id: bigint,
    readonly creation: number,
  ) {}

  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[PORT_BRAND] === true
  }

  equals(other: unknown): boolean {
    return other instanceof Port && other.node === this.node && other.id === this.id && other.creation === this.creation
  }

  toString(): string {
    return `#Port<${this.node}.${this.id}>`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}
Object.defineProperty(Port.prototype, PORT_BRAND, { value: true })

/**
 * A term kept as its External Term Format bytes (a fun: tag 112 NEW_FUN_EXT, or 113 EXPORT_EXT):
 * `bytes` is everything after the tag byte, so it re-encodes byte for byte.
 */
export class OpaqueTerm {
  constructor(
    readonly tag: number,
    readonly bytes: Buffer,
  ) {}

  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[OPAQUE_BRAND] === true
  }
}
Object.defineProperty(OpaqueTerm.prototype, OPAQUE_BRAND, { value: true })
