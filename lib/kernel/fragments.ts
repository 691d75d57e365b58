// Fragment frames: how a frame larger than one chunk crosses a connection without blocking
// the frames behind it. A fragment is an ordinary length-prefixed frame whose body starts with
// 0xc1 — a byte MessagePack never uses, so no term frame can start with it:
//
//   first piece:  [length: u32 BE] [0xc1] [flags: u8] [stream id: u32 BE] [total: u32 BE] [bytes]
//   later pieces: [length: u32 BE] [0xc1] [flags: u8] [stream id: u32 BE] [bytes]
//   flags: bit 0 = last piece, bit 2 = first piece (the stream's total body size follows the id)
//
// The first piece announces the whole body's size, so the receiver allocates the body once, at
// its final size, before its bytes arrive: each piece is copied (or read from the socket, see
// connection.ts) straight to its place, nothing is joined at the end, and a stream over
// maxMessageSize is refused at its first piece.
import { Buffer } from 'node:buffer'
import { CodecError, NetkernelError } from '../errors.js'

export const FRAGMENT_MARK = 0xc1
const HEADER = 6
/** The first piece's header: the stream's total size after the id. */
const FIRST_HEADER = 10
const LAST_FLAG = 1
/** flags bit 1: not a fragment but an acknowledgement of fragment bytes received. */
export const ACK_FLAG = 2
/** flags bit 2: the stream's first piece (its total size follows the id). */
const FIRST_FLAG = 4

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

/** A piece's header (length prefix included); `total`: the stream's size, given on its first piece only. */
export function fragmentHeader(id: number, bytes: number, last: boolean, total?: number): Buffer {
  const header = total === undefined ? HEADER : FIRST_HEADER
  const h = Buffer.allocUnsafe(4 + header)
  h.writeUInt32BE(header + bytes, 0)
  h[4] = FRAGMENT_MARK
  h[5] = (last ? LAST_FLAG : 0) | (total === undefined ? 0 : FIRST_FLAG)
  h.writeUInt32BE(id, 6)
  if (total !== undefined) h.writeUInt32BE(total, 10)
  return h
}

/** The header length of a fragment body that starts with `head`, or 0 while too few bytes tell. */
export function fragmentHeaderLength(head: Buffer): number {
  if (head.length < 2) return 0
  return ((head[1] as number) & FIRST_FLAG) !== 0 ? FIRST_HEADER : HEADER
}

/**
 * The bounds on one connection's reassembly, all derived from maxMessageSize (M). The sender
 * (outbox.ts) keeps at most ACTIVE_STREAMS streams partly sent, so a well-behaved peer stays
 * far inside them:
 *   - a stream's announced size: M (over it: ERR_MESSAGE_TOO_LARGE, at its first piece);
 *   - open streams: MAX_OPEN_STREAMS;
 *   - announced bytes of all open streams: ACTIVE_STREAMS * M — the memory a peer can make
 *     us hold (allocated when a stream opens; its pages are touched as its bytes arrive).
 * A piece that does not fit its stream (an unknown or reopened id, bytes past the announced
 * size, a last piece short of it) is ERR_DECODE. Past any bound the connection is dropped: the
 * peer is not following the protocol. Pieces carry no bookkeeping of their own, so many small
 * pieces cost time, not memory.
 */
export const MAX_OPEN_STREAMS = 64
/** How many large frames a sender cuts into fragments at the same time. */
export const ACTIVE_STREAMS = 4
/**
 * The piece size a sender uses (the outbox's CHUNK): 64 KiB less 512 bytes, so that a piece's
 * write — length prefix, header and bytes — fits one TCP segment of Linux's loopback (MSS
 * 65,483). A whole 64 KiB piece was 63 bytes over it: every piece went out as a full segment
 * and a runt, and the receiver woke and read twice for it (bench/README.md, "A sustained
 * 1 MB stream"). Over Ethernet (MSS 1,448) or a 16 KiB loopback, the last segment of a piece
 * is still a large one.
 */
export const PIECE = 64 * 1024 - 512

/**
 * The largest frame a netkernel peer sends after the handshake: a full first piece, of the
 * largest piece any version of netkernel sends (64 KiB), not only this one's.
 */
export const MAX_PEER_FRAME = FIRST_HEADER + 64 * 1024

interface Stream {
  /** The whole body, allocated at the announced size. */
  body: Buffer
  /** Bytes of it assigned to pieces so far. */
  filled: number
}

/** Where one piece's bytes go: `body[at, end)`; hand it back to done() once they are there. */
export interface Piece {
  readonly body: Buffer
  readonly at: number
  readonly end: number
  readonly last: boolean
}

export class Reassembly {
  private readonly streams = new Map<number, Stream>()
  /** Announced bytes of the open streams. */
  private total = 0
  /** Bytes of all pieces opened so far, headers not counted (what acknowledgements count). */
  pieceBytes = 0

  constructor(
    /** The peer's node name (for errors). */
    private readonly peer: string,
    private readonly maxMessage: number,
  ) {}

  /** Take one fragment body; returns the whole frame body (a fresh buffer) when this was its last piece. */
  push(body: Buffer): Buffer | undefined {
    const p = this.open(body, body.length)
    body.copy(p.body, p.at, body.length - (p.end - p.at)) // its bytes follow the header
    return this.done(p)
  }

  /**
   * Take one fragment body that arrived as views of consecutive chunks (FrameDecoder onParts),
   * `size` bytes in all: each view is copied to its place.
   */
  pushParts(parts: readonly Buffer[], size: number): Buffer | undefined {
    const head = parts[0]!
    if (parts.length === 1) return this.push(head)
    const h = fragmentHeaderLength(head)
    if (h === 0 || head.length < h) return this.push(Buffer.concat(parts, size)) // a split header: rare
    const p = this.open(head, size)
    let at = p.at + head.copy(p.body, p.at, h)
    for (let i = 1; i < parts.length; i++) at += parts[i]!.copy(p.body, at)
    return this.done(p)
  }

  /**
   * A fragment body of `size` bytes starts with `head` (its header whole): checks it against its
   * stream and the bounds, and says where its `size - header` bytes go. The caller puts them
   * there, then calls done().
   */
  open(head: Buffer, size: number): Piece {
    const h = this.headerOf(head, size)
    const flags = head[1] as number
    const id = head.readUInt32BE(2)
    const end0 = size - h
    let s = this.streams.get(id)
    if ((flags & FIRST_FLAG) !== 0) {
      if (s !== undefined) throw this.bad(`a first piece for fragment stream ${id}, already open`)
      const announced = head.readUInt32BE(6)
      if (announced > this.maxMessage) throw this.tooLarge(announced)
      if (this.streams.size >= MAX_OPEN_STREAMS) throw this.limit(`more than ${MAX_OPEN_STREAMS} fragment streams open`)
      if (this.total + announced > ACTIVE_STREAMS * this.maxMessage)
        throw this.limit(`more than ${ACTIVE_STREAMS * this.maxMessage} fragment bytes in flight`)
      s = { body: Buffer.allocUnsafe(announced), filled: 0 }
      this.streams.set(id, s)
      this.total += announced
    } else if (s === undefined) {
      throw this.bad(`a piece of fragment stream ${id}, which no first piece opened`)
    }
    const at = s.filled
    const end = at + end0
    const last = (flags & LAST_FLAG) !== 0
    if (end > s.body.length) throw this.bad(`more bytes on fragment stream ${id} than its first piece announced (${s.body.length})`)
    if (last !== (end === s.body.length))
      throw this.bad(
        `fragment stream ${id} ${last ? `ending at ${end} of its announced ${s.body.length} bytes` : 'complete without its last piece'}`,
      )
    s.filled = end
    this.pieceBytes += end - at
    if (last) {
      this.streams.delete(id)
      this.total -= s.body.length
    }
    return { body: s.body, at, end, last }
  }

  /** The piece's bytes are in place: the whole body when it was its stream's last piece. */
  done(p: Piece): Buffer | undefined {
    return p.last ? p.body : undefined
  }

  get inFlight(): number {
    return this.streams.size
  }

  /** The header length of `head`, which must be whole in a body of `size` bytes. */
  private headerOf(head: Buffer, size: number): number {
    const h = fragmentHeaderLength(head)
    if (h === 0 || size < h) throw new CodecError('ERR_DECODE', `${this.peer} sent a truncated fragment header`)
    return h
  }

  private tooLarge(size: number): NetkernelError {
    return new NetkernelError(
      'ERR_MESSAGE_TOO_LARGE',
      `${this.peer} announced a fragmented message of ${size} bytes, over maxMessageSize (${this.maxMessage} bytes): connection dropped`,
    )
  }

  private limit(what: string): NetkernelError {
    return new NetkernelError('ERR_LIMIT', `${this.peer} sent ${what}: connection dropped`)
  }

  private bad(what: string): CodecError {
    return new CodecError('ERR_DECODE', `${this.peer} sent ${what}: connection dropped`)
  }
}
