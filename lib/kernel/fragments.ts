// Fragment frames: how a frame larger than one chunk crosses a connection without blocking
// the frames behind it. A fragment is an ordinary length-prefixed frame whose body starts with
// 0xc1 — a byte MessagePack never uses, so no term frame can start with it:
//
//   [length: u32 BE] [0xc1] [flags: u8, bit 0 = last] [stream id: u32 BE] [bytes of the frame body]
//
// The receiver keeps the pieces of each stream (views of the socket chunks, no copy) and
// joins them once, when the last arrives: linear time, one copy.
import { CodecError } from '../errors.js'

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

export class Reassembly {
  private readonly parts = new Map<number, { pieces: Buffer[]; size: number }>()
  private total = 0

  constructor(private readonly maxBytes: number) {}

  /** Take one fragment body; returns the whole frame body (a fresh buffer) when this was its last piece. */
  push(body: Buffer): Buffer | undefined {
    if (body.length < HEADER) throw new CodecError('ERR_DECODE', 'truncated fragment header')
    const last = (body[1] as number) & 1
    const id = body.readUInt32BE(2)
    const piece = body.subarray(HEADER)
    let p = this.parts.get(id)
    if (p === undefined) {
      if (last) return Buffer.from(piece) // a one-piece stream: copy, so the result is owned
      p = { pieces: [], size: 0 }
      this.parts.set(id, p)
    }
    p.pieces.push(piece)
    p.size += piece.length
    this.total += piece.length
    if (this.total > this.maxBytes) throw new CodecError('ERR_FRAME_TOO_LARGE', `fragments in flight exceed ${this.maxBytes} bytes`)
    if (!last) return undefined
    this.parts.delete(id)
    this.total -= p.size
    return Buffer.concat(p.pieces, p.size)
  }

  get inFlight(): number {
    return this.parts.size
  }
}
