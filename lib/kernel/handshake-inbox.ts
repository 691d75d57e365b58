// What both handshake channels (handshake-channel.ts for the native handshake,
// otp/otp-channel.ts for Erlang/OTP's) do alike around their framing: listen to the stream,
// keep the messages that came ahead of a receive, and bound each receive by the per-step
// deadline (on the node's clock) and the abort signals. The framing — what a message is,
// and when the bytes behind the last one become the connection's — stays with each channel,
// which calls deliver() for every message and fail() when the peer breaks the protocol.
//
// A peer that speaks TLS to a plain transport is told apart before the framing sees its
// bytes: a first answer that is a TLS record (a handshake, 16 03, or an alert, 15 03) is
// ERR_HANDSHAKE "speaks TLS", and a dialled peer that hangs up before a byte of answer (a
// TLS 1.3 listener reached by a plain hello does) gets the question whether it uses tls.
// Either message names the peer and its address once.
//
// receive() rejects only with a NetkernelError: ERR_HANDSHAKE_TIMEOUT, ERR_ABORTED (or a
// signal's own NetkernelError), ERR_CONNECTION_CLOSED (or the transport's own NetkernelError),
// ERR_HANDSHAKE (the peer speaks TLS), or what the channel failed with.
import type { Conn } from '../transport.js'
import type { Clock } from '../clock.js'
import { HandshakeError, NetkernelError } from '../errors.js'

/**
 * The typed error for a receive ended by `signal`: its reason when that is a NetkernelError
 * (the kernel's setup deadline, a refused dial), ERR_HANDSHAKE_TIMEOUT for a TimeoutError
 * (AbortSignal.timeout()), else ERR_ABORTED. For any HandshakeChannel.
 */
export function handshakeAbortError(signal: AbortSignal, what: string): NetkernelError {
  const r: unknown = signal.reason
  if (r instanceof NetkernelError) return r
  if ((r as Error | undefined)?.name === 'TimeoutError')
    return new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `${what}: the setup deadline passed`, { cause: r })
  return new NetkernelError('ERR_ABORTED', `${what} aborted`, { cause: r })
}

interface Waiter<T> {
  resolve(m: T): void
  reject(e: Error): void
}

export class HandshakeInbox<T> {
  /** Messages that arrived before a receive asked for them. */
  readonly queue: T[] = []
  private waiter: Waiter<T> | undefined
  private failure: Error | undefined
  private detached = false
  /** No byte has come from the peer yet. */
  private silent = true
  private readonly onChunk = (chunk: Buffer): void => {
    if (this.silent) {
      this.silent = false
      // 0x16 0x03: a TLS handshake record (a ClientHello); 0x15 0x03: a TLS alert (a TLS
      // server's answer to our plain hello). Say so instead of "frame too large".
      if (chunk.length >= 2 && (chunk[0] === 0x16 || chunk[0] === 0x15) && chunk[1] === 0x03) {
        this.fail(
          new HandshakeError(
            'ERR_HANDSHAKE',
            `${this.who()} speaks TLS; this node's transport does not (use the same transport on both nodes)`,
          ),
        )
        this.conn.destroy()
        return
      }
    }
    this.onData(chunk)
  }
  private readonly onEnd = (): void => {
    const hint = this.closeHint()
    const peer = hint === '' ? this.peer() : this.who()
    this.fail(new NetkernelError('ERR_CONNECTION_CLOSED', `${peer} closed the connection during the handshake${hint}`))
  }
  // A transport's own typed error (a refused certificate, say) is passed on as it is.
  private readonly onError = (err: Error): void => {
    if (err instanceof NetkernelError) return this.fail(err)
    const hint = this.closeHint()
    const peer = hint === '' ? this.peer() : this.who()
    this.fail(
      new NetkernelError('ERR_CONNECTION_CLOSED', `connection to ${peer} failed during the handshake: ${err.message}${hint}`, {
        cause: err,
      }),
    )
  }

  constructor(
    private readonly conn: Conn,
    /** The peer's name or address, as messages name it (a channel may learn it late). */
    private readonly peer: () => string,
    private readonly onData: (chunk: Buffer) => void,
    private readonly stepTimeout: number,
    private readonly signal: AbortSignal,
    private readonly clock: Clock,
    /** This node dialled the peer: a hang-up before its first byte may be a tls node's. */
    private readonly dialled = false,
    /**
     * The peer as the errors that ask about TLS name it: a dialled node's name with its
     * address (the Erlang/OTP channel's `peer` has it already), so that the address the
     * question is about appears once.
     */
    private readonly who: () => string = peer,
  ) {
    const stream = conn.stream
    stream.on('data', this.onChunk)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
    stream.on('error', this.onError)
    // A sniffed inbound stream was left paused with its first bytes put back (protocol-sniff.ts).
    stream.resume()
  }

  /**
   * Appended to the message when the peer closes or resets the connection. A dialled peer
   * that hung up before a byte of answer, over a transport other than tls: a tls node does
   * so when a plain hello reaches it (its TLS handshake fails at once), so say that it may be
   * one. The same question the tls transport's dialler asks in reverse
   * (transports/tls-failures.ts). The message then names the peer by who(), with its address.
   */
  private closeHint(): string {
    const c = this.conn
    if (!this.dialled || !this.silent || c.transport === 'tls') return ''
    return ` (it answered nothing: does it use the tls transport? This node uses ${c.transport})`
  }

  /** False once the channel has failed or been detached: what it sends is dropped. */
  get open(): boolean {
    return this.failure === undefined && !this.detached
  }

  get failed(): boolean {
    return this.failure !== undefined
  }

  /** A message from the peer: to the receive waiting for it, else queued. */
  deliver(msg: T): void {
    if (this.waiter) this.waiter.resolve(msg)
    else this.queue.push(msg)
  }

  /** The next message, within the step deadline and before any of the signals aborts. */
  receive(extra?: AbortSignal): Promise<T> {
    const queued = this.queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.failure) return Promise.reject(this.failure)
    if (this.detached) return Promise.reject(new NetkernelError('ERR_CONNECTION_CLOSED', `the handshake with ${this.peer()} is over`))
    if (this.waiter) return Promise.reject(new HandshakeError('ERR_HANDSHAKE', 'two receives at once on a handshake channel'))
    const signals = extra === undefined ? [this.signal] : [this.signal, extra]
    for (const s of signals) if (s.aborted) return Promise.reject(handshakeAbortError(s, `handshake with ${this.peer()}`))
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        this.clock.clearTimeout(timer)
        for (const s of signals) s.removeEventListener('abort', onAbort)
        this.waiter = undefined
      }
      const onAbort = (ev: Event): void => {
        done()
        reject(handshakeAbortError(ev.target as AbortSignal, `handshake with ${this.peer()}`))
      }
      const timer = this.clock.setTimeout(() => {
        done()
        reject(new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `handshake step with ${this.peer()} timed out after ${this.stepTimeout} ms`))
      }, this.stepTimeout)
      for (const s of signals) s.addEventListener('abort', onAbort, { once: true })
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

  /** The channel is broken: the waiting receive and every later one reject with `err`. */
  fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    this.waiter?.reject(err)
  }

  /** Stop listening to the stream: the handshake is over (or given up). */
  detach(): void {
    this.detached = true
    const s = this.conn.stream
    s.off('data', this.onChunk)
    s.off('end', this.onEnd)
    s.off('close', this.onEnd)
    s.off('error', this.onError)
  }
}
