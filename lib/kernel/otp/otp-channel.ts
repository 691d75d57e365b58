// The Erlang/OTP handshake's channel over a Conn: frames with a 2-byte big-endian length (at
// most MAX_OTP_HANDSHAKE_FRAME bytes, never empty), each receive bounded by the per-step
// deadline and the setup signal, like handshake-channel.ts for the native handshake. Once the
// peer's last handshake message has arrived (lastMessageNext), the bytes behind it are the
// connection's: 4-byte length frames (OTP's distribution frames; an empty one is a tick), read
// into a FrameDecoder with the connection's first-frame bound and handed over by detach().
//
// receive() rejects only with a NetkernelError: ERR_HANDSHAKE_TIMEOUT, ERR_ABORTED (or the
// setup signal's own NetkernelError), ERR_CONNECTION_CLOSED (or the transport's own
// NetkernelError), ERR_HANDSHAKE (an empty or oversized frame, too many frames ahead). send()
// never throws once the channel is gone: the write is dropped and the next receive says why.
import type { Conn } from '../../transport.js'
import type { Clock } from '../../clock.js'
import { systemClock } from '../../clock.js'
import { FrameDecoder } from '../../terms/frame-decoder.js'
import { HandshakeError, NetkernelError } from '../../errors.js'
import { handshakeAbortError } from '../handshake-channel.js'
import { MAX_PEER_FRAME } from '../fragments.js'

/** The largest OTP handshake message taken: a challenge with a 255-character UTF-8 name is ~1040 bytes. */
export const MAX_OTP_HANDSHAKE_FRAME = 2048
/** Handshake messages a peer may have sent ahead of our reading them (OTP sends at most two: status, challenge). */
const MAX_QUEUED = 4

interface Waiter {
  resolve(m: Buffer): void
  reject(e: Error): void
}

export class OtpChannel {
  /** Once the handshake is over: the connection's frames behind the last handshake message. */
  readonly decoder = new FrameDecoder({ maxFrameSize: MAX_PEER_FRAME })
  private buf: Buffer = Buffer.alloc(0)
  private readonly queue: Buffer[] = []
  private readonly raw: Buffer[] = []
  private rawMode = false
  private lastNext = false
  private waiter: Waiter | undefined
  private failure: Error | undefined
  private detached = false
  private readonly onData = (chunk: Buffer): void => this.push(chunk)
  private readonly onEnd = (): void =>
    this.fail(new NetkernelError('ERR_CONNECTION_CLOSED', `${this.peer} closed the connection during the handshake`))
  private readonly onError = (err: Error): void =>
    this.fail(
      err instanceof NetkernelError
        ? err
        : new NetkernelError('ERR_CONNECTION_CLOSED', `connection to ${this.peer} failed during the handshake: ${err.message}`, {
            cause: err,
          }),
    )

  constructor(
    readonly conn: Conn,
    /** Used in messages: the peer's name or address. */
    public peer: string,
    private readonly stepTimeout: number,
    private readonly signal: AbortSignal,
    private readonly clock: Clock = systemClock,
  ) {
    const s = conn.stream
    s.on('data', this.onData)
    s.on('end', this.onEnd)
    s.on('close', this.onEnd)
    s.on('error', this.onError)
    // A sniffed inbound stream was left paused with its first bytes put back (protocol-sniff.ts).
    s.resume()
  }

  /** Send one handshake message (2-byte length prefix added). Dropped once the channel is gone. */
  send(body: Buffer): void {
    const s = this.conn.stream
    if (this.failure !== undefined || this.detached || s.destroyed || s.writableEnded) return
    const head = Buffer.allocUnsafe(2)
    head.writeUInt16BE(body.length, 0)
    s.write(Buffer.concat([head, body]))
  }

  /** The next handshake message's body. */
  receive(): Promise<Buffer> {
    const queued = this.queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.failure) return Promise.reject(this.failure)
    if (this.detached) return Promise.reject(new NetkernelError('ERR_CONNECTION_CLOSED', `the handshake with ${this.peer} is over`))
    if (this.waiter) return Promise.reject(new HandshakeError('ERR_HANDSHAKE', 'two receives at once on a handshake channel'))
    const signal = this.signal
    if (signal.aborted) return Promise.reject(handshakeAbortError(signal, `handshake with ${this.peer}`))
    return new Promise<Buffer>((resolve, reject) => {
      const done = (): void => {
        this.clock.clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.waiter = undefined
      }
      const onAbort = (): void => {
        done()
        reject(handshakeAbortError(signal, `handshake with ${this.peer}`))
      }
      const timer = this.clock.setTimeout(() => {
        done()
        reject(new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `handshake step with ${this.peer} timed out after ${this.stepTimeout} ms`))
      }, this.stepTimeout)
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiter = {
        resolve: m => {
          done()
          resolve(m)
        },
        reject: e => {
          done()
          reject(e)
        },
      }
    })
  }

  /**
   * The next message is the peer's last handshake message: the bytes behind it are
   * distribution frames. A peer that sent more than that one message ahead broke the protocol.
   */
  lastMessageNext(): void {
    if (this.queue.length > 1) {
      this.fail(new HandshakeError('ERR_HANDSHAKE', `${this.peer} sent frames before the handshake ended`))
      this.conn.destroy()
      return
    }
    if (this.queue.length === 1) this.toRaw()
    else this.lastNext = true
  }

  /** Stop listening; the connection's decoder and the frames it read after the last handshake message. */
  detach(): { decoder: FrameDecoder; leftover: Buffer[] } {
    this.detached = true
    const s = this.conn.stream
    s.off('data', this.onData)
    s.off('end', this.onEnd)
    s.off('close', this.onEnd)
    s.off('error', this.onError)
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
    if (this.failure !== undefined) return
    if (this.rawMode) {
      this.pushRaw(chunk)
      return
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    while (!this.rawMode && this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0)
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
      if (this.buf.length < 2 + len) return
      const body = this.buf.subarray(2, 2 + len)
      this.buf = this.buf.subarray(2 + len)
      if (this.waiter) this.waiter.resolve(body)
      else if (this.queue.length >= MAX_QUEUED) {
        this.fail(new HandshakeError('ERR_HANDSHAKE', `${this.peer} sent more than ${MAX_QUEUED} handshake messages ahead`))
        this.conn.destroy()
        return
      } else this.queue.push(body)
      if (this.lastNext) this.toRaw()
    }
  }

  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    this.waiter?.reject(err)
  }
}
