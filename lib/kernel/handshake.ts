// Connection setup, the native handshake: transport- and authenticator-agnostic. The messages
// (docs/protocol.md, "Connection setup"):
//   initiator → { t: 'hello', v, vmax, name, to, hidden, long, creation }
//   responder → { t: 'status', s: 'ok', name, hidden, creation, v }   or s: a refusal, then close
//     (v, vmax: the range of protocol versions the dialler speaks; the 'ok' names the one both
//     speak: versions.ts)
//     or, when the responder still has a connection up to that node (same creation), it asks
//     whether that connection is stale (OTP's 'alive' status):
//   responder → { t: 'status', s: 'up' }
//   initiator → { t: 'up', replace }   true: it really has no connection (it lost it, or
//               disconnected and the close has not reached the responder yet): the responder
//               answers 'ok' and, once the peer has authenticated, drops the old connection;
//               false: give up.
//   both      ← the Authenticator runs over the channel ({ t: 'a', m } messages)
//   responder → { t: 'go' }   it has taken the connection (or a status refusal, then close)
//   initiator → { t: 'ready' }   and the connection is up on both sides
//
// What to answer is not decided here: each step that needs a decision is an event for the
// setup machine (setup-machine.ts) through deps.setup — 'hello', 'alive_answered',
// 'authenticated' on the responder, 'alive_asked' on the initiator — and this file sends what
// the verdict says. Nothing the peer says before it has authenticated changes the node: the
// machine changes its table only on 'authenticated', before 'go'.
import type { Conn } from '../transport.js'
import type { Authenticator, AuthContext, AuthResult, CookieStore } from '../authenticator.js'
import type { Codec } from '../terms/codec.js'
import type { Clock } from '../clock.js'
import type { FrameDecoder } from '../terms/frame-decoder.js'
import { FramedChannel, refusalError } from './handshake-channel.js'
import type { SetupEvent, Verdict } from './setup-machine.js'
import { HELLO_VERSIONS, agreeVersion, agreedVersion } from './versions.js'
import { HandshakeError, NodeNameError } from '../errors.js'
import { fullNameProblem, preview } from '../node-name.js'

/** The events a handshake gives the setup machine (the kernel adds the dial's setup number). */
export type HandshakeEvent =
  Extract<SetupEvent, { e: 'hello' | 'alive_answered' | 'authenticated' }> | { readonly e: 'alive_asked'; readonly node: string }

export interface HandshakeDeps {
  localName: string
  hidden: boolean
  longNames: boolean
  creation: number
  codec: Codec
  auth: Authenticator
  cookies: CookieStore
  stepTimeout: number
  /** The step deadlines' timers; the system clock when absent (hand-made deps). */
  clock?: Clock
  /** Responder: may this peer connect at all? */
  allowNode(name: string, info: { address: string; hidden: boolean }): boolean | Promise<boolean>
  /**
   * The setup machine's verdict on a step of the handshake (setup-machine.ts). Without it (a
   * hand-made initiator) every step is accepted and the 'alive' question is answered false.
   */
  setup?(ev: HandshakeEvent): Verdict
  /** Responder, once the hello's name is known to be legal: slow down a failing claimer. */
  throttle?(name: string, signal: AbortSignal): Promise<void>
  /**
   * Responder: the claimed name passed the first checks (native: legal, the version and name
   * form, addressed to us; Erlang/OTP: legal) and names the peer in reports from now on.
   */
  named?(name: string): void
  /** Erlang/OTP responder: take OTP handshakes (the node option `erlang`); else they are answered not_allowed. */
  erlang?: boolean
  /** Erlang/OTP responder: is a dial of ours to `node` under way (OTP then answers ok_simultaneous)? */
  dialling?(node: string): boolean
  /** @internal Tests: the distribution flags offered to OTP peers instead of DFLAGS_OFFERED. */
  otpFlags?: bigint
  /** @internal Tests: the hello's versions instead of HELLO_VERSIONS (a version-4 node sends `{ v: 4 }`). */
  helloVersions?: { v: number; vmax?: number }
  /**
   * Hidden toward Erlang/OTP peers (no DFLAG_PUBLISHED): a node not hidden is published only
   * when its global name server runs (node.ts); default `hidden`.
   */
  otpHidden?: boolean
}

/** The setup machine's verdict on a handshake event (every step accepted when there is no machine). */
export function verdict(d: HandshakeDeps, ev: HandshakeEvent): Verdict {
  if (d.setup !== undefined) return d.setup(ev)
  return ev.e === 'alive_asked' ? { a: 'answer_alive', node: ev.node, replace: false } : { a: 'accept', node: ev.node }
}

export interface Established {
  peer: string
  hidden: boolean
  creation: number
  conn: Conn
  decoder: FrameDecoder
  /** Distribution frames that arrived behind the last handshake message. */
  leftover: Buffer[]
  auth: AuthResult
  /** 'erlang': the peer is an Erlang/OTP node (otp/otp-handshake.ts); absent: netkernel's own protocol. */
  protocol?: 'erlang'
  /** Erlang/OTP: the distribution flags the connection uses (ours and the peer's). */
  flags?: bigint
  /** netkernel's protocol: the version both nodes speak (versions.ts). */
  version?: number
}

function authContext(d: HandshakeDeps, conn: Conn, peerName: string, role: AuthContext['role'], signal: AbortSignal): AuthContext {
  return { localName: d.localName, peerName, role, conn, cookies: d.cookies, signal }
}

/** A hello (or OTP name message) from `address` claimed `local`, the name of the node it reached. */
export function ownNameError(local: string, address: string): HandshakeError {
  return new HandshakeError(
    'ERR_HANDSHAKE',
    `${local}: the connection from ${address} claims to be ${local}, this node's own name: refused (two nodes share a name, or a forgery)`,
  )
}

/** The dialling side. Rejects with a NetkernelError naming both nodes. */
export async function initiateHandshake(d: HandshakeDeps, conn: Conn, peer: string, signal: AbortSignal): Promise<Established> {
  const ch = new FramedChannel(conn, d.codec, peer, d.stepTimeout, signal, d.clock, 'initiator')
  try {
    const { v, vmax } = d.helloVersions ?? HELLO_VERSIONS
    ch.send({
      t: 'hello',
      v,
      ...(vmax === undefined ? {} : { vmax }),
      name: d.localName,
      to: peer,
      hidden: d.hidden,
      long: d.longNames,
      creation: d.creation,
    })
    let st = await ch.receive()
    if (st.t === 'status' && st.s === 'up') {
      // The peer still holds a connection to us that we no longer have: say whether we want
      // it replaced (OTP's recv_status 'alive' → send_status true/false).
      const answer = verdict(d, { e: 'alive_asked', node: peer })
      const replace = answer.a === 'answer_alive' && answer.replace
      ch.send({ t: 'up', replace })
      if (!replace) throw refusalError('alive', d.localName, peer, `said ${peer}`)
      st = await ch.receive()
    }
    if (st.t !== 'status' || typeof st.s !== 'string')
      throw new HandshakeError('ERR_HANDSHAKE', `${peer} answered the hello with something else than a status`)
    if (st.s !== 'ok') throw refusalError(st.s, d.localName, peer, `said ${peer}`)
    const bad = fullNameProblem(st.name, d.longNames)
    if (bad !== undefined)
      throw new NodeNameError(st.name, bad, `dialled ${peer} but it answered with an illegal node name ${preview(st.name)}: ${bad}`)
    if (st.name !== peer) throw new HandshakeError('ERR_WRONG_NODE', `dialled ${peer} but ${String(st.name)} answered`)
    const version = agreedVersion(st.v, v, vmax ?? v)
    if (version === undefined) {
      throw new HandshakeError(
        'ERR_INCOMPATIBLE',
        `${peer} answered with protocol version ${preview(st.v)}, which ${d.localName} did not offer (${v} to ${vmax ?? v})`,
      )
    }
    const auth = await d.auth.initiate(ch.authView(), authContext(d, conn, peer, 'initiator', signal))
    if (auth.peerName !== peer) throw new HandshakeError('ERR_WRONG_NODE', `authenticator reports ${auth.peerName}, dialled ${peer}`)
    const go = await ch.receive()
    if (go.t === 'status' && typeof go.s === 'string') throw refusalError(go.s, d.localName, peer, `said ${peer} after authentication`)
    if (go.t !== 'go') throw new HandshakeError('ERR_HANDSHAKE', `${peer} did not confirm the connection after authentication`)
    ch.send({ t: 'ready' })
    ch.keepRaw()
    const leftover = ch.detach()
    return { peer, hidden: st.hidden === true, creation: Number(st.creation) >>> 0, conn, decoder: ch.decoder, leftover, auth, version }
  } catch (err) {
    ch.detach()
    throw err
  }
}

/** The accepting side. Rejects with a NetkernelError; the caller closes the Conn. */
export async function respondHandshake(d: HandshakeDeps, conn: Conn, signal: AbortSignal): Promise<Established> {
  const address = `${conn.remoteAddress}:${conn.remotePort}`
  const ch = new FramedChannel(conn, d.codec, address, d.stepTimeout, signal, d.clock)
  const refuse = (s: string, peer: string): never => {
    ch.send({ t: 'status', s })
    throw refusalError(s, d.localName, peer, `from ${address}`)
  }
  try {
    const hello = await ch.receive()
    if (hello.t !== 'hello') throw new HandshakeError('ERR_HANDSHAKE', `${address} did not start with a hello`)
    // The names first: nothing else is looked at, logged or compared before they are legal.
    // (The peer's name in the form it says it uses: a form unlike ours is refused just below.)
    for (const [field, value, long] of [
      ['name', hello.name, hello.long === true],
      ['to', hello.to, undefined],
    ] as const) {
      const bad = fullNameProblem(value, long)
      if (bad !== undefined) {
        ch.send({ t: 'status', s: 'bad_name' })
        throw new NodeNameError(value, bad, `${address} sent a hello with an illegal ${field} ${preview(value)}: ${bad}`)
      }
    }
    const peer = hello.name as string
    ch.peer = `${peer} (${address})`
    const version = agreeVersion(hello.v, hello.vmax)
    if (version === undefined) refuse('version', peer)
    if ((hello.long === true) !== d.longNames) refuse('name_form', peer)
    if (hello.to !== d.localName) refuse('wrong_node', peer)
    d.named?.(peer)
    if (peer === d.localName) {
      // A peer claiming this node's own name would make the node its own peer: nodeup for
      // itself, and signals "from its own processes" past the dispatcher's check that a peer
      // speaks only for its node. OTP refuses it too (status nok: no connection id for node()).
      ch.send({ t: 'status', s: 'own_name' })
      throw ownNameError(d.localName, address)
    }
    await d.throttle?.(peer, signal)
    const hidden = hello.hidden === true
    const allowed = await d.allowNode(peer, { address: conn.remoteAddress, hidden })
    const creation = Number(hello.creation) >>> 0
    const admission = verdict(d, { e: 'hello', node: peer, creation, allowed })
    const replacing = admission.a === 'ask_alive'
    if (replacing) {
      ch.send({ t: 'status', s: 'up' })
      const reply = await ch.receive()
      const answered = verdict(d, { e: 'alive_answered', node: peer, replace: reply.t === 'up' && reply.replace === true })
      if (answered.a !== 'accept') {
        throw new HandshakeError(
          'ERR_ALREADY_CONNECTED',
          `${d.localName} ← ${peer}: already connected, and ${peer} did not ask to replace the connection (from ${address})`,
        )
      }
    } else if (admission.a === 'refuse') {
      refuse(admission.status, peer)
    }
    ch.send({ t: 'status', s: 'ok', name: d.localName, hidden: d.hidden, creation: d.creation, v: version })
    const auth = await d.auth.respond(ch.authView(), authContext(d, conn, peer, 'responder', signal))
    if (auth.peerName !== peer) throw new HandshakeError('ERR_WRONG_NODE', `authenticator reports ${auth.peerName}, hello said ${peer}`)
    // Proven: only now may the connection change what the node holds.
    const taken = verdict(d, { e: 'authenticated', node: peer, creation, replace: replacing })
    if (taken.a === 'refuse') refuse(taken.status, peer)
    ch.send({ t: 'go' })
    ch.lastMessageNext()
    const ready = await ch.receive()
    if (ready.t !== 'ready') throw new HandshakeError('ERR_HANDSHAKE', `${peer} did not confirm the handshake`)
    const leftover = ch.detach()
    return { peer, hidden, creation, conn, decoder: ch.decoder, leftover, auth, version }
  } catch (err) {
    ch.detach()
    throw err
  }
}
