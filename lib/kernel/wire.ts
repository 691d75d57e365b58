// The wire protocol of one connection. A Connection (connection.ts) speaks netkernel's native
// protocol unless it is given another Wire: the Erlang/OTP distribution protocol (otp/) is the
// second. Everything above the connection — the kernel's send path (outbound.ts, net-kernel.ts)
// and the inbound dispatcher (dispatch.ts) — speaks native frames (frames.ts arrays); a Wire
// translates them to and from its own frames, so the trust checks and the policy apply to
// every peer alike.
import type { Codec } from '../terms/codec.js'
import type { OrderKey } from './outbox.js'

export type WireProtocol = 'netkernel' | 'erlang'

/** What the outbox needs of a codec: writing one frame (length prefix included) into its batch. */
export type FrameEncoder = Pick<Codec, 'encodeFrameInto'>

/**
 * How the outbox (outbox.ts) cuts a frame larger than one chunk into fragment frames. The
 * native format is fragments.ts's; OTP's is DIST_FRAG_HEADER / DIST_FRAG_CONT.
 */
export interface FragmentFormat {
  /** Where the first piece starts in the frame body (bytes before it are replaced by the first header). */
  start(body: Buffer): number
  /**
   * The frame header (4-byte length included) written before the piece body[from, to) of
   * stream `id`; `last` for the final piece.
   */
  header(id: number, body: Buffer, from: number, to: number, last: boolean): Buffer
}

export interface Wire {
  readonly protocol: WireProtocol
  /**
   * Writes native frames (and the wire's own frame objects) as this protocol's frames:
   * the outbox's encoder (encodeFrameInto) for this connection.
   */
  readonly codec: FrameEncoder
  /** The fragment format for large frames; absent = native fragments; null = never cut (the protocol has no fragments). */
  readonly fragments?: FragmentFormat | null
  /** Fragment bytes on the wire unacknowledged; Infinity when the protocol has no acknowledgements. */
  readonly window?: number
  /** The protocol carries ALIAS_SEND frames (frames.ts) to the peer; absent: messages go to pids only. */
  readonly aliasSend?: boolean
  /**
   * One whole frame body from the peer (never a tick) → what to dispatch: a native frame, a
   * wire-specific object, or undefined when there is nothing to dispatch yet (a fragment
   * waiting for the rest, a signal the wire answered itself). Throws for a malformed frame
   * (the connection is dropped as a protocol error).
   */
  decode(body: Buffer, owned: boolean): unknown
  /**
   * Optional: decode() for a frame body that arrived split across socket chunks, given as the
   * views of them it lies in (valid only during the call: the wire copies what it keeps).
   * Without it the connection joins them into one buffer for decode().
   */
  decodeParts?(parts: readonly Buffer[], size: number): unknown
  /**
   * Optional: offered a large frame body split across reads into buffers the connection picks
   * (Conn.readInto), given its first bytes (`head`, valid during the call) and `size`: the wire
   * may take it and have the rest read straight to where it belongs (WireRead); undefined, and
   * the connection assembles the body for decode(). A wire that offers it also takes bodies
   * whose memory is reused after decode(body, false) returns: it keeps no view of them.
   */
  takeover?(head: Buffer, size: number): WireRead | undefined
  /**
   * With takeover: after a body taken over that is not its message's last, the next read takes
   * only this many bytes — the next frame's length prefix and piece header — so that the next
   * piece's body can be taken over from its first byte.
   */
  readonly takeoverHead?: number
  /**
   * Called once by the Connection the wire serves, before any frame is read: where the wire
   * queues frames it answers by itself (OTP's UNLINK_ID_ACK).
   */
  attach?(conn: WireConnection): void
}

/** The rest of a frame body read straight into place (Wire.takeover). */
export interface WireRead {
  /** Where the next read lands (never past the body's end). */
  view(): Buffer
  /** `n` bytes landed in view(): true once the body is complete. */
  landed(n: number): boolean
  /** The body complete: what to dispatch, or undefined (nothing yet). */
  finish(): unknown
  /** The body is its message's last piece (no more of it follows). */
  readonly last: boolean
}

/** What a wire sees of its connection. */
export interface WireConnection {
  readonly peer: string
  /** Encode (with the wire's codec) and queue; false when over the high-water mark. */
  send(value: unknown, key?: OrderKey): boolean
}
