// netkernel's own MessagePack writer (the 'msgpackr' codec's encoder). It writes into one scratch
// buffer per encoder and copies the result once into a fresh Buffer, the technique that makes
// msgpackr fast, but with the extension types of ext-codes.ts per instance: msgpackr's own
// extension registry is module-global (kriszyp/msgpackr#93) and exact Maps bypass it.
// This file holds the entry points (encode, frames) and the terms (containers, pids, refs,
// Maps, errors, bigints); the MessagePack primitives are in msgpack-writer.ts, its base class.
import { NetkernelError } from '../errors.js'
import { appendBytes, type FrameBatch } from './frame-batch.js'
import { EXT, MAX_TERM_DEPTH, encodeError, extHeaderSize, writeExtHeader } from './ext-codes.js'
import { INITIAL_SIZE, MsgpackWriter, SLACK } from './msgpack-writer.js'
import { bigintToBytes, checkPid, checkRef, errorFields } from './ext-payloads.js'
import {
  KIND_ARRAY,
  KIND_BIN,
  KIND_ERROR,
  KIND_MAP,
  KIND_OBJECT,
  KIND_PID,
  KIND_REF,
  notATerm,
  objectKind,
} from './term-kinds.js'
import type { Pid } from './pid.js'
import type { Ref } from './ref.js'

/** A scratch buffer grown past this for one large term is dropped after the call. */
const KEEP_MAX = 1 << 20
const MAX_FRAME_BODY = 0xffffffff

export class TermEncoder extends MsgpackWriter {
  private depth = 0
  private busy = false

  /**
   * `maxFrameBody`: the largest frame body encodeFrame / encodeFrameInto write (a node's
   * maxMessageSize); a larger one throws CodecError ERR_MESSAGE_TOO_LARGE as soon as the
   * encoded bytes pass it (checked as the scratch buffer grows, and once at the end), and
   * nothing is written to a batch. encode() has no such bound.
   */
  constructor(private readonly maxFrameBody = MAX_FRAME_BODY) {
    super()
  }

  protected overCap(size: number): Error {
    if (this.maxFrameBody >= MAX_FRAME_BODY) return encodeError(`a term of ${size} bytes does not fit a frame`)
    return new NetkernelError('ERR_MESSAGE_TOO_LARGE', `a message of ${size} bytes or more exceeds maxMessageSize (${this.maxFrameBody} bytes)`)
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
    }
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

  private lastPid: Pid | undefined
  private lastPidBytes: Buffer | undefined

  private writePid(pid: Pid): void {
    // A one-entry cache: a run of sends to one pid encodes it once (pids are immutable).
    if (pid === this.lastPid) {
      const b = this.lastPidBytes!
      this.ensure(b.length)
      b.copy(this.buf, this.pos)
      this.pos += b.length
      return
    }
    checkPid(pid)
    const start = this.pos
    this.writePidUncached(pid)
    this.lastPid = pid
    this.lastPidBytes = Buffer.from(this.buf.subarray(start, this.pos))
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
    checkRef(ref)
    const at = this.beginExt()
    this.buf[this.pos++] = 0x93
    this.writeString(ref.node)
    this.ensure(SLACK * 2)
    this.writeNumber(ref.id)
    this.writeNumber(ref.creation)
    this.endExt(at, EXT.REF)
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
}

/** The first `n` bytes of buf in a buffer of their own (at least a batch's initial size). */
function copyStart(buf: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(16384, n))
  buf.copy(out, 0, 0, n)
  return out
}
