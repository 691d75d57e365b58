// netkernel's own MessagePack writer (the 'netkernel' codec's encoder). It writes into one
// scratch buffer per encoder and copies the result once into a fresh Buffer, the technique
// that makes msgpackr fast, but with the extension types of ext-codes.ts per instance:
// msgpackr's own extension registry is module-global (kriszyp/msgpackr#93) and exact Maps
// bypass it. The entry points (encode, frames) come first, then the terms (containers, pids,
// refs, Maps, errors, bigints), then the MessagePack primitives they are written with (length
// headers, numbers, strings, binaries, extension framing), all methods of the one encoder
// object: the encoder is the hot path, no per-value indirection.
import { Buffer } from 'node:buffer'
import { NetkernelError } from '../errors.js'
import { appendBytes, type FrameBatch } from './frame-batch.js'
import { EXT, MAX_TERM_DEPTH, encodeError, extHeaderSize, writeExtHeader } from './ext-codes.js'
import {
  bigintToBytes,
  checkBitBinary,
  checkImproper,
  checkOpaque,
  checkPid,
  checkRef,
  errorFields,
  checkOtpRef,
  portFields,
} from './ext-payloads.js'
import {
  KIND_ARRAY,
  KIND_ATOM,
  KIND_BIN,
  KIND_BIT_BINARY,
  KIND_ERROR,
  KIND_IMPROPER,
  KIND_MAP,
  KIND_OBJECT,
  KIND_OPAQUE,
  KIND_PID,
  KIND_PORT,
  KIND_REF,
  KIND_TUPLE,
  notATerm,
  objectKind,
} from './term-kinds.js'
import type { Atom } from './atom.js'
import type { ImproperList } from './improper-list.js'
import type { BitBinary, OpaqueTerm, Port } from './otp-terms.js'
import type { Pid } from './pid.js'
import type { Ref } from './ref.js'
import { EncodedPids } from './pid-cache.js'

const INITIAL_SIZE = 8192
/** A scratch buffer grown past this for one large term is dropped after the call. */
const KEEP_MAX = 1 << 20
const MAX_FRAME_BODY = 0xffffffff
/** Room every write() may use without asking: the largest header or scalar is 9 bytes. */
const SLACK = 16
/** Strings shorter than this are written by a loop (ASCII) instead of a native call. */
const SHORT_STRING = 64

export class TermEncoder {
  private buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_SIZE)
  private pos = 0
  /** Where the body being written starts, and the most bytes it may take (checked as the buffer grows). */
  private bodyStart = 0
  private cap = Infinity
  /** A buffer to grow into instead of allocating (a batch's spare, see frame-batch.ts). */
  private reuse: Buffer | null = null
  private depth = 0
  private busy = false

  /**
   * `maxFrameBody`: the largest frame body encodeFrame / encodeFrameInto write (a node's
   * maxMessageSize); a larger one throws CodecError ERR_MESSAGE_TOO_LARGE as soon as the
   * encoded bytes pass it (checked as the scratch buffer grows, and once at the end), and
   * nothing is written to a batch. encode() has no such bound.
   */
  constructor(private readonly maxFrameBody = MAX_FRAME_BODY) {}

  /** The error for a body of at least `size` bytes, over `cap`. */
  private overCap(size: number): Error {
    if (this.maxFrameBody >= MAX_FRAME_BODY) return encodeError(`a term of ${size} bytes does not fit a frame`)
    return new NetkernelError(
      'ERR_MESSAGE_TOO_LARGE',
      `a message of ${size} bytes or more exceeds maxMessageSize (${this.maxFrameBody} bytes)`,
    )
  }

  /** The MessagePack bytes of a term, in a fresh Buffer. */
  encode(value: unknown): Buffer {
    return this.run(value, 0)
  }

  /** A 4-byte big-endian length followed by the term's bytes, in one fresh Buffer. */
  encodeFrame(value: unknown): Buffer {
    return this.run(value, 4)
  }

  /**
   * Append a frame to `out`, encoding straight into out's buffer (it becomes the scratch for
   * this call): no per-frame Buffer and no copy. On error `out.len` is left as it was.
   */
  encodeFrameInto(value: unknown, out: FrameBatch): void {
    if (this.busy) {
      this.run(value, 4, out)
      return
    }
    const scratch = this.buf
    const start = out.len
    this.busy = true
    this.buf = out.buf
    this.pos = start + 4
    this.bodyStart = start + 4
    this.cap = Math.min(this.maxFrameBody, MAX_FRAME_BODY)
    this.depth = 0
    const spare = out.spare
    if (spare !== undefined) this.reuse = spare
    let done = false
    try {
      this.ensure(4 + SLACK)
      this.write(value)
      const size = this.pos - start - 4
      if (size > this.cap) throw this.overCap(size)
      const buf = this.buf
      buf[start] = size >>> 24
      buf[start + 1] = (size >>> 16) & 0xff
      buf[start + 2] = (size >>> 8) & 0xff
      buf[start + 3] = size & 0xff
      out.len = this.pos
      done = true
    } catch (error) {
      if (error instanceof NetkernelError) throw error
      throw encodeError(`cannot encode the term: ${(error as Error)?.message ?? String(error)}`, error)
    } finally {
      // Possibly grown: it holds the frames before `start` too. A failed large term does not
      // leave the batch holding its grown buffer.
      out.buf = done || this.buf.length <= KEEP_MAX || this.buf === out.buf ? this.buf : copyStart(this.buf, start)
      if (spare !== undefined && this.reuse === null) out.spare = undefined // taken
      this.reuse = null
      this.buf = scratch
      this.busy = false
    }
  }

  private run(value: unknown, reserve: number, into?: FrameBatch): Buffer {
    // A getter on a plain object could call back into this encoder: give it its own scratch.
    if (this.busy) return new TermEncoder(this.maxFrameBody).run(value, reserve, into)
    this.busy = true
    this.pos = reserve
    this.bodyStart = reserve
    this.cap = reserve === 4 ? Math.min(this.maxFrameBody, MAX_FRAME_BODY) : Infinity
    this.depth = 0
    try {
      this.ensure(reserve + SLACK)
      this.write(value)
      const end = this.pos
      const buf = this.buf
      if (reserve === 4) {
        const size = end - 4
        if (size > this.cap) throw this.overCap(size)
        buf[0] = size >>> 24
        buf[1] = (size >>> 16) & 0xff
        buf[2] = (size >>> 8) & 0xff
        buf[3] = size & 0xff
      }
      if (into !== undefined) {
        appendBytes(into, buf, 0, end)
        return buf
      }
      const out = Buffer.allocUnsafe(end)
      if (end <= 64) for (let i = 0; i < end; i++) out[i] = buf[i]!
      else buf.copy(out, 0, 0, end)
      return out
    } catch (error) {
      if (error instanceof NetkernelError) throw error
      throw encodeError(`cannot encode the term: ${(error as Error)?.message ?? String(error)}`, error)
    } finally {
      this.busy = false
      if (this.buf.length > KEEP_MAX) this.buf = Buffer.allocUnsafeSlow(INITIAL_SIZE)
    }
  }

  private write(value: unknown): void {
    if (this.pos + SLACK > this.buf.length) this.ensure(SLACK)
    switch (typeof value) {
      case 'string':
        return this.writeString(value)
      case 'number':
        return this.writeNumber(value)
      case 'object':
        if (value === null) this.buf[this.pos++] = 0xc0
        else this.writeObject(value)
        return
      case 'boolean':
        this.buf[this.pos++] = value ? 0xc3 : 0xc2
        return
      case 'undefined':
        this.buf[this.pos++] = 0xc0
        return
      case 'bigint':
        return this.writeBigint(value)
      default:
        throw notATerm(value)
    }
  }

  private writeObject(value: object): void {
    switch (objectKind(value)) {
      case KIND_ARRAY:
        return this.writeArray(value as unknown[])
      case KIND_OBJECT:
        return this.writePlain(value as Record<string, unknown>)
      case KIND_PID:
        return this.writePid(value as Pid)
      case KIND_REF:
        return this.writeRef(value as Ref)
      case KIND_BIN:
        return this.writeBin(value as Uint8Array)
      case KIND_MAP:
        return this.writeMap(value as Map<unknown, unknown>)
      case KIND_ERROR:
        return this.writeError(value as Error)
      case KIND_ATOM:
        return this.writeAtom(value as Atom)
      case KIND_TUPLE:
        return this.writeTuple(value as unknown[])
      case KIND_IMPROPER:
        return this.writeImproper(value as ImproperList)
      case KIND_BIT_BINARY:
        return this.writeBitBinary(value as BitBinary)
      case KIND_PORT:
        return this.writePort(value as Port)
      case KIND_OPAQUE:
        return this.writeOpaque(value as OpaqueTerm)
    }
  }

  // The Erlang/OTP terms (ext codes 3, 4, 8-12).

  private writeAtom(a: Atom): void {
    if (typeof a.name !== 'string') throw encodeError('malformed Atom: its name must be a string')
    const at = this.beginExt()
    this.writeString(a.name)
    this.endExt(at, EXT.ATOM)
  }

  private writeTuple(value: unknown[]): void {
    this.enter()
    const at = this.beginExt()
    const n = value.length
    this.writeHeader(n, 0x90, 0xdc)
    for (let i = 0; i < n; i++) this.write(value[i])
    this.endExt(at, EXT.TUPLE)
    this.depth--
  }

  private writeImproper(l: ImproperList): void {
    checkImproper(l)
    this.enter()
    const at = this.beginExt()
    this.buf[this.pos++] = 0x92
    this.writeArray(l.items as unknown[])
    this.write(l.tail)
    this.endExt(at, EXT.IMPROPER_LIST)
    this.depth--
  }

  private writeBitBinary(b: BitBinary): void {
    checkBitBinary(b)
    const at = this.beginExt()
    this.buf[this.pos++] = 0x92
    this.writeBin(b.bytes)
    this.ensure(SLACK)
    this.writeNumber(b.bits)
    this.endExt(at, EXT.BIT_BINARY)
  }

  private writePort(p: Port): void {
    const [node, hi, lo, creation] = portFields(p)
    const at = this.beginExt()
    this.buf[this.pos++] = 0x94
    this.writeString(node)
    this.ensure(SLACK * 2)
    this.writeNumber(hi)
    this.writeNumber(lo)
    this.writeNumber(creation)
    this.endExt(at, EXT.PORT)
  }

  private writeOpaque(o: OpaqueTerm): void {
    checkOpaque(o)
    const at = this.beginExt()
    this.buf[this.pos++] = 0x92
    this.writeNumber(o.tag)
    this.writeBin(o.bytes)
    this.endExt(at, EXT.OPAQUE)
  }

  private enter(): void {
    if (++this.depth > MAX_TERM_DEPTH) {
      throw encodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels (or cyclic)`)
    }
  }

  private writeArray(value: unknown[]): void {
    this.enter()
    const n = value.length
    this.writeHeader(n, 0x90, 0xdc)
    for (let i = 0; i < n; i++) this.write(value[i])
    this.depth--
  }

  private writePlain(value: Record<string, unknown>): void {
    this.enter()
    const keys = Object.keys(value)
    const n = keys.length
    this.writeHeader(n, 0x80, 0xde)
    for (let i = 0; i < n; i++) {
      const key = keys[i]!
      this.writeString(key)
      this.write(value[key])
    }
    this.depth--
  }

  /** The last two Pids written and their bytes (pid-cache.ts). */
  private readonly pidCache = new EncodedPids()

  private writePid(pid: Pid): void {
    const e = this.pidCache.entry(pid)
    if (e !== -1) {
      this.ensure(this.pidCache.size(e))
      this.pos += this.pidCache.copyTo(e, this.buf, this.pos)
      return
    }
    checkPid(pid)
    const start = this.pos
    this.writePidUncached(pid)
    this.pidCache.keep(pid, this.buf, start, this.pos)
  }

  private writePidUncached(pid: Pid): void {
    const at = this.beginExt()
    this.buf[this.pos++] = 0x94
    this.writeString(pid.node)
    this.ensure(SLACK * 2)
    this.writeNumber(pid.id)
    this.writeNumber(pid.serial)
    this.writeNumber(pid.creation)
    this.endExt(at, EXT.PID)
  }

  private writeRef(ref: Ref): void {
    if (ref.ids.length > 1) return this.writeOtpRef(ref)
    checkRef(ref)
    const at = this.beginExt()
    this.buf[this.pos++] = 0x93
    this.writeString(ref.node)
    this.ensure(SLACK * 2)
    this.writeNumber(ref.id)
    this.writeNumber(ref.creation)
    this.endExt(at, EXT.REF)
  }

  private writeOtpRef(ref: Ref): void {
    checkOtpRef(ref)
    const ids = ref.ids
    const at = this.beginExt()
    this.buf[this.pos++] = 0x92 + ids.length // fixarray [node, creation, ...ids]
    this.writeString(ref.node)
    this.ensure(SLACK * 4)
    this.writeNumber(ref.creation)
    for (let i = 0; i < ids.length; i++) this.writeNumber(ids[i] as number)
    this.endExt(at, EXT.OTP_REF)
  }

  private writeMap(map: Map<unknown, unknown>): void {
    this.enter()
    const at = this.beginExt()
    this.writeHeader(map.size, 0x80, 0xde)
    for (const [key, value] of map) {
      this.write(key)
      this.write(value)
    }
    this.endExt(at, EXT.MAP)
    this.depth--
  }

  private writeError(error: Error): void {
    const at = this.beginExt()
    this.write(errorFields(error))
    this.endExt(at, EXT.ERROR)
  }

  private writeBigint(n: bigint): void {
    const bytes = bigintToBytes(n)
    this.ensure(6 + bytes.length)
    const at = this.pos
    const header = extHeaderSize(bytes.length)
    writeExtHeader(this.buf, at, bytes.length, EXT.BIGINT)
    this.buf.set(bytes, at + header)
    this.pos = at + header + bytes.length
  }

  // The MessagePack primitives: they know nothing of terms.

  /** Room for `bytes` more, of which at least `atLeast` will be written. */
  private ensure(bytes: number, atLeast = 0): void {
    if (this.pos + bytes <= this.buf.length) return
    // Only when growing: an over-large body stops here, before the buffer doubles again.
    if (this.pos + atLeast - this.bodyStart > this.cap) throw this.overCap(this.pos + atLeast - this.bodyStart)
    const need = this.pos + bytes
    const r = this.reuse
    let next: Buffer
    if (r !== null && r.length >= need && r.length <= need * 2) {
      // A large frame into a spare buffer: no fresh backing store (page faults, GC pressure).
      next = r
      this.reuse = null
    } else {
      next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, need))
    }
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  /** fix (n < 16), 16-bit or 32-bit length header of an array or map. */
  private writeHeader(n: number, fix: number, code16: number): void {
    const buf = this.buf
    let p = this.pos
    if (n < 16) {
      buf[p++] = fix | n
    } else if (n < 0x10000) {
      buf[p++] = code16
      buf[p++] = n >>> 8
      buf[p++] = n & 0xff
    } else {
      buf[p++] = code16 + 1
      buf.writeUInt32BE(n, p)
      p += 4
    }
    this.pos = p
  }

  private writeNumber(n: number): void {
    const buf = this.buf
    let p = this.pos
    const i = n | 0
    if (i === n) {
      if (i >= 0) {
        if (i < 0x80) {
          buf[p++] = i
        } else if (i < 0x100) {
          buf[p++] = 0xcc
          buf[p++] = i
        } else if (i < 0x10000) {
          buf[p++] = 0xcd
          buf[p++] = i >>> 8
          buf[p++] = i & 0xff
        } else {
          buf[p++] = 0xce
          buf.writeUInt32BE(i, p)
          p += 4
        }
      } else if (i >= -0x20) {
        buf[p++] = i & 0xff
      } else if (i >= -0x80) {
        buf[p++] = 0xd0
        buf[p++] = i & 0xff
      } else if (i >= -0x8000) {
        buf[p++] = 0xd1
        buf[p++] = (i >> 8) & 0xff
        buf[p++] = i & 0xff
      } else {
        buf[p++] = 0xd2
        buf.writeInt32BE(i, p)
        p += 4
      }
    } else if (n > 0 && n <= 0xffffffff && Math.floor(n) === n) {
      buf[p++] = 0xce
      buf.writeUInt32BE(n, p)
      p += 4
    } else {
      buf[p++] = 0xcb
      buf.writeDoubleBE(n, p)
      p += 8
    }
    this.pos = p
  }

  private writeString(s: string): void {
    const len = s.length
    // Every UTF-16 unit takes 1 to 3 bytes: the header guessed from len is never too large.
    this.ensure(5 + len * 3, len)
    const buf = this.buf
    const start = this.pos
    const guess = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5
    let bytes = -1
    if (len < SHORT_STRING) {
      let p = start + guess
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[p++] = c
      }
      if (i === len) bytes = len
    }
    if (bytes < 0) bytes = buf.write(s, start + guess)
    const header = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5
    if (header !== guess) buf.copyWithin(start + header, start + guess, start + guess + bytes)
    let p = start
    if (header === 1) {
      buf[p++] = 0xa0 | bytes
    } else if (header === 2) {
      buf[p++] = 0xd9
      buf[p++] = bytes
    } else if (header === 3) {
      buf[p++] = 0xda
      buf[p++] = bytes >>> 8
      buf[p++] = bytes & 0xff
    } else {
      buf[p++] = 0xdb
      buf.writeUInt32BE(bytes, p)
      p += 4
    }
    this.pos = p + bytes
  }

  private writeBin(value: Uint8Array): void {
    const n = value.length
    this.ensure(5 + n, n)
    const buf = this.buf
    let p = this.pos
    if (n < 0x100) {
      buf[p++] = 0xc4
      buf[p++] = n
    } else if (n < 0x10000) {
      buf[p++] = 0xc5
      buf[p++] = n >>> 8
      buf[p++] = n & 0xff
    } else {
      buf[p++] = 0xc6
      buf.writeUInt32BE(n, p)
      p += 4
    }
    buf.set(value, p)
    this.pos = p + n
  }

  // Extension types: the body is written after room for an ext 8 header, then the header is
  // made the smallest one that fits the body's length (moving the body when it differs).

  private beginExt(): number {
    const at = this.pos
    this.pos += 3
    return at
  }

  private endExt(at: number, type: number): void {
    const body = at + 3
    const n = this.pos - body
    const header = extHeaderSize(n)
    if (header !== 3) {
      this.ensure(3)
      this.buf.copyWithin(at + header, body, this.pos)
      this.pos += header - 3
    }
    writeExtHeader(this.buf, at, n, type)
  }
}

/** The first `n` bytes of buf in a buffer of their own (at least a batch's initial size). */
function copyStart(buf: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(16384, n))
  buf.copy(out, 0, 0, n)
  return out
}
