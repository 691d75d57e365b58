// The socket plumbing tcp.ts and tls.ts share: building a Conn on a net.Socket, binding a
// server with abort handling and ERR_LISTEN mapping, and wiring a dialling socket's events
// to its abort signal. Plain functions; each transport keeps its own specifics
// (TLS verification, the verdict exchange) in its file.
import type net from 'node:net'
import type { Socket } from 'node:net'
import type { Conn, Listener, ListenOptions } from '../lib/transport.js'
import { abortError, TransportError } from '../lib/errors.js'

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** An 'error' listener that keeps an unhandled socket or server error from crashing the process. */
export const ignore = (): void => {}

/** What a Conn says beyond the socket itself. */
export interface ConnFields {
  transport: string
  encrypted: boolean
  peerCertificate?: Conn['peerCertificate']
  readInto?: Conn['readInto']
  erlangHandshakeFraming?: Conn['erlangHandshakeFraming']
}

/**
 * A Conn on `socket`. Half-open streams are allowed (allowHalfOpen), so close() only ends our
 * side; a timer destroys the socket when the peer has not ended its side within closeTimeout ms.
 */
export function socketConn(socket: Socket, closeTimeout: number, fields: ConnFields): Conn {
  let closeTimer: NodeJS.Timeout | undefined
  socket.once('close', () => clearTimeout(closeTimer))
  return {
    stream: socket,
    // A socket is done with a buffer once its write's callback ran: the kernel (or TLS) copied it.
    copiesWrites: true,
    ...fields,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
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

/**
 * Start `server` listening on opts' host and port. Rejects with ERR_LISTEN when it cannot, or
 * with the abort error when opts.signal aborts first; aborting the signal later closes the
 * listener (as net.Server does). The caller checks signal.aborted before creating the server.
 */
export async function listenServer(server: net.Server, opts: ListenOptions): Promise<Listener> {
  const { host, port, signal } = opts
  const where = formatAddress(host, port)
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
  const onLateAbort = (): void => void close()
  signal?.addEventListener('abort', onLateAbort, { once: true })
  return { address, close }
}

/**
 * Wire a dialling socket: each handler in `events` listens once for its event, and the
 * signal's abort destroys the socket and rejects with the abort error for `dial ${where}`.
 * Returns done(), which removes all of them; every handler that settles the dial calls it
 * first. The caller checks signal.aborted before connecting.
 */
export function watchDial(
  socket: Socket,
  signal: AbortSignal,
  where: string,
  reject: (err: Error) => void,
  events: Record<string, (...args: never[]) => void>,
): () => void {
  const handlers = Object.entries(events) as [string, (...args: unknown[]) => void][]
  const done = (): void => {
    for (const [event, handler] of handlers) socket.off(event, handler)
    signal.removeEventListener('abort', onAbort)
  }
  const onAbort = (): void => {
    done()
    socket.destroy()
    reject(abortError(signal, `dial ${where}`))
  }
  for (const [event, handler] of handlers) socket.once(event, handler)
  signal.addEventListener('abort', onAbort, { once: true })
  return done
}
