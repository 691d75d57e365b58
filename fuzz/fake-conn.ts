// A Conn over an in-memory Duplex for the stream-driven targets: the target hands the code
// under test a peer's bytes by emitting 'data' on it (synchronously, like a socket's read
// callback); what the code writes back is discarded.
import { Duplex } from 'node:stream'
import type { Conn } from '../lib/transport.js'

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

export function fakeConn(): FakeConn {
  const stream = new SinkStream()
  stream.on('error', () => {})
  return {
    stream,
    transport: 'fuzz',
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    encrypted: false,
    close() {},
    destroy() {},
    feed: chunk => {
      stream.emit('data', chunk)
    },
    end: () => {
      stream.emit('end')
    },
  }
}
