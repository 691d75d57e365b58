// netkernel's reader of Erlang's External Term Format. Strict and bounded, since every byte
// comes from a peer: lengths are checked against the bytes left before anything is allocated,
// the terms one call decodes into are counted (maxTerms: a container's announced elements are
// counted, and refused, before its array is allocated), big integers are limited
// (maxBigIntBytes), atoms have at most 255 characters, and a compressed term inflates to at
// most its declared size and maxSize. Every failure is a CodecError ERR_DECODE naming the
// offset, but too many terms, which is ERR_MESSAGE_TOO_LARGE (tooManyTerms).
//
// Nesting is not limited by default (BEAM has no limit, and an iolist built by a fold nests as
// deep as it is long): containers are read recursively down to ITER_DEPTH levels, and a
// subtree below that by readDeep(), a loop over an explicit stack of open containers, which
// makes the same values and raises the same errors. What bounds a deep term is then the
// message's size and maxTerms (every level is at least one term). maxDepth sets a limit.
//
// The mapping (README, Erlang terms):
//
//   ATOM_EXT, SMALL_ATOM_EXT (latin1), ATOM_UTF8_EXT, SMALL_ATOM_UTF8_EXT, ATOM_CACHE_REF
//                             Atom (interned), except true / false -> boolean
//   SMALL_TUPLE_EXT, LARGE_TUPLE_EXT    Tuple
//   NIL_EXT, LIST_EXT (proper)          Array
//   STRING_EXT                          Array of numbers (it is a list of bytes)
//   LIST_EXT (improper)                 ImproperList
//   BINARY_EXT                          Buffer
//   BIT_BINARY_EXT                      BitBinary
//   SMALL_INTEGER_EXT … LARGE_BIG_EXT   number when |n| <= 2^53-1, else bigint
//   NEW_FLOAT_EXT, FLOAT_EXT            number
//   MAP_EXT                             Map (in the order of the bytes)
//   NEW_PID_EXT, PID_EXT                Pid
//   NEWER_REFERENCE_EXT, NEW_REFERENCE_EXT, REFERENCE_EXT
//                                       Ref (every id word)
//   NEW_PORT_EXT, V4_PORT_EXT, PORT_EXT Port
//   NEW_FUN_EXT, EXPORT_EXT             OpaqueTerm (re-encodes byte for byte)
//   COMPRESSED                          inflated, then decoded
//   LOCAL_EXT, FUN_EXT                  refused
import { Buffer } from 'node:buffer'
import { inflateSync } from 'node:zlib'
import { CodecError, NetkernelError } from '../../errors.js'
import { type Atom, atom } from '../atom.js'
import { Tuple, asTuple } from '../tuple.js'
import { ImproperList } from '../improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../otp-terms.js'
import { Pid } from '../pid.js'
import { Ref } from '../ref.js'
import { MAX_BIGINT_BYTES, MAX_MESSAGE_TERMS, tooManyTerms } from '../ext-codes.js'
import * as T_EXPORTS from './tags.js'
/** The tags as a plain object: V8 reads a module namespace's properties slowly in a hot switch. */
const T = { ...T_EXPORTS }
import { EtfEncoder } from './etf-encoder.js'

const EMPTY = Buffer.alloc(0)
/** Binaries at least this long are views of owned input, not copies. */
const VIEW_MIN = 1024
/** The default bound of a compressed term's inflated size. */
const DEFAULT_MAX_SIZE = 64 * 1024 * 1024
/** How many recent node names (of pids, refs, ports) are kept with their bytes. */
const NODE_CACHE_SIZE = 4
/** Containers deeper than this are read by the iterative reader (readDeep), not by recursion. */
export const ITER_DEPTH = 256

export interface EtfDecoderOptions {
  /** Nesting deeper than this is refused (default: no limit; maxTerms and the input's size bound it). */
  maxDepth?: number
  /**
   * The most terms one decode may produce (every element, key, value, tail, number, atom,
   * binary, pid, tuple, list...; a STRING_EXT counts each byte): more is refused with
   * ERR_MESSAGE_TOO_LARGE, a container as soon as its header announces too many elements.
   * Default MAX_MESSAGE_TERMS (4,000,000).
   */
  maxTerms?: number
  /** @internal Containers deeper than this are read iteratively (default ITER_DEPTH; tests set 0 or Infinity). */
  iterDepth?: number
  /** Big integers of more bytes are refused before conversion (default 1 MiB). */
  maxBigIntBytes?: number
  /** A compressed term inflating to more bytes is refused (default 64 MiB). */
  maxSize?: number
}

export function etfDecodeError(message: string, cause?: unknown): CodecError {
  return new CodecError('ERR_DECODE', message, cause === undefined ? undefined : { cause })
}

export class EtfDecoder {
  private buf: Buffer = EMPTY
  private pos = 0
  private end = 0
  private depth = 0
  private owned = false
  private refs: readonly Atom[] | undefined = undefined
  /** Counts ATOM_CACHE_REFs read: a fun that used one cannot be kept as its raw bytes. */
  private cacheRefsRead = 0
  /** Terms counted so far in this decode (see reserve()). */
  private terms = 0
  private readonly maxDepth: number
  private readonly maxTerms: number
  private readonly iterDepth: number
  private readonly maxBigIntBytes: number
  private readonly maxSize: number
  private encoder: EtfEncoder | undefined
  private readonly nodeBytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(NODE_CACHE_SIZE)
  private readonly nodeNames: string[] = new Array<string>(NODE_CACHE_SIZE)
  private nodeNext = 0

  constructor(opts: EtfDecoderOptions = {}) {
    this.maxDepth = opts.maxDepth ?? Infinity
    this.maxTerms = opts.maxTerms ?? MAX_MESSAGE_TERMS
    this.iterDepth = opts.iterDepth ?? ITER_DEPTH
    this.maxBigIntBytes = opts.maxBigIntBytes ?? MAX_BIGINT_BYTES
    this.maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE
  }

  /**
   * The one term in `bytes` (term_to_binary output: version byte 131 first, possibly
   * compressed), and nothing after it. `owned`: the caller hands the bytes over, so binaries of
   * 1 KB and more may be views of them instead of copies.
   */
  decode(bytes: Uint8Array, owned = false): unknown {
    if (!(bytes instanceof Uint8Array)) throw etfDecodeError(`expected a Buffer or Uint8Array, got ${typeof bytes}`)
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (buf.length === 0 || buf[0] !== T.VERSION) {
      throw etfDecodeError(`not an External Term Format term: expected version byte 131 at offset 0, got ${buf[0] ?? 'nothing'}`)
    }
    const { value, end } = this.run(buf, 1, undefined, owned, true, 0)
    if (end !== buf.length) throw etfDecodeError(`${buf.length - end} bytes of garbage after the term (at offset ${end})`)
    return value
  }

  /**
   * One term WITHOUT the version byte at buf[offset] (as inside a distribution frame), and
   * where it ends. ATOM_CACHE_REF n is atomRefs[n] (the frame's distribution header refs).
   * `owned` as for decode(). Bytes after the term are left for the caller (a frame's payload).
   * `termsBefore`: terms already decoded from the same message (its control term), counted
   * against maxTerms with this one's; `terms` in the result is the total.
   */
  decodeAt(
    buf: Uint8Array,
    offset: number,
    atomRefs?: readonly Atom[],
    owned = false,
    termsBefore = 0,
  ): { value: unknown; end: number; terms: number } {
    if (!(buf instanceof Uint8Array)) throw etfDecodeError(`expected a Buffer or Uint8Array, got ${typeof buf}`)
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    if (!Number.isInteger(offset) || offset < 0 || offset > b.length)
      throw etfDecodeError(`offset ${offset} is outside the ${b.length} bytes given`)
    return this.run(b, offset, atomRefs, owned, false, termsBefore)
  }

  private run(
    buf: Buffer,
    offset: number,
    refs: readonly Atom[] | undefined,
    owned: boolean,
    compressed: boolean,
    termsBefore: number,
  ): { value: unknown; end: number; terms: number } {
    this.buf = buf
    this.pos = offset
    this.end = buf.length
    this.depth = 0
    this.owned = owned
    this.refs = refs
    this.terms = termsBefore
    try {
      this.reserve(1)
      if (compressed && buf[offset] === T.COMPRESSED) return { value: this.readCompressed(), end: buf.length, terms: this.terms }
      const value = this.read()
      return { value, end: this.pos, terms: this.terms }
    } catch (error) {
      if (error instanceof NetkernelError) throw error
      throw etfDecodeError(`malformed term at offset ${this.pos}: ${(error as Error)?.message ?? String(error)}`, error)
    } finally {
      this.buf = EMPTY
      this.refs = undefined
    }
  }

  private fail(message: string): CodecError {
    return etfDecodeError(`${message} (at offset ${this.pos})`)
  }

  private truncated(what: string): CodecError {
    return this.fail(`truncated term: ${what} needs more bytes than the ${this.end - this.pos} left`)
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw this.truncated(what)
  }

  private u8(what: string): number {
    if (this.pos >= this.end) throw this.truncated(what)
    return this.buf[this.pos++]!
  }

  private u16(what: string): number {
    this.need(2, what)
    const b = this.buf
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!
    this.pos += 2
    return v
  }

  private u32(what: string): number {
    this.need(4, what)
    const b = this.buf
    const p = this.pos
    this.pos = p + 4
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!)
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) throw this.fail(`term nested deeper than ${this.maxDepth} levels`)
  }

  /**
   * Counts `n` more terms against maxTerms: a container counts its elements when its header
   * is read, before anything is allocated for them (each element counts once, there, so a
   * scalar costs nothing more); the top-level term counts one.
   */
  private reserve(n: number): void {
    if ((this.terms += n) > this.maxTerms) throw tooManyTerms(this.maxTerms)
  }

  private read(): unknown {
    if (this.pos >= this.end) throw this.truncated('a term')
    const tag = this.buf[this.pos++]!
    switch (tag) {
      case T.SMALL_INTEGER_EXT:
        return this.u8('SMALL_INTEGER_EXT')
      case T.INTEGER_EXT:
        return this.u32('INTEGER_EXT') | 0
      case T.SMALL_ATOM_UTF8_EXT:
        return this.atomValue(this.u8('SMALL_ATOM_UTF8_EXT'), true)
      case T.ATOM_UTF8_EXT:
        return this.atomValue(this.u16('ATOM_UTF8_EXT'), true)
      case T.SMALL_ATOM_EXT:
        return this.atomValue(this.u8('SMALL_ATOM_EXT'), false)
      case T.ATOM_EXT:
        return this.atomValue(this.u16('ATOM_EXT'), false)
      case T.ATOM_CACHE_REF:
        return this.cacheRef()
      case T.BINARY_EXT:
        return this.binary(this.u32('BINARY_EXT'))
      case T.SMALL_TUPLE_EXT:
        if (this.depth >= this.iterDepth) return this.deep()
        return this.tuple(this.u8('SMALL_TUPLE_EXT'))
      case T.LARGE_TUPLE_EXT:
        if (this.depth >= this.iterDepth) return this.deep()
        return this.tuple(this.u32('LARGE_TUPLE_EXT'))
      case T.NIL_EXT:
        return []
      case T.LIST_EXT:
        if (this.depth >= this.iterDepth) return this.deep()
        return this.list()
      case T.STRING_EXT:
        return this.string()
      case T.MAP_EXT:
        if (this.depth >= this.iterDepth) return this.deep()
        return this.map()
      case T.NEW_FLOAT_EXT: {
        this.need(8, 'NEW_FLOAT_EXT')
        const v = this.buf.readDoubleBE(this.pos)
        // Erlang floats are finite: binary_to_term refuses NaN and the infinities as well.
        if (!Number.isFinite(v)) throw this.fail(`NEW_FLOAT_EXT ${v} is not a finite float`)
        this.pos += 8
        return v
      }
      case T.FLOAT_EXT:
        return this.oldFloat()
      case T.SMALL_BIG_EXT:
        return this.big(this.u8('SMALL_BIG_EXT'))
      case T.LARGE_BIG_EXT:
        return this.big(this.u32('LARGE_BIG_EXT'))
      case T.NEW_PID_EXT:
      case T.PID_EXT:
        return this.pid(tag === T.NEW_PID_EXT)
      case T.NEWER_REFERENCE_EXT:
      case T.NEW_REFERENCE_EXT:
        return this.ref(tag === T.NEWER_REFERENCE_EXT)
      case T.REFERENCE_EXT:
        return this.oldRef()
      case T.NEW_PORT_EXT:
      case T.V4_PORT_EXT:
      case T.PORT_EXT:
        return this.port(tag)
      case T.BIT_BINARY_EXT:
        return this.bitBinary()
      case T.NEW_FUN_EXT:
        if (this.depth >= this.iterDepth) return this.deep()
        return this.fun()
      case T.EXPORT_EXT:
        return this.exportFun()
      case T.COMPRESSED:
        throw this.fail('a compressed term (tag 80) is allowed only at the top level of a term_to_binary term')
      case T.LOCAL_EXT:
        throw this.fail('LOCAL_EXT (tag 121) is local to one node and never valid from a peer')
      case T.FUN_EXT:
        throw this.fail('FUN_EXT (tag 117, pre-R8 funs) is not supported')
      default:
        throw etfDecodeError(`unknown External Term Format tag ${tag} at offset ${this.pos - 1}`)
    }
  }

  // Atoms.

  private atomText(n: number, utf8: boolean, what: string): string {
    this.need(n, what)
    const b = this.buf
    const start = this.pos
    const end = start + n
    this.pos = end
    let s = ''
    let i = start
    if (n <= 32) {
      for (; i < end; i++) {
        const c = b[i]!
        if (c >= 0x80) break
        s += String.fromCharCode(c)
      }
      if (i === end) return s
    }
    if (!utf8) {
      if (n > 255) throw this.fail(`an atom has at most 255 characters (got ${n})`)
      return b.toString('latin1', start, end)
    }
    const text = b.toString('utf8', start, end)
    if (text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(b.subarray(start, end))) throw this.fail('an atom is not valid UTF-8')
    if (n > 255 && [...text].length > 255) throw this.fail(`an atom has at most 255 characters (got ${[...text].length})`)
    return text
  }

  private atomValue(n: number, utf8: boolean): unknown {
    const name = this.atomText(n, utf8, 'an atom')
    if (name === 'true') return true
    if (name === 'false') return false
    return atom(name)
  }

  private cacheRef(): unknown {
    const i = this.u8('ATOM_CACHE_REF')
    const refs = this.refs
    if (refs === undefined || i >= refs.length) {
      throw this.fail(`ATOM_CACHE_REF ${i} but the distribution header has ${refs?.length ?? 0} atom cache refs`)
    }
    this.cacheRefsRead++
    const a = refs[i]!
    if (a.name === 'true') return true
    if (a.name === 'false') return false
    return a
  }

  /** A node name in a pid, ref or port: an atom term. */
  private nodeName(): string {
    if (this.pos >= this.end) throw this.truncated('a node name')
    const buf = this.buf
    const tag = buf[this.pos]!
    // The same few node names recur in every pid and ref: compare the bytes with the last ones.
    if (tag === T.SMALL_ATOM_UTF8_EXT || tag === T.SMALL_ATOM_EXT) {
      const n = 2 + (buf[this.pos + 1] ?? 0)
      if (this.pos + n <= this.end) {
        for (let k = 0; k < NODE_CACHE_SIZE; k++) {
          const cached = this.nodeBytes[k]
          if (cached === undefined || cached.length !== n) continue
          let i = 0
          while (i < n && cached[i] === buf[this.pos + i]) i++
          if (i === n) {
            this.pos += n
            return this.nodeNames[k]!
          }
        }
        const start = this.pos
        const name = this.nodeNameUncached()
        const slot = this.nodeNext
        this.nodeNext = (slot + 1) % NODE_CACHE_SIZE
        this.nodeBytes[slot] = Buffer.from(buf.subarray(start, start + n))
        this.nodeNames[slot] = name
        return name
      }
    }
    return this.nodeNameUncached()
  }

  private nodeNameUncached(): string {
    const tag = this.buf[this.pos++]!
    switch (tag) {
      case T.SMALL_ATOM_UTF8_EXT:
        return this.atomText(this.u8('a node name'), true, 'a node name')
      case T.ATOM_UTF8_EXT:
        return this.atomText(this.u16('a node name'), true, 'a node name')
      case T.SMALL_ATOM_EXT:
        return this.atomText(this.u8('a node name'), false, 'a node name')
      case T.ATOM_EXT:
        return this.atomText(this.u16('a node name'), false, 'a node name')
      case T.ATOM_CACHE_REF: {
        const a = this.cacheRef()
        return typeof a === 'boolean' ? String(a) : (a as Atom).name
      }
      default:
        throw etfDecodeError(`a node name must be an atom, got tag ${tag} at offset ${this.pos - 1}`)
    }
  }

  // Binaries.

  private binary(n: number): Buffer {
    this.need(n, 'BINARY_EXT')
    const start = this.pos
    this.pos += n
    if (this.owned && n >= VIEW_MIN) return this.buf.subarray(start, start + n)
    const out = Buffer.allocUnsafe(n)
    if (n <= 32) for (let i = 0; i < n; i++) out[i] = this.buf[start + i]!
    else this.buf.copy(out, 0, start, start + n)
    return out
  }

  private bitBinary(): unknown {
    const n = this.u32('BIT_BINARY_EXT')
    const bits = this.u8('BIT_BINARY_EXT')
    if (n === 0) {
      if (bits !== 0) throw this.fail(`BIT_BINARY_EXT of 0 bytes must have 0 bits, not ${bits}`)
      return Buffer.alloc(0)
    }
    if (bits < 1 || bits > 8) throw this.fail(`BIT_BINARY_EXT bits must be 1..8, not ${bits}`)
    return new BitBinary(this.binary(n), bits)
  }

  // Containers.

  private tuple(n: number): Tuple {
    if (n > this.end - this.pos) throw this.truncated(`a tuple of ${n} elements`)
    this.enter()
    this.reserve(n)
    const t: unknown[] = []
    for (let i = 0; i < n; i++) t.push(this.read())
    this.depth--
    return asTuple(t)
  }

  private list(): unknown {
    const n = this.u32('LIST_EXT')
    // n elements and a tail, each at least one byte.
    if (n >= this.end - this.pos) throw this.truncated(`a list of ${n} elements`)
    this.enter()
    this.reserve(n)
    const items = new Array<unknown>(n)
    let total = n
    let levels = 1
    let tail: unknown
    for (let i = 0; ;) {
      for (; i < total; i++) items[i] = this.read()
      if (this.buf[this.pos] === T.NIL_EXT) {
        this.pos++
        tail = undefined
        break
      }
      this.reserve(1)
      if (this.pos < this.end && this.buf[this.pos] === T.LIST_EXT) {
        // A tail that is a list: its elements continue these (listValue's concatenation, done
        // as it reads: a chain of a million such tails costs no more than one long list).
        this.pos++
        const m = this.u32('LIST_EXT')
        if (m >= this.end - this.pos) throw this.truncated(`a list of ${m} elements`)
        this.enter()
        levels++
        this.reserve(m)
        total += m
        continue
      }
      tail = this.read()
      break
    }
    this.depth -= levels
    return listValue(items, tail)
  }

  private string(): number[] {
    const n = this.u16('STRING_EXT')
    this.need(n, 'STRING_EXT')
    this.reserve(n)
    const out = new Array<number>(n)
    const b = this.buf
    const p = this.pos
    for (let i = 0; i < n; i++) out[i] = b[p + i]!
    this.pos = p + n
    return out
  }

  private map(): Map<unknown, unknown> {
    const n = this.u32('MAP_EXT')
    if (n * 2 > this.end - this.pos) throw this.truncated(`a map of ${n} pairs`)
    this.enter()
    this.reserve(n * 2)
    const m = new Map<unknown, unknown>()
    for (let i = 0; i < n; i++) {
      const k = this.read()
      m.set(k, this.read())
    }
    this.depth--
    return m
  }

  // Numbers.

  private big(n: number): number | bigint {
    const sign = this.u8('a big integer')
    if (sign > 1) throw this.fail(`big integer sign must be 0 or 1, not ${sign}`)
    if (n > this.maxBigIntBytes) throw this.fail(`a big integer of ${n} bytes is larger than ${this.maxBigIntBytes} bytes`)
    this.need(n, 'a big integer')
    const b = this.buf
    const p = this.pos
    this.pos = p + n
    if (n <= 6) {
      let v = 0
      for (let i = n - 1; i >= 0; i--) v = v * 256 + b[p + i]!
      return sign === 1 ? (v === 0 ? 0 : -v) : v
    }
    // The digits are little-endian: reversed into a scratch buffer, then hex in one call
    // (V8 parses a power-of-two radix in linear time; ~7 ms per MiB, where building the
    // string two characters a byte took ~90).
    const be = Buffer.allocUnsafe(n)
    for (let i = 0, j = p + n - 1; i < n; i++, j--) be[i] = b[j]!
    let v = BigInt('0x' + be.toString('hex'))
    if (sign === 1) v = -v
    if (v >= -MAX_SAFE && v <= MAX_SAFE) return Number(v)
    return v
  }

  private oldFloat(): number {
    this.need(31, 'FLOAT_EXT')
    const text = this.buf.toString('latin1', this.pos, this.pos + 31)
    this.pos += 31
    const nul = text.indexOf('\0')
    const s = (nul < 0 ? text : text.slice(0, nul)).trim()
    const v = Number(s)
    if (s === '' || !Number.isFinite(v)) throw this.fail(`FLOAT_EXT text ${JSON.stringify(s)} is not a finite float`)
    return v
  }

  // Identifiers.

  private pid(wide: boolean): Pid {
    const node = this.nodeName()
    this.need(wide ? 12 : 9, 'a pid')
    const id = this.u32('a pid')
    const serial = this.u32('a pid')
    const creation = wide ? this.u32('a pid') : this.u8('a pid')
    return new Pid(node, id, serial, creation)
  }

  private ref(wide: boolean): Ref {
    const len = this.u16('a reference')
    if (len < 1 || len > T.MAX_REF_WORDS) throw this.fail(`a reference has 1 to ${T.MAX_REF_WORDS} id words, not ${len}`)
    const node = this.nodeName()
    const creation = wide ? this.u32('a reference') : this.u8('a reference')
    this.need(4 * len, 'a reference')
    const ids = new Array<number>(len)
    for (let i = 0; i < len; i++) ids[i] = this.u32('a reference')
    return new Ref(node, ids[0]!, creation, ids)
  }

  private oldRef(): Ref {
    const node = this.nodeName()
    const id = this.u32('REFERENCE_EXT')
    const creation = this.u8('REFERENCE_EXT')
    return new Ref(node, id, creation)
  }

  private port(tag: number): Port {
    const node = this.nodeName()
    let id: bigint
    if (tag === T.V4_PORT_EXT) {
      this.need(8, 'V4_PORT_EXT')
      id = this.buf.readBigUInt64BE(this.pos)
      this.pos += 8
    } else id = BigInt(this.u32('a port'))
    const creation = tag === T.PORT_EXT ? this.u8('PORT_EXT') : this.u32('a port')
    return new Port(node, id, creation)
  }

  // Funs: kept as their bytes. Their parts are read all the same (bounds, and atoms that came
  // from the atom cache, which the bytes alone would lose: such a fun is re-encoded whole).

  private fun(): OpaqueTerm {
    // Its header as the iterative reader opens it; its parts read here, recursively.
    const f = this.openFun()
    const parts = f.out as unknown[]
    for (let i = 0; i < f.n; i++) {
      this.funPart(i, f.end)
      parts.push(this.read())
    }
    this.depth--
    return this.funDone(f.start, f.head, f.end, f.outer, f.refsBefore, parts)
  }

  /** Before a fun's part i: it must start within the fun, and counts as a term. */
  private funPart(i: number, end: number): void {
    if (this.pos >= end) throw this.truncated(`NEW_FUN_EXT's ${i < 4 ? 'fields' : 'free variables'}`)
    this.reserve(1)
  }

  /** A fun whose parts have been read (this.depth already left): its OpaqueTerm. */
  private funDone(start: number, head: number, end: number, outer: number, refsBefore: number, parts: unknown[]): OpaqueTerm {
    if (this.pos !== end) throw this.fail(`NEW_FUN_EXT has ${end - this.pos} bytes beyond its parts`)
    this.end = outer
    if (this.cacheRefsRead === refsBefore) return new OpaqueTerm(T.NEW_FUN_EXT, this.copy(start, end))
    // Rebuild with every atom written out: the fixed head, then each part re-encoded.
    const enc = (this.encoder ??= new EtfEncoder())
    const body = Buffer.concat([this.buf.subarray(start, head), ...parts.map(p => enc.encode(p).subarray(1))])
    body.writeUInt32BE(body.length, 0)
    return new OpaqueTerm(T.NEW_FUN_EXT, body)
  }

  private exportFun(): OpaqueTerm {
    const start = this.pos
    const refsBefore = this.cacheRefsRead
    // Module and Function must be atoms and Arity a SMALL_INTEGER_EXT: the tags are checked
    // before each is read, so nothing else is read here (no recursion).
    const m = this.exportPart(start, false)
    const f = this.exportPart(start, false)
    const a = this.exportPart(start, true)
    if (this.cacheRefsRead === refsBefore) return new OpaqueTerm(T.EXPORT_EXT, this.copy(start, this.pos))
    const enc = (this.encoder ??= new EtfEncoder())
    return new OpaqueTerm(
      T.EXPORT_EXT,
      Buffer.concat([
        enc.encode(asAtom(m)).subarray(1),
        enc.encode(asAtom(f)).subarray(1),
        Buffer.from([T.SMALL_INTEGER_EXT, a as number]),
      ]),
    )
  }

  private exportPart(start: number, arity: boolean): unknown {
    const tag = this.pos < this.end ? this.buf[this.pos] : undefined
    if (arity ? tag !== T.SMALL_INTEGER_EXT : !isAtomTag(tag)) {
      this.pos = start
      throw this.fail('EXPORT_EXT must be Module:atom, Function:atom, Arity:SMALL_INTEGER_EXT')
    }
    return this.read()
  }

  // The iterative reader: a container below iterDepth levels and everything in it, read by
  // one loop with the open containers on an explicit stack. Each step reads one term at
  // this.pos: a container's header opens a frame (the same checks, in the same order, as the
  // recursive reader's), anything else is read whole by read(), which then never recurses.
  // A finished term goes to the innermost frame; a frame with all its parts closes into its
  // value, which goes to the next one out.

  private deep(): unknown {
    this.pos-- // back to the container's tag
    const stack: DeepFrame[] = []
    let value: unknown
    for (;;) {
      if (this.pos >= this.end) throw this.truncated('a term')
      const tag = this.buf[this.pos]!
      let opened: DeepFrame | undefined
      switch (tag) {
        case T.SMALL_TUPLE_EXT:
          this.pos++
          opened = this.openTuple(this.u8('SMALL_TUPLE_EXT'))
          break
        case T.LARGE_TUPLE_EXT:
          this.pos++
          opened = this.openTuple(this.u32('LARGE_TUPLE_EXT'))
          break
        case T.LIST_EXT:
          this.pos++
          opened = this.openList()
          break
        case T.MAP_EXT:
          this.pos++
          opened = this.openMap()
          break
        case T.NEW_FUN_EXT:
          this.pos++
          opened = this.openFun()
          break
        default:
          value = this.read()
      }
      let have = opened === undefined
      if (opened !== undefined) stack.push(opened)
      for (;;) {
        const top = stack[stack.length - 1]
        if (top === undefined) return value
        if (have) {
          this.accept(top, value)
          have = false
        }
        if (this.wantsMore(top)) break
        stack.pop()
        value = this.close(top)
        have = true
      }
    }
  }

  private openTuple(n: number): DeepFrame {
    if (n > this.end - this.pos) throw this.truncated(`a tuple of ${n} elements`)
    this.enter()
    this.reserve(n)
    return new DeepFrame(TUPLE, n, [])
  }

  private openList(): DeepFrame {
    const n = this.u32('LIST_EXT')
    if (n >= this.end - this.pos) throw this.truncated(`a list of ${n} elements`)
    this.enter()
    this.reserve(n)
    return new DeepFrame(LIST, n, new Array<unknown>(n))
  }

  private openMap(): DeepFrame {
    const n = this.u32('MAP_EXT')
    if (n * 2 > this.end - this.pos) throw this.truncated(`a map of ${n} pairs`)
    this.enter()
    this.reserve(n * 2)
    return new DeepFrame(MAP, n * 2, new Map<unknown, unknown>())
  }

  private openFun(): DeepFrame {
    const start = this.pos
    const size = this.u32('NEW_FUN_EXT')
    // Size:4 Arity:1 Uniq:16 Index:4 NumFree:4, then Module, OldIndex, OldUniq, Pid, free vars.
    if (size < 29 || size > this.end - start) throw this.fail(`NEW_FUN_EXT of ${size} bytes does not fit the ${this.end - start} left`)
    const end = start + size
    const outer = this.end
    this.end = end
    this.enter()
    const refsBefore = this.cacheRefsRead
    this.pos = start + 4 + 1 + 16 + 4
    const numFree = this.u32('NEW_FUN_EXT')
    const f = new DeepFrame(FUN, 4 + numFree, [])
    f.start = start
    f.head = this.pos
    f.end = end
    f.outer = outer
    f.refsBefore = refsBefore
    return f
  }

  private accept(f: DeepFrame, value: unknown): void {
    switch (f.kind) {
      case TUPLE:
        ;(f.out as unknown[]).push(value)
        break
      case LIST:
        if (f.phase === LIST_TAIL) {
          f.tail = value
          f.phase = LIST_DONE
        } else (f.out as unknown[])[f.i] = value
        break
      case MAP:
        if ((f.i & 1) === 0) f.key = value
        else (f.out as Map<unknown, unknown>).set(f.key, value)
        break
      default:
        ;(f.out as unknown[]).push(value)
    }
    f.i++
  }

  /** True when `f` has another part to read at this.pos (checked as the recursive reader does). */
  private wantsMore(f: DeepFrame): boolean {
    if (f.kind !== LIST) {
      if (f.i >= f.n) return false
      if (f.kind === FUN) this.funPart(f.i, f.end)
      return true
    }
    if (f.phase !== LIST_ITEMS) return f.phase === LIST_TAIL
    if (f.i < f.n) return true
    if (this.buf[this.pos] === T.NIL_EXT) {
      this.pos++
      f.phase = LIST_DONE
      return false
    }
    this.reserve(1)
    if (this.pos < this.end && this.buf[this.pos] === T.LIST_EXT) {
      // A tail that is a list: its elements continue this frame's (listValue's concatenation,
      // done as it reads: a chain of a million such tails costs no more than one long list).
      this.pos++
      const n = this.u32('LIST_EXT')
      if (n >= this.end - this.pos) throw this.truncated(`a list of ${n} elements`)
      this.enter()
      f.extra++
      this.reserve(n)
      f.n += n
      return this.wantsMore(f)
    }
    f.phase = LIST_TAIL
    return true
  }

  private close(f: DeepFrame): unknown {
    this.depth -= 1 + f.extra
    switch (f.kind) {
      case TUPLE:
        return asTuple(f.out as unknown[])
      case MAP:
        return f.out
      case LIST:
        return listValue(f.out as unknown[], f.tail)
      default:
        return this.funDone(f.start, f.head, f.end, f.outer, f.refsBefore, f.out as unknown[])
    }
  }

  private copy(start: number, end: number): Buffer {
    return Buffer.from(this.buf.subarray(start, end))
  }

  // Compressed terms: 80, UncompressedSize:32, a zlib stream of the term (without 131).

  private readCompressed(): unknown {
    this.pos++
    const size = this.u32('COMPRESSED')
    if (size > this.maxSize) throw this.fail(`a compressed term of ${size} bytes is larger than ${this.maxSize} bytes`)
    let inflated: Buffer
    try {
      inflated = inflateSync(this.buf.subarray(this.pos, this.end), { maxOutputLength: Math.max(size, 1) })
    } catch (error) {
      // zlib's own error (a corrupt stream, or more than the declared size): its message only.
      throw this.fail(`a compressed term does not inflate to its declared ${size} bytes: ${(error as Error).message}`)
    }

    if (inflated.length !== size) throw this.fail(`a compressed term inflated to ${inflated.length} bytes, not the ${size} declared`)
    this.buf = inflated
    this.pos = 0
    this.end = inflated.length
    this.owned = true
    const value = this.read()
    if (this.pos !== this.end) throw etfDecodeError(`${this.end - this.pos} bytes of garbage after the compressed term`)
    return value
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

function isAtomTag(tag: number | undefined): boolean {
  return (
    tag === T.SMALL_ATOM_UTF8_EXT || tag === T.ATOM_UTF8_EXT || tag === T.SMALL_ATOM_EXT || tag === T.ATOM_EXT || tag === T.ATOM_CACHE_REF
  )
}

/**
 * A LIST_EXT's value from its elements and its tail (undefined: NIL). A tail that is itself a
 * list (never written by term_to_binary, valid all the same) continues the elements.
 */
function listValue(items: unknown[], tail: unknown): unknown {
  if (tail === undefined) return items
  if (Array.isArray(tail) && !(tail instanceof Tuple)) return items.concat(tail)
  if (tail instanceof ImproperList) return new ImproperList(items.concat(tail.items), tail.tail)
  if (items.length === 0) return tail
  return new ImproperList(items, tail)
}

const TUPLE = 0
const LIST = 1
const MAP = 2
const FUN = 3
const LIST_ITEMS = 0
const LIST_TAIL = 1
const LIST_DONE = 2

/** An open container of the iterative reader. */
class DeepFrame {
  /** Parts read so far. */
  i = 0
  /** LIST: reading elements, reading the tail, or done (the tail was NIL or has been read). */
  phase = LIST_ITEMS
  tail: unknown = undefined
  /** LIST: lists chained through the tail into this frame (one depth level each). */
  extra = 0
  /** MAP: the key whose value is read next. */
  key: unknown = undefined
  // FUN: where its bytes start, its parts start and it ends; the end it hides; cache refs read before it.
  start = 0
  head = 0
  end = 0
  outer = 0
  refsBefore = 0

  constructor(
    readonly kind: number,
    /** The parts to read (a map's keys and values both count; a list's elements, without its tail). */
    public n: number,
    readonly out: unknown,
  ) {}
}

function asAtom(v: unknown): Atom {
  return typeof v === 'boolean' ? atom(String(v)) : (v as Atom)
}
