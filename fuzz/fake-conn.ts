// A Conn over an in-memory Duplex for the stream-driven targets: the target hands the code
// under test a peer's bytes by emitting 'data' on it (synchronously, like a socket's read
// callback), or through readInto; what the code writes back is discarded.
import { Duplex } from 'node:stream'
import type { Conn, ReadSink } from '../lib/transport.js'

class SinkStream extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    cb()
  }
}

export interface FakeConn extends Conn {
  /** Deliver bytes as the socket would. */
  feed(chunk: Buffer): void
  /** The peer closed its side. */
  end(): void
}

/**
 * `erlangHandshakeFraming`: as a tls Conn says (4: OTP's inet_tls).
 * `readInto`: the Conn offers readInto (as a tcp socket does); once the code under test attaches,
 * feed() copies each chunk into the buffers it picks, read by read, as a socket's onread would.
 */
export function fakeConn(opts: { readInto?: boolean; erlangHandshakeFraming?: 2 | 4 } = {}): FakeConn {
  const stream = new SinkStream()
  stream.on('error', () => {})
  let sink: ReadSink | undefined
  return {
    stream,
    transport: 'fuzz',
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    encrypted: false,
    readInto: opts.readInto === true ? { attach: s => (sink = s) } : undefined,
    erlangHandshakeFraming: opts.erlangHandshakeFraming,
    close() {},
    destroy() {},
    feed: chunk => {
      if (sink === undefined) {
        stream.emit('data', chunk)
        return
      }
      for (let off = 0; off < chunk.length;) {
        const b = sink.buffer()
        const n = Math.min(b.length, chunk.length - off)
        chunk.copy(b, 0, off, off + n)
        sink.read(n, b)
        off += n
      }
    },
    end: () => {
      stream.emit('end')
    },
  }
}
