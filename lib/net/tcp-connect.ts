// A plain TCP dial that yields the raw socket: the default way to reach a port mapper, and
// the SSH transport's route when a host needs no tunnel. Neutral ground, so neither the
// port-mapper client nor the transports depend on each other for it.
import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { DialAddress } from '../transport.js'

/** A TCP connection with Nagle off, once connected; rejects with the signal's reason on abort. */
export const tcpConnect = (addr: DialAddress, { signal }: { signal: AbortSignal }): Promise<Duplex> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const socket = net.connect({ host: addr.host, port: addr.port })
    const done = (): void => {
      signal.removeEventListener('abort', onAbort)
      socket.off('error', onError)
      socket.off('connect', onConnect)
    }
    const onAbort = (): void => {
      done()
      socket.destroy()
      reject(signal.reason)
    }
    const onError = (err: Error): void => {
      done()
      reject(err)
    }
    const onConnect = (): void => {
      done()
      socket.setNoDelay(true)
      resolve(socket)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('error', onError)
    socket.once('connect', onConnect)
  })
