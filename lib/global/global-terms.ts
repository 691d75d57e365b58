// The terms OTP's `global` (protocol version 8) exchanges, and the helpers to read them: the
// atoms, a stable key for any term (names, lock ids and tags are arbitrary terms), Erlang's
// order of pids (lock ids sort two locker pids), and the resolve methods, which OTP sends as
// export funs (`fun global:random_exit_name/3`).
import { Buffer } from 'node:buffer'
import { Atom, atom, quoteAtom } from '../terms/atom.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { Tuple } from '../terms/tuple.js'
import { ImproperList } from '../terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../terms/otp-terms.js'
import { EtfEncoder } from '../terms/etf/etf-encoder.js'

/** global's protocol version: OTP 25 speaks 8. */
export const GLOBAL_VSN = 8

export const G = {
  server: 'global_name_server',
  genCall: atom('$gen_call'),
  genCast: atom('$gen_cast'),
  global: atom('global'),
  initConnect: atom('init_connect'),
  initConnectAck: atom('init_connect_ack'),
  cancelConnect: atom('cancel_connect'),
  locker: atom('locker'),
  noLongerAPid: atom('no_longer_a_pid'),
  lockIsSet: atom('lock_is_set'),
  lockSet: atom('lock_set'),
  exchange: atom('exchange'),
  exchangeOps: atom('exchange_ops'),
  resolved: atom('resolved'),
  unused: atom('unused'),
  newNodes: atom('new_nodes'),
  inSync: atom('in_sync'),
  insert: atom('insert'),
  delete: atom('delete'),
  vsn: atom('vsn'),
  lock: atom('lock'),
  setLock: atom('set_lock'),
  delLock: atom('del_lock'),
  register: atom('register'),
  registerExt: atom('register_ext'),
  unregister: atom('unregister'),
  registrar: atom('registrar'),
  sync: atom('sync'),
  getKnown: atom('get_known'),
  getSynced: atom('get_synced'),
  getProtocolVersion: atom('get_protocol_version'),
  asyncDelName: atom('async_del_name'),
  asyncDelLock: atom('async_del_lock'),
  lostConnection: atom('lost_connection'),
  removeConnection: atom('remove_connection'),
  whereis: atom('whereis'),
  yes: atom('yes'),
  no: atom('no'),
  ok: atom('ok'),
  conflict: atom('global_name_conflict'),
  none: atom('none'),
} as const

/** The resolve methods global names carry (OTP's global:random_exit_name/3 and its two siblings). */
export type ResolveMethod = 'random_exit' | 'random_notify' | 'notify_all'

const METHOD_FUNS: Record<ResolveMethod, string> = {
  random_exit: 'random_exit_name',
  random_notify: 'random_notify_name',
  notify_all: 'notify_all_name',
}

/** `fun global:F/3` as an export fun (EXPORT_EXT bytes: module atom, function atom, arity). */
export function methodTerm(m: ResolveMethod): OpaqueTerm {
  const atomBytes = (s: string): Buffer => Buffer.concat([Buffer.from([119, Buffer.byteLength(s)]), Buffer.from(s, 'utf8')])
  return new OpaqueTerm(113, Buffer.concat([atomBytes('global'), atomBytes(METHOD_FUNS[m]), Buffer.from([97, 3])]))
}

/** Which of the three methods a term is (an export fun global:F/3, or its atom name); undefined for any other fun. */
export function methodOf(v: unknown): ResolveMethod | undefined {
  let mod: string | undefined
  let fun: string | undefined
  if (v instanceof OpaqueTerm && v.tag === 113) {
    const b = v.bytes
    let at = 0
    const readAtom = (): string | undefined => {
      const tag = b[at]
      let len: number
      if (tag === 119 || tag === 115) {
        len = b[at + 1] ?? 0
        at += 2
      } else if (tag === 118 || tag === 100) {
        len = b.readUInt16BE(at + 1)
        at += 3
      } else return undefined
      const s = b.subarray(at, at + len).toString(tag === 115 || tag === 100 ? 'latin1' : 'utf8')
      at += len
      return s
    }
    try {
      mod = readAtom()
      fun = readAtom()
      if (b[at] !== 97 || b[at + 1] !== 3) return undefined
    } catch {
      return undefined
    }
  } else if (v instanceof Atom) {
    mod = 'global'
    fun = v.name
  }
  if (mod !== 'global') return undefined
  for (const [k, f] of Object.entries(METHOD_FUNS)) if (f === fun) return k as ResolveMethod
  return undefined
}

/**
 * A string that is equal for equal terms and differs for different ones. Every part of it is
 * self-delimiting — an atom's name, a node's and a ref's key are written after their length —
 * so that no element of a tuple can pass for two: with names written as they are, `{'a,aab'}`
 * had the key of `{a, ab}`, and a node holding both names (registered by two other nodes) took
 * them for one. A part deeper than 20 levels is keyed by its External Term Format bytes
 * (deepKey), written without recursion and once: a key built level by level copies each
 * level's text into the one above, which for a name 100,000 levels deep (the decoders take
 * one) is quadratic. Until 2026-12 such parts collapsed to one mark, so two names differing
 * only there shared a key.
 */
export function termKey(v: unknown, depth = 0): string {
  if (depth > 20) return deepKey(v)
  if (v instanceof Atom) return `a${counted(v.name)}`
  if (typeof v === 'number' || typeof v === 'bigint') return `n${String(v)}`
  if (typeof v === 'string') return `s${JSON.stringify(v)}`
  if (v instanceof Pid) return `p${counted(v.node)}.${v.id}.${v.serial}.${v.creation}`
  if (v instanceof Ref) return `r${counted(v.key)}`
  if (v instanceof Tuple) return `{${v.map(x => termKey(x, depth + 1)).join(',')}}`
  if (Array.isArray(v)) return `[${v.map(x => termKey(x, depth + 1)).join(',')}]`
  if (v instanceof ImproperList) return `[${v.items.map(x => termKey(x, depth + 1)).join(',')}|${termKey(v.tail, depth + 1)}]`
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `b${Buffer.from(v).toString('hex')}`
  if (v instanceof OpaqueTerm) return `f${v.tag}:${v.bytes.toString('hex')}`
  if (v instanceof Map) {
    const parts = [...v].map(([k, x]) => `${termKey(k, depth + 1)}=>${termKey(x, depth + 1)}`).sort()
    return `#{${parts.join(',')}}`
  }
  if (v instanceof Port) return `P${counted(v.node)}.${v.id}.${v.creation}`
  if (v instanceof BitBinary) return `B${v.bits}:${v.bytes.toString('hex')}`
  if (v === null || v === undefined) return `u${String(v)}`
  if (typeof v === 'boolean') return `a${counted(String(v))}`
  return `o${objectKey(v)}`
}

const deepEncoder = new EtfEncoder()

/**
 * A part of a term below termKey's 20 levels: `x` and its ETF bytes in hex, which differ for
 * different terms (a JavaScript string and a Buffer of its bytes are one binary there, as on
 * the wire to OTP); what ETF cannot write (a cycle, a function) equals only itself.
 */
function deepKey(v: unknown): string {
  try {
    return `x${deepEncoder.encode(v).toString('hex')}`
  } catch {
    return `o${objectKey(v)}`
  }
}

/** `s` after its length: where it ends is known without looking at what it holds. */
function counted(s: string): string {
  return `${s.length}:${s}`
}

/**
 * A plain object (what a netkernel peer's map decodes to, or a name the program made) by its
 * JSON, bigints written out; what JSON cannot write (a cycle, …) equals only itself. Total:
 * JSON.stringify threw on a bigint, and a peer's Port (its id is one) once reached it inside an
 * un-awaited promise — the rejection ended the process.
 */
function objectKey(v: unknown): string {
  try {
    const json = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))
    if (json !== undefined) return `j${json}`
  } catch {
    // below
  }
  if (typeof v !== 'object' && typeof v !== 'function') return counted(`${typeof v}:${String(v)}`)
  let id = identities.get(v as object)
  if (id === undefined) identities.set(v as object, (id = nextIdentity++))
  return `#${id}`
}
const identities = new WeakMap<object, number>()
let nextIdentity = 1

/** Tags are integers (OTP's unique_integer may exceed 2^53 and then decodes as a bigint). */
export function sameTerm(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  return termKey(a) === termKey(b)
}

/** Erlang's order of two pids: serial, then number, then node name, then creation. */
export function comparePids(a: Pid, b: Pid): number {
  if (a.serial !== b.serial) return a.serial < b.serial ? -1 : 1
  if (a.id !== b.id) return a.id < b.id ? -1 : 1
  if (a.node !== b.node) return a.node < b.node ? -1 : 1
  return a.creation === b.creation ? 0 : a.creation < b.creation ? -1 : 1
}

/** Erlang's order of two node names (atoms compare by their text). */
export function maxNode(nodes: Iterable<string>): string {
  let max = ''
  for (const n of nodes) if (n > max) max = n
  return max
}

/** An atom's name, or undefined. */
export function nameOf(v: unknown): string | undefined {
  return v instanceof Atom ? v.name : undefined
}

/** The JS face of a global name term: an atom's name; another term as erl prints it ({erl,1}). */
export function exposeName(v: unknown): string {
  return v instanceof Atom ? v.name : typeof v === 'string' ? v : erlText(v, 0)
}

function erlText(v: unknown, depth: number): string {
  if (depth > 20) return '...'
  if (v instanceof Atom) return quoteAtom(v.name)
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (v === true || v === false) return String(v)
  if (v instanceof Pid || v instanceof Ref) return v.toString()
  if (v instanceof Tuple) return `{${v.map(x => erlText(x, depth + 1)).join(',')}}`
  if (Array.isArray(v)) return `[${v.map(x => erlText(x, depth + 1)).join(',')}]`
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<<${JSON.stringify(Buffer.from(v).toString('latin1'))}>>`
  return termKey(v, depth)
}

/** The atom true as it decodes (a JS boolean), or as an Atom. */
export function isTrue(v: unknown): boolean {
  return v === true || (v instanceof Atom && v.name === 'true')
}
