// The kernel's HandshakeChannel over a Conn: length-prefixed MessagePack frames, each at most
// MAX_HANDSHAKE_FRAME bytes, every receive bounded by a per-step deadline and the setup
// signal. Once the handshake is over the connection takes the socket over, together with
// the frames that arrived behind the last handshake message: those belong to the
// authenticated connection and are read with its frame limit, not the handshake's.
//
// The channel owns its error contract (HandshakeChannel in lib/authenticator.ts), so neither the
// handshake nor an authenticator maps errors of its own: receive() rejects only with a
// NetkernelError — ERR_HANDSHAKE_TIMEOUT (the step deadline, or a setup signal aborted with
// a TimeoutError), ERR_ABORTED (or the setup signal's own NetkernelError reason), a
// refusal's code (the peer refused with a status), ERR_CONNECTION_CLOSED (or the transport's
// own NetkernelError), ERR_HANDSHAKE (garbled or out-of-step data) — and send() never
// throws once the channel is gone: the write is dropped and the next receive says why.
import type { Conn } from '../transport.js'
import type { HandshakeChannel, HandshakeMessage } from '../authenticator.js'
import type { Codec } from '../terms/codec.js'
import { FrameDecoder } from '../terms/frame-decoder.js'
import { HandshakeError, type NetkernelError, errorFor, type ErrorCode } from '../errors.js'
import { MAX_HANDSHAKE_FRAME } from './frames.js'
import { MAX_PEER_FRAME } from './fragments.js'
import { systemClock, type Clock } from '../clock.js'
import { HandshakeInbox } from './handshake-inbox.js'

/** Refusals a responder can answer with ({ t: 'status', s }), and the error each becomes on both sides. */
const REFUSALS: Record<string, { code: ErrorCode; text: string }> = {
  nok: { code: 'ERR_ALREADY_CONNECTED', text: 'a simultaneous connection from the other side won' },
  alive: { code: 'ERR_ALREADY_CONNECTED', text: 'already connected' },
  not_allowed: { code: 'ERR_NOT_ALLOWED', text: 'refused by policy.allowNode' },
  name_form: { code: 'ERR_NAME_FORM', text: 'short-name and long-name nodes cannot connect (one uses longNames: true, the other not)' },
  wrong_node: { code: 'ERR_WRONG_NODE', text: 'the node listening there is not the node that was dialled' },
  bad_name: { code: 'ERR_BAD_NODE_NAME', text: 'the hello names an illegal node' },
  version: { code: 'ERR_INCOMPATIBLE', text: 'incompatible protocol version' },
  own_name: { code: 'ERR_HANDSHAKE', text: 'the hello claims the name of the node it reached (two nodes share a name, or a forgery)' },
}

function refusal(s: string): { code: ErrorCode; text: string } {
  // Own keys only: a peer's status may be named like an Object.prototype member.
  return Object.hasOwn(REFUSALS, s) ? REFUSALS[s]! : { code: 'ERR_HANDSHAKE', text: `refused (${s})` }
}

/** The error a refusal status `s` becomes, naming both nodes and the side that said it. */
export function refusalError(s: string, local: string, peer: string, side: string): NetkernelError {
  const r = refusal(s)
  return errorFor(r.code, `${local} → ${peer}: ${r.text} (${side})`)
}

export { handshakeAbortError } from './handshake-inbox.js'

export class FramedChannel {
  readonly decoder = new FrameDecoder({ maxFrameSize: MAX_HANDSHAKE_FRAME })
  private readonly inbox: HandshakeInbox<HandshakeMessage>
  /** Once set, frames are kept raw for the connection instead of decoded. */
  private raw: Buffer[] | undefined
  /** The next message is the handshake's last: what follows it belongs to the connection. */
  private lastNext = false

  constructor(
    readonly conn: Conn,
    private readonly codec: Codec,
    /** Used in messages: the peer's name or address. */
    public peer: string,
    stepTimeout: number,
    signal: AbortSignal,
    /** The step deadline's timer: the node's clock. */
    clock: Clock = systemClock,
    /** 'initiator': this node dialled; its errors then name the peer's address too. */
    private readonly role: 'initiator' | 'responder' = 'responder',
  ) {
    this.inbox = new HandshakeInbox(
      conn,
      () => this.peer,
      chunk => this.push(chunk),
      stepTimeout,
      signal,
      clock,
      role === 'initiator',
      () => this.who(),
    )
  }

  /** The peer as messages name it: a dialled node's name gains its address. */
  private who(): string {
    return this.role === 'initiator' ? `${this.peer} (${this.conn.remoteAddress}:${this.conn.remotePort})` : this.peer
  }

  /** Dropped once the channel is gone (closed, failed, detached): the next receive says why. */
  send(msg: HandshakeMessage): void {
    const s = this.conn.stream
    if (!this.inbox.open || s.destroyed || s.writableEnded) return
    s.write(this.codec.encodeFrame(msg))
  }

  receive(opts?: { signal?: AbortSignal }): Promise<HandshakeMessage> {
    return this.inbox.receive(opts?.signal)
  }

  /**
   * From now on keep frames raw (the peer may send distribution frames next), read with the
   * connection's frame limit. Only once the peer has authenticated.
   */
  keepRaw(): void {
    this.raw ??= []
    // Frames that arrive with the last handshake message are the peer's first distribution
    // frames: up to a fragment's size, not a handshake message's.
    this.decoder.maxFrameSize = Math.max(this.decoder.maxFrameSize, MAX_PEER_FRAME)
  }

  /**
   * The peer has authenticated and its next message ends the handshake: frames behind it
   * (in the same read, say) are the connection's. A peer that sent more than that one
   * message ahead broke the protocol.
   */
  lastMessageNext(): void {
    const queue = this.inbox.queue
    if (queue.length > 1) {
      queue.length = 0
      this.inbox.fail(new HandshakeError('ERR_HANDSHAKE', `${this.peer} sent frames before the handshake ended`))
      return
    }
    if (queue.length === 1) this.keepRaw()
    else this.lastNext = true
  }

  /** Stop listening; return the raw frames received after keepRaw(). */
  detach(): Buffer[] {
    this.inbox.detach()
    const rest = this.raw ?? []
    this.raw = []
    return rest
  }

  /**
   * A view for authenticators: their messages travel wrapped as { t: 'a', m }. A status
   * refusal from the peer rejects with the refusal's error; anything else unwrapped is
   * ERR_HANDSHAKE.
   */
  authView(): HandshakeChannel {
    return {
      send: msg => this.send({ t: 'a', m: msg }),
      receive: async opts => {
        const msg = await this.receive(opts)
        if (msg.t === 'a' && msg.m !== null && typeof msg.m === 'object' && !Array.isArray(msg.m)) {
          return msg.m as HandshakeMessage
        }
        if (msg.t === 'status' && typeof msg.s === 'string' && msg.s !== 'ok' && msg.s !== 'up') {
          const r = refusal(msg.s)
          throw errorFor(r.code, `${this.peer} refused the connection during authentication: ${r.text}`)
        }
        if (msg.t === 'refused') throw new HandshakeError('ERR_HANDSHAKE', `${this.peer} ended the handshake`)
        throw new HandshakeError('ERR_HANDSHAKE', `unexpected handshake message from ${this.peer} during authentication`)
      },
    }
  }

  private push(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, body => {
        if (this.raw) {
          this.raw.push(body)
          return
        }
        const msg = this.decodeMessage(body)
        // Raising the limit here, inside this push, applies to the rest of this chunk too.
        if (this.lastNext) this.keepRaw()
        this.inbox.deliver(msg)
      })
    } catch (err) {
      // Garbled: undecodable bytes or a frame over the handshake's limit (the codec's error is the cause).
      this.fail(
        err instanceof HandshakeError
          ? err
          : new HandshakeError('ERR_HANDSHAKE', `bad handshake data from ${this.peer}: ${(err as Error).message}`, { cause: err }),
      )
      this.conn.destroy()
    }
  }

  private decodeMessage(body: Buffer): HandshakeMessage {
    if (body.length === 0) throw new HandshakeError('ERR_HANDSHAKE', `tick from ${this.peer} before the handshake ended`)
    const msg = this.codec.decode(body)
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || msg instanceof Map) {
      throw new HandshakeError('ERR_HANDSHAKE', `${this.peer} sent a frame that is not a handshake message`)
    }
    return msg as HandshakeMessage
  }

  private fail(err: Error): void {
    this.inbox.fail(err)
  }
}
