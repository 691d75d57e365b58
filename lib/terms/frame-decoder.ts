// Incremental framing: a 4-byte big-endian length, then that many body bytes; an empty body is
// a tick. Pure (bytes in, bodies out), so it is tested without a socket.
//
// A body that lies wholly inside one chunk is passed on as a view of that chunk (no copy); a
// body split across chunks is assembled into one buffer allocated at its known length, so a
// large frame arriving in many chunks costs linear time. A body may be a view of the chunk
// given to push(): it stays valid as long as the caller does not overwrite that chunk (socket
// chunks are never reused); the decoder itself never reuses a buffer it has passed on.
//
// Errors: a length prefix above maxFrameSize throws CodecError ERR_FRAME_TOO_LARGE as soon as
// the prefix is complete, before anything is allocated. After any throw from push() (that one,
// or an exception from onFrame) the decoder has lost its place in the stream: it is failed,
// every later push() throws the same error (pending reads 0), and the caller must close the
// connection.
// reset() discards all state and makes the decoder usable again (for a new stream).
import { CodecError, NetkernelError } from '../errors.js'

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024
const MAX_PREFIX = 0xffffffff
const EMPTY = Buffer.alloc(0)

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
    return this.body === null ? this.prefixLength : 4 + this.filled
  }

  /** True after push() threw: the stream position is lost until reset(). */
  get failed(): boolean {
    return this.failure !== null
  }

  /**
   * Feeds one chunk; calls onFrame(body) for each complete frame, in order (an empty body is a
   * tick). Throws CodecError ERR_FRAME_TOO_LARGE as soon as a length prefix exceeds maxFrameSize.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    if (this.failure !== null) throw this.failure
    try {
      this.consume(chunk, onFrame)
    } catch (error) {
      this.failure = error
      this.prefixLength = 0
      this.body = null
      this.filled = 0
      throw error
    }
  }

  /** Forgets any partial frame and a previous failure. */
  reset(): void {
    this.prefixLength = 0
    this.body = null
    this.filled = 0
    this.failure = null
  }

  private consume(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    const n = chunk.length
    let off = 0
    while (off < n) {
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
        throw new CodecError(
          'ERR_FRAME_TOO_LARGE',
          `frame of ${size} bytes exceeds the maximum frame size of ${this.max} bytes`,
        )
      }
      if (size === 0) {
        onFrame(EMPTY)
      } else if (n - off >= size) {
        const body = chunk.subarray(off, off + size)
        off += size
        onFrame(body)
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
