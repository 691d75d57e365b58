// An authenticated connection to one node: framing + codec + ticks. Outgoing frames go
// through the Outbox (coalescing, chunking, backpressure); incoming chunks go through the
// incremental frame decoder, fragments are joined, and frames go straight to the dispatcher.
//
// The protocol is netkernel's native one unless a Wire (wire.ts) is given: then the wire's
// codec writes the frames (the outbox cuts large ones in the wire's fragment format, with the
// wire's window), and the wire's decode turns each whole frame body into what is dispatched
// (it joins its own fragments). Framing (4-byte length) and ticks (an empty frame) are the
// same in both protocols.
//
// Reading: when the transport offers readInto (a TCP socket's onread) and the protocol is the
// native one, reads land in one scratch buffer shared by all connections (each read is consumed
// before the next one happens: the frame decoder copies whatever it keeps), and the bytes of a
// large message's pieces are read straight into the message's body (fragments.ts: the first
// piece announces its size), so a large message costs one allocation and no copy in JavaScript.
// The read that takes the rest of a piece may also take the next frame's first bytes (the next
// piece's header, usually): they land in the body just past the piece — bytes a later piece of
// the same message overwrites — and are copied out to the decoder at once. One read a piece,
// not two; never past the end of a message's last piece, so a delivered body holds only its own.
// Another protocol's wire may read that way too (Wire.takeover: OTP's fragments are read
// straight into their message's buffer, one read to the end of each); a frame lying wholly in
// a read is decoded where it lies, and one split across reads but not taken over is assembled
// by the frame decoder first.
// Otherwise the socket's 'data' chunks are decoded as views.
import { Buffer } from 'node:buffer'
import type { Conn, ReadSink } from '../transport.js'
import { IN_SLOT, type Codec, type TripleSlot } from '../terms/codec.js'
import { Outbox, WINDOW, type OrderKey } from './outbox.js'
import { ACK_FLAG, FRAGMENT_MARK, Reassembly, ackFrame, fragmentHeaderLength, type Piece } from './fragments.js'
import type { FrameDecoder } from '../terms/frame-decoder.js'
import type { Clock } from '../clock.js'
import { DEFAULT_MAX_MESSAGE_SIZE } from './limits.js'
import { CodecError, NetkernelError } from '../errors.js'
import type { Wire, WireProtocol, WireRead } from './wire.js'
import { busyWaitActivity } from './busy-wait.js'
import { largeBodyTaken } from './scavenge-assist.js'
import { MIN_PROTOCOL_VERSION, SEND } from './frames.js'
import { nativeAliases } from './versions.js'

const EMPTY_FRAME = Buffer.alloc(4)
/** Where reads land between large pieces, for every connection reading into buffers (see above). */
const SCRATCH = Buffer.allocUnsafeSlow(64 * 1024)
/**
 * After a piece, the next read takes only a length prefix and a piece header: if another piece
 * follows (the usual case in a large message), its bytes are then read straight to their place.
 * The read of a piece that is not its message's last one takes this many bytes past it too.
 */
const HEAD_READ = SCRATCH.subarray(0, 4 + 10)

/** Where a direct read into `piece` from `at` lands: the rest of the piece and a header's read past it (a last piece ends its body). */
function directView(piece: Piece, at: number): Buffer {
  return piece.body.subarray(at, Math.min(piece.end + HEAD_READ.length, piece.body.length))
}

export type DownReason = 'connection_closed' | 'disconnect' | 'net_tick_timeout' | 'protocol_error' | 'node_stopped'

export interface ConnectionHooks {
  /** A decoded frame (never a tick). Throwing here counts as a protocol error. */
  onFrame(conn: Connection, frame: unknown): void
  /**
   * A message frame, [SEND, to, msg], taken apart as it was decoded (the native protocol's hot
   * path: no array is made for it). Without this hook such frames go to onFrame.
   */
  onSend?(conn: Connection, to: unknown, msg: unknown): void
  /** Called once, after the last frame was dispatched. */
  onDown(conn: Connection, reason: DownReason, error?: Error): void
  /** The peer's list of the nodes it knows (mesh gossip, a NODES frame). */
  onNodes?(conn: Connection, names: unknown): void
}

export class Connection {
  readonly type: 'visible' | 'hidden'
  readonly outbox: Outbox
  /** The distribution protocol spoken on this connection. */
  readonly protocol: WireProtocol
  /** The connection carries ALIAS_SEND frames (frames.ts): messages to the peer's process aliases. */
  readonly aliasSend: boolean
  /** When the connection came up (clock time, ms). */
  readonly upSince: number
  // Counters for node.stats(): plain integer fields, bumped per chunk, frame or send (no
  // allocation on the hot path). Bytes out are counted by the outbox, which does the writes.
  /** Bytes read from the stream (ticks included). */
  bytesIn = 0
  /** Messages the peer sent to process aliases that are not active here: dropped (dispatch.ts). */
  aliasSendsDropped = 0
  /** Frames decoded and dispatched (a fragmented frame counts once, when whole). */
  messagesIn = 0
  /** Frames queued by send()/write() (acknowledgements and ticks are not counted). */
  messagesOut = 0
  /** Bytes of ticks written (the outbox counts the rest). */
  private tickBytes = 0
  private readonly reassembly: Reassembly
  /** Fragment bytes taken since the last acknowledgement sent. */
  private toAck = 0
  private receivedSinceCheck = true
  private sentSinceCheck = false
  private silentChecks = 0
  private tickTimer: unknown
  private down = false
  private readonly onData = (chunk: Buffer): void => this.receive(chunk, false)
  /** The piece whose remaining bytes are being read straight into its message (readInto), and where the next lands (directView). */
  private direct: { piece: Piece; at: number; view: Buffer } | null = null
  /** Or the frame body of another protocol whose wire reads the rest into place (Wire.takeover). */
  private wireRead: WireRead | null = null
  /** After such a body, when its message goes on: the next read's buffer (Wire.takeoverHead bytes of the scratch). */
  private wireHead: Buffer | null = null
  /** The last frame taken was a piece of a large message. */
  private afterPiece = false
  /** Where the codec puts a message frame's recipient and message (hooks.onSend), or none. */
  private readonly sendSlot: TripleSlot | undefined
  private readonly sink: ReadSink = {
    buffer: () => this.readBuffer(),
    read: (n, buf) => this.readInto(n, buf),
  }
  /** A large piece split across reads: its message's body is the destination of the rest of it. */
  private readonly onTakeover = (head: Buffer, size: number): boolean => {
    if (this.down) return false
    const wire = this.wire
    if (wire !== undefined) {
      const r = wire.takeover?.(head, size)
      if (r === undefined) return false
      this.wireRead = r
      return true
    }
    if (head[0] !== FRAGMENT_MARK || head.length < 2 || ((head[1] as number) & ACK_FLAG) !== 0) return false
    const h = fragmentHeaderLength(head)
    if (head.length < h) return false
    const piece = this.reassembly.open(head, size)
    const at = piece.at + head.copy(piece.body, piece.at, h)
    this.direct = { piece, at, view: directView(piece, at) }
    return true
  }
  /** A frame lying wholly in a read of the scratch: decoded where it lies (a native message), or by the wire, which keeps no view of it. */
  private readonly onRange = (buf: Buffer, start: number, end: number): void => {
    if (this.down) return
    if (this.wire !== undefined) this.wireFrame(this.wire.decode(buf.subarray(start, end), false))
    else if (buf[start] === FRAGMENT_MARK) this.handleFrame(buf.subarray(start, end))
    else this.decoded(this.codec.decodeRange(buf, start, end, this.sendSlot))
  }
  private readonly onBody = (body: Buffer): void => {
    if (!this.down && body.length > 0) this.handleFrame(body)
  }
  /** A large body split across socket chunks, as views of them: a fragment's are kept as they are. */
  private readonly onParts = (parts: readonly Buffer[], size: number): void => {
    if (this.down) return
    const head = parts[0]!
    const wire = this.wire
    if (wire !== undefined) {
      if (wire.decodeParts !== undefined) this.wireFrame(wire.decodeParts(parts, size))
      else this.handleFrame(Buffer.concat(parts, size), true)
    } else if (head.length >= 2 && head[0] === FRAGMENT_MARK && ((head[1] as number) & ACK_FLAG) === 0) this.handleFragment(parts, size)
    else this.handleFrame(Buffer.concat(parts, size))
  }
  // The peer ended or the socket failed: we let go of our side too (no half-open leftovers).
  private readonly onClose = (): void => this.destroy('connection_closed')
  private readonly onError = (err: Error): void => this.destroy('connection_closed', err)

  constructor(
    readonly peer: string,
    readonly creation: number,
    hidden: boolean,
    readonly conn: Conn,
    private readonly decoder: FrameDecoder,
    private readonly codec: Codec,
    private readonly hooks: ConnectionHooks,
    private readonly tickTime: number,
    private readonly clock: Clock,
    /** Recorded in nodeup info. */
    readonly info: Record<string, unknown>,
    highWater?: number,
    /** The largest frame body, or fragmented message, taken from the peer. */
    private readonly maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE,
    /** The protocol, when not the native one (then `codec` only reads frames queued pre-encoded: write()). */
    readonly wire?: Wire,
    /** The native protocol's version both nodes speak (versions.ts); unused with a `wire`. */
    readonly version = MIN_PROTOCOL_VERSION,
  ) {
    this.type = hidden ? 'hidden' : 'visible'
    this.protocol = wire?.protocol ?? 'netkernel'
    this.aliasSend = wire !== undefined ? wire.aliasSend === true : nativeAliases(version)
    this.sendSlot = wire === undefined && hooks.onSend !== undefined ? { tag: SEND, a: undefined, b: undefined } : undefined
    this.upSince = clock.now()
    decoder.maxFrameSize = maxMessageSize
    this.reassembly = new Reassembly(peer, maxMessageSize)
    // A stream with flow control of its own (an SSH channel) gets no fragment window from us:
    // its window already bounds what is in flight, and over SSH our small acknowledgements
    // would wait for the delayed-ACK timer (~40 ms per window) in the sshd's socket.
    const window = wire?.window ?? (conn.flowControlled === true ? Infinity : WINDOW)
    this.outbox = new Outbox(
      conn.stream,
      wire?.codec ?? codec,
      highWater,
      () => {
        this.sentSinceCheck = true
        busyWaitActivity()
      },
      window,
      wire?.fragments,
      undefined,
      conn.copiesWrites === true,
    )
    wire?.attach?.(this)
  }

  /** Start reading: first the frames that came with the handshake, then the socket. */
  start(leftover: Buffer[]): void {
    // Bytes read together with the handshake's last message: whole frames, and the start of one.
    this.bytesIn = this.decoder.pending
    try {
      for (const f of leftover) {
        this.bytesIn += 4 + f.length
        if (!this.down) this.handleFrame(f)
      }
    } catch (err) {
      this.destroy('protocol_error', this.named(err as Error))
    }
    if (this.down) return
    const s = this.conn.stream
    const into = this.wire === undefined || this.wire.takeover !== undefined ? this.conn.readInto : undefined
    if (into !== undefined) {
      // Bytes the stream buffered before go ahead of every read routed to us, the same way.
      for (let c = s.read() as Buffer | null; c !== null && !this.down; c = s.read() as Buffer | null) this.readCopy(c)
      if (this.down) return
      into.attach(this.sink)
    }
    s.on('data', this.onData)
    s.on('end', this.onClose)
    s.on('close', this.onClose)
    s.on('error', this.onError)
    this.tickTimer = this.clock.setInterval(() => this.tick(), Math.max(1, Math.floor(this.tickTime / 4)))
  }

  get isUp(): boolean {
    return !this.down
  }

  /** Bytes written to the stream since the connection came up. */
  get bytesOut(): number {
    return this.outbox.bytesOut + this.tickBytes
  }

  /** Queue one encoded frame; false when the connection is over its high-water mark. */
  write(frame: Buffer, key?: OrderKey): boolean {
    if (this.down) return false
    this.messagesOut++
    // Encoded as a native frame (queued while the connection was set up, or a spawn request):
    // another wire writes it in its own protocol.
    if (this.wire !== undefined) return this.outbox.send(this.codec.decode(frame.subarray(4), false), key)
    return this.outbox.write(frame, key)
  }

  /** Encode and queue a value as one frame; false when over the high-water mark. `urgent`: a message (Outbox.send). */
  send(value: unknown, key?: OrderKey, urgent = false): boolean {
    if (this.down) return false
    this.messagesOut++
    return this.outbox.send(value, key, urgent)
  }

  flush(): void {
    this.outbox.flush()
  }

  /** The peer told us the nodes it knows (a NODES frame): the kernel may connect them. */
  nodesHeard(names: unknown): void {
    this.hooks.onNodes?.(this, names)
  }

  /** Graceful close: flush what is queued, end the stream. */
  close(reason: DownReason = 'disconnect'): void {
    if (this.down) return
    this.flush()
    this.goDown(reason)
    this.conn.close()
  }

  /** Abrupt close. */
  destroy(reason: DownReason, error?: Error): void {
    if (this.down) return
    this.goDown(reason, error)
    this.conn.destroy()
  }

  /**
   * `volatile`: the chunk's memory is reused after this call (the scratch): nothing may keep a
   * view of it. `length`: the bytes read, when fewer than the chunk holds.
   */
  private receive(chunk: Buffer, volatile: boolean, length = chunk.length): void {
    this.received(length)
    try {
      if (volatile) this.decoder.push(chunk, this.onBody, undefined, this.onTakeover, this.onRange, length)
      else this.decoder.push(chunk, this.onBody, this.onParts)
    } catch (err) {
      // A frame that does not decode (or is oversized) closes this connection only.
      this.destroy('protocol_error', this.named(err as Error))
    }
  }

  /** n bytes came in: counted, and the link is alive. */
  private received(n: number): void {
    busyWaitActivity()
    this.receivedSinceCheck = true
    this.bytesIn += n
  }

  /** `chunk` as if read into the buffers the sink picks, one after the other. */
  private readCopy(chunk: Buffer): void {
    for (let off = 0; off < chunk.length && !this.down;) {
      const b = this.sink.buffer()
      const k = chunk.copy(b, 0, off)
      off += k
      this.sink.read(k, b)
    }
  }

  /** Where the next read lands (readInto): the rest of a body read into place, a header's worth of the scratch, or the scratch. */
  private readBuffer(): Buffer {
    if (this.direct !== null) return this.direct.view
    if (this.wireRead !== null) return this.wireRead.view()
    if (this.decoder.pending === 0) {
      if (this.wireHead !== null) return this.wireHead
      if (this.afterPiece) return HEAD_READ
    }
    return SCRATCH
  }

  /** A read landed (readInto): in the piece being read straight into its message, or in the scratch. */
  private readInto(n: number, buf: Buffer): void {
    if (this.down) return
    const w = this.wireRead
    if (w !== null) {
      this.received(n)
      if (!w.landed(n)) return
      this.wireRead = null
      const head = this.wire?.takeoverHead
      if (!w.last && head !== undefined) this.wireHead = SCRATCH.subarray(0, head)
      try {
        this.wireFrame(w.finish())
      } catch (err) {
        this.destroy('protocol_error', this.named(err as Error))
      }
      return
    }
    const d = this.direct
    if (d === null) {
      this.wireHead = null
      this.receive(buf, true, n)
      return
    }
    // The read landed in d.view: the rest of the piece, and perhaps past it, the next frame's
    // first bytes.
    const end = d.piece.end
    const past = d.at + n - end
    if (past < 0) {
      this.received(n)
      d.at += n
      d.view = directView(d.piece, d.at)
      return
    }
    this.received(n - past)
    this.direct = null
    if (past > 0) d.piece.body.copy(HEAD_READ, 0, end, end + past)
    try {
      this.pieceDone(d.piece)
    } catch (err) {
      this.destroy('protocol_error', this.named(err as Error))
    }
    if (past > 0 && !this.down) this.receive(HEAD_READ, true, past)
  }

  /**
   * An error that drops the connection, naming the peer: the frame decoder's refusal of a
   * length prefix becomes the message-size error; the codec's (a frame that does not decode,
   * or decodes into more than maxMessageTerms terms), which knows no peer, says who sent it.
   */
  private named(err: Error): Error {
    const code = (err as NetkernelError).code
    if (code === 'ERR_FRAME_TOO_LARGE') {
      return new NetkernelError(
        'ERR_MESSAGE_TOO_LARGE',
        `${this.peer} announced a frame over maxMessageSize (${this.maxMessageSize} bytes): connection dropped; ${err.message}`,
        { cause: err },
      )
    }
    if (err.message.includes(this.peer)) return err
    if (code === 'ERR_DECODE' || code === 'ERR_UNKNOWN_EXTENSION') {
      return new CodecError(code, `${this.peer} sent a malformed message: ${err.message}: connection dropped`, { cause: err })
    }
    if (code === 'ERR_MESSAGE_TOO_LARGE') {
      return new NetkernelError('ERR_MESSAGE_TOO_LARGE', `${this.peer} sent a message too large: ${err.message}: connection dropped`, {
        cause: err,
      })
    }
    return err
  }

  private handleFrame(body: Buffer, owned = false): void {
    if (body.length === 0) return
    const wire = this.wire
    if (wire !== undefined) {
      this.wireFrame(wire.decode(body, owned))
      return
    }
    if (body[0] === FRAGMENT_MARK) {
      if (((body[1] as number) & ACK_FLAG) !== 0) {
        if (body.length >= 6) this.outbox.ack(body.readUInt32BE(2))
        return
      }
      this.handleFragment(body, body.length)
      return
    }
    this.decoded(this.codec.decodeRange(body, 0, body.length, this.sendSlot))
  }

  /** What the wire decoded a frame into: dispatched, unless there is nothing yet (undefined). */
  private wireFrame(frame: unknown): void {
    if (frame === undefined) return
    this.messagesIn++
    this.hooks.onFrame(this, frame)
  }

  /** What decodeRange gave for a frame that is not a piece: a message frame in the slot, or the frame. */
  private decoded(frame: unknown): void {
    this.afterPiece = false
    this.messagesIn++
    if (frame !== IN_SLOT) {
      this.hooks.onFrame(this, frame)
      return
    }
    const slot = this.sendSlot!
    const to = slot.a
    const msg = slot.b
    slot.a = slot.b = undefined
    this.hooks.onSend!(this, to, msg)
  }

  /** One fragment: a body, or the views it arrived in (onParts). */
  private handleFragment(body: Buffer | readonly Buffer[], size: number): void {
    const before = this.reassembly.pieceBytes
    const whole = Buffer.isBuffer(body) ? this.reassembly.push(body) : this.reassembly.pushParts(body, size)
    this.taken(this.reassembly.pieceBytes - before)
    this.whole(whole)
  }

  /** A piece read straight into its message is complete. */
  private pieceDone(piece: Piece): void {
    this.taken(piece.end - piece.at)
    this.whole(this.reassembly.done(piece))
  }

  /** Fragment bytes taken: acknowledged every half window. */
  private taken(bytes: number): void {
    largeBodyTaken(bytes)
    this.afterPiece = true
    this.toAck += bytes
    if (this.toAck >= WINDOW / 2) {
      this.outbox.writeAck(ackFrame(this.toAck))
      this.toAck = 0
    }
  }

  /** A message's body once its last piece is in: a fresh buffer, so its large binaries can be handed out as views. */
  private whole(body: Buffer | undefined): void {
    if (body === undefined) return
    this.messagesIn++
    this.hooks.onFrame(this, this.codec.decode(body, true))
  }

  private tick(): void {
    if (this.down) return
    if (this.receivedSinceCheck) {
      this.receivedSinceCheck = false
      this.silentChecks = 0
    } else if (++this.silentChecks >= 4) {
      this.destroy(
        'net_tick_timeout',
        new NetkernelError('ERR_CONNECTION_CLOSED', `${this.peer} silent for ${this.tickTime} ms (net_tick_timeout)`),
      )
      return
    }
    this.outbox.trimSpares()
    if (!this.sentSinceCheck && this.outbox.idle) {
      this.conn.stream.write(EMPTY_FRAME)
      this.tickBytes += EMPTY_FRAME.length
    }
    this.sentSinceCheck = false
  }

  private goDown(reason: DownReason, error?: Error): void {
    if (this.down) return
    this.down = true
    this.clock.clearInterval(this.tickTimer)
    const s = this.conn.stream
    s.off('data', this.onData)
    s.off('end', this.onClose)
    s.off('close', this.onClose)
    s.off('error', this.onError)
    s.on('error', () => {}) // late errors after we let go must not crash the process
    this.outbox.close()
    this.hooks.onDown(this, reason, error)
  }
}
