// The TCP transport: plain, unencrypted byte streams. A factory returning a plain object
// (STYLE.md 1); js-libp2p's transport-tcp is the model for dial cancellation.
import net from 'node:net'
import type { Socket } from 'node:net'
import type { Conn, DialAddress, Listener, ListenOptions, Transport } from '../lib/kernel/strategy.js'
import { abortError, TransportError } from '../lib/errors.js'

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

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

const ignore = (): void => {}

export function tcp(options: TcpOptions = {}): Transport {
  const noDelay = options.noDelay ?? true
  const keepAlive = options.keepAlive ?? false
  const closeTimeout = options.closeTimeout ?? 5000

  function toConn(socket: Socket): Conn {
    // Half-open streams are allowed (allowHalfOpen), so close() only ends our side; the
    // timer destroys a socket whose peer never ends its side.
    let closeTimer: NodeJS.Timeout | undefined
    socket.once('close', () => clearTimeout(closeTimer))
    return {
      stream: socket,
      transport: 'tcp',
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      encrypted: false,
      close() {
        if (socket.destroyed || closeTimer !== undefined) return
        socket.end()
        closeTimer = setTimeout(() => socket.destroy(), closeTimeout).unref()
      },
      destroy(err?: Error) {
        socket.destroy(err)
      },
    }
  }

  async function listen(opts: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    const { host, port, signal } = opts
    const where = formatAddress(host, port)
    if (signal?.aborted) throw abortError(signal, `listen on ${where}`)
    const server = net.createServer({ allowHalfOpen: true, noDelay, keepAlive }, socket => {
      // Until the kernel attaches its own handlers, an 'error' (ECONNRESET) must not crash
      // the process; the socket still emits 'close'.
      socket.on('error', ignore)
      onConn(toConn(socket))
    })

    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        server.off('listening', onListening)
        server.off('error', onError)
        signal?.removeEventListener('abort', onAbort)
      }
      const onListening = (): void => {
        done()
        resolve()
      }
      const onError = (err: Error): void => {
        done()
        server.close()
        reject(new TransportError('ERR_LISTEN', `cannot listen on ${where}: ${err.message}`, { cause: err }))
      }
      const onAbort = (): void => {
        done()
        server.close()
        reject(abortError(signal as AbortSignal, `listen on ${where}`))
      }
      server.once('listening', onListening)
      server.once('error', onError)
      signal?.addEventListener('abort', onAbort, { once: true })
      server.listen({ host, port })
    })

    // Errors after listening (rare: EMFILE on accept) must not crash the process.
    server.on('error', ignore)
    const bound = server.address() as net.AddressInfo
    const address = { host: bound.address, port: bound.port }
    let closed = false
    const close = async (): Promise<void> => {
      if (closed) return
      closed = true
      signal?.removeEventListener('abort', onLateAbort)
      // Stops accepting at once; the callback would wait for every accepted socket to end,
      // and those are left alone (a graceful close), so it is not awaited.
      server.close()
    }
    // Aborting the signal after listen has resolved closes the listener (as net.Server does).
    const onLateAbort = (): void => void close()
    signal?.addEventListener('abort', onLateAbort, { once: true })
    return { address, close }
  }

  function dial(addr: DialAddress, opts: { signal: AbortSignal }): Promise<Conn> {
    const { host, port } = addr
    const { signal } = opts
    const where = formatAddress(host, port)
    if (signal.aborted) return Promise.reject(abortError(signal, `dial ${where}`))
    return new Promise<Conn>((resolve, reject) => {
      const socket = net.connect({ host, port, allowHalfOpen: true, noDelay, keepAlive })
      socket.on('error', ignore) // stays for the Conn's life: see listen()
      const done = (): void => {
        socket.off('connect', onConnect)
        socket.off('error', onError)
        signal.removeEventListener('abort', onAbort)
      }
      const onConnect = (): void => {
        done()
        resolve(toConn(socket))
      }
      const onError = (err: Error): void => {
        done()
        socket.destroy()
        reject(new TransportError('ERR_CONNECT', `cannot connect to ${where}: ${err.message}`, { cause: err }))
      }
      const onAbort = (): void => {
        done()
        socket.destroy()
        reject(abortError(signal, `dial ${where}`))
      }
      socket.once('connect', onConnect)
      socket.once('error', onError)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  return { name: 'tcp', listen, dial }
}
