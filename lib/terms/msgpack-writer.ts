// The MessagePack primitives under TermEncoder (encoder.ts): a growable scratch buffer and the
// writers for length headers, numbers, strings, binaries and extension framing. It knows
// nothing of terms. TermEncoder extends it, so every write stays a method call on the one
// encoder object, as before the split (the encoder is the hot path: no per-value indirection).
import { extHeaderSize, writeExtHeader } from './ext-codes.js'

export const INITIAL_SIZE = 8192
/** Room every write() may use without asking: the largest header or scalar is 9 bytes. */
export const SLACK = 16
/** Strings shorter than this are written by a loop (ASCII) instead of a native call. */
const SHORT_STRING = 64

export abstract class MsgpackWriter {
  protected buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_SIZE)
  protected pos = 0
  /** Where the body being written starts, and the most bytes it may take (checked as the buffer grows). */
  protected bodyStart = 0
  protected cap = Infinity
  /** A buffer to grow into instead of allocating (a batch's spare, see frame-batch.ts). */
  protected reuse: Buffer | null = null

  /** Room for `bytes` more, of which at least `atLeast` will be written. */
  protected ensure(bytes: number, atLeast = 0): void {
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

  /** The error for a body of at least `size` bytes, over `cap`. */
  protected abstract overCap(size: number): Error

  /** fix (n < 16), 16-bit or 32-bit length header of an array or map. */
  protected writeHeader(n: number, fix: number, code16: number): void {
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

  protected writeNumber(n: number): void {
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

  protected writeString(s: string): void {
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

  protected writeBin(value: Uint8Array): void {
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

  protected beginExt(): number {
    const at = this.pos
    this.pos += 3
    return at
  }

  protected endExt(at: number, type: number): void {
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
