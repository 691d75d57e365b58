// Conversions between the JavaScript values behind extension types and their payload fields,
// shared by both codecs (layouts in ext-codes.ts).
import { Buffer } from 'node:buffer'
import { Pid } from './pid.js'
import { Ref } from './ref.js'
import { MAX_ATOM_CHARS, atom, fitsAtom, type Atom } from './atom.js'
import { ImproperList } from './improper-list.js'
import { BitBinary, OpaqueTerm, Port } from './otp-terms.js'
import type { CodecError } from '../errors.js'
import { MAX_BIGINT_BYTES, decodeError, encodeError } from './ext-codes.js'

/** The payloads that are one array of scalars. */
export type ScalarPayload = 'Pid' | 'Ref' | 'Error' | 'BitBinary' | 'Port' | 'OpaqueTerm'

/** True for the type byte of a MessagePack array, map or extension: a value that may nest. */
export function nests(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf) || (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8))
}

/**
 * The fields of a Pid, Ref or Error payload are scalars: a field that nests (an array, a map,
 * another extension) is refused before anything is read into, so these payloads never recurse.
 */
export function nestedField(what: ScalarPayload): CodecError {
  return decodeError(`malformed ${what} payload: a field is an array, map or extension`)
}

/**
 * Checks, without decoding, that the fixarray at bytes[0] holds only scalars (see nestedField).
 * Stops quietly at truncated input: the decoder reports it.
 */
export function checkScalarFields(bytes: Uint8Array, what: ScalarPayload): void {
  const n = (bytes[0] ?? 0) & 0x0f
  let pos = 1
  for (let i = 0; i < n && pos < bytes.length; i++) {
    const b = bytes[pos++]!
    if (nests(b)) throw nestedField(what)
    if (b >= 0xa0 && b <= 0xbf) pos += b & 0x1f
    else if (b === 0xd9 || b === 0xc4) pos += 1 + (bytes[pos] ?? 0)
    else if (b === 0xda || b === 0xc5) pos += 2 + (((bytes[pos] ?? 0) << 8) | (bytes[pos + 1] ?? 0))
    else if (b === 0xdb || b === 0xc6)
      pos += 4 + ((bytes[pos] ?? 0) * 2 ** 24 + (((bytes[pos + 1] ?? 0) << 16) | ((bytes[pos + 2] ?? 0) << 8) | (bytes[pos + 3] ?? 0)))
    else if (b === 0xcc || b === 0xd0) pos += 1
    else if (b === 0xcd || b === 0xd1) pos += 2
    else if (b === 0xca || b === 0xce || b === 0xd2) pos += 4
    else if (b === 0xcb || b === 0xcf || b === 0xd3) pos += 8
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/** Throws ERR_ENCODE unless the pid's fields fit the Pid payload. */
export function checkPid(pid: Pid): void {
  if (typeof pid.node !== 'string' || !isCount(pid.id) || !isCount(pid.serial) || !isCount(pid.creation)) {
    throw encodeError(`malformed Pid ${String(pid)}: node must be a string, id/serial/creation non-negative integers`)
  }
}

/** Throws ERR_ENCODE unless the ref's fields fit the Ref payload. */
export function checkRef(ref: Ref): void {
  if (typeof ref.node !== 'string' || !isCount(ref.id) || !isCount(ref.creation)) {
    throw encodeError(`malformed Ref ${String(ref)}: node must be a string, id/creation non-negative integers`)
  }
}

export function pidFromFields(node: unknown, id: unknown, serial: unknown, creation: unknown): Pid {
  if (typeof node !== 'string' || !isCount(id) || !isCount(serial) || !isCount(creation)) {
    throw decodeError('malformed Pid payload: expected [node: str, id, serial, creation: uint]')
  }
  return new Pid(node, id, serial, creation)
}

export function refFromFields(node: unknown, id: unknown, creation: unknown): Ref {
  if (typeof node !== 'string' || !isCount(id) || !isCount(creation)) {
    throw decodeError('malformed Ref payload: expected [node: str, id, creation: uint]')
  }
  return new Ref(node, id, creation)
}

/** The Error payload: [name, message] or [name, message, code] when code is a string or number. */
export function errorFields(error: Error): [string, string] | [string, string, string | number] {
  const name = typeof error.name === 'string' ? error.name : 'Error'
  const message = typeof error.message === 'string' ? error.message : String(error.message)
  const code: unknown = (error as { code?: unknown }).code
  if (typeof code === 'string' || typeof code === 'number') return [name, message, code]
  return [name, message]
}

/** The error for an Error payload that is not a fixarray of 2 or 3 fields. */
export function errorShape(): CodecError {
  return decodeError('malformed Error payload: expected [name, message] or [name, message, code]')
}

/** An Error with the name, message and (when present) code that crossed the wire. */
export function errorFromFields(fields: unknown): Error {
  if (!Array.isArray(fields) || (fields.length !== 2 && fields.length !== 3)) throw errorShape()
  const [name, message, code] = fields as unknown[]
  if (typeof name !== 'string' || typeof message !== 'string') {
    throw decodeError('malformed Error payload: name and message must be strings')
  }
  if (fields.length === 3 && typeof code !== 'string' && typeof code !== 'number') {
    throw decodeError('malformed Error payload: code must be a string or a number')
  }
  const error = new Error(message)
  Object.defineProperty(error, 'name', { value: name, writable: true, enumerable: false, configurable: true })
  error.stack = `${name}: ${message}\n    (decoded from a remote term)`
  if (fields.length === 3) (error as Error & { code?: unknown }).code = code
  return error
}

/** Two's complement, big-endian, in the fewest bytes that keep the sign (0n -> 00, -1n -> ff). */
export function bigintToBytes(n: bigint): Buffer {
  const negative = n < 0n
  let hex = (negative ? -n - 1n : n).toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  if (parseInt(hex[0]!, 16) >= 8) hex = '00' + hex
  if (hex.length > 2 * MAX_BIGINT_BYTES) throw encodeError(`a bigint of ${hex.length / 2} bytes is larger than ${MAX_BIGINT_BYTES} bytes`)
  const bytes = Buffer.from(hex, 'hex')
  if (negative) for (let i = 0; i < bytes.length; i++) bytes[i] = ~bytes[i]! & 0xff
  return bytes
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) throw decodeError('malformed BigInt payload: no bytes')
  if (bytes.length > MAX_BIGINT_BYTES) throw decodeError(`BigInt payload of ${bytes.length} bytes is larger than ${MAX_BIGINT_BYTES} bytes`)
  let n = BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex'))
  if (bytes[0]! & 0x80) n -= 1n << BigInt(bytes.length * 8)
  return n
}

// The Erlang/OTP terms (ext codes 3, 4, 8-12).

/** The most id words of a Ref (an OTP ref has 3, up to 5). */
export const MAX_REF_WORDS = 5

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}

/** An Atom payload's name: a string of at most 255 characters. */
export function atomFromName(name: unknown): Atom {
  if (typeof name !== 'string') throw decodeError('malformed Atom payload: expected a str')
  if (!fitsAtom(name)) {
    throw decodeError(`malformed Atom payload: an atom has at most ${MAX_ATOM_CHARS} characters`)
  }
  return atom(name)
}

export function checkImproper(l: ImproperList): void {
  if (!Array.isArray(l.items) || l.items.length === 0) throw encodeError('malformed ImproperList: it needs at least one item')
}

export function improperFromFields(items: unknown, tail: unknown): ImproperList {
  if (!Array.isArray(items) || items.length === 0) throw decodeError('malformed ImproperList payload: items must be a non-empty array')
  return new ImproperList(items, tail)
}

export function checkBitBinary(b: BitBinary): void {
  if (!(b.bytes instanceof Uint8Array) || b.bytes.length === 0 || !Number.isInteger(b.bits) || b.bits < 1 || b.bits > 8) {
    throw encodeError('malformed BitBinary: bytes must be a non-empty Buffer and bits 1..8')
  }
}

export function bitBinaryFromFields(bytes: unknown, bits: unknown): BitBinary {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 8) {
    throw decodeError('malformed BitBinary payload: expected [bytes: bin (non-empty), bits: 1..8]')
  }
  return new BitBinary(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), bits)
}

/** A Port's payload fields: [node, idHigh, idLow, creation]. */
export function portFields(p: Port): [string, number, number, number] {
  if (typeof p.node !== 'string' || typeof p.id !== 'bigint' || p.id < 0n || p.id > 0xffffffffffffffffn || !isU32(p.creation)) {
    throw encodeError(`malformed Port ${String(p)}: node a string, id a bigint 0..2^64-1, creation 0..2^32-1`)
  }
  return [p.node, Number(p.id >> 32n), Number(p.id & 0xffffffffn), p.creation]
}

export function portFromFields(node: unknown, hi: unknown, lo: unknown, creation: unknown): Port {
  if (typeof node !== 'string' || !isU32(hi) || !isU32(lo) || !isU32(creation)) {
    throw decodeError('malformed Port payload: expected [node: str, idHigh, idLow, creation: uint32]')
  }
  return new Port(node, (BigInt(hi) << 32n) | BigInt(lo), creation)
}

export function checkOpaque(o: OpaqueTerm): void {
  if ((o.tag !== 112 && o.tag !== 113) || !(o.bytes instanceof Uint8Array)) {
    throw encodeError('malformed OpaqueTerm: tag must be 112 (fun) or 113 (export), bytes a Buffer')
  }
}

export function opaqueFromFields(tag: unknown, bytes: unknown): OpaqueTerm {
  if ((tag !== 112 && tag !== 113) || !(bytes instanceof Uint8Array)) {
    throw decodeError('malformed OpaqueTerm payload: expected [tag: 112 | 113, bytes: bin]')
  }
  return new OpaqueTerm(tag, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes))
}

/** Throws ERR_ENCODE unless the ref fits an OTP ref's payload: [node, creation, ...ids]. */
export function checkOtpRef(ref: Ref): void {
  const ids = ref.ids
  let ok = typeof ref.node === 'string' && isU32(ref.creation) && ids.length <= MAX_REF_WORDS
  for (let i = 0; ok && i < ids.length; i++) ok = isU32(ids[i])
  if (!ok) {
    throw encodeError(`malformed Ref ${String(ref)}: node a string, creation and 2 to ${MAX_REF_WORDS} id words 0..2^32-1`)
  }
}

/** An OTP ref's payload fields: [node, creation, ...ids]. */
export function otpRefFields(ref: Ref): unknown[] {
  checkOtpRef(ref)
  return [ref.node, ref.creation, ...ref.ids]
}

export function otpRefFromFields(fields: unknown[]): Ref {
  const [node, creation, ...ids] = fields
  return otpRefFrom(node, creation, ids)
}

/** The OTP ref of a payload's fields, `ids` its id words; ERR_DECODE unless they fit. */
export function otpRefFrom(node: unknown, creation: unknown, ids: unknown[]): Ref {
  let ok = typeof node === 'string' && isU32(creation) && ids.length >= 2 && ids.length <= MAX_REF_WORDS
  for (let i = 0; ok && i < ids.length; i++) ok = isU32(ids[i])
  if (!ok) {
    throw decodeError(`malformed Ref payload: expected [node: str, creation, 2 to ${MAX_REF_WORDS} id words: uint32]`)
  }
  return new Ref(node as string, ids[0] as number, creation as number, ids as number[])
}
