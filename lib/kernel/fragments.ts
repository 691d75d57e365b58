// Fragment frames: how a frame larger than one chunk crosses a connection without blocking
// the frames behind it. A fragment is an ordinary length-prefixed frame whose body starts with
// 0xc1 — a byte MessagePack never uses, so no term frame can start with it:
//
//   [length: u32 BE] [0xc1] [flags: u8, bit 0 = last] [stream id: u32 BE] [bytes of the frame body]
//
// The receiver keeps the pieces of each stream (views of the socket chunks, no copy) and
// joins them once, when the last arrives: linear time, one copy.
import { CodecError, NetkernelError } from '../errors.js'

export const FRAGMENT_MARK = 0xc1
const HEADER = 6
/** flags bit 1: not a fragment but an acknowledgement of fragment bytes received. */
export const ACK_FLAG = 2

/**
 * The receiver acknowledges fragment bytes as it takes them: [length][0xc1][0x02][bytes: u32 BE].
 * The sender keeps at most a window of unacknowledged fragment bytes on the wire, so large
 * messages cannot fill the kernel's socket buffers ahead of small ones.
 */
export function ackFrame(bytes: number): Buffer {
  const f = Buffer.allocUnsafe(4 + HEADER)
  f.writeUInt32BE(HEADER, 0)
  f[4] = FRAGMENT_MARK
  f[5] = ACK_FLAG
  f.writeUInt32BE(bytes, 6)
  return f
}

export function fragmentHeader(id: number, bytes: number, last: boolean): Buffer {
  const h = Buffer.allocUnsafe(4 + HEADER)
  h.writeUInt32BE(HEADER + bytes, 0)
  h[4] = FRAGMENT_MARK
  h[5] = last ? 1 : 0
  h.writeUInt32BE(id, 6)
  return h
}

/**
 * The bounds on one connection's reassembly, all derived from maxMessageSize (M). The sender
 * (outbox.ts) keeps at most ACTIVE_STREAMS streams partly sent and cuts them into CHUNK-byte
 * pieces, so a well-behaved peer stays far inside them:
 *   - a stream's bytes: M (over it: ERR_MESSAGE_TOO_LARGE);
 *   - open streams: MAX_OPEN_STREAMS;
 *   - pieces of one stream: ceil(M / CHUNK) + 1;
 *   - pieces of all open streams (the bookkeeping: one small object each): ACTIVE_STREAMS
 *     times that;
 *   - bytes of all open streams: ACTIVE_STREAMS * M.
 * Past any bound the connection is dropped (ERR_LIMIT): the peer is not following the protocol.
 */
export const MAX_OPEN_STREAMS = 64
/** How many large frames a sender cuts into fragments at the same time. */
export const ACTIVE_STREAMS = 4
/** The piece size a sender uses (the outbox's CHUNK). */
export const PIECE = 64 * 1024

/** The largest frame a netkernel peer sends after the handshake: a full fragment. */
export const MAX_PEER_FRAME = HEADER + PIECE

interface Parts {
  /** Views of the socket chunks (a fragment that came split across chunks gives several). */
  pieces: Buffer[]
  size: number
  /** Fragments taken (the limits count fragments, not pieces). */
  fragments: number
}

export class Reassembly {
  private readonly parts = new Map<number, Parts>()
  private total = 0
  private pieces = 0
  private readonly maxPieces: number

  constructor(
    /** The peer's node name (for errors). */
    private readonly peer: string,
    private readonly maxMessage: number,
  ) {
    this.maxPieces = Math.ceil(maxMessage / PIECE) + 1
  }

  /** Take one fragment body; returns the whole frame body (a fresh buffer) when this was its last piece. */
  push(body: Buffer): Buffer | undefined {
    if (body.length < HEADER) throw new CodecError('ERR_DECODE', `${this.peer} sent a truncated fragment header`)
    return this.take(body, null, body.length)
  }

  /**
   * Take one fragment body that arrived as views of consecutive chunks (FrameDecoder onParts),
   * `size` bytes in all: its pieces are kept as they are, the one copy is the final join.
   */
  pushParts(parts: readonly Buffer[], size: number): Buffer | undefined {
    const head = parts[0]!
    if (parts.length === 1) return this.push(head)
    if (head.length < HEADER) return this.push(Buffer.concat(parts, size)) // a split header: rare
    return this.take(head, parts, size)
  }

  /** `head` starts the fragment (its header whole); `more`: the views after it (from index 1). */
  private take(head: Buffer, more: readonly Buffer[] | null, size: number): Buffer | undefined {
    const last = (head[1] as number) & 1
    const id = head.readUInt32BE(2)
    let p = this.parts.get(id)
    if (p === undefined) {
      if (last) {
        if (size - HEADER > this.maxMessage) throw this.tooLarge(size - HEADER)
        // A one-fragment stream: copy, so the result is owned.
        if (more === null) return Buffer.from(head.subarray(HEADER))
        const whole = Buffer.allocUnsafe(size - HEADER)
        let at = head.copy(whole, 0, HEADER)
        for (let i = 1; i < more.length; i++) at += more[i]!.copy(whole, at)
        return whole
      }
      if (this.parts.size >= MAX_OPEN_STREAMS) throw this.limit(`more than ${MAX_OPEN_STREAMS} fragment streams open`)
      p = { pieces: [], size: 0, fragments: 0 }
      this.parts.set(id, p)
    }
    this.keep(p, head.subarray(HEADER))
    if (more !== null) for (let i = 1; i < more.length; i++) this.keep(p, more[i]!)
    p.fragments++
    this.pieces++
    if (p.size > this.maxMessage) throw this.tooLarge(p.size)
    if (p.fragments > this.maxPieces) throw this.limit(`a fragment stream of more than ${this.maxPieces} pieces`)
    if (this.pieces > ACTIVE_STREAMS * this.maxPieces)
      throw this.limit(`more than ${ACTIVE_STREAMS * this.maxPieces} fragment pieces in flight`)
    if (this.total > ACTIVE_STREAMS * this.maxMessage)
      throw this.limit(`more than ${ACTIVE_STREAMS * this.maxMessage} fragment bytes in flight`)
    if (!last) return undefined
    this.parts.delete(id)
    this.total -= p.size
    this.pieces -= p.fragments
    return Buffer.concat(p.pieces, p.size)
  }

  private keep(p: Parts, piece: Buffer): void {
    if (piece.length === 0) return
    // A small piece is a view that would keep its whole socket chunk alive: keep a copy instead.
    p.pieces.push(piece.length * 2 < piece.buffer.byteLength ? Buffer.from(piece) : piece)
    p.size += piece.length
    this.total += piece.length
  }

  get inFlight(): number {
    return this.parts.size
  }

  private tooLarge(size: number): NetkernelError {
    return new NetkernelError(
      'ERR_MESSAGE_TOO_LARGE',
      `${this.peer} sent a fragmented message of at least ${size} bytes, over maxMessageSize (${this.maxMessage} bytes): connection dropped`,
    )
  }

  private limit(what: string): NetkernelError {
    return new NetkernelError('ERR_LIMIT', `${this.peer} sent ${what}: connection dropped`)
  }
}
