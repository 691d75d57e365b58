// The Erlang/OTP wire: what a Connection (connection.ts) speaks toward an OTP node. Above the
// connection everything is native frames (frames.ts); this file translates them to OTP's
// control messages (control.ts; docs/erlang.md "Native frames and OTP control messages") and back, so the kernel's send path and the
// dispatcher (its trust checks, the policy) serve OTP peers unchanged.
//
// Outbound (codec.encodeFrameInto): a native frame, or an OtpMessage written as it is, becomes
// one OTP frame: `131 68 0 <control> <payload>` (distribution header, no atom-cache refs) when
// DIST_HDR_ATOM_CACHE or FRAGMENTS is negotiated — OTP then refuses anything else (docs/erlang.md)
// — else the pass-through `112 131 <control> 131 <payload>`. Terms go without
// their version byte in header mode. Large frames are cut by the outbox into DIST_FRAG_*
// frames (otp-fragments.ts) when FRAGMENTS is negotiated, else sent whole.
//
// Inbound (decode): the distribution header (atom cache: 2048 slots per connection), pass-
// through frames, fragments, trace tokens stripped; then the native frame to dispatch, an
// OtpMessage for what only OTP-side code handles (SPAWN_REQUEST; spawn replies and monitor
// exits of erpc calls this node made: `claimed`), or undefined (nothing to dispatch).
//
// Names, module and function names and atom exit/DOWN reasons are atoms toward OTP and
// strings in native frames; message data is never converted.
import { Buffer } from 'node:buffer'
import type { Wire, WireConnection, WireRead, FrameEncoder, FragmentFormat } from '../wire.js'
import type { FrameBatch } from '../../terms/frame-batch.js'
import type { Logger } from '../../logger.js'
import { appendBytes } from '../../terms/frame-batch.js'
import { Atom, atom, MAX_ATOM_CHARS } from '../../terms/atom.js'
import { Tuple, tuple } from '../../terms/tuple.js'
import { Pid } from '../../terms/pid.js'
import { Ref } from '../../terms/ref.js'
import { CodecError, NetkernelError } from '../../errors.js'
import { DEFAULT_LIMITS, DEFAULT_MAX_MESSAGE_SIZE, peerOverLimit } from '../limits.js'
import { MAX_MESSAGE_TERMS } from '../../terms/ext-codes.js'
import { LARGE_BODY, largeBodyTaken } from '../scavenge-assist.js'
import { OtpMessage } from './otp-message.js'
import { DFLAG } from './flags.js'
import { isContinuation, otpFragments, OtpReassembly } from './otp-fragments.js'
import { createEtfPort, type EtfPort } from './etf-port.js'
import * as F_EXPORTS from '../frames.js'
import * as C_EXPORTS from './control.js'
/** As a plain object: V8 reads a module namespace's properties slowly in hot code (switch cases). */
const C = { ...C_EXPORTS }
/** As a plain object: V8 reads a module namespace's properties slowly in hot code (switch cases). */
const F = { ...F_EXPORTS }

export interface OtpWireOptions {
  /** The peer's node name (for errors). */
  peer: string
  /** The negotiated distribution flags (ours AND theirs). */
  flags: bigint
  /** This node's name and creation: the pid that sends for no process (REG_SEND from null). */
  localName: string
  creation: number
  /** The largest message taken from the peer, and written to it. */
  maxMessageSize?: number
  /**
   * The most terms a message from the peer may decode into (control and payload together;
   * default MAX_MESSAGE_TERMS): past it the connection is dropped with ERR_MESSAGE_TOO_LARGE.
   */
  maxMessageTerms?: number
  /**
   * Monitors the peer may hold on this node's processes through this connection (names of
   * the built-in services included). Default: DEFAULT_LIMITS.monitorsPerPeer.
   */
  monitorsPerPeer?: number
  logger: Logger
  /**
   * The group leader of the processes we spawn on the peer (their io goes there): a process
   * of ours that answers io requests (group-leader.ts). Absent: the spawning process.
   */
  groupLeader?: () => Pid | undefined
}

/** Spawn requests this wire keeps the native id of, at most (the oldest are forgotten). */
const MAX_SPAWNS = 65536

const HEADER_MODE = Buffer.from([0, 0, 0, 0, C.VERSION_MAGIC, C.DIST_HEADER, 0])
const PASS_THROUGH = Buffer.from([0, 0, 0, 0, C.PASS_THROUGH, C.VERSION_MAGIC])
const MAGIC = Buffer.from([C.VERSION_MAGIC])
const EMPTY_ATOM = atom('')
const LINK_OPT = atom('link')

/** A JS string reason as OTP wants it: an atom when it can be one, else a binary. */
function reasonOut(r: unknown): unknown {
  if (typeof r !== 'string') return r
  if (r.length <= MAX_ATOM_CHARS) return atom(r)
  return [...r].length <= MAX_ATOM_CHARS ? atom(r) : r
}

/** An OTP reason as native code sees it: an atom becomes its name (true/false too). */
function reasonIn(r: unknown): unknown {
  if (r instanceof Atom) return r.name
  if (typeof r === 'boolean') return String(r)
  return r
}

export class OtpWire implements Wire {
  readonly protocol = 'erlang' as const
  readonly codec: FrameEncoder
  readonly fragments: (FragmentFormat & { sent: number }) | null
  readonly window = Infinity
  /**
   * Ref keys (Ref.key) of spawn requests and monitors OTP-side code made (erpc calls): their
   * SPAWN_REPLY and MONITOR_P_EXIT come to it as OtpMessages, not to the native dispatcher.
   * The code that adds a key removes it.
   */
  readonly claimed = new Set<string>()
  /** Atom-cache references read in distribution headers (OTP uses the cache from its first frame). */
  atomCacheRefsIn = 0

  private conn: WireConnection | undefined
  private readonly headerMode: boolean
  private readonly exitPayload: boolean
  /** The peer takes ALIAS_SEND (both offered ALIAS): replies to its gen:call go to the call's alias. */
  readonly aliasSend: boolean
  private readonly unlinkId: boolean
  private readonly maxMessage: number
  private readonly maxPeerMonitors: number
  private readonly etf: EtfPort
  private readonly reassembly: OtpReassembly
  /** The pid a send from no process is made by. */
  private readonly nobody: Pid
  /** Monitors the peer holds on our processes: ref key → what it monitored (pid or name). */
  private readonly peerMonitors = new Map<string, Pid | Atom>()
  /** Our spawn requests: ReqId ref key → the native request id. */
  private readonly spawns = new Map<string, number>()
  private nextUnlinkId = 1
  private nextRef = 1
  private readonly refSalt: number
  private warnedUnknown = new Set<number>()

  constructor(private readonly o: OtpWireOptions) {
    const f = o.flags
    this.headerMode = (f & (DFLAG.DIST_HDR_ATOM_CACHE | DFLAG.FRAGMENTS)) !== 0n
    this.exitPayload = (f & DFLAG.EXIT_PAYLOAD) !== 0n
    this.aliasSend = (f & DFLAG.ALIAS) !== 0n
    this.unlinkId = (f & DFLAG.UNLINK_ID) !== 0n
    this.fragments = (f & DFLAG.FRAGMENTS) !== 0n ? otpFragments() : null
    this.maxMessage = o.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    this.maxPeerMonitors = o.monitorsPerPeer ?? DEFAULT_LIMITS.monitorsPerPeer
    const etf = createEtfPort({ maxTerms: o.maxMessageTerms ?? MAX_MESSAGE_TERMS, maxSize: this.maxMessage })
    // The codec's decode errors name the peer.
    this.etf = {
      encodeInto: etf.encodeInto,
      decodeAt: (buf, offset, refs, owned, termsBefore) => this.named(() => etf.decodeAt(buf, offset, refs, owned, termsBefore)),
      readHeader: (buf, offset) => {
        const h = this.named(() => etf.readHeader(buf, offset))
        if (Array.isArray(h.refs)) this.atomCacheRefsIn += h.refs.length
        return h
      },
    }
    this.reassembly = new OtpReassembly(o.peer, this.maxMessage, (buf, offset) => this.etf.readHeader(buf, offset))
    this.nobody = new Pid(o.localName, 0, 0, o.creation)
    this.refSalt = (Math.random() * 0x100000000) >>> 0
    this.codec = { encodeFrameInto: (value, out) => this.encodeFrameInto(value, out) }
  }

  /** Fragment frames written, and messages read that came in more than one fragment. */
  get fragmentCounts(): { out: number; joined: number } {
    return { out: this.fragments?.sent ?? 0, joined: this.reassembly.joined }
  }

  attach(conn: WireConnection): void {
    this.conn = conn
  }

  // ---- outbound ----------------------------------------------------------------------------

  /** One native frame (or an OtpMessage) as one OTP frame appended to `out`; nothing for frames OTP has no use for. */
  encodeFrameInto(value: unknown, out: FrameBatch): void {
    let control: Tuple
    let payload: unknown
    let hasPayload: boolean
    if (value instanceof OtpMessage) {
      control = value.control
      payload = value.payload
      hasPayload = value.hasPayload
    } else {
      const m = this.toOtp(value)
      if (m === undefined) return
      control = m.control
      payload = m.payload
      hasPayload = m.payload !== NONE
    }
    const p0 = out.len
    try {
      if (this.headerMode) {
        appendBytes(out, HEADER_MODE)
        this.etf.encodeInto(control, out)
        if (hasPayload) this.etf.encodeInto(payload, out)
      } else {
        appendBytes(out, PASS_THROUGH)
        this.etf.encodeInto(control, out)
        if (hasPayload) {
          appendBytes(out, MAGIC)
          this.etf.encodeInto(payload, out)
        }
      }
    } catch (err) {
      out.len = p0
      throw err
    }
    const size = out.len - p0 - 4
    if (size > this.maxMessage) {
      out.len = p0
      throw new NetkernelError('ERR_MESSAGE_TOO_LARGE', `a message of ${size} bytes is over maxMessageSize (${this.maxMessage} bytes)`)
    }
    out.buf.writeUInt32BE(size, p0)
  }

  /** A native frame as a control tuple and payload (NONE: no payload); undefined: not sent to OTP. */
  private toOtp(v: unknown): { control: Tuple; payload: unknown } | undefined {
    if (!Array.isArray(v)) throw new CodecError('ERR_ENCODE', `cannot send ${typeof v} to ${this.o.peer}: not a control frame`)
    switch (v[0]) {
      case F.SEND:
        return { control: tuple(C.DOP_SEND, EMPTY_ATOM, v[1]), payload: v[2] }
      case F.REG_SEND:
        return { control: tuple(C.DOP_REG_SEND, v[1] ?? this.nobody, EMPTY_ATOM, atom(v[2] as string)), payload: v[3] }
      case F.ALIAS_SEND:
        if (!this.aliasSend) return undefined // (no alias of a peer that takes none: nobody to reach)
        return { control: tuple(C.DOP_ALIAS_SEND, v[1] ?? this.nobody, v[2]), payload: v[3] }
      case F.LINK:
        return { control: tuple(C.DOP_LINK, v[1], v[2]), payload: NONE }
      case F.UNLINK:
        if (this.unlinkId) return { control: tuple(C.DOP_UNLINK_ID, this.nextUnlinkId++, v[1], v[2]), payload: NONE }
        return { control: tuple(C.DOP_UNLINK, v[1], v[2]), payload: NONE }
      case F.EXIT:
        if (this.exitPayload) return { control: tuple(C.DOP_PAYLOAD_EXIT, v[1], v[2]), payload: reasonOut(v[3]) }
        return { control: tuple(C.DOP_EXIT, v[1], v[2], reasonOut(v[3])), payload: NONE }
      case F.EXIT2:
        if (this.exitPayload) return { control: tuple(C.DOP_PAYLOAD_EXIT2, v[1], v[2]), payload: reasonOut(v[3]) }
        return { control: tuple(C.DOP_EXIT2, v[1], v[2], reasonOut(v[3])), payload: NONE }
      case F.MONITOR:
      case F.DEMONITOR: {
        const target = v[2] instanceof Pid ? v[2] : atom(v[2] as string)
        return { control: tuple(v[0] === F.MONITOR ? C.DOP_MONITOR_P : C.DOP_DEMONITOR_P, v[1], target, v[3]), payload: NONE }
      }
      case F.DOWN: {
        const ref = v[2] as Ref
        const key = ref instanceof Ref ? ref.key : ''
        // OTP names the monitored process as the watcher named it: its pid, or its name.
        const target = this.peerMonitors.get(key) ?? this.nobody
        this.peerMonitors.delete(key)
        if (this.exitPayload) return { control: tuple(C.DOP_PAYLOAD_MONITOR_P_EXIT, target, v[1], ref), payload: reasonOut(v[3]) }
        return { control: tuple(C.DOP_MONITOR_P_EXIT, target, v[1], ref, reasonOut(v[3])), payload: NONE }
      }
      case F.SPAWN_REQUEST: {
        const [, id, from, mod, fun, args, link] = v as [number, number, Pid | null, string, string, unknown[], boolean]
        const reqId = this.makeRef()
        if (this.spawns.size >= MAX_SPAWNS) this.spawns.delete(this.spawns.keys().next().value as string)
        this.spawns.set(reqId.key, id)
        const parent = from ?? this.nobody
        const mfa = tuple(atom(mod), atom(fun), args.length)
        const leader = this.o.groupLeader?.() ?? parent
        return { control: tuple(C.DOP_SPAWN_REQUEST, reqId, parent, leader, mfa, link ? [LINK_OPT] : []), payload: args }
      }
      case F.SPAWN_REPLY: // answers native spawn requests, which OTP never sends
      case F.NODES: // mesh gossip: OTP nodes connect through global, not through us
      case F.STATS_REQUEST:
      case F.STATS_REPLY:
        return undefined
      default:
        throw new CodecError('ERR_ENCODE', `cannot send frame kind ${String(v[0])} to ${this.o.peer} (an Erlang/OTP node)`)
    }
  }

  /** A reference of this node (a spawn request id), three words as OTP's. */
  private makeRef(): Ref {
    const n = this.nextRef++
    const id0 = n & 0x3ffff
    return new Ref(this.o.localName, id0, this.o.creation, [id0, (n / 0x40000) >>> 0, this.refSalt])
  }

  // ---- inbound -----------------------------------------------------------------------------

  decode(body: Buffer, owned: boolean): unknown {
    const kind = body.length >= 2 ? (body[0] as number) * 256 + (body[1] as number) : -1
    switch (kind) {
      case C.VERSION_MAGIC * 256 + C.DIST_HEADER: {
        if (body.length >= LARGE_BODY) largeBodyTaken(body.length)
        const h = this.etf.readHeader(body, 2)
        return this.message(body, h.offset, h.refs, owned, false)
      }
      case C.VERSION_MAGIC * 256 + C.DIST_FRAG_HEADER:
      case C.VERSION_MAGIC * 256 + C.DIST_FRAG_CONT: {
        largeBodyTaken(body.length) // a piece of a large message (OTP fragments only those)
        const whole = this.reassembly.push(body, owned)
        return whole === undefined ? undefined : this.message(whole.buf, whole.offset, whole.refs, true, false)
      }
      case C.PASS_THROUGH * 256 + C.VERSION_MAGIC:
        if (body.length >= LARGE_BODY) largeBodyTaken(body.length)
        return this.message(body, 2, undefined, owned, true)
      default:
        throw new CodecError(
          'ERR_DECODE',
          `${this.o.peer} sent a frame that is not an Erlang distribution message (first bytes ${body.subarray(0, 2).toString('hex')})`,
        )
    }
  }

  /** A frame body split across socket chunks: a fragment's continuation goes straight into its sequence's buffer. */
  decodeParts(parts: readonly Buffer[], size: number): unknown {
    if (!isContinuation(parts[0]!)) return this.decode(Buffer.concat(parts, size), true)
    largeBodyTaken(size)
    const whole = this.reassembly.pushParts(parts, size)
    return whole === undefined ? undefined : this.message(whole.buf, whole.offset, whole.refs, true, false)
  }

  /** A fragment's continuation split across reads: the rest is read straight into its message's buffer. */
  takeover(head: Buffer, size: number): WireRead | undefined {
    const d = this.reassembly.takeover(head, size)
    if (d === undefined) return undefined
    largeBodyTaken(size)
    return {
      view: d.view,
      landed: d.landed,
      finish: () => {
        const whole = d.finish()
        return whole === undefined ? undefined : this.message(whole.buf, whole.offset, whole.refs, true, false)
      },
      last: d.last,
    }
  }

  /** After a fragment read into place, the next read takes a length prefix and a DIST_FRAG_CONT header. */
  readonly takeoverHead = 4 + 18

  private message(buf: Buffer, offset: number, refs: unknown, owned: boolean, passThrough: boolean): unknown {
    const c = this.etf.decodeAt(buf, offset, refs, owned)
    if (!(c.value instanceof Tuple) || typeof c.value[0] !== 'number') throw this.malformed('a control message that is not a tuple')
    let control: Tuple = c.value
    let op = control[0] as number
    const tt = C.TRACE_TOKEN.get(op)
    if (tt !== undefined) {
      const stripped = Tuple.from(control)
      stripped.splice(tt[1], 1)
      stripped[0] = op = tt[0]
      control = stripped
    }
    const arity = C.ARITY.get(op)
    if (arity === undefined) {
      if (!this.warnedUnknown.has(op) && this.warnedUnknown.size < 64) {
        this.warnedUnknown.add(op)
        this.o.logger.warn({ node: this.o.peer, op }, `${this.o.peer} sent control message ${op}, which netkernel does not handle: ignored`)
      }
      return undefined
    }
    if (control.length !== arity) throw this.malformed(`control message ${op} of ${control.length} elements (expected ${arity})`)
    let payload: unknown
    let end = c.end
    if (C.HAS_PAYLOAD.has(op)) {
      if (passThrough) {
        if (buf[end] !== C.VERSION_MAGIC) throw this.malformed(`control message ${op} without its payload`)
        end++
      }
      if (end >= buf.length) throw this.malformed(`control message ${op} without its payload`)
      const p = this.etf.decodeAt(buf, end, refs, owned, c.terms)
      payload = p.value
      end = p.end
    }
    if (end !== buf.length) throw this.malformed(`${buf.length - end} bytes after control message ${op}`)
    return this.toNative(control, op, payload)
  }

  private toNative(t: Tuple, op: number, payload: unknown): unknown {
    switch (op) {
      case C.DOP_SEND:
        return [F.SEND, t[2], payload]
      case C.DOP_SEND_SENDER:
        return [F.SEND, t[2], payload]
      case C.DOP_REG_SEND:
        return [F.REG_SEND, t[1], this.name(t[3], 'registered name'), payload]
      case C.DOP_LINK:
        return [F.LINK, t[1], t[2]]
      case C.DOP_UNLINK:
        return [F.UNLINK, t[1], t[2]]
      case C.DOP_UNLINK_ID: {
        const from = t[2]
        if (!(from instanceof Pid)) throw this.malformed('an UNLINK_ID from no pid')
        // Acknowledged in order with what the unlinked process sends (OTP requires it): its key.
        this.conn?.send(new OtpMessage(tuple(C.DOP_UNLINK_ID_ACK, t[1], t[3], from)), t[3] instanceof Pid ? t[3].id : undefined)
        return [F.UNLINK, from, t[3]]
      }
      case C.DOP_UNLINK_ID_ACK:
      case C.DOP_GROUP_LEADER:
        return undefined
      case C.DOP_EXIT:
        return [F.EXIT, t[1], t[2], reasonIn(t[3])]
      case C.DOP_PAYLOAD_EXIT:
        return [F.EXIT, t[1], t[2], reasonIn(payload)]
      case C.DOP_EXIT2:
        return [F.EXIT2, t[1], t[2], reasonIn(t[3])]
      case C.DOP_PAYLOAD_EXIT2:
        return [F.EXIT2, t[1], t[2], reasonIn(payload)]
      case C.DOP_MONITOR_P: {
        const ref = t[3]
        const target = t[2]
        if (!(ref instanceof Ref)) throw this.malformed('a MONITOR_P without a reference')
        if (!(target instanceof Pid) && !(target instanceof Atom)) throw this.malformed('a MONITOR_P of neither a pid nor a name')
        if (this.peerMonitors.size >= this.maxPeerMonitors && !this.peerMonitors.has(ref.key)) {
          throw peerOverLimit(this.o.logger, this.o.peer, 'monitors', this.maxPeerMonitors)
        }
        this.peerMonitors.set(ref.key, target)
        return [F.MONITOR, t[1], target instanceof Atom ? target.name : target, ref]
      }
      case C.DOP_DEMONITOR_P: {
        const ref = t[3]
        if (!(ref instanceof Ref)) throw this.malformed('a DEMONITOR_P without a reference')
        this.peerMonitors.delete(ref.key)
        const target = t[2]
        return [F.DEMONITOR, t[1], target instanceof Atom ? target.name : target, ref]
      }
      case C.DOP_MONITOR_P_EXIT:
      case C.DOP_PAYLOAD_MONITOR_P_EXIT: {
        const ref = t[3]
        if (!(ref instanceof Ref)) throw this.malformed('a MONITOR_P_EXIT without a reference')
        if (this.claimed.has(ref.key)) return new OtpMessage(t, payload, op === C.DOP_PAYLOAD_MONITOR_P_EXIT)
        return [F.DOWN, t[2], ref, reasonIn(op === C.DOP_MONITOR_P_EXIT ? t[4] : payload)]
      }
      case C.DOP_SPAWN_REQUEST:
        return new OtpMessage(t, payload, true)
      case C.DOP_SPAWN_REPLY: {
        const reqId = t[1]
        if (!(reqId instanceof Ref)) throw this.malformed('a SPAWN_REPLY without a request reference')
        if (this.claimed.has(reqId.key)) return new OtpMessage(t)
        const id = this.spawns.get(reqId.key)
        if (id === undefined) return undefined // not ours (any more): nobody waits for it
        this.spawns.delete(reqId.key)
        const result = t[4]
        if (result instanceof Pid) return [F.SPAWN_REPLY, id, true, result]
        const why = result instanceof Atom ? result.name : String(result)
        return [F.SPAWN_REPLY, id, false, { code: 'ERR_SPAWN_FAILED', message: `spawn refused: ${why}` }]
      }
      case C.DOP_ALIAS_SEND:
        return [F.ALIAS_SEND, t[1], t[2], payload]
      default:
        return undefined
    }
  }

  private name(v: unknown, what: string): string {
    if (v instanceof Atom) return v.name
    if (typeof v === 'boolean') return String(v)
    throw this.malformed(`a ${what} that is not an atom`)
  }

  private named<R>(f: () => R): R {
    try {
      return f()
    } catch (err) {
      if (err instanceof CodecError)
        throw new CodecError('ERR_DECODE', `${this.o.peer} sent a malformed message: ${err.message}`, { cause: err })
      if (err instanceof NetkernelError && err.code === 'ERR_MESSAGE_TOO_LARGE')
        throw new NetkernelError(
          'ERR_MESSAGE_TOO_LARGE',
          `${this.o.peer} sent a message over a bound: ${err.message}: connection dropped`,
          {
            cause: err,
          },
        )
      throw err
    }
  }

  private malformed(what: string): CodecError {
    return new CodecError('ERR_DECODE', `${this.o.peer} sent ${what}`)
  }
}

/** No payload (undefined is a payload: the atom undefined). */
const NONE: unique symbol = Symbol('none')

export function otpWire(o: OtpWireOptions): OtpWire {
  return new OtpWire(o)
}
