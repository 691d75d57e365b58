// Erlang/OTP fragmented messages (DFLAG_FRAGMENTS), both directions.
//
//   DIST_FRAG_HEADER  131 69 SequenceId:64 FragmentId:64 NumberOfAtomCacheRefs … <first part>
//   DIST_FRAG_CONT    131 70 SequenceId:64 FragmentId:64 <part>
//
// FragmentId counts down to 1 (the last); the parts concatenated are the control message and
// its payload, decoded with the atom-cache refs of the first fragment's header.
//
// Outbound: the outbox (outbox.ts) cuts a frame `131 68 0 <control> <payload>` into pieces
// of CHUNK bytes after its first 3 bytes; OTP_FRAGMENTS writes each piece's header (our
// frames carry no atom-cache refs: NumberOfAtomCacheRefs is 0). Sequence ids are the
// outbox's stream ids, so frames to other destinations interleave, as in OTP.
//
// Inbound: OtpReassembly copies each open sequence's parts into one buffer as they come — from
// a frame body, or straight from the socket chunks a body arrived split across (pushParts) —
// sized from the first fragment (OTP cuts a message into equal fragments but the last), under
// bounds derived from maxMessageSize like fragments.ts's Reassembly. One copy per byte.
import { Buffer } from 'node:buffer'
import type { FragmentFormat } from '../wire.js'
import { PIECE } from '../fragments.js'
import { CodecError, NetkernelError } from '../../errors.js'
import { DIST_FRAG_CONT, DIST_FRAG_HEADER, VERSION_MAGIC } from './control.js'

/** Bytes of `131 68 0` that the first fragment header replaces. */
const HEADER_MODE_PREFIX = 3
const FIRST = 4 + 19
const CONT = 4 + 18

export const OTP_FRAGMENTS: FragmentFormat = otpFragments()

/** The OTP fragment format; `sent` counts the fragment frames it headed. */
export function otpFragments(): FragmentFormat & { sent: number } {
  return {
    sent: 0,
    start: () => HEADER_MODE_PREFIX,
    header(id, body, from, to, last) {
      this.sent++
      return otpFragmentHeader(id, body, from, to, last)
    },
  }
}

function otpFragmentHeader(id: number, body: Buffer, from: number, to: number, _last: boolean): Buffer {
  const first = from === HEADER_MODE_PREFIX
  const h = Buffer.allocUnsafe(first ? FIRST : CONT)
  h.writeUInt32BE(h.length - 4 + (to - from), 0)
  h[4] = VERSION_MAGIC
  h[5] = first ? DIST_FRAG_HEADER : DIST_FRAG_CONT
  h.writeUInt32BE(0, 6)
  h.writeUInt32BE(id, 10)
  // The pieces are CHUNK bytes but the last: this one's number counts the pieces left.
  h.writeUInt32BE(0, 14)
  h.writeUInt32BE(Math.ceil((body.length - from) / PIECE), 18)
  if (first) h[22] = 0 // no atom-cache refs
  return h
}

/**
 * The bounds on one connection's reassembly (M = maxMessageSize):
 *   - a sequence's bytes: M (over it: ERR_MESSAGE_TOO_LARGE), and its announced fragment
 *     count at most ceil(M / MIN_PIECE) + 1;
 *   - open sequences: MAX_OPEN_SEQUENCES (OTP opens one per process sending a large message);
 *   - bytes of all open sequences: MAX_OPEN_BYTES_FACTOR × M, counting the room each one's
 *     buffer was given (at most FIRST_ROOM_PIECES times its first fragment, the fragment count
 *     times it, and M), fragments of all of them: the same factor times one sequence's bound.
 * Past any bound the connection is dropped (ERR_LIMIT).
 */
export const MAX_OPEN_SEQUENCES = 256
/** The smallest average fragment the per-sequence fragment bound allows (OTP cuts 64 KB). */
export const MIN_PIECE = 1024
export const MAX_OPEN_BYTES_FACTOR = 4

/**
 * A sequence's buffer first gets room for at most this many fragments of its first one's size
 * (the whole of a message up to 16 MB in OTP's 64 KB fragments), then doubles as it fills: a
 * peer's first fragment makes us set aside at most this many times its own bytes.
 */
export const FIRST_ROOM_PIECES = 256

interface Sequence {
  /** The atom-cache refs of the first fragment's header. */
  refs: unknown
  /** The parts so far, joined: `size` bytes of it. */
  buf: Buffer
  size: number
  /** Fragments taken. */
  count: number
  /** The FragmentId the next fragment must carry. */
  next: bigint
}

/**
 * The rest of a fragment read straight into its message (OtpReassembly.takeover): each read
 * lands in `view()`, `landed(n)` says how much did (true once the fragment is complete), then
 * `finish()` gives the whole message if that fragment was its last.
 */
export interface DirectRead {
  view(): Buffer
  landed(n: number): boolean
  finish(): Joined | undefined
  /** The fragment is its message's last. */
  readonly last: boolean
}

/** `head` starts a DIST_FRAG_CONT frame body and holds its whole 18-byte header. */
export function isContinuation(head: Buffer): boolean {
  return head.length >= 18 && head[0] === VERSION_MAGIC && head[1] === DIST_FRAG_CONT
}

/** A whole message: decode control + payload from `buf` at `offset` with `refs`. */
export interface Joined {
  buf: Buffer
  offset: number
  refs: unknown
}

/**
 * Reads a distribution header's atom-cache part (NumberOfAtomCacheRefs, flags, refs) at
 * `offset`: the refs (for decoding) and where the control message starts. Throws for a
 * malformed header.
 */
export type HeaderReader = (buf: Buffer, offset: number) => { refs: unknown; offset: number }

export class OtpReassembly {
  /** Messages joined from more than one fragment. */
  joined = 0
  private readonly open = new Map<bigint, Sequence>()
  private total = 0
  private fragments = 0
  private readonly maxFragments: number

  constructor(
    private readonly peer: string,
    private readonly maxMessage: number,
    private readonly readHeader: HeaderReader,
  ) {
    this.maxFragments = Math.ceil(maxMessage / MIN_PIECE) + 1
  }

  get inFlight(): number {
    return this.open.size
  }

  /** One DIST_FRAG_HEADER or DIST_FRAG_CONT frame body; the whole message once its last fragment came. */
  push(body: Buffer, owned: boolean): Joined | undefined {
    if (body.length < 18) throw new CodecError('ERR_DECODE', `${this.peer} sent a truncated fragment header`)
    const seq = body.readBigUInt64BE(2)
    const frag = body.readBigUInt64BE(10)
    if (frag === 0n) throw new CodecError('ERR_DECODE', `${this.peer} sent a fragment numbered 0`)
    if (body[1] === DIST_FRAG_HEADER) {
      if (this.open.has(seq)) throw new CodecError('ERR_DECODE', `${this.peer} restarted fragment sequence ${seq} before its end`)
      // The header's atom-cache entries take effect now, in frame order (the sender's cache
      // changed when it encoded this message, before the frames after it).
      const h = this.readHeader(body, 18)
      const first = body.length - h.offset
      if (frag === 1n) {
        if (first > this.maxMessage) throw this.tooLarge(first)
        return { buf: owned ? body : Buffer.from(body), offset: h.offset, refs: h.refs }
      }
      if (frag > BigInt(this.maxFragments)) throw this.limit(`a message announced in ${frag} fragments`)
      if (this.open.size >= MAX_OPEN_SEQUENCES) throw this.limit(`more than ${MAX_OPEN_SEQUENCES} fragmented messages open`)
      const n = Number(frag)
      const room = Math.min(Math.max(first, 1) * Math.min(n, FIRST_ROOM_PIECES), this.maxMessage)
      const s: Sequence = { refs: h.refs, buf: this.reserve(room, 0), size: 0, count: 0, next: frag - 1n }
      this.open.set(seq, s)
      this.counted(s)
      this.append(s, body, h.offset, body.length)
      return undefined
    }
    return this.advance(this.continuation(body, body.length).s, seq, frag)
  }

  /**
   * A DIST_FRAG_CONT frame whose body arrived split across socket chunks: `parts` are views of
   * them (the first holds at least the 18 bytes of the fragment header), valid only during the
   * call; its bytes are copied straight into the sequence's buffer.
   */
  pushParts(parts: readonly Buffer[], size: number): Joined | undefined {
    const head = parts[0]!
    if (!isContinuation(head)) throw new CodecError('ERR_DECODE', `${this.peer} sent a fragment split before its header's end`)
    const { s, seq, frag } = this.continuation(head, size)
    for (let i = 1; i < parts.length; i++) this.append(s, parts[i]!, 0, parts[i]!.length)
    return this.advance(s, seq, frag)
  }

  /**
   * A DIST_FRAG_CONT frame of `size` bytes whose first bytes are `head` (at least its 18-byte
   * fragment header, else undefined): they are copied in, and the rest of the fragment is to
   * be read straight into the sequence's buffer, at `view()` (see DirectRead).
   */
  takeover(head: Buffer, size: number): DirectRead | undefined {
    if (!isContinuation(head)) return undefined
    const { s, seq, frag } = this.continuation(head, size)
    const end = s.size + (size - head.length)
    return {
      view: () => s.buf.subarray(s.size, end),
      landed: n => (s.size += n) === end,
      finish: () => this.advance(s, seq, frag),
      last: frag === 1n,
    }
  }

  /**
   * A DIST_FRAG_CONT of `size` bytes arriving in pieces, `head` the first (its 18-byte header
   * whole): room made for all of it, and head's bytes after the header copied in.
   */
  private continuation(head: Buffer, size: number): { s: Sequence; seq: bigint; frag: bigint } {
    const seq = head.readBigUInt64BE(2)
    const frag = head.readBigUInt64BE(10)
    if (frag === 0n) throw new CodecError('ERR_DECODE', `${this.peer} sent a fragment numbered 0`)
    const s = this.counted(this.continued(seq, frag))
    this.ensure(s, size - 18)
    this.append(s, head, 18, head.length)
    return { s, seq, frag }
  }

  /** The open sequence `seq`, whose next fragment `frag` must be. */
  private continued(seq: bigint, frag: bigint): Sequence {
    const s = this.open.get(seq)
    if (s === undefined) throw new CodecError('ERR_DECODE', `${this.peer} sent a fragment of sequence ${seq}, which it never started`)
    if (frag !== s.next) throw new CodecError('ERR_DECODE', `${this.peer} sent fragment ${frag} of sequence ${seq}, expected ${s.next}`)
    return s
  }

  /** After a continuation: undefined until the last fragment, then the whole message. */
  private advance(s: Sequence, seq: bigint, frag: bigint): Joined | undefined {
    if (frag !== 1n) {
      s.next = frag - 1n
      return undefined
    }
    this.open.delete(seq)
    this.joined++
    this.total -= s.buf.length
    this.fragments -= s.count
    // A buffer given much more room than the message took is not handed on whole.
    const buf = s.size * 2 >= s.buf.length ? s.buf.subarray(0, s.size) : Buffer.from(s.buf.subarray(0, s.size))
    return { buf, offset: 0, refs: s.refs }
  }

  /** Copy `from[start, end)` to the end of the sequence's bytes: a fragment, or a part of one. */
  private append(s: Sequence, from: Buffer, start: number, end: number): void {
    const n = end - start
    this.ensure(s, n)
    from.copy(s.buf, s.size, start, end)
    s.size += n
  }

  /** One more fragment of `s`, counted against the bounds. */
  private counted(s: Sequence): Sequence {
    s.count++
    this.fragments++
    if (this.fragments > MAX_OPEN_BYTES_FACTOR * this.maxFragments)
      throw this.limit(`more than ${MAX_OPEN_BYTES_FACTOR * this.maxFragments} fragments in flight`)
    return s
  }

  /** Room for `n` more bytes in the sequence's buffer (doubling, up to maxMessage). */
  private ensure(s: Sequence, n: number): void {
    const need = s.size + n
    if (need > this.maxMessage) throw this.tooLarge(need)
    if (need <= s.buf.length) return
    const bigger = this.reserve(Math.min(Math.max(need, 2 * s.buf.length), this.maxMessage), s.buf.length)
    s.buf.copy(bigger, 0, 0, s.size)
    s.buf = bigger
  }

  /** A buffer of `room` bytes, counted against the bytes in flight in place of one of `replaces`. */
  private reserve(room: number, replaces: number): Buffer {
    this.total += room - replaces
    if (this.total > MAX_OPEN_BYTES_FACTOR * this.maxMessage)
      throw this.limit(`more than ${MAX_OPEN_BYTES_FACTOR * this.maxMessage} bytes of fragmented messages in flight`)
    return Buffer.allocUnsafe(room)
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
