// One forwarded SSH channel as a plain Node Duplex with the semantics the kernel and the
// transport compliance suite expect of a socket: half-close (end() sends EOF, the peer may
// still write), destroy(err) drops the channel at once and reports err, and 'close' when
// the channel is gone — also when its whole SSH connection drops.
// (ssh2's own Channel overrides destroy() without an error and emits no 'close' of its own.)
import process from 'node:process'
import { Duplex } from 'node:stream'
import type { ClientChannel } from 'ssh2'

const ignore = (): void => {}

/** What ChannelStream needs of the socket under the channel. */
export interface Corkable {
  cork(): void
  uncork(): void
}

export class ChannelStream extends Duplex {
  private readonly ch: ClientChannel
  /** The channel closed (by the peer, or its SSH connection went). */
  private gone = false
  private eofPushed = false
  private finalCb: ((err?: Error | null) => void) | undefined
  private released = false

  /**
   * `release` runs once, when this stream is done with the channel (for idle tracking);
   * `sessionGone` tells whether the SSH connection under the channel has ended.
   */
  constructor(
    ch: ClientChannel,
    private readonly release: () => void,
    private readonly sessionGone: () => boolean = () => false,
    /**
     * The SSH connection's socket: corked while the packets of one write are queued, so that
     * they leave in one system call instead of one each (a 64 KB piece is two or three packets).
     */
    private readonly socket?: Corkable,
  ) {
    super({ allowHalfOpen: true })
    this.ch = ch
    ch.on('data', this.onData)
    ch.on('end', this.onEnd)
    ch.on('close', this.onClose)
    ch.on('error', this.onError)
    ch.stderr.resume()
  }

  /**
   * True once the channel has closed because its SSH connection went, not because the peer
   * closed it (ssh2 ends and closes the channels of a dropped connection as if their peers
   * had). Read by whoever must tell "the peer hung up" from "the path to it broke", such as
   * a kept port-mapper registration (lib/epmd/kept-registration.ts).
   */
  get connectionLost(): boolean {
    return this.gone && this.sessionGone()
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.ch.pause()
  }

  private readonly onEnd = (): void => {
    if (this.eofPushed) return
    this.eofPushed = true
    this.push(null)
    this.read(0) // as net.Socket does: with nothing buffered, 'end' is emitted without a reader
  }

  private readonly onClose = (): void => {
    this.gone = true
    this.onEnd()
    const cb = this.finalCb
    this.finalCb = undefined
    cb?.()
    if (this.destroyed) return
    // Let the reader see what arrived and the end first (as a socket does), then close.
    if (this.readableEnded) this.destroy()
    else this.once('end', () => process.nextTick(() => this.destroy()))
  }

  private readonly onError = (err: Error): void => {
    this.destroy(err)
  }

  override _read(): void {
    this.ch.resume()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    if (this.gone) {
      cb() // the peer is gone; what we write now goes nowhere (we close on 'end')
      return
    }
    const sock = this.socket
    sock?.cork()
    const last = chunks.length - 1
    for (let i = 0; i < last; i++) this.ch.write(chunks[i]!.chunk)
    this.ch.write(chunks[last]!.chunk, cb)
    sock?.uncork()
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.gone) {
      cb()
      return
    }
    // Sends EOF once everything written has left (the SSH window may hold some back).
    this.finalCb = cb
    this.ch.end(() => {
      const f = this.finalCb
      this.finalCb = undefined
      f?.()
    })
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const ch = this.ch
    ch.off('data', this.onData)
    ch.off('end', this.onEnd)
    ch.off('error', this.onError)
    ch.off('close', this.onClose)
    ch.on('error', ignore)
    if (!this.gone) {
      ch.close() // CHANNEL_CLOSE: the sshd closes its TCP connection to the target
      ch.resume() // drain, so ssh2 finishes its own bookkeeping
    }
    if (!this.released) {
      this.released = true
      this.release()
    }
    cb(err)
  }
}
