// netkernel's writer of Erlang's External Term Format. Like the MessagePack encoder
// (../encoder.ts) it writes into one growing buffer: a scratch buffer of its own for encode(),
// or the caller's FrameBatch for encodeInto() (no copy). The mapping (the README's table of terms toward OTP):
//
//   Atom                      SMALL_ATOM_UTF8_EXT (< 256 bytes) / ATOM_UTF8_EXT
//   true / false              the atoms true / false
//   null / undefined          the atom undefined
//   Tuple                     SMALL_TUPLE_EXT / LARGE_TUPLE_EXT
//   Array                     NIL_EXT when empty; STRING_EXT when every element is an integer
//                             0..255 and there are at most 65535 (as term_to_binary writes
//                             such a list); else LIST_EXT … NIL_EXT
//   ImproperList              LIST_EXT items… tail
//   Buffer / Uint8Array       BINARY_EXT
//   BitBinary                 BIT_BINARY_EXT
//   string                    BINARY_EXT of its UTF-8 bytes
//   integral number, bigint   SMALL_INTEGER_EXT / INTEGER_EXT / SMALL_BIG_EXT / LARGE_BIG_EXT,
//                             the smallest that holds it (as term_to_binary). Lossy: -0 is
//                             written as the integer 0, and an integral float such as 1.0 is
//                             a number 1 in JavaScript, so it is written as the integer 1.
//   other finite number       NEW_FLOAT_EXT; NaN and ±Infinity are refused (ERR_ENCODE)
//   Map                       MAP_EXT in insertion order
//   plain object              MAP_EXT, keys as UTF-8 binaries
//   Pid                       NEW_PID_EXT
//   Ref                       NEWER_REFERENCE_EXT with every id word
//   Port                      NEW_PORT_EXT (id < 2^32) / V4_PORT_EXT
//   OpaqueTerm (112, 113)     its tag and bytes, verbatim
//   Error                     {error, Name :: binary, Message :: binary}
//
// Anything else throws CodecError ERR_ENCODE naming the value's kind.
//
// Nesting is not limited (Erlang's is not: an iolist built by a fold nests as deep as it is
// long). Containers are written recursively down to ITER_DEPTH levels, and a subtree below
// that by writeDeep(), a loop over an explicit stack of open containers, which writes the same
// bytes. A cyclic term (an array, Map or object inside itself) is refused with ERR_ENCODE when
// the loop meets a container already open; maxSize bounds the rest.
import { Buffer } from 'node:buffer'
import { NetkernelError } from '../../errors.js'
import { ATOM_BRAND, type Atom } from '../atom.js'
import { TUPLE_BRAND } from '../tuple.js'
import { IMPROPER_LIST_BRAND, type ImproperList } from '../improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../otp-terms.js'
import { PID_BRAND, type Pid } from '../pid.js'
import { REF_BRAND, type Ref } from '../ref.js'
import { EncodedPids } from '../pid-cache.js'
import { MAX_BIGINT_BYTES, describe, encodeError } from '../ext-codes.js'
import type { FrameBatch } from '../frame-batch.js'
import * as T_EXPORTS from './tags.js'
/** As a plain object: V8 reads a module namespace's properties slowly in hot code (switch cases). */
const T = { ...T_EXPORTS }

const INITIAL_SIZE = 8192
/** A scratch buffer grown past this for one large term is dropped after the call. */
const KEEP_MAX = 1 << 20
/** Room every write() may use without asking: the largest fixed-size scalar is 9 bytes. */
const SLACK = 16
const SHORT_STRING = 64
const ERROR_ATOM_BYTES = Buffer.from([T.SMALL_ATOM_UTF8_EXT, 5, ...Buffer.from('error')])
/** Containers deeper than this are written by the iterative writer (writeDeep), not by recursion. */
export const ITER_DEPTH = 256

export interface EtfEncoderOptions {
  /** The most bytes one term may take (a node's maxMessageSize): larger ones throw ERR_MESSAGE_TOO_LARGE. */
  maxSize?: number
  /** @internal Containers deeper than this are written iteratively (default ITER_DEPTH; tests set 0). */
  iterDepth?: number
}

type Branded = Record<symbol, unknown>

export class EtfEncoder {
  private buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_SIZE)
  private pos = 0
  private start = 0
  private depth = 0
  private busy = false
  /** A buffer to grow into instead of allocating (a batch's spare, see frame-batch.ts). */
  private reuse: Buffer | null = null
  private readonly maxSize: number
  private readonly iterDepth: number
  /** UTF-8 bytes of recent atom names (an atom is immutable and interned). */
  private readonly atomBytes = new Map<string, Buffer>()

  constructor(opts: EtfEncoderOptions = {}) {
    this.maxSize = opts.maxSize ?? Infinity
    this.iterDepth = opts.iterDepth ?? ITER_DEPTH
  }

  /** The term's bytes with the leading version byte 131, in a fresh Buffer. */
  encode(value: unknown): Buffer {
    if (this.busy) return new EtfEncoder({ maxSize: this.maxSize, iterDepth: this.iterDepth }).encode(value)
    this.busy = true
    this.pos = 0
    this.start = 0
    this.depth = 0
    try {
      this.buf[this.pos++] = T.VERSION
      this.write(value)
      const end = this.pos
      if (end - 1 > this.maxSize) throw this.tooLarge(end - 1)
      const out = Buffer.allocUnsafe(end)
      if (end <= 64) for (let i = 0; i < end; i++) out[i] = this.buf[i]!
      else this.buf.copy(out, 0, 0, end)
      return out
    } catch (error) {
      throw wrap(error)
    } finally {
      this.busy = false
      if (this.buf.length > KEEP_MAX) this.buf = Buffer.allocUnsafeSlow(INITIAL_SIZE)
    }
  }

  /**
   * Append the term WITHOUT the version byte to `out` (growing out.buf), as terms are written
   * inside a distribution frame. On error out.len is left as it was (and a buffer grown past
   * 1 MiB for the failed term is not kept). A large term grows into `out.spare` when it fits
   * (see frame-batch.ts), which is then cleared (taken).
   */
  encodeInto(value: unknown, out: FrameBatch): void {
    if (this.busy) {
      const bytes = new EtfEncoder({ maxSize: this.maxSize, iterDepth: this.iterDepth }).encode(value)
      appendTo(out, bytes, 1)
      return
    }
    const scratch = this.buf
    const start = out.len
    this.busy = true
    this.buf = out.buf
    this.pos = start
    this.start = start
    this.depth = 0
    const spare = out.spare
    if (spare !== undefined) this.reuse = spare
    let ok = false
    try {
      this.ensure(SLACK)
      this.write(value)
      const size = this.pos - this.start
      if (size > this.maxSize) throw this.tooLarge(size)
      ok = true
    } catch (error) {
      throw wrap(error)
    } finally {
      // Possibly grown: the new buffer holds out's earlier bytes too.
      out.buf = ok || this.buf.length <= KEEP_MAX || this.buf === out.buf ? this.buf : copyStart(this.buf, start)
      if (ok) out.len = this.pos
      if (spare !== undefined && this.reuse === null) out.spare = undefined // taken
      this.reuse = null
      this.buf = scratch
      this.busy = false
    }
  }

  private tooLarge(size: number): NetkernelError {
    return new NetkernelError('ERR_MESSAGE_TOO_LARGE', `a term of ${size} bytes or more exceeds maxMessageSize (${this.maxSize} bytes)`)
  }

  /** Room for `n` more bytes, of which at least `atLeast` will be written. */
  private ensure(n: number, atLeast = 0): void {
    if (this.pos + n <= this.buf.length) return
    // Only when growing: an over-large term stops here, before the buffer grows for it.
    if (this.pos + atLeast - this.start > this.maxSize) throw this.tooLarge(this.pos + atLeast - this.start)
    const need = this.pos + n
    const r = this.reuse
    let next: Buffer
    if (r !== null && r.length >= need && r.length <= need * 2) {
      next = r // a large term into a spare buffer: no fresh backing store
      this.reuse = null
    } else next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, need))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  private write(value: unknown): void {
    if (this.pos + SLACK > this.buf.length) this.ensure(SLACK)
    switch (typeof value) {
      case 'number':
        return this.writeNumber(value)
      case 'string':
        return this.writeString(value)
      case 'object':
        if (value === null) return this.writeAtomName('undefined')
        return this.writeObject(value)
      case 'boolean':
        return this.writeAtomName(value ? 'true' : 'false')
      case 'undefined':
        return this.writeAtomName('undefined')
      case 'bigint':
        return this.writeBigint(value)
      default:
        throw notAnEtfTerm(value)
    }
  }

  private writeObject(value: object): void {
    // Plain arrays and objects first, by prototype: no brand lookups on the commonest terms.
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto === Array.prototype) return this.writeList(value as unknown[])
    if (proto === Object.prototype || proto === null) return this.writePlain(value as Record<string, unknown>)
    const v = value as Branded
    if (Array.isArray(value)) {
      if (v[TUPLE_BRAND] === true) return this.writeTuple(value)
      return this.writeList(value)
    }
    if (v[ATOM_BRAND] === true) return this.writeAtomName((value as Atom).name)
    if (v[PID_BRAND] === true) return this.writePid(value as Pid)
    if (v[REF_BRAND] === true) return this.writeRef(value as Ref)
    if (value instanceof Uint8Array) return this.writeBinary(value)
    if (value instanceof Map) return this.writeMap(value)
    if (v[IMPROPER_LIST_BRAND] === true) return this.writeImproper(value as ImproperList)
    if (value instanceof BitBinary) return this.writeBitBinary(value)
    if (value instanceof Port) return this.writePort(value)
    if (value instanceof OpaqueTerm) return this.writeOpaque(value)
    if (value instanceof Error) return this.writeError(value)
    throw notAnEtfTerm(value)
  }

  /** Enters a container; false when it is below iterDepth and must be written by writeDeep(). */
  private enter(): boolean {
    if (this.depth >= this.iterDepth) return false
    this.depth++
    return true
  }

  // Scalars.

  private u32(n: number): void {
    const b = this.buf
    let p = this.pos
    b[p++] = n >>> 24
    b[p++] = (n >>> 16) & 0xff
    b[p++] = (n >>> 8) & 0xff
    b[p++] = n & 0xff
    this.pos = p
  }

  private writeNumber(n: number): void {
    const buf = this.buf
    if ((n & 0xff) === n) {
      buf[this.pos++] = T.SMALL_INTEGER_EXT
      buf[this.pos++] = n
      return
    }
    if ((n | 0) === n) {
      buf[this.pos++] = T.INTEGER_EXT
      this.u32(n)
      return
    }
    if (Number.isInteger(n)) return this.writeBigNumber(n)
    if (!Number.isFinite(n)) throw encodeError(`cannot encode ${n} as an Erlang term: Erlang floats are finite`)
    buf[this.pos++] = T.NEW_FLOAT_EXT
    buf.writeDoubleBE(n, this.pos)
    this.pos += 8
  }

  /** An integral number outside the 32-bit range: SMALL_BIG_EXT, little-endian magnitude. */
  private writeBigNumber(n: number): void {
    const negative = n < 0
    let m = negative ? -n : n
    // At most 128 bytes for any finite double (2^1024).
    this.ensure(3 + 130)
    const buf = this.buf
    const at = this.pos
    buf[at] = T.SMALL_BIG_EXT
    buf[at + 2] = negative ? 1 : 0
    let p = at + 3
    while (m > 0) {
      buf[p++] = m % 256
      m = Math.floor(m / 256)
    }
    buf[at + 1] = p - at - 3
    this.pos = p
  }

  private writeBigint(n: bigint): void {
    if (n >= -0x80000000n && n <= 0x7fffffffn) return this.writeNumber(Number(n))
    const negative = n < 0n
    let hex = (negative ? -n : n).toString(16)
    if (hex.length % 2 === 1) hex = '0' + hex
    const len = hex.length / 2
    if (len > MAX_BIGINT_BYTES) throw encodeError(`a bigint of ${len} bytes is larger than ${MAX_BIGINT_BYTES} bytes`)
    this.ensure(6 + len, len)
    const buf = this.buf
    if (len < 256) {
      buf[this.pos++] = T.SMALL_BIG_EXT
      buf[this.pos++] = len
    } else {
      buf[this.pos++] = T.LARGE_BIG_EXT
      this.u32(len)
    }
    buf[this.pos++] = negative ? 1 : 0
    // hex is big-endian: its bytes (decoded in one call) go little-endian.
    const be = Buffer.from(hex, 'hex')
    let p = this.pos
    for (let i = len - 1; i >= 0; i--) buf[p++] = be[i]!
    this.pos = p
  }

  private writeAtomName(name: string): void {
    let bytes = this.atomBytes.get(name)
    if (bytes === undefined) {
      bytes = Buffer.from(name, 'utf8')
      if (name.length > 255 && [...name].length > 255) throw encodeError(`an atom has at most 255 characters (got ${[...name].length})`)
      if (this.atomBytes.size >= 1024) this.atomBytes.clear()
      this.atomBytes.set(name, bytes)
    }
    const n = bytes.length
    this.ensure(3 + n)
    const buf = this.buf
    let p = this.pos
    if (n < 256) {
      buf[p++] = T.SMALL_ATOM_UTF8_EXT
      buf[p++] = n
    } else {
      buf[p++] = T.ATOM_UTF8_EXT
      buf[p++] = n >>> 8
      buf[p++] = n & 0xff
    }
    if (n <= 32) for (let i = 0; i < n; i++) buf[p++] = bytes[i]!
    else {
      bytes.copy(buf, p)
      p += n
    }
    this.pos = p
  }

  /** A JS string: a BINARY_EXT of its UTF-8 bytes. */
  private writeString(s: string): void {
    const len = s.length
    this.ensure(5 + len * 3, len)
    const buf = this.buf
    const at = this.pos
    buf[at] = T.BINARY_EXT
    let bytes = -1
    if (len < SHORT_STRING) {
      let p = at + 5
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[p++] = c
      }
      if (i === len) bytes = len
    }
    if (bytes < 0) bytes = buf.write(s, at + 5)
    buf[at + 1] = bytes >>> 24
    buf[at + 2] = (bytes >>> 16) & 0xff
    buf[at + 3] = (bytes >>> 8) & 0xff
    buf[at + 4] = bytes & 0xff
    this.pos = at + 5 + bytes
  }

  private writeBinary(value: Uint8Array): void {
    const n = value.length
    this.ensure(5 + n, n)
    this.buf[this.pos++] = T.BINARY_EXT
    this.u32(n)
    const buf = this.buf
    if (n <= 32) {
      let p = this.pos
      for (let i = 0; i < n; i++) buf[p++] = value[i]!
    } else buf.set(value, this.pos)
    this.pos += n
  }

  private writeBitBinary(value: BitBinary): void {
    const bytes = value.bytes
    const bits = value.bits
    if (!(bytes instanceof Uint8Array) || !Number.isInteger(bits) || bits < 1 || bits > 8 || bytes.length === 0) {
      throw encodeError('malformed BitBinary: bytes must be a non-empty Buffer and bits 1..8')
    }
    const n = bytes.length
    this.ensure(6 + n, n)
    this.buf[this.pos++] = T.BIT_BINARY_EXT
    this.u32(n)
    this.buf[this.pos++] = bits
    this.buf.set(bytes, this.pos)
    this.pos += n
  }

  // Containers.

  private writeTuple(value: unknown[]): void {
    if (!this.enter()) return this.writeDeep(value)
    const n = value.length
    this.writeTupleHeader(n)
    for (let i = 0; i < n; i++) this.write(value[i])
    this.depth--
  }

  /** SMALL_TUPLE_EXT or LARGE_TUPLE_EXT and the arity (both writers). */
  private writeTupleHeader(n: number): void {
    if (n < 256) {
      this.buf[this.pos++] = T.SMALL_TUPLE_EXT
      this.buf[this.pos++] = n
    } else {
      this.buf[this.pos++] = T.LARGE_TUPLE_EXT
      this.u32(n)
    }
  }

  private writeList(value: unknown[]): void {
    const n = value.length
    if (n === 0) {
      this.buf[this.pos++] = T.NIL_EXT
      return
    }
    if (n <= 0xffff && isByteList(value)) {
      this.ensure(3 + n)
      const buf = this.buf
      buf[this.pos++] = T.STRING_EXT
      buf[this.pos++] = n >>> 8
      buf[this.pos++] = n & 0xff
      let p = this.pos
      for (let i = 0; i < n; i++) buf[p++] = value[i] as number
      this.pos = p
      return
    }
    if (!this.enter()) return this.writeDeep(value)
    this.buf[this.pos++] = T.LIST_EXT
    this.u32(n)
    for (let i = 0; i < n; i++) this.write(value[i])
    this.ensure(1)
    this.buf[this.pos++] = T.NIL_EXT
    this.depth--
  }

  private writeImproper(value: ImproperList): void {
    const items = value.items
    if (!Array.isArray(items) || items.length === 0) throw encodeError('malformed ImproperList: it needs at least one item')
    if (!this.enter()) return this.writeDeep(value)
    const n = items.length
    this.buf[this.pos++] = T.LIST_EXT
    this.u32(n)
    for (let i = 0; i < n; i++) this.write(items[i])
    this.write(value.tail)
    this.depth--
  }

  private writeMap(map: Map<unknown, unknown>): void {
    if (!this.enter()) return this.writeDeep(map)
    this.buf[this.pos++] = T.MAP_EXT
    this.u32(map.size)
    for (const [k, v] of map) {
      this.write(k)
      this.write(v)
    }
    this.depth--
  }

  private writePlain(value: Record<string, unknown>): void {
    if (!this.enter()) return this.writeDeep(value)
    const keys = Object.keys(value)
    const n = keys.length
    this.buf[this.pos++] = T.MAP_EXT
    this.u32(n)
    for (let i = 0; i < n; i++) {
      const key = keys[i]!
      this.writeString(key)
      this.write(value[key])
    }
    this.depth--
  }

  // The iterative writer: a container below iterDepth levels and everything in it, written by
  // one loop with the open containers on an explicit stack. Each step writes one value: a
  // container's header opens a frame (the same checks and bytes as the recursive writers'),
  // anything else is written whole by write(), which then never recurses. Then the innermost
  // frame gives its next part, or closes (a list's NIL) and the one out gives its own.

  private writeDeep(root: object): void {
    const stack: DeepFrame[] = []
    const open = new Set<object>()
    let value: unknown = root
    for (;;) {
      const f = this.openDeep(value)
      if (f !== undefined) {
        if (open.has(f.container)) {
          throw encodeError('cannot encode a cyclic term (an array, Map, object, Tuple or ImproperList inside itself)')
        }
        open.add(f.container)
        stack.push(f)
      }
      for (;;) {
        const top = stack[stack.length - 1]
        if (top === undefined) return
        const next = this.nextPart(top)
        if (next !== DONE) {
          value = next
          break
        }
        stack.pop()
        open.delete(top.container)
      }
    }
  }

  /** Writes `value` whole, or its container header and returns the frame of its parts. */
  private openDeep(value: unknown): DeepFrame | undefined {
    if (typeof value !== 'object' || value === null) {
      this.write(value)
      return undefined
    }
    this.ensure(SLACK)
    // writeObject's dispatch, in its order.
    const proto: unknown = Object.getPrototypeOf(value)
    let kind: number
    if (proto === Array.prototype) kind = D_LIST
    else if (proto === Object.prototype || proto === null) kind = D_PLAIN
    else {
      const v = value as Branded
      if (Array.isArray(value)) kind = v[TUPLE_BRAND] === true ? D_TUPLE : D_LIST
      else if (v[ATOM_BRAND] === true || v[PID_BRAND] === true || v[REF_BRAND] === true || value instanceof Uint8Array) kind = -1
      else if (value instanceof Map) kind = D_MAP
      else if (v[IMPROPER_LIST_BRAND] === true) kind = D_IMPROPER
      else kind = -1
    }
    const buf = this.buf
    switch (kind) {
      case D_TUPLE: {
        const n = (value as unknown[]).length
        this.writeTupleHeader(n)
        return new DeepFrame(kind, value, value as unknown[], n)
      }
      case D_LIST: {
        const list = value as unknown[]
        const n = list.length
        if (n === 0 || (n <= 0xffff && isByteList(list))) {
          this.writeList(list) // NIL_EXT or STRING_EXT: no parts
          return undefined
        }
        buf[this.pos++] = T.LIST_EXT
        this.u32(n)
        return new DeepFrame(kind, value, list, n)
      }
      case D_IMPROPER: {
        const items = (value as ImproperList).items
        if (!Array.isArray(items) || items.length === 0) throw encodeError('malformed ImproperList: it needs at least one item')
        buf[this.pos++] = T.LIST_EXT
        this.u32(items.length)
        const f = new DeepFrame(kind, value, items, items.length)
        f.extra = (value as ImproperList).tail
        return f
      }
      case D_MAP: {
        const map = value as Map<unknown, unknown>
        buf[this.pos++] = T.MAP_EXT
        this.u32(map.size)
        const f = new DeepFrame(kind, value, [], map.size)
        f.entries = map.entries()
        return f
      }
      case D_PLAIN: {
        const keys = Object.keys(value)
        buf[this.pos++] = T.MAP_EXT
        this.u32(keys.length)
        return new DeepFrame(kind, value, keys, keys.length)
      }
      default:
        this.writeObject(value) // a scalar object: never recurses
        return undefined
    }
  }

  /** The next part of `f` to write (a plain object's key is written here), or DONE. */
  private nextPart(f: DeepFrame): unknown {
    switch (f.kind) {
      case D_MAP: {
        if (f.pending) {
          f.pending = false
          return f.extra
        }
        const e = f.entries!.next()
        if (e.done === true) return DONE
        const [k, v] = e.value
        f.extra = v
        f.pending = true
        return k
      }
      case D_PLAIN: {
        if (f.i >= f.n) return DONE
        const key = f.parts[f.i++] as string
        this.writeString(key)
        return (f.container as Record<string, unknown>)[key]
      }
      case D_IMPROPER:
        if (f.i < f.n) return f.parts[f.i++]
        if (f.i++ === f.n) return f.extra
        return DONE
      case D_LIST:
        if (f.i < f.n) return f.parts[f.i++]
        this.ensure(1)
        this.buf[this.pos++] = T.NIL_EXT
        return DONE
      default:
        return f.i < f.n ? f.parts[f.i++] : DONE
    }
  }

  private writeError(error: Error): void {
    const name = typeof error.name === 'string' ? error.name : 'Error'
    const message = typeof error.message === 'string' ? error.message : String(error.message)
    this.ensure(2 + ERROR_ATOM_BYTES.length)
    this.buf[this.pos++] = T.SMALL_TUPLE_EXT
    this.buf[this.pos++] = 3
    ERROR_ATOM_BYTES.copy(this.buf, this.pos)
    this.pos += ERROR_ATOM_BYTES.length
    this.writeString(name)
    this.writeString(message)
  }

  // Identifiers.

  private writeNode(node: unknown, what: string): void {
    if (typeof node !== 'string') throw encodeError(`malformed ${what}: node must be a string`)
    this.writeAtomName(node)
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
    const start = this.pos
    this.writePidUncached(pid)
    this.pidCache.keep(pid, this.buf, start, this.pos)
  }

  private writePidUncached(pid: Pid): void {
    this.buf[this.pos++] = T.NEW_PID_EXT
    this.writeNode(pid.node, 'Pid')
    if (!isU32(pid.id) || !isU32(pid.serial) || !isU32(pid.creation)) {
      throw encodeError(`malformed Pid ${String(pid)}: id, serial and creation must be integers 0..2^32-1`)
    }
    this.ensure(12)
    this.u32(pid.id)
    this.u32(pid.serial)
    this.u32(pid.creation)
  }

  private writeRef(ref: Ref): void {
    const ids = ref.ids
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > T.MAX_REF_WORDS || !ids.every(isU32) || !isU32(ref.creation)) {
      throw encodeError(`malformed Ref ${String(ref)}: 1 to ${T.MAX_REF_WORDS} id words and a creation, integers 0..2^32-1`)
    }
    this.buf[this.pos++] = T.NEWER_REFERENCE_EXT
    this.buf[this.pos++] = 0
    this.buf[this.pos++] = ids.length
    this.writeNode(ref.node, 'Ref')
    this.ensure(4 + 4 * ids.length)
    this.u32(ref.creation)
    for (const id of ids) this.u32(id)
  }

  private writePort(port: Port): void {
    const id = port.id
    if (typeof id !== 'bigint' || id < 0n || id > 0xffffffffffffffffn || !isU32(port.creation)) {
      throw encodeError(`malformed Port ${String(port)}: id a bigint 0..2^64-1, creation an integer 0..2^32-1`)
    }
    const v4 = id > 0xffffffffn
    this.buf[this.pos++] = v4 ? T.V4_PORT_EXT : T.NEW_PORT_EXT
    this.writeNode(port.node, 'Port')
    this.ensure(12)
    if (v4) {
      this.buf.writeBigUInt64BE(id, this.pos)
      this.pos += 8
    } else this.u32(Number(id))
    this.u32(port.creation)
  }

  private writeOpaque(term: OpaqueTerm): void {
    if ((term.tag !== T.NEW_FUN_EXT && term.tag !== T.EXPORT_EXT) || !(term.bytes instanceof Uint8Array)) {
      throw encodeError(`an OpaqueTerm must have tag ${T.NEW_FUN_EXT} (fun) or ${T.EXPORT_EXT} (export) and Buffer bytes`)
    }
    const n = term.bytes.length
    this.ensure(1 + n, n)
    this.buf[this.pos++] = term.tag
    this.buf.set(term.bytes, this.pos)
    this.pos += n
  }
}

const D_TUPLE = 0
const D_LIST = 1
const D_IMPROPER = 2
const D_MAP = 3
const D_PLAIN = 4
/** nextPart(): the frame has no more parts. */
const DONE: unique symbol = Symbol('done')

/** An open container of the iterative writer. */
class DeepFrame {
  i = 0
  /** IMPROPER: the tail; MAP: the value after the key just given. */
  extra: unknown = undefined
  /** MAP: the key was given, its value comes next. */
  pending = false
  entries: Iterator<[unknown, unknown]> | undefined = undefined

  constructor(
    readonly kind: number,
    readonly container: object,
    /** TUPLE, LIST: the elements; IMPROPER: the items; PLAIN: the keys. */
    readonly parts: unknown[],
    readonly n: number,
  ) {}
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}

/** True when every element is an integer 0..255 (term_to_binary writes such a list as STRING_EXT). */
function isByteList(value: unknown[]): boolean {
  for (let i = 0; i < value.length; i++) {
    const x = value[i]
    if (typeof x !== 'number' || (x & 0xff) !== x) return false
  }
  return true
}

function notAnEtfTerm(value: unknown): NetkernelError {
  return encodeError(
    `cannot encode a ${describe(value)} as an Erlang term (terms: null, undefined, boolean, number, string, bigint, array, ` +
      'plain object, Buffer, Map, Atom, Tuple, ImproperList, BitBinary, Pid, Ref, Port, OpaqueTerm, Error)',
  )
}

function wrap(error: unknown): unknown {
  if (error instanceof NetkernelError) return error
  return encodeError(`cannot encode the term: ${(error as Error)?.message ?? String(error)}`, error)
}

function appendTo(out: FrameBatch, bytes: Buffer, from: number): void {
  const n = bytes.length - from
  if (out.len + n > out.buf.length) {
    const next = Buffer.allocUnsafe(Math.max(out.buf.length * 2, out.len + n, 16384))
    out.buf.copy(next, 0, 0, out.len)
    out.buf = next
  }
  bytes.copy(out.buf, out.len, from)
  out.len += n
}

/** The first `n` bytes of buf in a buffer of their own (at least a batch's initial size). */
function copyStart(buf: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(16384, n))
  buf.copy(out, 0, 0, n)
  return out
}
