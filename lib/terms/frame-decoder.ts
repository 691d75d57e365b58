// Incremental framing: a 4-byte big-endian length, then that many body bytes; an empty body is
// a tick. Pure (bytes in, bodies out), so it is tested without a socket.
//
// A body that lies wholly inside one chunk is passed on as a view of that chunk (no copy); a
// body split across chunks is assembled into one buffer allocated at its known length, so a
// large frame arriving in many chunks costs linear time. A body may be a view of the chunk
// given to push(): it stays valid as long as the caller does not overwrite that chunk (socket
// chunks are never reused); the decoder itself never reuses a buffer it has passed on.
//
// A caller that can take a large body in pieces passes onParts: a body of at least PARTS_MIN
// bytes split across chunks then arrives as the views of those chunks (no copy, no buffer
// allocated for it), at most MAX_PARTS of them; a body that comes in more, smaller pieces is
// assembled as above (so a peer dribbling bytes cannot grow the list).
//
// Errors: a length prefix above maxFrameSize throws CodecError ERR_FRAME_TOO_LARGE as soon as
// the prefix is complete, before anything is allocated. After any throw from push() (that one,
// or an exception from onFrame) the decoder has lost its place in the stream: it is failed,
// every later push() throws the same error (pending reads 0), and the caller must close the
// connection.
// reset() discards all state and makes the decoder usable again (for a new stream).
//
// A caller that reads into a buffer it reuses (a socket's onread) passes no onParts (nothing is
// then kept as a view of a chunk past push()). It may pass onRange, called instead of onFrame
// for a body that lies wholly in the chunk, with the chunk and the body's bounds (no view is
// made). And it may pass takeover: offered each body of at least PARTS_MIN bytes that does not
// fit in the chunk, it may take the body's first bytes and read the rest itself (straight to
// where they belong); it then pushes the bytes after that body, and the decoder goes on at the
// next length prefix.
import { Buffer } from 'node:buffer'
import { CodecError, NetkernelError } from '../errors.js'

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024
const MAX_PREFIX = 0xffffffff
const EMPTY = Buffer.alloc(0)
/** The smallest split body delivered as views (below it, one small copy is cheaper). */
export const PARTS_MIN = 16 * 1024
/** The most views one body is delivered in. */
export const MAX_PARTS = 8

/** A body delivered in pieces: views of consecutive chunks, `size` bytes in all. */
export type OnParts = (parts: readonly Buffer[], size: number) => void

/**
 * Offered a large body split across chunks: `head` is its first bytes (a view of the chunk,
 * valid during the call), `size` its length. True: the caller took it and reads the rest.
 */
export type Takeover = (head: Buffer, size: number) => boolean

/** A body lying wholly in the chunk: chunk[start, end). */
export type OnRange = (chunk: Buffer, start: number, end: number) => void

export interface FrameDecoderOptions {
  /** The largest body accepted, in bytes (default 64 MiB). */
  maxFrameSize?: number
}

export class FrameDecoder {
  private max: number
  /** Bytes of a length prefix split across chunks (0 to 3 of them). */
  private readonly prefix = Buffer.alloc(4)
  private prefixLength = 0
  /** The body being assembled across chunks, and how much of it has arrived. */
  private body: Buffer | null = null
  /** Or, with onParts, the views of the chunks it arrived in so far (`filled` bytes) and its size. */
  private parts: Buffer[] | null = null
  private size = 0
  private filled = 0
  private failure: unknown = null

  constructor(opts: FrameDecoderOptions = {}) {
    this.max = checkMax(opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE)
  }

  /**
   * The largest body accepted. Settable, e.g. small during a handshake and larger once the
   * connection is up: it applies to every length prefix completed after the change.
   */
  get maxFrameSize(): number {
    return this.max
  }

  set maxFrameSize(max: number) {
    this.max = checkMax(max)
  }

  /** Bytes received of the current incomplete frame, its length prefix included (0 between frames). */
  get pending(): number {
    return this.body === null && this.parts === null ? this.prefixLength : 4 + this.filled
  }

  /** True after push() threw: the stream position is lost until reset(). */
  get failed(): boolean {
    return this.failure !== null
  }

  /**
   * Feeds one chunk; calls onFrame(body) for each complete frame, in order (an empty body is a
   * tick), or onRange(chunk, start, end) for a non-empty one lying wholly in the chunk when
   * given, or onParts(views, size) for a large body split across chunks (see above). Throws
   * CodecError ERR_FRAME_TOO_LARGE as soon as a length prefix exceeds maxFrameSize. `length`:
   * the chunk is its first `length` bytes (a read into a larger buffer, without a view of it).
   */
  push(
    chunk: Buffer,
    onFrame: (body: Buffer) => void,
    onParts?: OnParts,
    takeover?: Takeover,
    onRange?: OnRange,
    length = chunk.length,
  ): void {
    if (this.failure !== null) throw this.failure
    try {
      this.consume(chunk, length, onFrame, onParts, takeover, onRange)
    } catch (error) {
      this.failure = error
      this.clear()
      throw error
    }
  }

  /** Forgets any partial frame and a previous failure. */
  reset(): void {
    this.clear()
    this.failure = null
  }

  private clear(): void {
    this.prefixLength = 0
    this.body = null
    this.parts = null
    this.filled = 0
  }

  private consume(
    chunk: Buffer,
    n: number,
    onFrame: (body: Buffer) => void,
    onParts: OnParts | undefined,
    takeover: Takeover | undefined,
    onRange: OnRange | undefined,
  ): void {
    let off = 0
    while (off < n) {
      if (this.parts !== null) {
        const parts = this.parts
        const take = Math.min(this.size - this.filled, n - off)
        if (parts.length === MAX_PARTS) {
          // Too many pieces: assemble the rest in one buffer, as without onParts.
          const body = Buffer.allocUnsafe(this.size)
          let at = 0
          for (const p of parts) at += p.copy(body, at)
          this.parts = null
          this.body = body
          continue
        }
        parts.push(chunk.subarray(off, off + take))
        this.filled += take
        off += take
        if (this.filled === this.size) {
          this.parts = null
          this.filled = 0
          onParts!(parts, this.size)
        }
        continue
      }
      if (this.body !== null) {
        // Continue a body split across chunks.
        const body = this.body
        const take = Math.min(body.length - this.filled, n - off)
        chunk.copy(body, this.filled, off, off + take)
        this.filled += take
        off += take
        if (this.filled === body.length) {
          this.body = null
          this.filled = 0
          onFrame(body)
        }
        continue
      }
      let size: number
      if (this.prefixLength === 0 && n - off >= 4) {
        size = chunk.readUInt32BE(off)
        off += 4
      } else {
        while (this.prefixLength < 4 && off < n) this.prefix[this.prefixLength++] = chunk[off++]!
        if (this.prefixLength < 4) return
        this.prefixLength = 0
        size = this.prefix.readUInt32BE(0)
      }
      if (size > this.max) {
        throw new CodecError('ERR_FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the maximum frame size of ${this.max} bytes`)
      }
      if (size === 0) {
        onFrame(EMPTY)
      } else if (n - off >= size) {
        const start = off
        off += size
        if (onRange !== undefined) onRange(chunk, start, off)
        else onFrame(chunk.subarray(start, off))
      } else if (takeover !== undefined && size >= PARTS_MIN && takeover(chunk.subarray(off, n), size)) {
        off = n
      } else if (onParts !== undefined && size >= PARTS_MIN) {
        this.parts = off < n ? [chunk.subarray(off, n)] : []
        this.size = size
        this.filled = n - off
        off = n
      } else {
        this.body = Buffer.allocUnsafe(size)
        this.filled = 0
      }
    }
  }
}

function checkMax(max: number): number {
  if (!Number.isInteger(max) || max < 0 || max > MAX_PREFIX) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `maxFrameSize must be an integer from 0 to ${MAX_PREFIX}, got ${String(max)}`)
  }
  return max
}
