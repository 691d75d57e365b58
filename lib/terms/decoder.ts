// netkernel's own MessagePack reader (the 'msgpackr' codec's decoder). Strict: one term, no
// trailing bytes, only the extension types of ext-codes.ts; every failure is a CodecError.
import { Buffer } from 'node:buffer'
import { type CodecError, NetkernelError } from '../errors.js'
import { DecodedPids } from './pid-cache.js'
import { EXT, MAX_MESSAGE_TERMS, MAX_TERM_DEPTH, decodeError, tooManyTerms, unknownExtension } from './ext-codes.js'
import { asTuple, type Tuple } from './tuple.js'
import type { Pid } from './pid.js'
import {
  type ScalarPayload,
  atomFromName,
  bitBinaryFromFields,
  bytesToBigint,
  checkScalarFields,
  improperFromFields,
  opaqueFromFields,
  otpRefFrom,
  portFromFields,
  errorFromFields,
  errorShape,
  nestedField,
  nests,
  pidFromFields,
  refFromFields,
} from './ext-payloads.js'
import { plainKey } from './term-kinds.js'

const EMPTY = Buffer.alloc(0)
/** Strings up to this many bytes are decoded by a loop when ASCII, longer ones natively. */
const SHORT_STRING = 16
/** Binaries up to this many bytes are copied out by a loop, longer ones natively. */
const SHORT_BINARY = 32
/** A cache of the last few node names seen in pids and refs, compared byte by byte. */
const NODE_CACHE_SIZE = 4
/** MessagePack's first byte of an array of three elements. */
const FIXARRAY_3 = 0x93

/**
 * Where decodeRange puts the other two elements of a three-element array whose first element is
 * `tag` (0–127: a one-byte integer on the wire), instead of making the array: a connection
 * decodes its message frames, [SEND, to, msg], this way (connection.ts).
 */
export interface TripleSlot {
  readonly tag: number
  a: unknown
  b: unknown
}

/** decodeRange's answer when it filled the TripleSlot it was given. */
export const IN_SLOT: unique symbol = Symbol('netkernel.inSlot')

export class TermDecoder {
  /**
   * The most terms one decode may make (every value read counts, the fields of a Pid's or a
   * Ref's payload too); more throw ERR_MESSAGE_TOO_LARGE (ext-codes.ts MAX_MESSAGE_TERMS).
   */
  maxTerms = MAX_MESSAGE_TERMS
  /** Terms the decode under way may still make. */
  private terms = 0
  private owned = false
  private buf: Buffer = EMPTY
  /** Where the term being decoded starts in buf (errors give offsets from it). */
  private base = 0
  private pos = 0
  private end = 0
  private depth = 0
  private readonly nodeBytes: (Buffer | undefined)[] = new Array(NODE_CACHE_SIZE)
  private readonly nodeNames: string[] = new Array(NODE_CACHE_SIZE)
  private nodeNext = 0
  /** The last two Pids parsed and their payload bytes (pid-cache.ts). */
  private readonly pidCache = new DecodedPids()

  /** The one term in `bytes`; throws CodecError ERR_DECODE or ERR_UNKNOWN_EXTENSION. */
  /**
   * `owned`: the caller hands these bytes over (a buffer no one else uses, such as a joined
   * large frame): binaries of 1 KB and more are then returned as views of it, not copies.
   */
  decode(bytes: Uint8Array, owned = false): unknown {
    if (!(bytes instanceof Uint8Array)) throw decodeError(`expected a Buffer or Uint8Array, got ${typeof bytes}`)
    return this.run(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length, owned)
  }

  /**
   * The one term in buf[start, end), as decode(buf.subarray(start, end)) would give it (offsets in
   * errors count from start; nothing outside the range is read), without making that view: the
   * frame path decodes each small frame where it lies in the read buffer. Binaries are copied.
   * With a `slot`, a [slot.tag, a, b] array is not made: a and b go to the slot, and IN_SLOT is
   * returned (any other term is returned as without it).
   */
  decodeRange(buf: Buffer, start: number, end: number, slot?: TripleSlot): unknown {
    // [tag, a, b] into the slot: the same reads, errors and depth as the array's elements (a
    // range too short to hold three elements takes the array's path, to fail as it does).
    if (slot !== undefined && end - start >= 4 && buf[start] === FIXARRAY_3 && buf[start + 1] === slot.tag) {
      return this.run(buf, start, end, false, slot)
    }
    return this.run(buf, start, end, false)
  }

  private run(buf: Buffer, start: number, end: number, owned: boolean, slot?: TripleSlot): unknown {
    this.owned = owned
    this.buf = buf
    this.base = start
    this.pos = start
    this.end = end
    this.depth = 0
    this.terms = this.maxTerms
    try {
      let value: unknown
      if (slot === undefined) {
        value = this.read()
      } else {
        this.pos = start + 2
        this.depth = 1
        slot.a = this.read()
        slot.b = this.read()
        value = IN_SLOT
      }
      if (this.pos !== this.end) {
        throw decodeError(`${this.end - this.pos} bytes of garbage after the term (at offset ${this.pos - this.base})`)
      }
      return value
    } catch (error) {
      if (error instanceof NetkernelError) throw error // (CodecError, and the terms bound's error)
      throw decodeError(`malformed term: ${(error as Error)?.message ?? String(error)}`, error)
    } finally {
      this.buf = EMPTY
    }
  }

  private truncated(): CodecError {
    return decodeError(`truncated term: needs more than the ${this.end - this.base} bytes given`)
  }

  private need(n: number): void {
    if (this.end - this.pos < n) throw this.truncated()
  }

  private u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  private u16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  private u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  private read(): unknown {
    if (this.pos >= this.end) throw this.truncated()
    if (--this.terms < 0) throw tooManyTerms(this.maxTerms)
    const b = this.buf[this.pos++]!
    if (b < 0x80) return b
    if (b < 0x90) return this.readPlain(b & 0x0f)
    if (b < 0xa0) return this.readArray(b & 0x0f)
    if (b < 0xc0) return this.readString(b & 0x1f)
    if (b >= 0xe0) return b - 0x100
    const buf = this.buf
    let v: number
    switch (b) {
      case 0xc0:
        return null
      case 0xc2:
        return false
      case 0xc3:
        return true
      case 0xc4:
        return this.readBin(this.u8())
      case 0xc5:
        return this.readBin(this.u16())
      case 0xc6:
        return this.readBin(this.u32())
      case 0xc7:
        return this.readExt(this.u8())
      case 0xc8:
        return this.readExt(this.u16())
      case 0xc9:
        return this.readExt(this.u32())
      case 0xca:
        this.need(4)
        v = buf.readFloatBE(this.pos)
        this.pos += 4
        return v
      case 0xcb:
        this.need(8)
        v = buf.readDoubleBE(this.pos)
        this.pos += 8
        return v
      case 0xcc:
        return this.u8()
      case 0xcd:
        return this.u16()
      case 0xce:
        return this.u32()
      case 0xcf:
      case 0xd3:
        return this.readInt64(b === 0xd3)
      case 0xd0:
        return (this.u8() << 24) >> 24
      case 0xd1:
        return (this.u16() << 16) >> 16
      case 0xd2:
        return this.u32() | 0
      case 0xd4:
        return this.readExt(1)
      case 0xd5:
        return this.readExt(2)
      case 0xd6:
        return this.readExt(4)
      case 0xd7:
        return this.readExt(8)
      case 0xd8:
        return this.readExt(16)
      case 0xd9:
        return this.readString(this.u8())
      case 0xda:
        return this.readString(this.u16())
      case 0xdb:
        return this.readString(this.u32())
      case 0xdc:
        return this.readArray(this.u16())
      case 0xdd:
        return this.readArray(this.u32())
      case 0xde:
        return this.readPlain(this.u16())
      case 0xdf:
        return this.readPlain(this.u32())
      default:
        throw decodeError(`invalid MessagePack type byte 0x${b.toString(16)} at offset ${this.pos - 1 - this.base}`)
    }
  }

  /** int 64 / uint 64 (never written by netkernel): a number when safe, else a bigint. */
  private readInt64(signed: boolean): number | bigint {
    this.need(8)
    const at = this.pos
    const hi = signed ? this.buf.readInt32BE(at) : this.buf.readUInt32BE(at)
    const v = hi * 4294967296 + this.buf.readUInt32BE(at + 4)
    this.pos += 8
    if (Number.isSafeInteger(v)) return v
    return signed ? this.buf.readBigInt64BE(at) : this.buf.readBigUInt64BE(at)
  }

  private readString(n: number): string {
    this.need(n)
    const buf = this.buf
    const start = this.pos
    const end = start + n
    this.pos = end
    if (n <= SHORT_STRING) {
      let s = ''
      for (let i = start; i < end; i++) {
        const c = buf[i]!
        if (c >= 0x80) return buf.toString('utf8', start, end)
        s += String.fromCharCode(c)
      }
      return s
    }
    return buf.toString('utf8', start, end)
  }

  private readBin(n: number): Buffer {
    this.need(n)
    if (this.owned && n >= 1024) {
      const view = this.buf.subarray(this.pos, this.pos + n)
      this.pos += n
      return view
    }
    const out = Buffer.allocUnsafe(n)
    const buf = this.buf
    const at = this.pos
    // A short one by a loop: copying natively needs a view of the source (Buffer.copy
    // validates its arguments and then makes this view itself), as costly as the buffer.
    if (n <= SHORT_BINARY) for (let i = 0; i < n; i++) out[i] = buf[at + i]!
    else out.set(new Uint8Array(buf.buffer, buf.byteOffset + at, n))
    this.pos = at + n
    return out
  }

  /** A container announces n more terms: refused before it is made when the budget cannot hold them. */
  private room(n: number): void {
    if (n > this.terms) throw tooManyTerms(this.maxTerms)
  }

  private enter(): void {
    if (++this.depth > MAX_TERM_DEPTH) throw decodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels`)
  }

  private readArray(n: number): unknown[] {
    // Every element takes at least one byte: refuse a count the input cannot hold before allocating.
    if (n > this.end - this.pos) throw this.truncated()
    this.room(n)
    this.enter()
    const out = new Array<unknown>(n)
    for (let i = 0; i < n; i++) out[i] = this.read()
    this.depth--
    return out
  }

  private readPlain(n: number): Record<string, unknown> {
    if (n * 2 > this.end - this.pos) throw this.truncated()
    this.room(n * 2)
    this.enter()
    const out: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const key = plainKey(this.read())
      const value = this.read()
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true })
      } else {
        out[key] = value
      }
    }
    this.depth--
    return out
  }

  private readExt(n: number): unknown {
    this.need(n + 1)
    const type = (this.buf[this.pos++]! << 24) >> 24
    const bodyEnd = this.pos + n
    let value: unknown
    if (type === EXT.BIGINT) {
      value = bytesToBigint(this.buf.subarray(this.pos, bodyEnd))
      this.pos = bodyEnd
      return value
    }
    // The other payloads are MessagePack: read them with the end moved to the payload's end.
    const outer = this.end
    this.end = bodyEnd
    switch (type) {
      case EXT.PID:
        value = this.readPidCached(n)
        break
      case EXT.REF:
        value = this.readRef()
        break
      case EXT.MAP:
        value = this.readMap()
        break
      case EXT.ERROR:
        value = this.readError()
        break
      case EXT.ATOM:
        if (
          this.pos >= this.end ||
          this.buf[this.pos]! < 0xa0 ||
          (this.buf[this.pos]! > 0xbf && (this.buf[this.pos]! < 0xd9 || this.buf[this.pos]! > 0xdb))
        ) {
          throw decodeError('malformed Atom payload: expected a str')
        }
        value = atomFromName(this.read())
        break
      case EXT.TUPLE:
        value = this.readTuple()
        break
      case EXT.IMPROPER_LIST: {
        this.expectArray(2, 'ImproperList')
        this.enter()
        if (this.pos >= this.end || !isArrayByte(this.buf[this.pos]))
          throw decodeError('malformed ImproperList payload: items must be an array')
        const items = this.read()
        value = improperFromFields(items, this.read())
        this.depth--
        break
      }
      case EXT.BIT_BINARY: {
        const f = this.scalars(2, 'BitBinary')
        value = bitBinaryFromFields(f[0], f[1])
        break
      }
      case EXT.PORT: {
        const f = this.scalars(4, 'Port')
        value = portFromFields(f[0], f[1], f[2], f[3])
        break
      }
      case EXT.OPAQUE: {
        const f = this.scalars(2, 'OpaqueTerm')
        value = opaqueFromFields(f[0], f[1])
        break
      }
      case EXT.OTP_REF: {
        const b = this.pos < this.end ? this.buf[this.pos]! : 0
        const n = b & 0x0f
        if ((b & 0xf0) !== 0x90 || n < 4 || n > 7) throw decodeError('malformed Ref payload: expected an array of 4 to 7')
        value = this.readOtpRef(n - 2)
        break
      }
      default:
        throw unknownExtension(type)
    }
    if (this.pos !== bodyEnd) throw decodeError(`extension type ${type} has ${bodyEnd - this.pos} bytes of garbage`)
    this.end = outer
    return value
  }

  /** A payload that is an array of n scalars (see nestedField), one level deep. */
  private scalars(n: number, what: ScalarPayload): unknown[] {
    this.expectArray(n, what)
    this.enter()
    const out = new Array<unknown>(n)
    for (let i = 0; i < n; i++) {
      if (this.pos < this.end && nests(this.buf[this.pos])) throw nestedField(what)
      out[i] = this.read()
    }
    this.depth--
    return out
  }

  /** A Tuple payload: a MessagePack array, one level, its elements any terms. */
  private readTuple(): Tuple {
    const b = this.pos < this.end ? this.buf[this.pos]! : 0
    let n: number
    if (b >= 0x90 && b <= 0x9f) {
      this.pos++
      n = b & 0x0f
    } else if (b === 0xdc) {
      this.pos++
      n = this.u16()
    } else if (b === 0xdd) {
      this.pos++
      n = this.u32()
    } else throw decodeError('malformed Tuple payload: expected a MessagePack array')
    if (n > this.end - this.pos) throw this.truncated()
    this.room(n)
    this.enter()
    const out: unknown[] = []
    for (let i = 0; i < n; i++) out.push(this.read())
    this.depth--
    return asTuple(out)
  }

  private expectArray(n: number, what: string): void {
    if (this.pos >= this.end || this.buf[this.pos] !== (0x90 | n)) {
      throw decodeError(`malformed ${what} payload: expected an array of ${n}`)
    }
    this.pos++
  }

  /** One field of a Pid or Ref: a scalar (see nestedField), checked before it is read. */
  private field(what: 'Pid' | 'Ref'): unknown {
    if (this.pos < this.end && nests(this.buf[this.pos])) throw nestedField(what)
    return this.read()
  }

  /** A Pid payload of n bytes: a Pid kept when the bytes are the same, else parsed (and kept). */
  private readPidCached(n: number): unknown {
    const start = this.pos
    // The same payload parses to the same Pid unless it would now be nested too deep.
    if (this.depth < MAX_TERM_DEPTH) {
      const kept = this.pidCache.find(this.buf, start, n)
      if (kept !== undefined) {
        this.pos = start + n
        return kept
      }
    }
    const pid = this.readPid()
    if (this.pos === start + n) this.pidCache.keep(pid as Pid, this.buf, start, this.pos)
    return pid
  }

  // The payload array of a Pid or Ref is one level deep, like any other array.
  private readPid(): unknown {
    this.expectArray(4, 'Pid')
    this.enter()
    const node = this.readNode('Pid')
    const pid = pidFromFields(node, this.field('Pid'), this.field('Pid'), this.field('Pid'))
    this.depth--
    return pid
  }

  private readRef(): unknown {
    this.expectArray(3, 'Ref')
    this.enter()
    const node = this.readNode('Ref')
    const ref = refFromFields(node, this.field('Ref'), this.field('Ref'))
    this.depth--
    return ref
  }

  /** An OTP ref's payload, [node, creation, ...ids] with `words` ids: read as readRef reads a one-word one. */
  private readOtpRef(words: number): unknown {
    this.expectArray(words + 2, 'Ref')
    this.enter()
    const node = this.readNode('Ref')
    const creation = this.field('Ref')
    const ids = new Array<unknown>(words)
    for (let i = 0; i < words; i++) ids[i] = this.field('Ref')
    const ref = otpRefFrom(node, creation, ids)
    this.depth--
    return ref
  }

  /** [name, message] or [name, message, code], all scalars; anything else is refused unread. */
  private readError(): Error {
    const b = this.pos < this.end ? this.buf[this.pos]! : 0
    if (b !== 0x92 && b !== 0x93) throw errorShape()
    checkScalarFields(this.buf.subarray(this.pos, this.end), 'Error')
    return errorFromFields(this.read())
  }

  /** A node name: the same few names recur in every pid, so reuse their strings. */
  private readNode(what: 'Pid' | 'Ref'): unknown {
    const buf = this.buf
    const b = this.pos < this.end ? buf[this.pos]! : 0
    if (b < 0xa0 || b > 0xbf) return this.field(what)
    const n = b & 0x1f
    const start = this.pos + 1
    if (start + n > this.end) return this.read()
    for (let k = 0; k < NODE_CACHE_SIZE; k++) {
      const cached = this.nodeBytes[k]
      if (cached === undefined || cached.length !== n) continue
      let i = 0
      while (i < n && cached[i] === buf[start + i]) i++
      if (i === n) {
        this.pos = start + n
        return this.nodeNames[k]
      }
    }
    const name = this.read() as string
    const slot = this.nodeNext
    this.nodeNext = (slot + 1) % NODE_CACHE_SIZE
    this.nodeBytes[slot] = Buffer.from(buf.subarray(start, start + n))
    this.nodeNames[slot] = name
    return name
  }

  private readMap(): Map<unknown, unknown> {
    const b = this.pos < this.end ? this.buf[this.pos]! : 0
    let n: number
    if (b >= 0x80 && b <= 0x8f) {
      this.pos++
      n = b & 0x0f
    } else if (b === 0xde) {
      this.pos++
      n = this.u16()
    } else if (b === 0xdf) {
      this.pos++
      n = this.u32()
    } else {
      throw decodeError('malformed Map payload: expected a MessagePack map')
    }
    if (n * 2 > this.end - this.pos) throw this.truncated()
    this.room(n * 2)
    this.enter()
    const out = new Map<unknown, unknown>()
    for (let i = 0; i < n; i++) {
      const key = this.read()
      out.set(key, this.read())
    }
    this.depth--
    return out
  }
}

function isArrayByte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd)
}
