// The OTP wire's seam to the External Term Format codec: encode a term (no version byte) into
// a frame batch, decode one at an offset with a frame's atom-cache refs, and read a
// distribution header's atom-cache part against the connection's cache.
//
// STOPGAP: the ETF codec proper is lib/terms/etf/ (another change); until it is merged this
// file carries a small codec of its own, complete for what crosses a distribution connection
// (atoms incl. ATOM_CACHE_REF, integers, floats, tuples, lists, improper lists, binaries,
// bitstrings, maps, pids, refs, ports, funs kept opaque). Once lib/terms/etf/ is in, only
// createEtfPort changes.
import type { FrameBatch } from '../../terms/frame-batch.js'
import { appendBytes } from '../../terms/frame-batch.js'
import { Atom, atom } from '../../terms/atom.js'
import { Tuple } from '../../terms/tuple.js'
import { ImproperList } from '../../terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../../terms/otp-terms.js'
import { Pid } from '../../terms/pid.js'
import { Ref } from '../../terms/ref.js'
import { CodecError } from '../../errors.js'

export interface EtfPort {
  /** Append `value`'s ETF bytes (no 131 version byte). Throws CodecError ERR_ENCODE. */
  encodeInto(value: unknown, out: FrameBatch): void
  /** One term at `offset`; `owned`: binaries may be views of `buf`. Throws CodecError ERR_DECODE. */
  decodeAt(buf: Buffer, offset: number, refs: unknown, owned: boolean): { value: unknown; end: number }
  /** The atom-cache part of a distribution header at `offset` (NumberOfAtomCacheRefs first). */
  readHeader(buf: Buffer, offset: number): { refs: unknown; offset: number }
}

export function createEtfPort(): EtfPort {
  const cache: (Atom | boolean | undefined)[] = new Array(2048)
  return {
    encodeInto: (value, out) => new Writer(out).term(value, 0),
    decodeAt: (buf, offset, refs, owned) => {
      const r = new Reader(buf, offset, (refs as readonly (Atom | boolean)[] | undefined) ?? [], owned)
      const value = r.term(0)
      return { value, end: r.at }
    },
    readHeader: (buf, offset) => readHeader(buf, offset, cache),
  }
}

const MAX_DEPTH = 10000

function bad(what: string): CodecError {
  return new CodecError('ERR_DECODE', `bad Erlang term: ${what}`)
}

function atomOf(name: string): Atom | boolean {
  return name === 'true' ? true : name === 'false' ? false : atom(name)
}

/** NumberOfAtomCacheRefs, Flags (nibbles), AtomCacheRefs: the refs as atoms, in order. */
function readHeader(buf: Buffer, offset: number, cache: (Atom | boolean | undefined)[]): { refs: unknown; offset: number } {
  let at = offset
  const need = (n: number): void => {
    if (at + n > buf.length) throw bad('truncated distribution header')
  }
  need(1)
  const n = buf[at++] as number
  if (n === 0) return { refs: undefined, offset: at }
  const flagBytes = (n >> 1) + 1
  need(flagBytes)
  const flags = buf.subarray(at, at + flagBytes)
  at += flagBytes
  const nibble = (i: number): number => ((flags[i >> 1] as number) >> ((i & 1) * 4)) & 0xf
  const longAtoms = (nibble(n) & 1) !== 0
  const refs: (Atom | boolean)[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const f = nibble(i)
    const segment = f & 7
    need(1)
    const slot = segment * 256 + (buf[at++] as number)
    if ((f & 8) !== 0) {
      need(longAtoms ? 2 : 1)
      const len = longAtoms ? buf.readUInt16BE(at) : (buf[at] as number)
      at += longAtoms ? 2 : 1
      need(len)
      const a = atomOf(buf.toString('utf8', at, at + len))
      at += len
      cache[slot] = a
      refs[i] = a
    } else {
      const a = cache[slot]
      if (a === undefined) throw bad(`atom cache reference to empty slot ${slot}`)
      refs[i] = a
    }
  }
  return { refs, offset: at }
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public at: number,
    private readonly refs: readonly (Atom | boolean)[],
    private readonly owned: boolean,
  ) {}

  private need(n: number): void {
    if (n < 0 || this.at + n > this.buf.length) throw bad('truncated')
  }

  private u8(): number {
    this.need(1)
    return this.buf[this.at++] as number
  }

  private u16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.at)
    this.at += 2
    return v
  }

  private u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.at)
    this.at += 4
    return v
  }

  private bytes(n: number): Buffer {
    this.need(n)
    const b = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return this.owned ? b : Buffer.from(b)
  }

  private text(n: number, enc: 'utf8' | 'latin1'): string {
    this.need(n)
    const s = this.buf.toString(enc, this.at, this.at + n)
    this.at += n
    return s
  }

  /** An atom where the format needs one (a node name): its text. */
  private nodeName(depth: number): string {
    const a = this.term(depth + 1)
    if (a instanceof Atom) return a.name
    throw bad('node name is not an atom')
  }

  term(depth: number): unknown {
    if (depth > MAX_DEPTH) throw bad(`nested deeper than ${MAX_DEPTH}`)
    const tag = this.u8()
    switch (tag) {
      case 97:
        return this.u8()
      case 98: {
        this.need(4)
        const v = this.buf.readInt32BE(this.at)
        this.at += 4
        return v
      }
      case 70: {
        this.need(8)
        const v = this.buf.readDoubleBE(this.at)
        this.at += 8
        return v
      }
      case 118:
        return atomOf(this.text(this.u16(), 'utf8'))
      case 119:
        return atomOf(this.text(this.u8(), 'utf8'))
      case 100:
        return atomOf(this.text(this.u16(), 'latin1'))
      case 115:
        return atomOf(this.text(this.u8(), 'latin1'))
      case 82: {
        const i = this.u8()
        if (i >= this.refs.length) throw bad(`atom cache ref ${i} out of range`)
        return this.refs[i]
      }
      case 104:
      case 105: {
        const n = tag === 104 ? this.u8() : this.u32()
        this.need(n) // at least a byte per element
        const t = new Tuple()
        for (let i = 0; i < n; i++) t.push(this.term(depth + 1))
        return t
      }
      case 106:
        return []
      case 107: {
        const b = this.bytes(this.u16())
        return Array.from(b)
      }
      case 108: {
        const n = this.u32()
        this.need(n)
        const items: unknown[] = new Array(n)
        for (let i = 0; i < n; i++) items[i] = this.term(depth + 1)
        const tail = this.term(depth + 1)
        if (Array.isArray(tail) && !(tail instanceof Tuple) && tail.length === 0) return items
        return new ImproperList(items, tail)
      }
      case 109:
        return this.bytes(this.u32())
      case 77: {
        const n = this.u32()
        const bits = this.u8()
        return new BitBinary(Buffer.from(this.bytes(n)), bits)
      }
      case 110:
      case 111: {
        const n = tag === 110 ? this.u8() : this.u32()
        const sign = this.u8()
        const d = this.bytes(n)
        let v = 0n
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(d[i] as number)
        if (sign !== 0) v = -v
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
      }
      case 116: {
        const n = this.u32()
        this.need(n * 2)
        const m = new Map<unknown, unknown>()
        for (let i = 0; i < n; i++) {
          const k = this.term(depth + 1)
          m.set(k, this.term(depth + 1))
        }
        return m
      }
      case 88: {
        const node = this.nodeName(depth)
        const id = this.u32()
        const serial = this.u32()
        return new Pid(node, id, serial, this.u32())
      }
      case 90: {
        const n = this.u16()
        if (n < 1 || n > 5) throw bad(`reference of ${n} words`)
        const node = this.nodeName(depth)
        const creation = this.u32()
        const ids: number[] = []
        for (let i = 0; i < n; i++) ids.push(this.u32())
        return new Ref(node, ids[0] as number, creation, ids)
      }
      case 89: {
        const node = this.nodeName(depth)
        const id = this.u32()
        return new Port(node, BigInt(id), this.u32())
      }
      case 120: {
        const node = this.nodeName(depth)
        this.need(8)
        const id = this.buf.readBigUInt64BE(this.at)
        this.at += 8
        return new Port(node, id, this.u32())
      }
      case 112: {
        this.need(4)
        const size = this.buf.readUInt32BE(this.at)
        return new OpaqueTerm(112, Buffer.from(this.bytes(size)))
      }
      case 113: {
        const start = this.at
        this.term(depth + 1)
        this.term(depth + 1)
        this.term(depth + 1)
        return new OpaqueTerm(113, Buffer.from(this.buf.subarray(start, this.at)))
      }
      default:
        throw bad(`unknown tag ${tag}`)
    }
  }
}

const SCRATCH = Buffer.alloc(9)

class Writer {
  constructor(private readonly out: FrameBatch) {}

  private byte(b: number): void {
    SCRATCH[0] = b
    appendBytes(this.out, SCRATCH, 0, 1)
  }

  private u16(tag: number, v: number): void {
    SCRATCH[0] = tag
    SCRATCH.writeUInt16BE(v, 1)
    appendBytes(this.out, SCRATCH, 0, 3)
  }

  private u32(tag: number, v: number): void {
    SCRATCH[0] = tag
    SCRATCH.writeUInt32BE(v >>> 0, 1)
    appendBytes(this.out, SCRATCH, 0, 5)
  }

  private raw(b: Uint8Array): void {
    appendBytes(this.out, b)
  }

  private atomText(name: string): void {
    const b = Buffer.from(name, 'utf8')
    if (b.length < 256) {
      SCRATCH[0] = 119
      SCRATCH[1] = b.length
      appendBytes(this.out, SCRATCH, 0, 2)
    } else this.u16(118, b.length)
    this.raw(b)
  }

  private integer(v: bigint): void {
    if (v >= 0n && v < 256n) {
      SCRATCH[0] = 97
      SCRATCH[1] = Number(v)
      appendBytes(this.out, SCRATCH, 0, 2)
      return
    }
    if (v >= -0x80000000n && v <= 0x7fffffffn) {
      SCRATCH[0] = 98
      SCRATCH.writeInt32BE(Number(v), 1)
      appendBytes(this.out, SCRATCH, 0, 5)
      return
    }
    let a = v < 0n ? -v : v
    const digits: number[] = []
    while (a > 0n) {
      digits.push(Number(a & 0xffn))
      a >>= 8n
    }
    if (digits.length < 256) {
      SCRATCH[0] = 110
      SCRATCH[1] = digits.length
      appendBytes(this.out, SCRATCH, 0, 2)
    } else this.u32(111, digits.length)
    this.byte(v < 0n ? 1 : 0)
    this.raw(Uint8Array.from(digits))
  }

  term(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new CodecError('ERR_ENCODE', `term nested deeper than ${MAX_DEPTH}`)
    switch (typeof v) {
      case 'number':
        if (Number.isInteger(v)) {
          if (v >= 0 && v < 256) {
            SCRATCH[0] = 97
            SCRATCH[1] = v
            appendBytes(this.out, SCRATCH, 0, 2)
          } else if (v >= -0x80000000 && v <= 0x7fffffff) {
            SCRATCH[0] = 98
            SCRATCH.writeInt32BE(v, 1)
            appendBytes(this.out, SCRATCH, 0, 5)
          } else this.integer(BigInt(v))
          return
        }
        if (!Number.isFinite(v)) throw new CodecError('ERR_ENCODE', `${v} has no Erlang form`)
        SCRATCH[0] = 70
        SCRATCH.writeDoubleBE(v, 1)
        appendBytes(this.out, SCRATCH, 0, 9)
        return
      case 'bigint':
        this.integer(v)
        return
      case 'string': {
        const b = Buffer.from(v, 'utf8')
        this.u32(109, b.length)
        this.raw(b)
        return
      }
      case 'boolean':
        this.atomText(v ? 'true' : 'false')
        return
      case 'undefined':
        this.atomText('undefined')
        return
      case 'object':
        break
      default:
        throw new CodecError('ERR_ENCODE', `a ${typeof v} cannot be sent to an Erlang node`)
    }
    if (v === null) return this.atomText('undefined')
    if (v instanceof Atom) return this.atomText(v.name)
    if (v instanceof Tuple) {
      if (v.length < 256) {
        SCRATCH[0] = 104
        SCRATCH[1] = v.length
        appendBytes(this.out, SCRATCH, 0, 2)
      } else this.u32(105, v.length)
      for (const x of v) this.term(x, depth + 1)
      return
    }
    if (Array.isArray(v)) {
      if (v.length > 0) {
        this.u32(108, v.length)
        for (const x of v) this.term(x, depth + 1)
      }
      this.byte(106)
      return
    }
    if (v instanceof ImproperList) {
      this.u32(108, v.items.length)
      for (const x of v.items) this.term(x, depth + 1)
      this.term(v.tail, depth + 1)
      return
    }
    if (v instanceof Uint8Array) {
      this.u32(109, v.length)
      this.raw(v)
      return
    }
    if (v instanceof Pid) {
      this.byte(88)
      this.atomText(v.node)
      const b = Buffer.allocUnsafe(12)
      b.writeUInt32BE(v.id >>> 0, 0)
      b.writeUInt32BE(v.serial >>> 0, 4)
      b.writeUInt32BE(v.creation >>> 0, 8)
      this.raw(b)
      return
    }
    if (v instanceof Ref) {
      this.u16(90, v.ids.length)
      this.atomText(v.node)
      const b = Buffer.allocUnsafe(4 + 4 * v.ids.length)
      b.writeUInt32BE(v.creation >>> 0, 0)
      v.ids.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 + 4 * i))
      this.raw(b)
      return
    }
    if (v instanceof Port) {
      this.byte(120)
      this.atomText(v.node)
      const b = Buffer.allocUnsafe(12)
      b.writeBigUInt64BE(v.id, 0)
      b.writeUInt32BE(v.creation >>> 0, 8)
      this.raw(b)
      return
    }
    if (v instanceof BitBinary) {
      this.u32(77, v.bytes.length)
      this.byte(v.bits)
      this.raw(v.bytes)
      return
    }
    if (v instanceof OpaqueTerm) {
      this.byte(v.tag)
      this.raw(v.bytes)
      return
    }
    if (v instanceof Map) {
      this.u32(116, v.size)
      for (const [k, x] of v) {
        this.term(k, depth + 1)
        this.term(x, depth + 1)
      }
      return
    }
    if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
      const keys = Object.keys(v)
      this.u32(116, keys.length)
      for (const k of keys) {
        this.term(k, depth + 1)
        this.term((v as Record<string, unknown>)[k], depth + 1)
      }
      return
    }
    throw new CodecError('ERR_ENCODE', `a ${(v as object).constructor?.name ?? 'object'} cannot be sent to an Erlang node`)
  }
}
