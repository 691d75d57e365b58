// A growing byte batch that frames are appended to: the connection's outgoing buffer.

import { Buffer } from 'node:buffer'

/**
 * A growing byte batch: frames at [0, len) of buf. `spare`: a large buffer lent by the owner
 * (no longer referenced elsewhere); the encoder grows into it instead of allocating, when a
 * frame needs at least half of it, and then clears the field (taken).
 */
export interface FrameBatch {
  buf: Buffer
  len: number
  spare?: Buffer | undefined
}

/** Append bytes[start, end) to `out`, growing its buffer (doubling) when needed. */
export function appendBytes(out: FrameBatch, bytes: Uint8Array, start = 0, end = bytes.length): void {
  const n = end - start
  if (out.len + n > out.buf.length) {
    const next = Buffer.allocUnsafe(Math.max(out.buf.length * 2, out.len + n, 16384))
    out.buf.copy(next, 0, 0, out.len)
    out.buf = next
  }
  if (n <= 64) {
    const b = out.buf
    let p = out.len
    for (let i = start; i < end; i++) b[p++] = bytes[i]!
  } else out.buf.set(bytes.subarray(start, end), out.len)
  out.len += n
}
