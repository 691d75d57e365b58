// Conversions between the JavaScript values behind extension types and their payload fields,
// shared by both codecs (layouts in ext-codes.ts).
import { Pid } from './pid.js'
import { Ref } from './ref.js'
import type { CodecError } from '../errors.js'
import { MAX_BIGINT_BYTES, decodeError, encodeError } from './ext-codes.js'

/** True for the type byte of a MessagePack array, map or extension: a value that may nest. */
export function nests(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf) || (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8))
}

/**
 * The fields of a Pid, Ref or Error payload are scalars: a field that nests (an array, a map,
 * another extension) is refused before anything is read into, so these payloads never recurse.
 */
export function nestedField(what: 'Pid' | 'Ref' | 'Error'): CodecError {
  return decodeError(`malformed ${what} payload: a field is an array, map or extension`)
}

/**
 * Checks, without decoding, that the fixarray at bytes[0] holds only scalars (see nestedField).
 * Stops quietly at truncated input: the decoder reports it.
 */
export function checkScalarFields(bytes: Uint8Array, what: 'Pid' | 'Ref' | 'Error'): void {
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
