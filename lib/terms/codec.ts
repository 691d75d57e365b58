// The term codec: MessagePack with netkernel's extension types (ext-codes.ts), and frames of a
// 4-byte big-endian length followed by one encoded term. Both codecs write identical bytes and
// read each other's: the codec a node uses is a local choice, never a protocol one.
//
//   'netkernel'     the fast one (default): netkernel's own MessagePack writer/reader
//                   (encoder.ts, decoder.ts), built the way the msgpackr library is (one
//                   scratch buffer, inline writers), because msgpackr cannot be configured
//                   per instance: its extension registry is module-global in both directions
//                   (kriszyp/msgpackr#93), an exact Map never reaches an extension, and its
//                   reader accepts a dozen private extension codes. msgpackr serves as a test
//                   oracle for the standard types instead. 'msgpackr', this codec's first
//                   name, is still accepted as an alias.
//   'msgpack-lite'  msgpack-lite with a per-instance codec (codec-lite.ts); several times slower.
//
// Each codec instance owns its buffers and caches: create one per node.
import { NetkernelError } from '../errors.js'
import { TermDecoder, type TripleSlot } from './decoder.js'
import { TermEncoder } from './encoder.js'
import { createLiteCodec } from './codec-lite.js'
import { appendBytes, type FrameBatch } from './frame-batch.js'

export { appendBytes, type FrameBatch } from './frame-batch.js'
export { IN_SLOT, type TripleSlot } from './decoder.js'

/** A codec's own name (Codec.name): netkernel's own writer/reader, or the msgpack-lite library. */
export type CodecKind = 'netkernel' | 'msgpack-lite'

/** The codecs, each once. */
export const CODEC_NAMES: readonly CodecKind[] = ['netkernel', 'msgpack-lite']

/** What the `codec` option accepts: a codec's name, or 'msgpackr', an alias of 'netkernel' kept for compatibility. */
export type CodecName = CodecKind | 'msgpackr'

export interface Codec {
  /** Its own name: 'netkernel' also when created as 'msgpackr'. */
  readonly name: CodecKind
  /** The term's MessagePack bytes, in a fresh Buffer the caller may keep. Throws CodecError ERR_ENCODE. */
  encode(value: unknown): Buffer
  /** One term from exactly these bytes. Throws CodecError ERR_DECODE or ERR_UNKNOWN_EXTENSION. */
  decode(bytes: Uint8Array, owned?: boolean): unknown
  /**
   * The same for buf[start, end), without a view of it (binaries are copied). With a slot, the
   * 'netkernel' codec puts a [slot.tag, a, b] array's a and b in it and returns IN_SLOT
   * (decoder.ts); 'msgpack-lite' returns the array.
   */
  decodeRange(buf: Buffer, start: number, end: number, slot?: TripleSlot): unknown
  /** A 4-byte big-endian body length followed by the body, in one fresh Buffer. Throws CodecError ERR_ENCODE. */
  encodeFrame(value: unknown): Buffer
  /** Append the frame to `out` (growing out.buf as needed). Throws as encodeFrame, leaving `out` unchanged. */
  encodeFrameInto(value: unknown, out: FrameBatch): void
}

export interface CodecOptions {
  /**
   * The largest frame body encodeFrame / encodeFrameInto write (a node's maxMessageSize); a
   * larger term throws CodecError ERR_MESSAGE_TOO_LARGE and nothing is appended. 'netkernel'
   * stops as soon as its output passes the bound; 'msgpack-lite' once the term is encoded.
   * Default: no bound but the 4 GiB a length prefix can say.
   */
  maxFrameBody?: number
  /**
   * The most terms one decoded message may hold (a node's maxMessageTerms; every value counts);
   * more throw ERR_MESSAGE_TOO_LARGE before the containers that would exceed it are made.
   * Default MAX_MESSAGE_TERMS (ext-codes.ts).
   */
  maxTerms?: number
}

export function createCodec(name: CodecName = 'netkernel', opts: CodecOptions = {}): Codec {
  if (name === 'netkernel' || name === 'msgpackr') {
    const encoder = new TermEncoder(opts.maxFrameBody)
    const decoder = new TermDecoder()
    if (opts.maxTerms !== undefined) decoder.maxTerms = opts.maxTerms
    return {
      name: 'netkernel',
      encode: value => encoder.encode(value),
      decode: (bytes, owned) => decoder.decode(bytes, owned),
      decodeRange: (buf, start, end, slot) => decoder.decodeRange(buf, start, end, slot),
      encodeFrame: value => encoder.encodeFrame(value),
      encodeFrameInto: (value, out) => encoder.encodeFrameInto(value, out),
    }
  }
  if (name === 'msgpack-lite') {
    const lite = createLiteCodec(opts.maxFrameBody, opts.maxTerms)
    return {
      name,
      encode: lite.encode,
      decode: lite.decode,
      decodeRange: (buf, start, end) => lite.decode(buf.subarray(start, end)),
      encodeFrame: lite.encodeFrame,
      encodeFrameInto: (v, out) => appendBytes(out, lite.encodeFrame(v)),
    }
  }
  throw new NetkernelError(
    'ERR_BAD_ARGUMENT',
    `unknown codec ${JSON.stringify(String(name))}: expected one of ${CODEC_NAMES.join(', ')} (or 'msgpackr', an alias of 'netkernel')`,
  )
}
