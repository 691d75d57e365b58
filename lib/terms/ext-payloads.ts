// Conversions between the JavaScript values behind extension types and their payload fields,
// shared by both codecs (layouts in ext-codes.ts).
import { Pid } from './pid.js'
import { Ref } from './ref.js'
import { decodeError, encodeError } from './ext-codes.js'

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

/** An Error with the name, message and (when present) code that crossed the wire. */
export function errorFromFields(fields: unknown): Error {
  if (!Array.isArray(fields) || (fields.length !== 2 && fields.length !== 3)) {
    throw decodeError('malformed Error payload: expected [name, message] or [name, message, code]')
  }
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
  const bytes = Buffer.from(hex, 'hex')
  if (negative) for (let i = 0; i < bytes.length; i++) bytes[i] = ~bytes[i]! & 0xff
  return bytes
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) throw decodeError('malformed BigInt payload: no bytes')
  let n = BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex'))
  if (bytes[0]! & 0x80) n -= 1n << BigInt(bytes.length * 8)
  return n
}
