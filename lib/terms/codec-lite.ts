// The 'msgpack-lite' codec: msgpack-lite writes and reads the standard types; a per-instance
// wrapper around its codec (every nested value goes through codec.encode / codec.decode) adds
// the extension types and the term rules of term-kinds.ts, and fixes two non-canonical headers
// (msgpack-lite writes bin 16 / ext 16 for a 255-byte bin / ext body). Slow, and accepted: it
// is the independent second implementation the wire format is checked against.
import { Buffer } from 'node:buffer'
import { createRequire } from 'node:module'
import { NetkernelError } from '../errors.js'
import { checkDepth } from './depth-scan.js'
import {
  EXT,
  MAX_MESSAGE_TERMS,
  MAX_TERM_DEPTH,
  decodeError,
  encodeError,
  extHeaderSize,
  unknownExtension,
  writeExtHeader,
} from './ext-codes.js'
import { Tuple } from './tuple.js'
import type { Atom } from './atom.js'
import type { ImproperList } from './improper-list.js'
import type { BitBinary, OpaqueTerm, Port } from './otp-terms.js'
import {
  type ScalarPayload,
  atomFromName,
  bitBinaryFromFields,
  checkBitBinary,
  checkImproper,
  checkOpaque,
  improperFromFields,
  opaqueFromFields,
  otpRefFields,
  otpRefFromFields,
  portFields,
  portFromFields,
  bigintToBytes,
  bytesToBigint,
  checkPid,
  checkRef,
  checkScalarFields,
  errorFields,
  errorFromFields,
  errorShape,
  pidFromFields,
  refFromFields,
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
  plainKey,
  setOwn,
} from './term-kinds.js'
import type { Pid } from './pid.js'
import type { Ref } from './ref.js'

// The parts of msgpack-lite's codec, encoder and decoder objects this wrapper uses.
interface LiteEncoder {
  buffer: Buffer
  reserve(length: number): number
  send(buffer: Buffer): void
  read(): Buffer
}
interface LiteDecoder {
  buffer: Buffer
  offset: number
  write(chunk: Buffer): void
}
interface LiteCodec {
  encode(encoder: LiteEncoder, value: unknown): void
  decode(decoder: LiteDecoder): unknown
  getExtUnpacker(type: number): (body: Buffer) => unknown
  extPackers?: Record<string, unknown>
}
type Ctor<T> = new (options: { codec: LiteCodec }) => T
interface MsgpackLite {
  createCodec(options: { usemap: boolean; int64: boolean }): unknown
  Encoder: Ctor<LiteEncoder>
  Decoder: Ctor<LiteDecoder>
}

let loaded: MsgpackLite | undefined
/**
 * msgpack-lite, loaded when the first codec of this kind is made: a process that only uses the
 * default codec does not carry the library (~0.5 MB of heap, marked at every full collection).
 */
function msgpackLite(): MsgpackLite {
  return (loaded ??= createRequire(import.meta.url)('msgpack-lite') as MsgpackLite)
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function isMapByte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf)
}

function isArrayByte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd)
}

export interface LiteTermCodec {
  encode(value: unknown): Buffer
  encodeFrame(value: unknown): Buffer
  decode(bytes: Uint8Array): unknown
}

/**
 * `maxFrameBody`: encodeFrame refuses a larger body with CodecError ERR_MESSAGE_TOO_LARGE. This
 * codec learns the size only once the whole term is encoded.
 */
export function createLiteCodec(maxFrameBody = Infinity, maxTerms = MAX_MESSAGE_TERMS): LiteTermCodec {
  const msgpack = msgpackLite()
  const { Encoder, Decoder } = msgpack
  const codec = msgpack.createCodec({ usemap: true, int64: true }) as LiteCodec
  // Look ext packers up in an object without a prototype: no packer named "constructor".
  codec.extPackers = Object.create(null) as Record<string, unknown>
  const innerEncode = codec.encode
  const innerDecode = codec.decode
  let depth = 0

  function enter(): void {
    if (++depth > MAX_TERM_DEPTH) throw encodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels (or cyclic)`)
  }

  function writeHeaded(encoder: LiteEncoder, header: number[], body: Buffer): void {
    const at = encoder.reserve(header.length)
    for (let i = 0; i < header.length; i++) encoder.buffer[at + i] = header[i]!
    if (body.length > 0) encoder.send(body)
  }

  function writeExt(encoder: LiteEncoder, type: number, body: Buffer): void {
    const header = new Uint8Array(extHeaderSize(body.length))
    writeExtHeader(header, 0, body.length, type)
    writeHeaded(encoder, Array.from(header), body)
  }

  function writeBin(encoder: LiteEncoder, value: Uint8Array): void {
    const n = value.length
    const header =
      n < 0x100 ? [0xc4, n] : n < 0x10000 ? [0xc5, n >>> 8, n & 0xff] : [0xc6, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
    writeHeaded(encoder, header, asBuffer(value))
  }

  function sub(value: unknown, write: (encoder: LiteEncoder, value: unknown) => void): Buffer {
    const encoder = new Encoder({ codec })
    write(encoder, value)
    return encoder.read()
  }

  codec.encode = (encoder, value) => {
    switch (typeof value) {
      case 'bigint':
        return writeExt(encoder, EXT.BIGINT, bigintToBytes(value))
      case 'function':
      case 'symbol':
        throw notATerm(value)
      case 'object':
        if (value === null) break
        switch (objectKind(value)) {
          case KIND_ARRAY:
          case KIND_OBJECT:
            enter()
            innerEncode(encoder, value)
            depth--
            return
          case KIND_BIN:
            return writeBin(encoder, value as Uint8Array)
          case KIND_PID: {
            const pid = value as Pid
            checkPid(pid)
            return writeExt(encoder, EXT.PID, sub([pid.node, pid.id, pid.serial, pid.creation], codec.encode))
          }
          case KIND_REF: {
            const ref = value as Ref
            if (ref.ids.length > 1) return writeExt(encoder, EXT.OTP_REF, sub(otpRefFields(ref), codec.encode))
            checkRef(ref)
            return writeExt(encoder, EXT.REF, sub([ref.node, ref.id, ref.creation], codec.encode))
          }
          case KIND_MAP: {
            enter()
            const body = sub(value, innerEncode) // usemap: msgpack-lite writes the Map as a map
            depth--
            return writeExt(encoder, EXT.MAP, body)
          }
          case KIND_ERROR:
            return writeExt(encoder, EXT.ERROR, sub(errorFields(value as Error), codec.encode))
          case KIND_ATOM: {
            const name = (value as Atom).name
            if (typeof name !== 'string') throw encodeError('malformed Atom: its name must be a string')
            return writeExt(encoder, EXT.ATOM, sub(name, codec.encode))
          }
          case KIND_TUPLE: {
            enter()
            const body = sub(Array.from(value as unknown[]), innerEncode)
            depth--
            return writeExt(encoder, EXT.TUPLE, body)
          }
          case KIND_IMPROPER: {
            const l = value as ImproperList
            checkImproper(l)
            enter()
            const body = sub([Array.from(l.items), l.tail], innerEncode)
            depth--
            return writeExt(encoder, EXT.IMPROPER_LIST, body)
          }
          case KIND_BIT_BINARY: {
            const b = value as BitBinary
            checkBitBinary(b)
            return writeExt(encoder, EXT.BIT_BINARY, sub([b.bytes, b.bits], codec.encode))
          }
          case KIND_PORT:
            return writeExt(encoder, EXT.PORT, sub(portFields(value as Port), codec.encode))
          case KIND_OPAQUE: {
            const o = value as OpaqueTerm
            checkOpaque(o)
            return writeExt(encoder, EXT.OPAQUE, sub([o.tag, o.bytes], codec.encode))
          }
        }
    }
    innerEncode(encoder, value)
  }

  codec.decode = decoder => {
    const b = decoder.buffer[decoder.offset]
    const container = isMapByte(b) || isArrayByte(b)
    if (container && ++depth > MAX_TERM_DEPTH) throw decodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels`)
    const value = innerDecode(decoder)
    if (container) depth--
    if (isMapByte(b)) {
      const plain: Record<string, unknown> = {}
      for (const [k, v] of value as Map<unknown, unknown>) setOwn(plain, plainKey(k), v)
      return plain
    }
    if (b === 0xcf || b === 0xd3) {
      // int64: msgpack-lite's Int64BE / Uint64BE objects -> a number when safe, else a bigint
      const n = BigInt((value as { toString(radix: number): string }).toString(10))
      return Number.isSafeInteger(Number(n)) ? Number(n) : n
    }
    return value
  }

  /** Decodes one ext body completely; `read` reads its single value. */
  function body<T>(bytes: Buffer, read: (decoder: LiteDecoder) => T, type: number): T {
    const decoder = new Decoder({ codec })
    decoder.write(bytes)
    const value = read(decoder)
    if (decoder.offset !== bytes.length) {
      throw decodeError(`extension type ${type} has ${bytes.length - decoder.offset} bytes of garbage`)
    }
    return value
  }

  function expectArray(bytes: Buffer, n: number, what: ScalarPayload): void {
    if (bytes[0] !== (0x90 | n)) throw decodeError(`malformed ${what} payload: expected an array of ${n}`)
    checkScalarFields(bytes, what)
  }

  const unpackers: Record<number, (bytes: Buffer) => unknown> = {
    [EXT.PID]: bytes => {
      expectArray(bytes, 4, 'Pid')
      const f = body(bytes, codec.decode, EXT.PID) as unknown[]
      return pidFromFields(f[0], f[1], f[2], f[3])
    },
    [EXT.REF]: bytes => {
      expectArray(bytes, 3, 'Ref')
      const f = body(bytes, codec.decode, EXT.REF) as unknown[]
      return refFromFields(f[0], f[1], f[2])
    },
    [EXT.MAP]: bytes => {
      if (!isMapByte(bytes[0])) throw decodeError('malformed Map payload: expected a MessagePack map')
      if (++depth > MAX_TERM_DEPTH) throw decodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels`)
      const map = body(bytes, innerDecode, EXT.MAP) // usemap: stays a Map
      depth--
      return map
    },
    [EXT.BIGINT]: bytes => bytesToBigint(bytes),
    [EXT.ATOM]: bytes => {
      const b = bytes[0] ?? 0
      if (!((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))) throw decodeError('malformed Atom payload: expected a str')
      return atomFromName(body(bytes, codec.decode, EXT.ATOM))
    },
    [EXT.TUPLE]: bytes => {
      if (!isArrayByte(bytes[0])) throw decodeError('malformed Tuple payload: expected a MessagePack array')
      if (++depth > MAX_TERM_DEPTH) throw decodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels`)
      const items = body(bytes, innerDecode, EXT.TUPLE) as unknown[]
      depth--
      return Tuple.from(items)
    },
    [EXT.IMPROPER_LIST]: bytes => {
      if (bytes[0] !== 0x92) throw decodeError('malformed ImproperList payload: expected an array of 2')
      if (!isArrayByte(bytes[1])) throw decodeError('malformed ImproperList payload: items must be an array')
      if (++depth > MAX_TERM_DEPTH) throw decodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels`)
      const f = body(bytes, innerDecode, EXT.IMPROPER_LIST) as unknown[]
      depth--
      return improperFromFields(f[0], f[1])
    },
    [EXT.BIT_BINARY]: bytes => {
      expectArray(bytes, 2, 'BitBinary')
      const f = body(bytes, codec.decode, EXT.BIT_BINARY) as unknown[]
      return bitBinaryFromFields(f[0], f[1])
    },
    [EXT.PORT]: bytes => {
      expectArray(bytes, 4, 'Port')
      const f = body(bytes, codec.decode, EXT.PORT) as unknown[]
      return portFromFields(f[0], f[1], f[2], f[3])
    },
    [EXT.OPAQUE]: bytes => {
      expectArray(bytes, 2, 'OpaqueTerm')
      const f = body(bytes, codec.decode, EXT.OPAQUE) as unknown[]
      return opaqueFromFields(f[0], f[1])
    },
    [EXT.OTP_REF]: bytes => {
      const n = (bytes[0] ?? 0) & 0x0f
      if (((bytes[0] ?? 0) & 0xf0) !== 0x90 || n < 4 || n > 7) throw decodeError('malformed Ref payload: expected an array of 4 to 7')
      expectArray(bytes, n, 'Ref')
      return otpRefFromFields(body(bytes, codec.decode, EXT.OTP_REF) as unknown[])
    },
    [EXT.ERROR]: bytes => {
      if (bytes[0] !== 0x92 && bytes[0] !== 0x93) throw errorShape()
      checkScalarFields(bytes, 'Error')
      return errorFromFields(body(bytes, codec.decode, EXT.ERROR))
    },
  }
  codec.getExtUnpacker = type => {
    const unpack = unpackers[type]
    if (unpack) return unpack
    return () => {
      throw unknownExtension((type << 24) >> 24)
    }
  }

  function run<T>(what: 'encode' | 'decode', work: () => T): T {
    depth = 0
    try {
      return work()
    } catch (error) {
      if (error instanceof NetkernelError) throw error
      const message = `${what === 'encode' ? 'cannot encode the term' : 'malformed term'}: ${(error as Error)?.message ?? String(error)}`
      throw what === 'encode' ? encodeError(message, error) : decodeError(message, error)
    }
  }

  return {
    encode: value =>
      run('encode', () => {
        const encoder = new Encoder({ codec })
        codec.encode(encoder, value)
        return encoder.read()
      }),
    encodeFrame: value =>
      run('encode', () => {
        const encoder = new Encoder({ codec })
        encoder.reserve(4) // the length prefix, filled in below: one buffer, no copy
        codec.encode(encoder, value)
        const frame = encoder.read()
        if (frame.length - 4 > maxFrameBody) {
          throw new NetkernelError(
            'ERR_MESSAGE_TOO_LARGE',
            `a message of ${frame.length - 4} bytes or more exceeds maxMessageSize (${maxFrameBody} bytes)`,
          )
        }
        frame.writeUInt32BE(frame.length - 4, 0)
        return frame
      }),
    decode: bytes =>
      run('decode', () => {
        if (!(bytes instanceof Uint8Array)) throw decodeError(`expected a Buffer or Uint8Array, got ${typeof bytes}`)
        const buf = asBuffer(bytes)
        checkDepth(buf, maxTerms) // msgpack-lite would run out of stack first, or allocate it all (depth-scan.ts)
        const decoder = new Decoder({ codec })
        decoder.write(buf)
        const value = codec.decode(decoder)
        if (decoder.offset !== buf.length) {
          throw decodeError(`${buf.length - decoder.offset} bytes of garbage after the term (at offset ${decoder.offset})`)
        }
        return value
      }),
  }
}
