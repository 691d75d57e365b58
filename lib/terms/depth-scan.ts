// How deeply a MessagePack term nests, found by one iterative pass over its bytes (no
// recursion, no allocation but a counter per level). The 'msgpack-lite' codec runs it before
// decoding: msgpack-lite recurses a dozen stack frames per extension payload and would run
// out of stack before MAX_TERM_DEPTH; with the scan both codecs refuse the same terms with the
// same error. The depth rule is the decoders' own (ext-codes.ts MAX_TERM_DEPTH): every array
// and map is a level; a Map, Tuple or ImproperList payload is read through, so its map or
// array is the level; a Pid, Ref, Error, BitBinary, Port or OpaqueTerm payload is one level (an array whose fields may not nest, checked when it is
// decoded); a BigInt's or unknown extension's bytes are skipped. Malformed or truncated
// input ends the scan quietly: the decoder reports it.
// The same pass counts the terms (every value: each element, key and value; an extension is one)
// and refuses more than maxTerms as soon as a container announces them, before msgpack-lite
// allocates anything.
import { EXT, MAX_MESSAGE_TERMS, MAX_TERM_DEPTH, decodeError, tooManyTerms } from './ext-codes.js'

/**
 * Throws CodecError ERR_DECODE when the term in buf nests deeper than MAX_TERM_DEPTH, and
 * ERR_MESSAGE_TOO_LARGE when it holds more than `maxTerms` terms.
 */
export function checkDepth(buf: Uint8Array, maxTerms = MAX_MESSAGE_TERMS): void {
  const end = buf.length
  let terms = maxTerms
  // remaining[d]: values still to come in the open container at depth d + 1.
  const remaining: number[] = []
  let depth = 0
  let pos = 0
  while (pos < end) {
    const b = buf[pos++]!
    if (--terms < 0) throw tooManyTerms(maxTerms)
    let children = -1
    let skip = 0
    if (b < 0x80 || b >= 0xe0) {
      // fixint
    } else if (b < 0x90) {
      children = (b & 0x0f) * 2
    } else if (b < 0xa0) {
      children = b & 0x0f
    } else if (b < 0xc0) {
      skip = b & 0x1f
    } else {
      switch (b) {
        case 0xc4:
        case 0xd9:
          skip = len(buf, pos, 1)
          pos += 1
          break
        case 0xc5:
        case 0xda:
          skip = len(buf, pos, 2)
          pos += 2
          break
        case 0xc6:
        case 0xdb:
          skip = len(buf, pos, 4)
          pos += 4
          break
        case 0xcc:
        case 0xd0:
          skip = 1
          break
        case 0xcd:
        case 0xd1:
          skip = 2
          break
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4
          break
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8
          break
        case 0xdc:
          children = len(buf, pos, 2)
          pos += 2
          break
        case 0xdd:
          children = len(buf, pos, 4)
          pos += 4
          break
        case 0xde:
          children = len(buf, pos, 2) * 2
          pos += 2
          break
        case 0xdf:
          children = len(buf, pos, 4) * 2
          pos += 4
          break
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8: {
          const n = b >= 0xd4 ? 1 << (b - 0xd4) : b === 0xc7 ? len(buf, pos, 1) : b === 0xc8 ? len(buf, pos, 2) : len(buf, pos, 4)
          if (b < 0xd4) pos += b === 0xc7 ? 1 : b === 0xc8 ? 2 : 4
          const type = buf[pos++]
          // A Map's payload is read through: its map stands for the extension.
          if (type === EXT.MAP || type === EXT.TUPLE || type === EXT.IMPROPER_LIST) {
            terms++ // (the payload's own container is the term)
            continue
          }
          // A Pid, Ref or Error payload is one array of scalars (ext-payloads.ts nestedField).
          if (
            type === EXT.PID ||
            type === EXT.REF ||
            type === EXT.ERROR ||
            type === EXT.BIT_BINARY ||
            type === EXT.PORT ||
            type === EXT.OPAQUE ||
            type === EXT.OTP_REF
          ) {
            children = 0
          }
          skip = n
          break
        }
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break
        default:
          return // not MessagePack: the decoder says so
      }
    }
    pos += skip
    if (children >= 0) {
      // (a count beyond the input is the decoder's to report: truncated)
      if (children > terms && children <= end - pos) throw tooManyTerms(maxTerms)
      if (depth + 1 > MAX_TERM_DEPTH) throw decodeError(`term nested deeper than ${MAX_TERM_DEPTH} levels`)
      if (children > 0) {
        remaining[depth++] = children
        continue
      }
    }
    // One value complete: count it off its container, closing every container it completes.
    while (depth > 0 && --remaining[depth - 1]! === 0) depth--
  }
}

function len(buf: Uint8Array, at: number, bytes: number): number {
  let n = 0
  for (let i = 0; i < bytes; i++) n = n * 256 + (buf[at + i] ?? 0)
  return n
}
