// Authenticator sessions over the kernel's real handshake channel, for the Authenticator
// compliance suite: a connection on loopback (tcp, or each side's own transport),
// length-prefixed MessagePack frames, per-step deadlines — what a node runs.
import { Buffer } from 'node:buffer'
import { tcp } from '../../transports/tcp.js'
import { createCodec } from '../terms/codec.js'
import { FramedChannel } from '../kernel/handshake-channel.js'
import type { Conn, Transport } from '../transport.js'
import type { Authenticator, CookieStore, HandshakeMessage } from '../authenticator.js'
import { NetkernelError, abortError } from '../errors.js'
import type { AuthSession, ChannelFaults, SessionSide, SuiteChannel, TranscriptEntry } from './authenticator.js'
import type { Clock } from '../clock.js'

/** One node of a session. */
export interface SessionNode {
  /** Its full node name ('a@host'). */
  name: string
  /** Its cookies (ctx.cookies). Default: a store that throws, for authenticators that use none. */
  cookies?: CookieStore
  /** The transport it dials or listens with (default tcp()). */
  transport?: Transport
  /** The authenticator it runs in this session (default: the suite fixture's a or b). */
  auth?: Authenticator
}

export interface HandshakeSessionOptions {
  /** The address to listen on and dial (default '127.0.0.1'). */
  host?: string
  /** The per-step deadline of each receive, in ms (default 2000). */
  stepTimeout?: number
  /** The step deadlines' timers (default: the system clock). */
  clock?: Clock
  /** Bounds the connection's setup (default: 5 s). */
  signal?: AbortSignal
}

function recorded(ch: FramedChannel): SuiteChannel {
  const view = ch.authView()
  const transcript: TranscriptEntry[] = []
  return {
    transcript,
    send(msg: HandshakeMessage) {
      transcript.push({ dir: 'out', msg })
      view.send(msg)
    },
    async receive(opts) {
      const msg = await view.receive(opts)
      transcript.push({ dir: 'in', msg })
      return msg
    },
  }
}

function noCookies(node: string): CookieStore {
  return {
    cookieFor() {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `handshakeSession: no cookies were given for ${node}`)
    },
  }
}

/** The first Conn `listen` hands over, or the signal's abort. */
function firstConn(signal: AbortSignal): { onConn(c: Conn): void; conn: Promise<Conn> } {
  let onConn!: (c: Conn) => void
  const conn = new Promise<Conn>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, 'handshakeSession: waiting for the accepted connection'))
    signal.addEventListener('abort', onAbort, { once: true })
    onConn = c => {
      signal.removeEventListener('abort', onAbort)
      resolve(c)
    }
  })
  conn.catch(() => {}) // observed by the caller; no unhandled rejection if the dial fails first
  return { onConn: c => onConn(c), conn }
}

/**
 * A fresh session between `dialler` (initiator) and `acceptor` (responder): the acceptor
 * listens on a free port, the dialler dials it, and each side gets the kernel's handshake
 * channel over its Conn, recording a transcript. close() releases the sockets and listener.
 */
export async function handshakeSession(
  dialler: SessionNode,
  acceptor: SessionNode,
  opts: HandshakeSessionOptions = {},
): Promise<AuthSession> {
  const signal = opts.signal ?? AbortSignal.timeout(5000)
  const inbound = firstConn(signal)
  const listener = await (acceptor.transport ?? tcp()).listen({ host: opts.host ?? '127.0.0.1', port: 0 }, c => inbound.onConn(c))
  let dialled: Conn | undefined
  let answered: Conn
  try {
    dialled = await (dialler.transport ?? tcp()).dial(listener.address, { signal })
    answered = await inbound.conn
  } catch (err) {
    dialled?.destroy()
    void inbound.conn.then(
      c => c.destroy(),
      () => {},
    )
    await listener.close()
    throw err
  }
  const life = new AbortController()
  const codec = createCodec()
  const stepTimeout = opts.stepTimeout ?? 2000
  const ich = new FramedChannel(dialled, codec, acceptor.name, stepTimeout, life.signal, opts.clock)
  const rch = new FramedChannel(answered, codec, dialler.name, stepTimeout, life.signal, opts.clock)
  const side = (self: SessionNode, peer: SessionNode, role: 'initiator' | 'responder', ch: FramedChannel): SessionSide => ({
    ch: recorded(ch),
    ctx: { localName: self.name, peerName: peer.name, role, conn: ch.conn, cookies: self.cookies ?? noCookies(self.name) },
    ...(self.auth && { auth: self.auth }),
  })
  return {
    initiator: side(dialler, acceptor, 'initiator', ich),
    responder: side(acceptor, dialler, 'responder', rch),
    close: async () => {
      life.abort()
      ich.detach()
      rch.detach()
      dialled.destroy()
      answered.destroy()
      await listener.close()
    },
  }
}

/**
 * Breaking a handshakeSession() from the other side, for the channel contract cases
 * (authenticatorCompliance's `faults`): the peer's Conn is destroyed, or writes bytes that
 * are no frame.
 */
export const kernelFaults: ChannelFaults = {
  closePeer: (s, role) => peerOf(s, role).ctx.conn.destroy(),
  // A 3-byte frame of 0xc1, a byte MessagePack never uses.
  garble: (s, role) => void peerOf(s, role).ctx.conn.stream.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1])),
}

/** The side facing `role` in `s`. */
function peerOf(s: AuthSession, role: 'initiator' | 'responder'): SessionSide {
  return s[role === 'initiator' ? 'responder' : 'initiator']
}
