// gen_server's calls and casts, in the messages an Erlang/OTP gen_server (or an Elixir
// GenServer) sends and expects, so that a process here can call one and answer its calls:
//
//   a call      {'$gen_call', {From, Tag}, Request}   answered by  From ! {Tag, Reply}
//   a cast      {'$gen_cast', Request}
//
// The caller monitors the server while it waits, as gen:call does, so it learns at once that
// the server is gone: its exit, an unknown name ('noproc') or a lost node ('noconnection') ends
// the call with a CallError. No reply within the timeout (default 5000 ms, gen_server:call's)
// ends it with ERR_CALL_TIMEOUT; a reply that comes after that is dropped as it arrives
// (OTP 24+ drops it by deactivating the call's alias), so it never lands in the mailbox.
//
// The answering side takes the tag as it came and sends {Tag, Reply}: to From, or, for an OTP
// 24+ caller whose tag is the improper list `[alias | Ref]`, to that alias (Ref), as
// gen:reply does — so that OTP drops a reply that comes after the caller stopped waiting,
// instead of leaving it in the caller's mailbox. Toward a peer that takes no aliases the
// reply goes to From's pid, where a caller waiting through an alias gets it too.
import { CallError, NetkernelError, ReceiveTimeoutError } from '../errors.js'
import { atom, type Atom } from '../terms/atom.js'
import { ImproperList } from '../terms/improper-list.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { isDown } from './monitors.js'
import { tuple, type Tuple } from '../terms/tuple.js'
import { describeReason } from './exit.js'
import type { Process } from './process.js'
import type { Dest } from './types.js'

/** gen_server:call's default timeout, ms. */
export const DEFAULT_CALL_TIMEOUT = 5000
/** The longest timer Node can arm (larger ones fire after 1 ms). */
const MAX_TIMEOUT = 0x7fffffff
/** Calls a process may have given up on whose late replies it still drops (the oldest go first). */
export const MAX_ABANDONED = 1024

const GEN_CALL = atom('$gen_call')
const GEN_CAST = atom('$gen_cast')

export interface CallOptions {
  /** Milliseconds to wait for the reply (default 5000, as gen_server:call; Infinity waits for ever). */
  timeout?: number
  /** Abort the wait: the call rejects with the signal's reason. */
  signal?: AbortSignal
}

/** Who made a call, and its tag: `{From, Tag}`, what `proc.reply()` answers. */
export type CallFrom = Tuple

/** A call as a server receives it. */
export interface GenCall {
  /** Pass to `proc.reply(from, value)` (gen_server:reply/2). */
  from: CallFrom
  request: unknown
}

/** Is `v` the atom (or the string) `name`? Atoms arrive as Atom from OTP and from netkernel peers. */
function isNamed(v: unknown, a: Atom): boolean {
  return v === a || v === a.name
}

/** `{Pid, Tag}`: who made a call. */
function isFrom(v: unknown): v is CallFrom {
  return Array.isArray(v) && v.length === 2 && v[0] instanceof Pid
}

/** `{'$gen_call', {From, Tag}, Request}` as `{ from, request }`, else undefined. */
export function asCall(msg: unknown): GenCall | undefined {
  if (!Array.isArray(msg) || msg.length !== 3 || !isNamed(msg[0], GEN_CALL) || !isFrom(msg[1])) return undefined
  return { from: msg[1], request: msg[2] }
}

/** `{'$gen_cast', Request}` as `{ request }`, else undefined. */
export function asCast(msg: unknown): { request: unknown } | undefined {
  if (!Array.isArray(msg) || msg.length !== 2 || !isNamed(msg[0], GEN_CAST)) return undefined
  return { request: msg[1] }
}

const ALIAS = atom('alias')

/** The alias of an OTP 24+ call's tag `[alias | Ref]`, else undefined. */
function aliasOf(tag: unknown): Ref | undefined {
  if (!(tag instanceof ImproperList) || tag.items.length !== 1 || tag.items[0] !== ALIAS) return undefined
  return tag.tail instanceof Ref ? tag.tail : undefined
}

/** gen_server:reply(From, Reply): send {Tag, Reply} to From's alias when its tag names one, else to its pid. */
export function reply(p: Process, from: CallFrom, value: unknown): void {
  if (!isFrom(from)) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'reply: from must be the `from` of a call ({Pid, Tag})')
  }
  const alias = aliasOf(from[1])
  if (alias !== undefined) p.sendToAlias(from[0] as Pid, alias, tuple(from[1], value))
  else p.send(from[0] as Pid, tuple(from[1], value))
}

/** What gen_server:cast(Dest, Request) sends: `{'$gen_cast', Request}`. */
export function castMessage(request: unknown): Tuple {
  return tuple(GEN_CAST, request)
}

function callTimeout(opts: CallOptions | undefined): number {
  if (opts === undefined) return DEFAULT_CALL_TIMEOUT
  if (typeof opts !== 'object' || opts === null) throw new NetkernelError('ERR_BAD_ARGUMENT', 'call: options must be an object')
  const t = opts.timeout
  if (t === undefined) return DEFAULT_CALL_TIMEOUT
  if (typeof t !== 'number' || !(t >= 0) || (t > MAX_TIMEOUT && t !== Infinity)) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `call: timeout must be 0..${MAX_TIMEOUT} ms or Infinity, got ${String(t)}`)
  }
  return t
}

/** How a message names `dest`. */
export function describeDest(dest: Dest): string {
  if (dest instanceof Pid) return dest.toString()
  if (typeof dest === 'string') return JSON.stringify(dest)
  if (!Array.isArray(dest)) return describeReason(dest) // (no destination: the call refuses it)
  return `{${JSON.stringify(dest[0])}, ${dest[1]}}`
}

/** Would a call to `dest` from `p` be a call to itself (gen:call's calling_self)? */
function isSelf(p: Process, dest: Dest): boolean {
  if (dest instanceof Pid) return dest.equals(p.self)
  const name = typeof dest === 'string' ? dest : Array.isArray(dest) && dest[1] === p.node ? dest[0] : undefined
  return name !== undefined && p.regName === name
}

const isReplyOrDown =
  (ref: Ref) =>
  (msg: unknown): boolean =>
    Array.isArray(msg) && (msg.length === 2 ? ref.equals(msg[0]) : isDown(msg) && ref.equals(msg[1]))

/**
 * gen_server:call(Dest, Request, Timeout) from `p`: the reply, or CallError (the server is
 * gone: see the top of the file), ERR_CALL_TIMEOUT, the signal's reason.
 */
export async function call(p: Process, dest: Dest, request: unknown, opts?: CallOptions): Promise<unknown> {
  const timeout = callTimeout(opts)
  if (isSelf(p, dest))
    throw new NetkernelError('ERR_BAD_ARGUMENT', `call: process ${p.self.toString()} called itself (${describeDest(dest)})`)
  // The reply and a DOWN can only come after the monitor's ref exists: the wait for them looks
  // at nothing older (a backlog in the mailbox costs a call nothing).
  const mark = p.mailbox.mark()
  const ref = p.monitor(dest) // (throws ERR_BAD_ARGUMENT for what is no destination)
  try {
    p.send(dest, tuple(GEN_CALL, tuple(p.self, ref), request))
  } catch (err) {
    // An unregistered local name: its monitor has already put DOWN noproc in the mailbox.
    if (!(err instanceof NetkernelError && err.code === 'ERR_NOPROC')) {
      p.demonitor(ref, { flush: true })
      throw err
    }
  }
  let msg: unknown[]
  try {
    msg = await p.receive(isReplyOrDown(ref), { timeout, signal: opts?.signal }, mark)
  } catch (err) {
    if (p.dead) throw err
    p.demonitor(ref, { flush: true })
    p.abandonCall(ref.key)
    if (err instanceof ReceiveTimeoutError) {
      throw new NetkernelError('ERR_CALL_TIMEOUT', `call to ${describeDest(dest)} from ${p.self.toString()}: no reply within ${timeout} ms`)
    }
    throw err
  }
  if (msg.length === 2) {
    p.demonitor(ref, { flush: true })
    return msg[1]
  }
  const reason = msg[4]
  const why =
    reason === 'noproc'
      ? 'no such process'
      : reason === 'noconnection'
        ? `its node ${nodeOfDest(p, dest)} is down or cannot be reached`
        : `it exited (${describeReason(reason)})`
  throw new CallError(reason, `call to ${describeDest(dest)} from ${p.self.toString()} failed: ${why}`)
}

function nodeOfDest(p: Process, dest: Dest): string {
  return dest instanceof Pid ? dest.node : typeof dest === 'string' ? p.node : dest[1]
}

/** True when `msg` is the late reply to a call `abandoned` holds (and forgets it). */
export function takeLateReply(abandoned: Set<string>, msg: unknown): boolean {
  if (!Array.isArray(msg) || msg.length !== 2) return false
  const tag: unknown = msg[0]
  return tag instanceof Ref && abandoned.delete(tag.key)
}
