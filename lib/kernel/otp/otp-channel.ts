// The Erlang/OTP handshake's channel over a Conn: frames with a 2-byte big-endian length (a
// 4-byte one where the transport says so: Conn.erlangHandshakeFraming, OTP's inet_tls) (at
// most MAX_OTP_HANDSHAKE_FRAME bytes, never empty), each receive bounded by the per-step
// deadline and the setup signal, like handshake-channel.ts for the native handshake. Once the
// peer's last handshake message has arrived (lastMessageNext), the bytes behind it are the
// connection's: 4-byte length frames (OTP's distribution frames; an empty one is a tick), read
// into a FrameDecoder with the connection's first-frame bound and handed over by detach().
//
// receive() rejects only with a NetkernelError: ERR_HANDSHAKE_TIMEOUT, ERR_ABORTED (or the
// setup signal's own NetkernelError), ERR_CONNECTION_CLOSED (or the transport's own
// NetkernelError; a dialled peer that hung up before a byte is asked whether it uses the tls
// transport), ERR_HANDSHAKE (an empty or oversized frame, too many frames ahead, a TLS record
// for an answer: handshake-inbox.ts). send() never throws once the channel is gone: the write
// is dropped and the next receive says why.
import { Buffer } from 'node:buffer'
import type { Conn } from '../../transport.js'
import type { Clock } from '../../clock.js'
import { systemClock } from '../../clock.js'
import { FrameDecoder } from '../../terms/frame-decoder.js'
import { HandshakeError } from '../../errors.js'
import { HandshakeInbox } from '../handshake-inbox.js'
import { MAX_PEER_FRAME } from '../fragments.js'

/** The largest OTP handshake message taken: a challenge with a 255-character UTF-8 name is ~1040 bytes. */
export const MAX_OTP_HANDSHAKE_FRAME = 2048
/** Handshake messages a peer may have sent ahead of our reading them (OTP sends at most two: status, challenge). */
const MAX_QUEUED = 4

export class OtpChannel {
  /** Once the handshake is over: the connection's frames behind the last handshake message. */
  readonly decoder = new FrameDecoder({ maxFrameSize: MAX_PEER_FRAME })
  private buf: Buffer = Buffer.alloc(0)
  private readonly raw: Buffer[] = []
  private rawMode = false
  private lastNext = false
  private readonly inbox: HandshakeInbox<Buffer>
  /** The handshake messages' length prefix: 2 bytes, or 4 over OTP's inet_tls. */
  private readonly head: 2 | 4

  constructor(
    readonly conn: Conn,
    /** Used in messages: the peer's name or address. */
    public peer: string,
    stepTimeout: number,
    signal: AbortSignal,
    clock: Clock = systemClock,
    /** 'initiator': this node dialled; a peer that hangs up before a byte may be a tls node. */
    role: 'initiator' | 'responder' = 'responder',
  ) {
    this.head = conn.erlangHandshakeFraming ?? 2
    this.inbox = new HandshakeInbox(
      conn,
      () => this.peer,
      chunk => this.push(chunk),
      stepTimeout,
      signal,
      clock,
      role === 'initiator',
    )
  }

  /** Send one handshake message (its length prefix added). Dropped once the channel is gone. */
  send(body: Buffer): void {
    const s = this.conn.stream
    if (!this.inbox.open || s.destroyed || s.writableEnded) return
    const head = Buffer.allocUnsafe(this.head)
    if (this.head === 4) head.writeUInt32BE(body.length, 0)
    else head.writeUInt16BE(body.length, 0)
    s.write(Buffer.concat([head, body]))
  }

  /** The next handshake message's body. */
  receive(): Promise<Buffer> {
    return this.inbox.receive()
  }

  /**
   * The next message is the peer's last handshake message: the bytes behind it are
   * distribution frames. A peer that sent more than that one message ahead broke the protocol.
   */
  lastMessageNext(): void {
    const queued = this.inbox.queue.length
    if (queued > 1) {
      this.fail(new HandshakeError('ERR_HANDSHAKE', `${this.peer} sent frames before the handshake ended`))
      this.conn.destroy()
      return
    }
    if (queued === 1) this.toRaw()
    else this.lastNext = true
  }

  /** Stop listening; the connection's decoder and the frames it read after the last handshake message. */
  detach(): { decoder: FrameDecoder; leftover: Buffer[] } {
    this.inbox.detach()
    const leftover = this.raw.splice(0)
    return { decoder: this.decoder, leftover }
  }

  private toRaw(): void {
    this.rawMode = true
    this.lastNext = false
    const rest = this.buf
    this.buf = Buffer.alloc(0)
    if (rest.length > 0) this.pushRaw(rest)
  }

  private pushRaw(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, body => this.raw.push(body))
    } catch (err) {
      this.fail(new HandshakeError('ERR_HANDSHAKE', `bad distribution frame from ${this.peer}: ${(err as Error).message}`, { cause: err }))
      this.conn.destroy()
    }
  }

  private push(chunk: Buffer): void {
    if (this.inbox.failed) return
    if (this.rawMode) {
      this.pushRaw(chunk)
      return
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    const h = this.head
    while (!this.rawMode && this.buf.length >= h) {
      const len = h === 4 ? this.buf.readUInt32BE(0) : this.buf.readUInt16BE(0)
      if (len === 0 || len > MAX_OTP_HANDSHAKE_FRAME) {
        this.fail(
          new HandshakeError(
            'ERR_HANDSHAKE',
            len === 0
              ? `${this.peer} sent an empty handshake message`
              : `${this.peer} sent a handshake message of ${len} bytes (at most ${MAX_OTP_HANDSHAKE_FRAME} taken)`,
          ),
        )
        this.conn.destroy()
        return
      }
      if (this.buf.length < h + len) return
      const body = this.buf.subarray(h, h + len)
      this.buf = this.buf.subarray(h + len)
      // (A receive waits only on an empty queue: a full one means nobody is reading.)
      if (this.inbox.queue.length >= MAX_QUEUED) {
        this.fail(new HandshakeError('ERR_HANDSHAKE', `${this.peer} sent more than ${MAX_QUEUED} handshake messages ahead`))
        this.conn.destroy()
        return
      }
      this.inbox.deliver(body)
      if (this.lastNext) this.toRaw()
    }
  }

  private fail(err: Error): void {
    this.inbox.fail(err)
  }
}
