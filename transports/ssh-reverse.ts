// Listening through a reachable sshd (reverse / remote forwarding): the sshd listens on
// bindHost:port for us and hands every connection over as a forwarded-tcpip channel. When the
// SSH connection drops, the listener asks again (same port) on a new one until closed.
import type { Conn, Listener } from '../lib/transport.js'
import { abortError, TransportError } from '../lib/errors.js'
import { ChannelStream } from './ssh-channel-stream.js'
import { channelConn } from './ssh-conn.js'
import type { SshSession, TcpConnectionHandler } from './ssh-session.js'
import { formatAddress } from './tcp.js'

export interface ReverseListenOptions {
  /** Gets (or opens) the shared SSH connection to the gateway. */
  session(signal?: AbortSignal): Promise<SshSession>
  /** For messages: `ssh gateway 'relay' (user@host:22)`. */
  what: string
  /** The gateway's own address, reported when bindHost is a wildcard. */
  gatewayHost: string
  bindHost: string
  port: number
  signal?: AbortSignal
  closeTimeout: number
  /** Delay before asking again after the SSH connection dropped (doubles up to 10 s). */
  retryDelay?: number
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '*'])

export async function reverseListen(o: ReverseListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
  const where = formatAddress(o.bindHost, o.port)
  const { signal } = o
  if (signal?.aborted) throw abortError(signal, `listen on ${where} through ${o.what}`)
  let closed = false
  let session: SshSession | undefined
  let stopWatching = (): void => {}
  let retryTimer: NodeJS.Timeout | undefined

  const handler: TcpConnectionHandler = (details, accept, reject) => {
    if (closed || !session) return reject()
    const s = session
    s.acquire()
    const stream = new ChannelStream(accept(), () => s.release(), undefined, s.socket)
    stream.on('error', () => {}) // until the kernel attaches its own (as tcp does)
    onConn(channelConn(stream, details.srcIP, details.srcPort, o.closeTimeout))
  }

  /** Open (or reuse) the SSH connection and ask its sshd to listen on `port`. */
  const bind = async (port: number, sig?: AbortSignal): Promise<number> => {
    let s: SshSession
    try {
      s = await o.session(sig)
    } catch (err) {
      if (sig?.aborted) throw abortError(sig, `listen on ${where} through ${o.what}`)
      throw new TransportError(
        'ERR_LISTEN',
        `cannot listen on ${formatAddress(o.bindHost, port)} through ${o.what}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    let bound: number
    try {
      bound = await s.forwardIn(o.bindHost, port, handler)
    } catch (err) {
      throw new TransportError(
        'ERR_LISTEN',
        `cannot listen on ${formatAddress(o.bindHost, port)} through ${o.what}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    session = s
    stopWatching = s.onGone(() => {
      session = undefined
      if (!closed) scheduleRebind(bound, o.retryDelay ?? 500)
    })
    return bound
  }

  const scheduleRebind = (port: number, delay: number): void => {
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (closed) return
      bind(port).then(
        () => {
          if (closed) void release()
        },
        () => {
          if (!closed) scheduleRebind(port, Math.min(delay * 2, 10_000))
        },
      )
    }, delay)
    retryTimer.unref()
  }

  const release = async (): Promise<void> => {
    stopWatching()
    const s = session
    session = undefined
    if (s) await s.unforwardIn(o.bindHost, address.port)
  }

  const address = { host: WILDCARDS.has(o.bindHost) ? o.gatewayHost : o.bindHost, port: 0 }
  const abortWhileBinding = new AbortController()
  const onAbort = (): void => abortWhileBinding.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    address.port = await bind(o.port, signal ? abortWhileBinding.signal : undefined)
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (signal?.aborted) {
    await release()
    throw abortError(signal, `listen on ${where} through ${o.what}`)
  }

  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    clearTimeout(retryTimer)
    signal?.removeEventListener('abort', onLateAbort)
    await release()
  }
  const onLateAbort = (): void => void close()
  signal?.addEventListener('abort', onLateAbort, { once: true })
  return { address, close }
}
