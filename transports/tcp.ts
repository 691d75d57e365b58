// The TCP transport: plain, unencrypted byte streams. A factory returning a plain object;
// js-libp2p's transport-tcp is the model for dial cancellation.
import net from 'node:net'
import type { Socket } from 'node:net'
import type { Conn, DialAddress, Listener, ListenOptions, Transport } from '../lib/transport.js'
import { abortError, TransportError } from '../lib/errors.js'
import { formatAddress, ignore, listenServer, socketConn, watchDial } from './socket-common.js'
import { SocketReads, adopt } from './socket-reads.js'

export { formatAddress }

export interface TcpOptions {
  /** Disable Nagle's algorithm on every socket (default true: the kernel coalesces writes). */
  noDelay?: boolean
  /** Enable TCP keep-alive probes on every socket (default false: the kernel sends ticks). */
  keepAlive?: boolean
  /**
   * After close() has sent our FIN, how long to wait for the peer to end its side before the
   * socket is destroyed (ms, default 5000), so a silent peer cannot keep it half-open forever.
   */
  closeTimeout?: number
}

export function tcp(options: TcpOptions = {}): Transport {
  const noDelay = options.noDelay ?? true
  const keepAlive = options.keepAlive ?? false
  const closeTimeout = options.closeTimeout ?? 5000

  // Every socket reads into buffers the kernel picks once it attaches (socket-reads.ts).
  const toConn = (socket: Socket, reads?: SocketReads): Conn =>
    socketConn(socket, closeTimeout, { transport: 'tcp', encrypted: false, readInto: reads })

  async function listen(opts: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    const { host, port, signal } = opts
    const where = formatAddress(host, port)
    if (signal?.aborted) throw abortError(signal, `listen on ${where}`)
    const server = net.createServer({ allowHalfOpen: true, noDelay, keepAlive, pauseOnConnect: true }, accepted => {
      accepted.on('error', ignore)
      const { socket, reads } = adopt(accepted, true)
      // Until the kernel attaches its own handlers, an 'error' (ECONNRESET) must not crash
      // the process; the socket still emits 'close'.
      socket.on('error', ignore)
      onConn(toConn(socket, reads))
    })
    return listenServer(server, opts)
  }

  function dial(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Conn> {
    const { host, port } = addr
    const { signal } = opts
    const where = formatAddress(host, port)
    if (signal.aborted) return Promise.reject(abortError(signal, `dial ${where}`))
    return new Promise<Conn>((resolve, reject) => {
      const reads = new SocketReads()
      const socket = net.connect({ host, port, allowHalfOpen: true, noDelay, keepAlive, onread: reads.onread })
      reads.bind(socket)
      socket.on('error', ignore) // stays for the Conn's life: see listen()
      const done = watchDial(socket, signal, where, reject, {
        connect: () => {
          done()
          resolve(toConn(socket, reads))
        },
        error: (err: Error) => {
          done()
          socket.destroy()
          reject(new TransportError('ERR_CONNECT', `cannot connect to ${where}: ${err.message}`, { cause: err }))
        },
      })
    })
  }

  return { name: 'tcp', listen, dial }
}
