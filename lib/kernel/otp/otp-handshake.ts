// Connection setup with an Erlang/OTP node: OTP's distribution handshake, version 6 (OTP 23+;
// erl_dist_protocol, dist_util.erl), over 2-byte length frames (otp-channel.ts). The messages:
//
//   dialler   → 'N' Flags:64 Creation:32 NameLen:16 Name
//               (an OTP 23/24 node that skipped epmd may send the old 'n' Version:16 Flags:32 Name)
//   responder → 's' Status   ok | ok_simultaneous | nok | not_allowed | alive
//               (alive: the responder still holds a connection to the dialler, which answers
//               's' true (it has none: replace it) or 's' false (give up))
//   responder → 'N' Flags:64 Challenge:32 Creation:32 NameLen:16 Name
//   dialler   → ('c' FlagsHigh:32 Creation:32, only after an old 'n')
//   dialler   → 'r' Challenge:32 Digest:16      Digest = MD5(Cookie ++ decimal(responder's challenge))
//   responder → 'a' Digest:16                   Digest = MD5(Cookie ++ decimal(dialler's challenge))
//
// and then both sides switch to 4-byte length frames (an empty one is a tick).
//
// The cookie scheme is OTP's, not netkernel's: an MD5 digest over the cookie and a 32-bit
// challenge. A passive eavesdropper who records one handshake can test cookie guesses offline
// against it, and nothing is encrypted afterwards. netkernel's own handshake proves the cookie
// with CPace (docs/protocol.md), which gives an eavesdropper nothing to test guesses against.
// This scheme is used only toward Erlang/OTP peers, only on a node started with `erlang: true`.
//
// As in the native handshake (handshake.ts), what to answer is the setup machine's: 'hello',
// 'alive_answered' and 'authenticated' on the responder, 'alive_asked' on the dialler, through
// deps.setup. Nothing the peer says before its challenge reply has proven the cookie changes
// what the node holds. The flags: ours are DFLAGS_OFFERED, with PUBLISHED when the node is
// visible toward OTP (not hidden, its global name server running: docs/global.md); the
// connection is visible when both ends are published. A peer lacking one of OTP 25's mandatory flags is refused (responder: status
// not_allowed) or given up on (dialler), naming the flags as OTP's log does.
import { Buffer } from 'node:buffer'
import { createHash, randomInt, timingSafeEqual } from 'node:crypto'
import type { Conn } from '../../transport.js'
import type { Established, HandshakeDeps } from '../handshake.js'
import { ownNameError, verdict } from '../handshake.js'
import { refusalError } from '../handshake-channel.js'
import { OtpChannel } from './otp-channel.js'
import { DFLAG, DFLAGS_OFFERED, missingFlags, negotiate, otpFlagList } from './flags.js'
import { AuthError, HandshakeError, type NetkernelError, NodeNameError } from '../../errors.js'
import { fullNameProblem, preview } from '../../node-name.js'

const TAG_N = 0x4e // 'N'
const TAG_OLD_N = 0x6e // 'n'
const TAG_S = 0x73 // 's'
const TAG_C = 0x63 // 'c'
const TAG_R = 0x72 // 'r'
const TAG_A = 0x61 // 'a'

/** A 32-bit unsigned challenge. */
function challenge(): number {
  return randomInt(0, 2 ** 32)
}

/**
 * OTP's digest: MD5 over the cookie (an atom's characters, so latin1 bytes) followed by the
 * challenge as unsigned decimal text (integer_to_list).
 */
export function otpDigest(challengeValue: number, cookie: string): Buffer {
  const latin1 = [...cookie].every(ch => ch.codePointAt(0)! <= 0xff)
  return createHash('md5')
    .update(Buffer.from(cookie, latin1 ? 'latin1' : 'utf8'))
    .update(String(challengeValue >>> 0))
    .digest()
}

function nameBytes(name: string): Buffer {
  return Buffer.from(name, 'latin1')
}

/** 'N' Flags:64 Creation:32 NameLen:16 Name (the dialler's name message). */
export function otpNameMessage(flags: bigint, creation: number, name: string): Buffer {
  const n = nameBytes(name)
  const b = Buffer.allocUnsafe(15 + n.length)
  b[0] = TAG_N
  b.writeBigUInt64BE(flags, 1)
  b.writeUInt32BE(creation >>> 0, 9)
  b.writeUInt16BE(n.length, 13)
  n.copy(b, 15)
  return b
}

/** 'N' Flags:64 Challenge:32 Creation:32 NameLen:16 Name (the responder's challenge). */
export function otpChallengeMessage(flags: bigint, challengeValue: number, creation: number, name: string): Buffer {
  const n = nameBytes(name)
  const b = Buffer.allocUnsafe(19 + n.length)
  b[0] = TAG_N
  b.writeBigUInt64BE(flags, 1)
  b.writeUInt32BE(challengeValue >>> 0, 9)
  b.writeUInt32BE(creation >>> 0, 13)
  b.writeUInt16BE(n.length, 17)
  n.copy(b, 19)
  return b
}

function statusMessage(status: string): Buffer {
  return Buffer.concat([Buffer.of(TAG_S), Buffer.from(status, 'latin1')])
}

function statusOf(body: Buffer): string | undefined {
  return body[0] === TAG_S ? body.toString('latin1', 1, Math.min(body.length, 65)) : undefined
}

interface NameMessage {
  name: string
  flags: bigint
  /** Absent for the old 'n' message (it comes in the 'c' complement). */
  creation: number | undefined
  old: boolean
}

function parseName(body: Buffer, from: string): NameMessage {
  if (body[0] === TAG_N && body.length >= 15) {
    const len = body.readUInt16BE(13)
    if (15 + len > body.length) throw new HandshakeError('ERR_HANDSHAKE', `${from} sent a name message whose name overruns it`)
    // Trailing bytes are accepted and ignored, as OTP does.
    return { name: body.toString('latin1', 15, 15 + len), flags: body.readBigUInt64BE(1), creation: body.readUInt32BE(9), old: false }
  }
  if (body[0] === TAG_OLD_N && body.length >= 7) {
    return { name: body.toString('latin1', 7), flags: BigInt(body.readUInt32BE(3)), creation: undefined, old: true }
  }
  throw new HandshakeError('ERR_HANDSHAKE', `${from} did not start the Erlang/OTP handshake with a name message ('N' or 'n')`)
}

function otpAuth(peer: string): Established['auth'] {
  return { peerName: peer, info: { protocol: 'erlang' } }
}

/**
 * The dialling side, toward an Erlang/OTP node. Rejects with a NetkernelError naming both
 * nodes and the address: a refusal status, ERR_INCOMPATIBLE (the peer lacks mandatory flags),
 * ERR_AUTH_FAILED (the cookies differ), ERR_WRONG_NODE, ERR_HANDSHAKE (garbled messages).
 */
export async function initiateOtpHandshake(d: HandshakeDeps, conn: Conn, peer: string, signal: AbortSignal): Promise<Established> {
  const address = `${conn.remoteAddress}:${conn.remotePort}`
  const who = `${peer} (${address})`
  const ch = new OtpChannel(conn, who, d.stepTimeout, signal, d.clock, 'initiator')
  const ours = d.otpFlags ?? offered(d)
  try {
    ch.send(otpNameMessage(ours, d.creation, d.localName))
    const status = statusOf(await ch.receive())
    if (status === undefined) throw new HandshakeError('ERR_HANDSHAKE', `${who} answered the name with something else than a status`)
    if (status === 'alive') {
      // It still holds a connection to us: do we want it replaced (we have none)?
      const answer = verdict(d, { e: 'alive_asked', node: peer })
      const replace = answer.a === 'answer_alive' && answer.replace
      ch.send(statusMessage(replace ? 'true' : 'false'))
      if (!replace) throw refusalError('alive', d.localName, peer, `said ${who}`)
    } else if (status === 'not_allowed') {
      throw new HandshakeError(
        'ERR_NOT_ALLOWED',
        `${d.localName} → ${peer}: refused (not_allowed, said ${who}): its net_kernel:allow/1 list, or a flag it requires; its log says which`,
      )
    } else if (status.startsWith('named:')) {
      throw new HandshakeError('ERR_HANDSHAKE', `${who} answered named: (a dynamic node name), which ${d.localName} did not ask for`)
    } else if (status !== 'ok' && status !== 'ok_simultaneous') {
      throw refusalError(status, d.localName, peer, `said ${who}`)
    }
    const c = await ch.receive()
    if (c[0] !== TAG_N || c.length < 19) throw new HandshakeError('ERR_HANDSHAKE', `${who} did not send its challenge ('N')`)
    const theirs = c.readBigUInt64BE(1)
    const theirChallenge = c.readUInt32BE(9)
    const creation = c.readUInt32BE(13)
    const len = c.readUInt16BE(17)
    if (19 + len > c.length) throw new HandshakeError('ERR_HANDSHAKE', `${who} sent a challenge whose name overruns it`)
    const name = c.toString('latin1', 19, 19 + len)
    const bad = fullNameProblem(name, d.longNames)
    if (bad !== undefined) {
      throw new NodeNameError(name, bad, `dialled ${peer} at ${address} but it answered with an illegal node name ${preview(name)}: ${bad}`)
    }
    if (name !== peer) throw new HandshakeError('ERR_WRONG_NODE', `dialled ${peer} at ${address} but ${name} answered`)
    const missing = missingFlags(theirs)
    if (missing.length > 0) {
      throw new HandshakeError(
        'ERR_INCOMPATIBLE',
        `${d.localName} → ${peer}: connection attempt to ${who} aborted since it cannot handle ${otpFlagList(missing)}`,
      )
    }
    const cookie = d.cookies.cookieFor(peer)
    const mine = challenge()
    const reply = Buffer.allocUnsafe(21)
    reply[0] = TAG_R
    reply.writeUInt32BE(mine, 1)
    otpDigest(theirChallenge, cookie).copy(reply, 5)
    ch.send(reply)
    ch.lastMessageNext()
    let ack: Buffer
    try {
      ack = await ch.receive()
    } catch (err) {
      // OTP closes without a word on a wrong digest (its log: "Invalid challenge reply").
      if ((err as NetkernelError).code !== 'ERR_CONNECTION_CLOSED') throw err
      throw new AuthError(
        'ERR_AUTH_FAILED',
        `${d.localName} → ${peer}: ${who} closed the connection after our challenge reply: its cookie is not ours (set the cookie it uses with setCookie)`,
        { cause: err },
      )
    }
    if (ack[0] !== TAG_A || ack.length !== 17) throw new HandshakeError('ERR_HANDSHAKE', `${who} did not acknowledge the challenge ('a')`)
    if (!timingSafeEqual(ack.subarray(1), otpDigest(mine, cookie))) {
      throw new AuthError(
        'ERR_AUTH_FAILED',
        `${d.localName} → ${peer}: ${who} answered our challenge with a wrong digest: the cookies differ`,
      )
    }
    const { decoder, leftover } = ch.detach()
    return {
      peer,
      hidden: !published(ours, theirs),
      creation,
      conn,
      decoder,
      leftover,
      auth: otpAuth(peer),
      protocol: 'erlang',
      flags: negotiate(ours, theirs),
    }
  } catch (err) {
    ch.detach()
    throw err
  }
}

/**
 * The accepting side, for an inbound connection whose first bytes are an OTP name message
 * (protocol-sniff.ts). Rejects with a NetkernelError; the caller closes the Conn. Without
 * deps.erlang the peer is answered not_allowed and the error (ERR_INCOMPATIBLE) says how to
 * let it in.
 */
export async function respondOtpHandshake(d: HandshakeDeps, conn: Conn, signal: AbortSignal): Promise<Established> {
  const address = `${conn.remoteAddress}:${conn.remotePort}`
  const ch = new OtpChannel(conn, address, d.stepTimeout, signal, d.clock)
  const ours = d.otpFlags ?? offered(d)
  const refuse = (status: string, err: NetkernelError): never => {
    ch.send(statusMessage(status))
    throw err
  }
  try {
    const hello = parseName(await ch.receive(), address)
    // The name first: nothing else is looked at, logged or compared before it is legal. An
    // illegal name gets no status (as OTP: the connection is closed).
    const bad = fullNameProblem(hello.name, undefined)
    if (bad !== undefined) {
      throw new NodeNameError(
        hello.name,
        bad,
        `${address} started an Erlang/OTP handshake with an illegal node name ${preview(hello.name)}: ${bad}`,
      )
    }
    const peer = hello.name
    const who = `${peer} (${address})`
    ch.peer = who
    d.named?.(peer)
    if (d.erlang !== true) {
      refuse(
        'not_allowed',
        new HandshakeError(
          'ERR_INCOMPATIBLE',
          `an Erlang/OTP node (${peer} from ${address}) tried to connect; start this node with erlang: true`,
        ),
      )
    }
    if (fullNameProblem(peer, d.longNames) !== undefined)
      refuse('not_allowed', refusalError('name_form', d.localName, peer, `from ${address}`))
    const missing = missingFlags(hello.flags)
    if (missing.length > 0) {
      refuse(
        'not_allowed',
        new HandshakeError(
          'ERR_INCOMPATIBLE',
          `${d.localName}: connection attempt from ${who} rejected since it cannot handle ${otpFlagList(missing)}`,
        ),
      )
    }
    // This node's own name: after the flags, OTP answers nok (its net_kernel gets no
    // connection id for node()) and logs "Cannot get connection id for node" [measured, OTP
    // 25]; so does this node, with a typed error naming the address.
    if (peer === d.localName) refuse('nok', ownNameError(d.localName, address))
    await d.throttle?.(peer, signal)
    const hidden = (hello.flags & DFLAG.PUBLISHED) === 0n
    const allowed = await d.allowNode(peer, { address: conn.remoteAddress, hidden })
    // An old 'n' name carries no creation (it comes in the complement): -1 matches no
    // connection's, so the hello is judged as from a restarted node, and 'authenticated',
    // with the real creation, decides.
    const admission = verdict(d, { e: 'hello', node: peer, creation: hello.creation ?? -1, allowed })
    const replacing = admission.a === 'ask_alive'
    if (replacing) {
      ch.send(statusMessage('alive'))
      const answer = statusOf(await ch.receive())
      const answered = verdict(d, { e: 'alive_answered', node: peer, replace: answer === 'true' })
      if (answered.a !== 'accept') {
        throw new HandshakeError(
          'ERR_ALREADY_CONNECTED',
          `${d.localName} ← ${peer}: already connected, and ${peer} did not ask to replace the connection (from ${address})`,
        )
      }
    } else if (admission.a === 'refuse') {
      refuse(admission.status, refusalError(admission.status, d.localName, peer, `from ${address}`))
    } else {
      ch.send(statusMessage(d.dialling?.(peer) === true ? 'ok_simultaneous' : 'ok'))
    }
    const mine = challenge()
    ch.send(otpChallengeMessage(ours, mine, d.creation, d.localName))
    let theirs = hello.flags
    let creation = hello.creation
    if (hello.old) {
      const c = await ch.receive()
      if (c[0] !== TAG_C || c.length < 9)
        throw new HandshakeError('ERR_HANDSHAKE', `${who} sent no complement ('c') after its old name message`)
      theirs |= BigInt(c.readUInt32BE(1)) << 32n
      creation = c.readUInt32BE(5)
    }
    ch.lastMessageNext()
    const r = await ch.receive()
    if (r[0] !== TAG_R || r.length !== 21) throw new HandshakeError('ERR_HANDSHAKE', `${who} did not answer the challenge ('r')`)
    const cookie = d.cookies.cookieFor(peer)
    if (!timingSafeEqual(r.subarray(5), otpDigest(mine, cookie))) {
      throw new AuthError('ERR_AUTH_FAILED', `${d.localName} ← ${peer}: invalid challenge reply from ${address}: the cookies differ`)
    }
    // Proven: only now may the connection change what the node holds.
    const taken = verdict(d, { e: 'authenticated', node: peer, creation: creation as number, replace: replacing })
    if (taken.a === 'refuse') {
      // Lost a simultaneous connect after the peer's challenge reply (our dial to it started
      // after its hello, and our name is greater). OTP has no status to say so at this step,
      // and closing would fail its connect. As OTP's own dialler does after 'nok', leave it
      // waiting: its node drops this attempt once our dial reaches it (or the step deadline ends it).
      if (taken.status === 'nok') await ch.receive().catch(() => undefined)
      throw refusalError(taken.status, d.localName, peer, `from ${address}`)
    }
    const ack = Buffer.allocUnsafe(17)
    ack[0] = TAG_A
    otpDigest(r.readUInt32BE(1), cookie).copy(ack, 1)
    ch.send(ack)
    const { decoder, leftover } = ch.detach()
    return {
      peer,
      hidden: !published(ours, theirs),
      creation: creation as number,
      conn,
      decoder,
      leftover,
      auth: otpAuth(peer),
      protocol: 'erlang',
      flags: negotiate(ours, theirs),
    }
  } catch (err) {
    ch.detach()
    throw err
  }
}

/** The flags offered: DFLAGS_OFFERED, and DFLAG_PUBLISHED for a node visible toward OTP. */
function offered(d: HandshakeDeps): bigint {
  return (d.otpHidden ?? d.hidden) ? DFLAGS_OFFERED : DFLAGS_OFFERED | DFLAG.PUBLISHED
}

/** A connection is visible when both ends are published (else it is hidden, as in OTP). */
function published(ours: bigint, theirs: bigint): boolean {
  return (ours & DFLAG.PUBLISHED) !== 0n && (theirs & DFLAG.PUBLISHED) !== 0n
}
