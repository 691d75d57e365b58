// The MessagePack extension types of the netkernel wire format, and the limits and errors
// both codecs share. Every payload is itself standard MessagePack:
//
//   code  term      payload
//   1     Pid       array [node: str, id: uint, serial: uint, creation: uint]
//   2     Ref       array [node: str, id: uint, creation: uint]
//   3     Atom      str: the atom's name (at most 255 characters)
//   4     Tuple     array: the elements (any terms)
//   5     Map       a MessagePack map (keys of any term kind); decodes to a JS Map
//   6     BigInt    raw bytes: two's complement, big-endian, minimal length (>= 1 byte);
//                   every bigint uses it, whatever its size, so a bigint stays a bigint
//   7     Error     array [name: str, message: str] or [name, message, code: str | int]
//   8     ImproperList  array [items: array (at least one), tail: any term]
//   9     BitBinary array [bytes: bin (at least one byte), bits: uint 1..8]
//   10    Port      array [node: str, idHigh: uint, idLow: uint, creation: uint] (id = high * 2^32 + low)
//   11    OpaqueTerm array [tag: uint (112 fun | 113 export), bytes: bin]
//   12    Ref of several id words (an Erlang/OTP ref): array [node: str, creation: uint, id0, id1, …]
//                   (2 to 5 words); a Ref of one word is code 2
//
// Codes 3, 4 and 8-12 carry the terms of the Erlang/OTP bridge between netkernel nodes
// unchanged; a node that predates them refuses them with ERR_UNKNOWN_EXTENSION.
//
// Ext headers are the smallest the MessagePack spec allows (fixext 1/2/4/8/16, else ext 8/16/32).
import { CodecError, NetkernelError } from '../errors.js'

/** Extension type codes. */
export const EXT = {
  PID: 1,
  REF: 2,
  ATOM: 3,
  TUPLE: 4,
  MAP: 5,
  BIGINT: 6,
  ERROR: 7,
  IMPROPER_LIST: 8,
  BIT_BINARY: 9,
  PORT: 10,
  OPAQUE: 11,
  OTP_REF: 12,
} as const

export type ExtCode = (typeof EXT)[keyof typeof EXT]

/**
 * Nesting deeper than this fails to encode or decode (it also catches cycles). Every array,
 * object and extension payload but a BigInt's counts one level: a Pid inside a Pid's payload
 * is as deep as an array inside an array.
 */
export const MAX_TERM_DEPTH = 1000

/**
 * The most terms one message may decode into (every value counts: each element, key and
 * value, number, string, binary, pid, tuple, list): a node's maxMessageTerms by default. A
 * message's size alone does not bound what decoding it allocates: a 64 MiB list of empty
 * tuples or arrays is 67 million JavaScript objects, 2.5 GB or more of heap, and took a node
 * down with V8's heap limit. At 4 million terms a message holds at most ~256 MB of objects,
 * and a list of a million small tuples (three or four terms a row) still passes.
 */
export const MAX_MESSAGE_TERMS = 4_000_000

/** The CodecError for a message that decodes into more than `max` terms (ERR_MESSAGE_TOO_LARGE). */
export function tooManyTerms(max: number): NetkernelError {
  return new NetkernelError('ERR_MESSAGE_TOO_LARGE', `the message decodes into more than ${max} terms (maxMessageTerms)`)
}

/**
 * The largest BigInt payload, in bytes (8,388,608 bits): a larger one fails to encode, and to
 * decode before any of it is converted. Erlang bounds its big integers as well (system_limit);
 * converting bytes to a bigint takes the only thread, about 5–10 ms per MiB.
 */
export const MAX_BIGINT_BYTES = 1024 * 1024

/** The CodecError for an extension type the format does not (yet) define. */
export function unknownExtension(type: number): CodecError {
  return new CodecError('ERR_UNKNOWN_EXTENSION', `MessagePack extension type ${type} is not defined`)
}

export function decodeError(message: string, cause?: unknown): CodecError {
  return new CodecError('ERR_DECODE', message, cause === undefined ? undefined : { cause })
}

export function encodeError(message: string, cause?: unknown): CodecError {
  return new CodecError('ERR_ENCODE', message, cause === undefined ? undefined : { cause })
}

/** A short description of a value for error messages (never the value itself). */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`
  if (typeof value !== 'object') return typeof value
  const ctor = (value as { constructor?: { name?: unknown } }).constructor
  return typeof ctor?.name === 'string' ? `${ctor.name} instance` : 'object'
}

/** Bytes of the smallest ext header for a body of n bytes: fixext 2, ext 8/16/32 3/4/6. */
export function extHeaderSize(n: number): number {
  return n === 1 || n === 2 || n === 4 || n === 8 || n === 16 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : 6
}

/** Writes the smallest ext header for a body of n bytes at buf[at]. */
export function writeExtHeader(buf: Uint8Array, at: number, n: number, type: number): void {
  switch (n) {
    case 1:
      buf[at] = 0xd4
      break
    case 2:
      buf[at] = 0xd5
      break
    case 4:
      buf[at] = 0xd6
      break
    case 8:
      buf[at] = 0xd7
      break
    case 16:
      buf[at] = 0xd8
      break
    default:
      if (n < 0x100) {
        buf[at++] = 0xc7
        buf[at] = n
      } else if (n < 0x10000) {
        buf[at++] = 0xc8
        buf[at++] = n >>> 8
        buf[at] = n & 0xff
      } else {
        buf[at++] = 0xc9
        buf[at++] = n >>> 24
        buf[at++] = (n >>> 16) & 0xff
        buf[at++] = (n >>> 8) & 0xff
        buf[at] = n & 0xff
      }
  }
  buf[at + 1] = type
}
