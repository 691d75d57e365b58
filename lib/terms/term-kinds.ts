// Which JavaScript values are terms, as both codecs see them. One set of rules, so that the two
// codecs accept, reject and rebuild exactly the same values.
//
//   null, undefined (sent as nil), boolean, number, string, bigint
//   Array                         -> MessagePack array
//   plain object (prototype Object.prototype or null)
//                                 -> MessagePack map of its own enumerable string keys
//   Buffer, Uint8Array            -> bin (decodes as a Buffer)
//   Map, Pid, Ref, Error          -> extension types (see ext-codes.ts)
//   Atom, Tuple, ImproperList, BitBinary, Port, OpaqueTerm
//                                 -> extension types too (the Erlang/OTP bridge's terms); a
//                                    Tuple is an Array, so it is told apart before arrays
//
// Anything else (functions, symbols, Dates, Sets, other typed arrays, class instances) is not a
// term: encoding it throws ERR_ENCODE, so a message never silently loses its meaning on the wire.
import { PID_BRAND } from './pid.js'
import { REF_BRAND } from './ref.js'
import { ATOM_BRAND } from './atom.js'
import { TUPLE_BRAND } from './tuple.js'
import { IMPROPER_LIST_BRAND } from './improper-list.js'
import { BitBinary, OpaqueTerm, Port } from './otp-terms.js'
import { decodeError, describe, encodeError } from './ext-codes.js'
import type { CodecError } from '../errors.js'

export const KIND_ARRAY = 0
export const KIND_OBJECT = 1
export const KIND_PID = 2
export const KIND_REF = 3
export const KIND_BIN = 4
export const KIND_MAP = 5
export const KIND_ERROR = 6
export const KIND_ATOM = 7
export const KIND_TUPLE = 8
export const KIND_IMPROPER = 9
export const KIND_BIT_BINARY = 10
export const KIND_PORT = 11
export const KIND_OPAQUE = 12

export type ObjectKind = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12

/** How a non-null object is encoded; throws ERR_ENCODE for an object that is not a term. */
export function objectKind(value: object): ObjectKind {
  if (Array.isArray(value)) return (value as { [TUPLE_BRAND]?: true })[TUPLE_BRAND] === true ? KIND_TUPLE : KIND_ARRAY
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return KIND_OBJECT
  // Brands, not class identity: a Pid or Ref of the package's other build is one too.
  if ((value as { [PID_BRAND]?: true })[PID_BRAND] === true) return KIND_PID
  if ((value as { [REF_BRAND]?: true })[REF_BRAND] === true) return KIND_REF
  if ((value as { [ATOM_BRAND]?: true })[ATOM_BRAND] === true) return KIND_ATOM
  if (value instanceof Uint8Array) return KIND_BIN
  if (value instanceof Map) return KIND_MAP
  if ((value as { [IMPROPER_LIST_BRAND]?: true })[IMPROPER_LIST_BRAND] === true) return KIND_IMPROPER
  if (value instanceof BitBinary) return KIND_BIT_BINARY
  if (value instanceof Port) return KIND_PORT
  if (value instanceof OpaqueTerm) return KIND_OPAQUE
  if (value instanceof Error) return KIND_ERROR
  throw notATerm(value)
}

export function notATerm(value: unknown): CodecError {
  return encodeError(
    `cannot encode a ${describe(value)} as a term ` +
      '(terms: null, boolean, number, string, bigint, array, plain object, Buffer, Map, Pid, Ref, Error, ' +
      'Atom, Tuple, ImproperList, BitBinary, Port, OpaqueTerm)',
  )
}

/** The property key for a key of a plain MessagePack map: strings as they are, scalars as strings. */
export function plainKey(key: unknown): string {
  if (typeof key === 'string') return key
  if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint' || key === null) {
    return String(key)
  }
  throw decodeError(`a map key of type ${describe(key)} cannot be a plain object key`)
}

/** Sets an own data property, also for the key "__proto__" (never the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
  } else {
    target[key] = value
  }
}
