// A TCP socket whose reads a reader can route into buffers of its choosing (Conn.readInto):
// net.Socket's `onread` option, which makes the socket read into a buffer we give it instead of
// allocating a fresh one per read. Until a reader attaches, each read is copied out and pushed
// to the socket's readable side, so the handshake and anything else reading the stream see
// ordinary 'data' (with the socket's usual backpressure).
//
// A dialled socket takes the option in net.connect. An accepted one cannot (net.Server has no
// such option): the server pauses it on accept, and adopt() moves its handle into a new socket
// made with the option — the way Node's own cluster module hands handles to sockets — and lets
// the old socket go when the new one closes (so the server's connection count stays right).
// Where the handle cannot be moved, the accepted socket is used as it is, without readInto.
//
// A socket a server made and wrapped itself (a TLS server's: node:tls builds the TLSSocket
// from the accepted socket and never passes the option on) gets the routing by routeReads():
// net.Socket keeps the option in three private fields, which it sets here as the option would
// have; where this Node has no such fields, the socket reads as it always did, without readInto.
import { Buffer } from 'node:buffer'
import net from 'node:net'
import type { Socket } from 'node:net'
import type { ReadInto, ReadSink } from '../lib/transport.js'

/** Where reads land before a reader attaches (shared: each read is copied out before the next). */
const STAGING = Buffer.allocUnsafeSlow(64 * 1024)

/** The onread routing of one socket: pass `onread` to the socket, then bind() it. */
export class SocketReads implements ReadInto {
  private socket: Socket | null = null
  private sink: ReadSink | null = null
  readonly onread = {
    buffer: (): Buffer => (this.sink !== null ? this.sink.buffer() : STAGING),
    callback: (n: number, buf: Buffer): boolean => {
      const sink = this.sink
      if (sink !== null) {
        if (buf !== STAGING) sink.read(n, buf)
        else this.handOver(sink, n)
        return true
      }
      // false stops reading until the readable side wants more (as a socket does on its own)
      return this.socket?.push(Buffer.from(buf.subarray(0, n))) ?? false
    },
  }

  /**
   * The first read after attach() landed in the staging buffer, picked before the sink was
   * there: its bytes go to the sink through buffers it picks, as if read into them.
   */
  private handOver(sink: ReadSink, n: number): void {
    for (let off = 0; off < n;) {
      const b = sink.buffer()
      const k = Math.min(b.length, n - off)
      STAGING.copy(b, 0, off, off + k)
      off += k
      sink.read(k, b)
    }
  }

  bind(socket: Socket): void {
    this.socket = socket
  }

  attach(sink: ReadSink): void {
    this.sink = sink
    // Reading may have stopped for backpressure while no one read the stream: start it again
    // (read(0) asks the socket for more without taking or emitting anything).
    this.socket?.read(0)
  }
}

/** The Socket constructor's options this file relies on (`handle` is not in Node's types). */
interface AdoptOptions extends net.SocketConstructorOpts {
  handle: unknown
  onread: SocketReads['onread']
}

/**
 * An accepted socket (from a server with pauseOnConnect) as a socket with readInto, or the
 * socket itself, resumed, when its handle cannot be moved.
 */
export function adopt(accepted: Socket, allowHalfOpen: boolean): { socket: Socket; reads?: SocketReads } {
  const handle = (accepted as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function') {
    accepted.resume()
    return { socket: accepted }
  }
  const reads = new SocketReads()
  const opts: AdoptOptions = { handle, allowHalfOpen, readable: true, writable: true, onread: reads.onread }
  ;(accepted as unknown as { _handle: unknown })._handle = null
  const socket = new net.Socket(opts)
  reads.bind(socket)
  socket.once('close', () => accepted.destroy())
  return { socket, reads }
}

/** net.Socket's private fields for the onread option, found once by their symbols' descriptions. */
interface OnreadFields {
  buffer: symbol
  callback: symbol
  gen: symbol
}
let onreadFields: OnreadFields | null | undefined

function findOnreadFields(): OnreadFields | null {
  const callback = (): boolean => true
  const probe = new net.Socket({ onread: { buffer: () => STAGING, callback } } as net.SocketConstructorOpts)
  const fields = probe as unknown as Record<symbol, unknown>
  const named = (d: string): symbol | undefined => Object.getOwnPropertySymbols(probe).find(s => s.description === d)
  const buffer = named('kBuffer')
  const cb = named('kBufferCb')
  const gen = named('kBufferGen')
  probe.destroy()
  // the fields must hold what the option put there, or they are not what this file takes them for
  if (buffer === undefined || cb === undefined || gen === undefined || fields[cb] !== callback || typeof fields[gen] !== 'function') {
    return null
  }
  return { buffer, callback: cb, gen }
}

/**
 * Route the reads of `socket`, a connected socket made without the onread option (a TLS
 * server's), through a SocketReads from its next read on, as if it had been made with it.
 * Undefined (and the socket untouched) where this Node keeps the option differently.
 */
export function routeReads(socket: Socket): SocketReads | undefined {
  if (onreadFields === undefined) onreadFields = findOnreadFields() // null: looked, not there
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buf: Buffer) => void } | null })._handle
  if (onreadFields === null || handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function') {
    return undefined
  }
  const reads = new SocketReads()
  const fields = socket as unknown as Record<symbol, unknown>
  const first = reads.onread.buffer()
  fields[onreadFields.gen] = reads.onread.buffer
  fields[onreadFields.callback] = reads.onread.callback
  fields[onreadFields.buffer] = first
  handle.useUserBuffer(first)
  reads.bind(socket)
  return reads
}
