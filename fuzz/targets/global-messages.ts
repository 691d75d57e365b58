// The global name server (lib/global/: global-server.ts, its locker, registrar and tables)
// against a hostile, authenticated peer: every message a process of a connected, visible peer
// may send to `global_name_server` ('$gen_cast' init_connect, lock_set, exchange, resolved,
// new_nodes, in_sync, async_del_*; '$gen_call' get_known, get_synced, set_lock, del_lock,
// register, register_ext, unregister, sync; plain init_connect_ack, cancel_connect,
// lost_connection, remove_connection), and to the pids it learns (the locker's, from
// init_connect). Each input runs on a fresh node — GlobalNames built as node.ts builds it over a
// real Runtime — so that a finding reproduces from its input alone; the peer is connected and
// visible, and the node has told its server so (nodeup: our init_connect to the peer is sent).
//
// The input is a script: up to MAX_MESSAGES ETF terms back to back (each with its version byte
// 131, the real decoder's). A term is delivered as the dispatcher delivers a REG_SEND to
// global_name_server (runtime.deliverNamed), unless it is a directive {'$fuzz', ...}, what the
// peer does besides sending to the server:
//   {'$fuzz', nodedown | nodeup [, Node]}  its connection (or the third node's) goes or comes
//                                           (a message from the peer brings it back first)
//   {'$fuzz', send, Pid, Msg}             a SEND to one of our pids (the locker, the registrar)
//   {'$fuzz', down, Pid [, Reason]}        a DOWN for our monitor of one of its processes
//   {'$fuzz', answer [, Reply]}            its server answers our last call to it
//   {'$fuzz', time [, Ms]}                 time passes: due receive timeouts fire (the runtime's
//                                           clock is manual; the locker's waits are receives)
// Placeholder atoms stand for what the peer learns from us: '$fuzz_tag' our meeting's tag (from
// the init_connect we sent it), '$fuzz_locker' our locker's pid, '$fuzz_user' a local process
// of ours. A third node (THIRD) can be dialled and answers global's calls honestly; any other
// node cannot be reached (its monitors fire noconnection). A failed decode ends the script: the
// terms before it are still delivered, then the CodecError is thrown (the input is refused).
// Seeds are scripts OTP 25's global would send, built with the real term constructors and
// encoder: the meeting (init_connect, the lockers' set_lock and lock_set, exchange, resolved,
// in_sync) up to each of its stages, then each other message, a registration under the lock,
// name conflicts, partitions; and malformed messages (test/global-bounds.test.ts's).
//
// Variant: bits 0-2 all clear, the probe runs after the script; bit 3, the peer's server answers
// our calls on its own (else only 'answer' does, and a call waits); bit 4, the messages are
// delivered back to back (else an event-loop turn after each); bits 5-7 all set, plain messages
// go to our locker's pid instead of the server.
//
// Oracle, after the script and a few turns: no error escaped (uncaught exception, unhandled
// rejection); nothing was logged at error level (a process crashed) nor warned with an error
// that is not an accepted NetkernelError (the server's and locker's catch-alls hiding a
// JavaScript error); the server, its locker and the registrar are alive; the tables are within
// their bounds (names and lock holders per node, known nodes) and hold one monitor per name and
// per lock holder. The probe: the peer's and the third node's connections drop (releasing what
// their processes held), then the server must answer a call, and — when no lock is left — a
// local registration through the GlobalNames API must succeed, whereis agree, and unregister
// clear it.
import { setImmediate as turn } from 'node:timers/promises'
import { Runtime } from '../../lib/process/runtime.js'
import type { Remote } from '../../lib/process/remote.js'
import type { Timers } from '../../lib/process/types.js'
import type { Logger } from '../../lib/logger.js'
import { NetkernelError, SpawnError } from '../../lib/errors.js'
import { GlobalNames } from '../../lib/global/global.js'
import type { GlobalTables } from '../../lib/global/global-tables.js'
import type { GlobalServerState } from '../../lib/global/global-server.js'
import { G, methodTerm } from '../../lib/global/global-terms.js'
import { EtfDecoder, EtfEncoder, etfDecodeError } from '../../lib/terms/etf/index.js'
import { Atom, atom } from '../../lib/terms/atom.js'
import { Tuple, tuple } from '../../lib/terms/tuple.js'
import { Pid } from '../../lib/terms/pid.js'
import { Ref } from '../../lib/terms/ref.js'
import { ImproperList } from '../../lib/terms/improper-list.js'
import { describeReason } from '../../lib/process/exit.js'
import { isDown } from '../../lib/process/monitors.js'
import { InvariantViolation, checkCause, describeError, isAccepted, type FuzzTarget } from '../target.js'

const LOCAL = 'local@host'
const PEER = 'peer@host'
/** Sorts before LOCAL (a conflict with one of its processes kills ours under random_exit). */
const THIRD = 'alpha@host'
const CRE = 7
const MAX_MESSAGES = 32
/** Small bounds, so that inputs reach them (maxListLength is 4 × names: 256). */
const LIMITS = { maxNamesPerNode: 64, maxLocksPerNode: 16 }
const MAX_KNOWN = 1000
const MAX_TIME_STEP = 120_000

const A = atom
const FUZZ = A('$fuzz')
const D = {
  nodeup: A('nodeup'),
  nodedown: A('nodedown'),
  send: A('send'),
  down: A('down'),
  answer: A('answer'),
  time: A('time'),
}
const MARK = Buffer.from('$fuzz_')
const ETF_VERSION = 131

const decoder = new EtfDecoder()
const etf = new EtfEncoder()

/** Errors that escaped while a run was under way (process-wide handlers, installed by the first run). */
const escaped: unknown[] = []
const onEscape = (err: unknown): void => void escaped.push(err)
let handlersOn = false

interface Logged {
  level: 'error' | 'warn'
  msg: string
  err: unknown
}

type TimerFn = (...args: unknown[]) => void

/** The runtime's clock: receive timeouts fire only when a script says time passes. */
class ManualTimers implements Timers {
  private now = 0
  private next = 1
  private readonly due = new Map<number, { at: number; fn: TimerFn; args: unknown[] }>()
  setTimeout(fn: TimerFn, ms: number, ...args: unknown[]): number {
    const id = this.next++
    this.due.set(id, { at: this.now + ms, fn, args })
    return id
  }
  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number)
  }
  advance(ms: number): void {
    this.now += ms
    const ready = [...this.due].filter(([, t]) => t.at <= this.now).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])
    for (const [id, t] of ready) if (this.due.delete(id)) t.fn(...t.args)
  }
}

/** What an honest global server answers a call (THIRD's, or the peer's when variant bit 3 is set). */
function honestReply(req: unknown): unknown {
  if (req === G.getKnown || req === G.getSynced) return []
  if (!(req instanceof Tuple)) return G.ok
  if (req[0] === G.setLock || req[0] === G.delLock) return true
  if (req[0] === G.register || req[0] === G.registerExt) return G.yes
  return G.ok
}

const opName = (v: unknown): string => (v instanceof Atom ? v.name : typeof v)

/** One fresh node: its runtime, GlobalNames, and the recording net kernel around them. */
class Harness {
  readonly runtime: Runtime
  readonly global: GlobalNames
  readonly timers = new ManualTimers()
  /** Connected (visible) nodes. */
  readonly up = new Set<string>([PEER])
  /** What the node sent out, by kind (cast:exchange, call:set_lock, send:..., exit). */
  readonly sent = new Map<string, number>()
  readonly logged: Logged[] = []
  /** What the watcher process received (DOWNs of the server and locker). */
  readonly box: unknown[] = []
  /** The runtime's monitors of processes on PEER and THIRD, by ref key. */
  readonly monitors = new Map<string, { from: Pid; target: Pid; ref: Ref }>()
  readonly holder: { tables?: GlobalTables; server?: GlobalServerState; locker?: Pid }
  server!: Pid
  registrar!: Pid
  locker!: Pid
  user!: Pid
  /** Our tag in the meeting with PEER (from the init_connect we cast to it). */
  myTag: unknown
  /** Our last call to PEER's server: what 'answer' replies to. */
  lastCall: { from: Pid; tag: unknown } | undefined
  peerAnswers = false
  processes = 0
  disposed = false

  constructor() {
    const logger: Logger = {
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (o, msg) => {
        if (typeof o === 'object' && 'err' in o) this.log('warn', msg ?? '', (o as { err: unknown }).err)
      },
      error: (o, msg) =>
        this.log('error', msg ?? (typeof o === 'string' ? o : ''), typeof o === 'object' ? (o as { err?: unknown }).err : o),
    }
    const reachable = (node: string): boolean => node === PEER || node === THIRD
    const remote: Remote = {
      send: (_from, to, msg) => {
        this.count(`send:${to.node === PEER ? 'peer' : 'other'}:${msg instanceof Tuple ? opName(msg[0]) : typeof msg}`)
        return true
      },
      regSend: (_from, name, node, msg) => {
        this.outbound(name, node, msg)
        return true
      },
      drain: async () => {},
      link: () => {},
      unlink: () => {},
      exit: () => this.count('exit'),
      monitor: (from, target, ref) => {
        if (!(target instanceof Pid)) return
        if (reachable(target.node)) this.monitors.set(ref.key, { from, target, ref })
        else queueMicrotask(() => this.runtime.nodeDown(target.node)) // the connection cannot be set up
      },
      demonitor: (_from, _target, ref) => void this.monitors.delete(ref.key),
      down: () => {},
      spawn: () => Promise.reject(new SpawnError('ERR_SPAWN_FAILED', 'no remote spawns while fuzzing')),
      rpc: (_from, node, mod, fun, args) => this.rpc(node, mod, fun, args),
      ensureConnected: node => {
        if (!reachable(node)) queueMicrotask(() => this.runtime.nodeDown(node))
      },
      isConnected: node => this.up.has(node),
    }
    this.runtime = new Runtime({ node: LOCAL, creation: 1, logger, remote, timers: this.timers })
    // As node.ts builds it (connect, disconnect, visibility are the kernel's).
    this.global = new GlobalNames({
      runtime: this.runtime,
      logger,
      connect: n => {
        if (!reachable(n)) return Promise.resolve(false)
        this.connectionUp(n)
        return Promise.resolve(true)
      },
      disconnect: n => queueMicrotask(() => this.connectionDown(n)),
      isVisible: n => this.up.has(n),
      visibleNodes: () => [...this.up],
      limits: LIMITS,
    })
    this.holder = (this.global as unknown as { holder: Harness['holder'] }).holder
  }

  private log(level: Logged['level'], msg: string, err: unknown): void {
    if (!this.disposed && this.logged.length < 16) this.logged.push({ level, msg, err })
  }

  private count(kind: string): void {
    this.sent.set(kind, (this.sent.get(kind) ?? 0) + 1)
  }

  async start(peerAnswers: boolean): Promise<void> {
    this.peerAnswers = peerAnswers
    const rt = this.runtime
    this.global.start()
    this.server = rt.whereis(G.server)!
    // (GlobalNames keeps these private: read as node.ts's tests would, checked here.)
    this.registrar = (this.global as unknown as { registrarPid: Pid }).registrarPid
    if (!(this.server instanceof Pid) || !(this.registrar instanceof Pid) || typeof this.holder !== 'object')
      throw new Error('global-messages: GlobalNames no longer has registrarPid and holder (update the harness)')
    this.user = rt.spawn(async p => {
      for (;;) await p.receive()
    })
    // The watcher starts after the server's body has spawned the locker (spawn order).
    rt.spawn(async p => {
      this.locker = this.holder.locker!
      p.monitor(this.server)
      p.monitor(this.locker)
      p.monitor(this.registrar)
      for (;;) {
        const m = await p.receive()
        if (this.box.length < 16) this.box.push(m)
      }
    })
    this.global.nodeEvent('nodeup', PEER)
    await turn()
    if (!(this.locker instanceof Pid)) throw new Error('global-messages: no locker pid in GlobalNames.holder (update the harness)')
    this.processes = rt.processCount
  }

  dispose(): void {
    this.disposed = true
    this.global.stop()
    this.runtime.shutdown('kill')
  }

  connectionUp(node: string): void {
    if (this.up.has(node)) return
    this.up.add(node)
    this.global.nodeEvent('nodeup', node)
  }

  /** What node.ts does when a visible connection goes: the runtime's nodeDown, then global's nodedown. */
  connectionDown(node: string): void {
    if (!this.up.delete(node)) return
    for (const [k, m] of this.monitors) if (m.target.node === node) this.monitors.delete(k)
    this.runtime.nodeDown(node)
    this.global.nodeEvent('nodedown', node)
  }

  private outbound(name: string, node: string, msg: unknown): void {
    if (name !== G.server || !(msg instanceof Tuple)) return this.count(`regsend:${name}`)
    if (msg[0] === G.genCast && msg[1] instanceof Tuple) {
      const req = msg[1]
      this.count(`cast:${opName(req[0])}`)
      if (req[0] === G.initConnect && node === PEER && req[1] instanceof Tuple) this.myTag = req[1][1]
      return
    }
    if (msg[0] === G.genCall && msg.length === 3 && msg[1] instanceof Tuple && msg[1][0] instanceof Pid) {
      const [from, tag] = [msg[1][0], msg[1][1]]
      const req = msg[2]
      this.count(`call:${opName(req instanceof Tuple ? req[0] : req)}`)
      if (node === PEER) this.lastCall = { from, tag }
      if (node === THIRD || (node === PEER && this.peerAnswers)) {
        const reply = tuple(tag, honestReply(req))
        queueMicrotask(() => this.runtime.deliver(from, reply))
      }
      return
    }
    this.count(`info:${opName(msg[0])}`)
  }

  /** global:resolve_it by rpc: THIRD runs random_exit honestly; the peer, when it answers, keeps its own. */
  private rpc(node: string, mod: string, fun: string, args: unknown[]): Promise<unknown> {
    this.count(`rpc:${mod}:${fun}`)
    const [, , p1, p2] = args
    if (mod === 'global' && fun === 'resolve_it' && p1 instanceof Pid && p2 instanceof Pid) {
      if (node === THIRD) return Promise.resolve(p1.node < p2.node ? p1 : p2)
      if (node === PEER && this.peerAnswers) return Promise.resolve(p1.node === PEER ? p1 : p2)
    }
    return Promise.reject(new NetkernelError('ERR_CONNECTION_CLOSED', `rpc to ${node}: noconnection`))
  }

  /** Deliver one term of the script. */
  apply(term: unknown, toLocker: boolean): void {
    if (term instanceof Tuple && term[0] === FUZZ && term.length >= 2 && this.directive(term)) return
    if (!this.up.has(PEER)) this.connectionUp(PEER) // a message from the peer: it is connected again
    if (toLocker) this.runtime.deliver(this.locker, term)
    else this.runtime.deliverNamed(G.server, term)
  }

  private directive(d: Tuple): boolean {
    const op = d[1]
    if (op === D.nodeup || op === D.nodedown) {
      const node = d[2] === A(THIRD) ? THIRD : PEER
      if (op === D.nodeup) this.connectionUp(node)
      else this.connectionDown(node)
      return true
    }
    if (op === D.send && d.length === 4 && d[2] instanceof Pid) {
      this.runtime.deliver(d[2], d[3])
      return true
    }
    if (op === D.down && d.length >= 3 && d[2] instanceof Pid) {
      const target = d[2]
      for (const [k, m] of this.monitors) {
        if (m.target.node !== PEER || !m.target.equals(target)) continue
        this.monitors.delete(k)
        this.runtime.downFrom(PEER, m.from, m.ref, d.length > 3 ? d[3] : A('noproc'))
      }
      return true
    }
    if (op === D.answer) {
      const c = this.lastCall
      this.lastCall = undefined
      if (c !== undefined) this.runtime.deliver(c.from, tuple(c.tag, d.length > 2 ? d[2] : true))
      return true
    }
    if (op === D.time) {
      const ms = typeof d[2] === 'number' && Number.isFinite(d[2]) ? Math.min(Math.max(d[2], 0), MAX_TIME_STEP) : 60_001
      this.timers.advance(ms)
      return true
    }
    return false // not a directive: a message like any other
  }

  /** The placeholders of what the peer has learnt from us. */
  substitute(v: unknown, depth = 0): unknown {
    if (depth > 64) return v
    if (v instanceof Atom) {
      if (v.name === '$fuzz_tag') return this.myTag ?? v
      if (v.name === '$fuzz_locker') return this.locker
      if (v.name === '$fuzz_user') return this.user
      return v
    }
    if (v instanceof Tuple) return Tuple.from(Array.prototype.map.call(v, (x: unknown) => this.substitute(x, depth + 1)))
    if (Array.isArray(v)) return v.map(x => this.substitute(x, depth + 1))
    if (v instanceof ImproperList)
      return new ImproperList(
        v.items.map(x => this.substitute(x, depth + 1)),
        this.substitute(v.tail, depth + 1),
      )
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [this.substitute(k, depth + 1), this.substitute(x, depth + 1)]))
    return v
  }

  /** The oracle, but for the probe. */
  check(when: string): void {
    if (escaped.length > 0) {
      const err = escaped[0]
      escaped.length = 0
      throw new InvariantViolation(`an error escaped ${when}: ${describeError(err)}`, { cause: err })
    }
    for (const l of this.logged) {
      if (l.level === 'error' || !isAccepted(l.err))
        throw new InvariantViolation(`logged ${when} (${l.level}) "${l.msg}": ${describeError(l.err)}`, { cause: l.err })
      checkCause(l.err)
    }
    const rt = this.runtime
    for (const [what, pid] of [
      ['global_name_server', this.server],
      ['the locker', this.locker],
      ['the registrar', this.registrar],
    ] as const) {
      if (rt.isAlive(pid)) continue
      const down = this.box.find(m => isDown(m) && pid.equals(m[3])) as unknown[] | undefined
      throw new InvariantViolation(`${what} ${pid.toString()} died ${when}: ${down === undefined ? '?' : describeReason(down[4])}`, {
        cause: down?.[4],
      })
    }
    if (rt.whereis(G.server)?.equals(this.server) !== true)
      throw new InvariantViolation(`global_name_server is no longer registered ${when}`)
    const s = this.global.sizes()
    if (s.monitors !== s.names + s.holders)
      throw new InvariantViolation(`${s.monitors} monitors for ${s.names} names and ${s.holders} lock holders ${when}`)
    if (s.known > MAX_KNOWN) throw new InvariantViolation(`${s.known} known nodes (bound ${MAX_KNOWN}) ${when}`)
    if (s.names > LIMITS.maxNamesPerNode || s.holders > LIMITS.maxLocksPerNode) {
      const names = new Map<string, number>()
      const holders = new Map<string, number>()
      for (const e of this.holder.tables?.names.values() ?? []) names.set(e.pid.node, (names.get(e.pid.node) ?? 0) + 1)
      for (const l of this.holder.tables?.locks.values() ?? [])
        for (const h of l.holders.values()) holders.set(h.pid.node, (holders.get(h.pid.node) ?? 0) + 1)
      for (const [n, c] of names)
        if (c > LIMITS.maxNamesPerNode) throw new InvariantViolation(`${c} names of ${n} (bound ${LIMITS.maxNamesPerNode}) ${when}`)
      for (const [n, c] of holders)
        if (c > LIMITS.maxLocksPerNode) throw new InvariantViolation(`${c} lock holders of ${n} (bound ${LIMITS.maxLocksPerNode}) ${when}`)
    }
    if ((this.holder.server?.ignored.size ?? 0) > 65)
      throw new InvariantViolation(`the ignored counts have ${this.holder.server?.ignored.size} kinds`)
    if (rt.processCount > this.processes + 1)
      throw new InvariantViolation(`${rt.processCount} processes (${this.processes} at start) ${when}`)
  }

  /** The server still serves: after the peer (and the third node) left, a call and a registration. */
  async probe(n: number): Promise<void> {
    this.connectionDown(PEER)
    this.connectionDown(THIRD)
    await turn()
    await turn()
    const rt = this.runtime
    const answers: unknown[] = []
    const caller = rt.spawn(async p => {
      const tag = p.makeRef()
      p.send(G.server, tuple(G.genCall, tuple(p.self, tag), G.getProtocolVersion))
      answers.push(await p.receive((m: unknown) => m instanceof Tuple && m.length === 2 && tag.equals(m[0])))
    })
    for (let i = 0; i < 5 && answers.length === 0; i++) await turn()
    rt.exit(caller, 'kill')
    if (answers.length === 0) throw new InvariantViolation('the probe: global_name_server does not answer get_protocol_version')
    // A lock still held by a local process (a peer may name any pid as a lock's holder) blocks
    // registrations as it would on OTP: then only the call is probed.
    if (this.global.sizes().locks > 0) return
    const name = `fuzz_probe_${n}`
    if (this.global.whereis(name) !== undefined) return
    const pid = rt.spawn(async p => {
      for (;;) await p.receive()
    })
    try {
      const ok = await this.settle(this.global.register(name, pid, { timeout: 2000 }), 'register')
      if (ok !== true) throw new InvariantViolation(`the probe: register(${name}, a fresh process) answered ${String(ok)}`)
      if (this.global.whereis(name)?.equals(pid) !== true)
        throw new InvariantViolation(`the probe: whereis(${name}) is ${String(this.global.whereis(name))} after it was registered`)
      await this.settle(this.global.unregister(name, { timeout: 2000 }), 'unregister')
      if (this.global.whereis(name) !== undefined) throw new InvariantViolation(`the probe: ${name} is still registered after unregister`)
    } finally {
      rt.exit(pid, 'kill')
    }
  }

  /** A GlobalNames call's outcome within a few turns (its steps are messages between local processes and THIRD). */
  private async settle<T>(call: Promise<T>, what: string): Promise<T> {
    let outcome: { ok: true; v: T } | { ok: false; err: unknown } | undefined
    call.then(
      v => void (outcome = { ok: true, v }),
      (err: unknown) => void (outcome = { ok: false, err }),
    )
    for (let i = 0; i < 20 && outcome === undefined; i++) await turn()
    if (outcome === undefined) throw new InvariantViolation(`the probe: ${what} did not complete`)
    if (!outcome.ok) throw new InvariantViolation(`the probe: ${what} failed with ${describeError(outcome.err)}`, { cause: outcome.err })
    return outcome.v
  }
}

/** The script's terms, and the error that ended its decoding, if one did. */
function decodeScript(input: Buffer): { terms: unknown[]; error?: unknown } {
  const terms: unknown[] = []
  let at = 0
  while (at < input.length && terms.length < MAX_MESSAGES) {
    if (input[at] !== ETF_VERSION) {
      return { terms, error: etfDecodeError(`expected the version byte 131 at offset ${at}, got ${input[at]}`) }
    }
    try {
      const { value, end } = decoder.decodeAt(input, at + 1)
      terms.push(value)
      at = end
    } catch (err) {
      return { terms, error: err }
    }
  }
  return { terms }
}

// ---- seeds -------------------------------------------------------------------------------------

const peerPid = (id: number): Pid => new Pid(PEER, id, 0, CRE)
const thirdPid = (id: number): Pid => new Pid(THIRD, id, 0, 2)
const peerRef = (n: number): Ref => new Ref(PEER, n, CRE, [n, 0x1b2c3d4e, 0x5f6a7b8c])

function seedScripts(): unknown[][] {
  const MY_TAG = A('$fuzz_tag')
  const OUR_LOCKER = A('$fuzz_locker')
  const USER = A('$fuzz_user')
  // OTP's unique_integer tags start far below -2^53 (a bigint here).
  const HIS_TAG = -576460752303422975n
  const PEER_LOCKER = peerPid(41)
  const PEER_REG = peerPid(42)
  const SHELL = peerPid(90)
  const exitM = methodTerm('random_exit')
  const notifyM = methodTerm('random_notify')
  const allM = methodTerm('notify_all')
  /** gen_server:multi_call's tag {Ref, Node}; gen_server:call's [alias | Ref]. */
  const multiTag = (n: number): Tuple => tuple(peerRef(n), A(LOCAL))
  const callTag = (n: number): ImproperList => new ImproperList([A('alias')], peerRef(n))
  const cast = (...req: unknown[]): Tuple => tuple(G.genCast, tuple(...req))
  const call = (from: Pid, tag: unknown, req: unknown): Tuple => tuple(G.genCall, tuple(from, tag), req)
  const fuzz = (...args: unknown[]): Tuple => tuple(FUZZ, ...args)
  // Our locker's id is a small number: it sorts first ({global, lists:sort([A, B])}).
  const lockerLock = tuple(G.global, [OUR_LOCKER, PEER_LOCKER])
  const regLock = tuple(G.global, PEER_REG)
  const reg = (n: number, req: unknown): Tuple => call(PEER_REG, multiTag(n), req)

  const initConnect = (known: Map<unknown, unknown>): Tuple =>
    cast(G.initConnect, tuple(8, HIS_TAG), A(PEER), tuple(G.locker, G.noLongerAPid, known, PEER_LOCKER))
  const connect = [initConnect(new Map()), tuple(G.initConnectAck, A(PEER), MY_TAG, HIS_TAG)]
  // The peer's locker leads: the lock on us, then lock_set to our server (our locker takes it too).
  const lock = [call(PEER_LOCKER, multiTag(1), tuple(G.setLock, lockerLock)), cast(G.lockSet, PEER_LOCKER, true, [], MY_TAG)]
  const names = [
    tuple(A('peer_name'), peerPid(101), exitM),
    tuple(A('shared'), peerPid(102), notifyM),
    tuple(tuple(A('tuple_name'), 1), peerPid(103), allM),
    // Names are any term: one holding a pid (as {via, Pid} keys do).
    tuple(tuple(A('session'), peerPid(105)), peerPid(106), exitM),
  ]
  const exchange = cast(G.exchange, A(PEER), names, [], MY_TAG)
  const resolved = cast(
    G.resolved,
    A(PEER),
    [tuple(G.insert, tuple(A('from_peer'), peerPid(104), exitM))],
    [tuple(A(THIRD), 8)],
    G.unused,
    [],
    MY_TAG,
  )
  const synced = [cast(G.inSync, A(PEER), true), call(PEER_LOCKER, multiTag(2), tuple(G.delLock, lockerLock))]
  const meeting = [...connect, ...lock, exchange, resolved, ...synced]
  // Registered under the registrar's lock: on THIRD (known once met) and a process of ours.
  const registered = [
    reg(10, tuple(G.setLock, regLock)),
    reg(11, tuple(G.register, A('on_third'), thirdPid(5), exitM)),
    reg(12, tuple(G.register, A('ours'), USER, exitM)),
    reg(13, tuple(G.delLock, regLock)),
  ]
  // A second meeting whose names conflict with ours (we resolve: local < peer).
  const reconnect = (conflicts: Tuple[]): unknown[] => [
    fuzz(D.nodedown),
    ...connect,
    ...lock,
    cast(G.exchange, A(PEER), conflicts, [], MY_TAG),
    cast(G.resolved, A(PEER), [], [], G.unused, [], MY_TAG),
    ...synced,
  ]

  const prefixes: unknown[][] = [[], connect, [...connect, ...lock], meeting, [...meeting, ...registered]]
  const tails: unknown[][] = [
    [],
    [
      reg(20, tuple(G.setLock, regLock)),
      reg(21, tuple(G.register, A('reg_a'), peerPid(110), exitM)),
      reg(22, tuple(G.registerExt, A('reg_b'), peerPid(111), notifyM, A(PEER))),
      reg(26, tuple(G.register, tuple(A('n'), A('l'), peerRef(7)), peerPid(113), exitM)),
      reg(23, tuple(G.unregister, A('peer_name'))),
      reg(24, tuple(G.delLock, regLock)),
    ],
    registered,
    [reg(25, tuple(G.register, A('unlocked'), peerPid(112), exitM))],
    [call(SHELL, callTag(30), G.getKnown)],
    [call(SHELL, callTag(31), G.getSynced)],
    [call(SHELL, callTag(32), G.getProtocolVersion)],
    [call(SHELL, callTag(33), tuple(G.sync, [A(PEER), A(THIRD)]))],
    [
      cast(
        G.newNodes,
        A(PEER),
        [tuple(G.insert, tuple(A('via_new_nodes'), peerPid(120), exitM)), tuple(G.delete, A('shared'))],
        [],
        [tuple(A(THIRD), 8), A('gone@nowhere')],
        [tuple(G.vsn, 8)],
      ),
    ],
    [cast(G.inSync, A(PEER), true)],
    [cast(G.asyncDelName, A('peer_name'), peerPid(101))],
    [cast(G.asyncDelLock, regLock, PEER_REG)],
    [tuple(G.cancelConnect, A(PEER), MY_TAG)],
    [tuple(G.initConnectAck, A(PEER), 12345, HIS_TAG)],
    [tuple(G.lostConnection, A(PEER), 4_000_000_001, 1, A(THIRD))],
    [tuple(G.lostConnection, A(THIRD), 99, 3, A(LOCAL))],
    [tuple(G.removeConnection, A(PEER))],
    [fuzz(D.down, peerPid(101), A('normal'))],
    [fuzz(D.down, PEER_LOCKER, A('killed'))],
    [fuzz(D.nodedown)],
    [fuzz(D.nodedown), ...connect],
    [fuzz(D.nodedown, A(THIRD))],
    // Our locker leads: time passes, it takes the lock on us and asks the peer, who answers.
    [fuzz(D.time, 1000), fuzz(D.answer, true), cast(G.lockSet, PEER_LOCKER, true, [A(THIRD)], MY_TAG), exchange],
    [fuzz(D.time, 1000), fuzz(D.answer, false)],
    [fuzz(D.time)],
    // An old-style lock_set straight to our locker; and a 4-tuple one through the server.
    [fuzz(D.send, OUR_LOCKER, tuple(G.lockSet, PEER_LOCKER, true, []))],
    [cast(G.lockSet, PEER_LOCKER, false, [])],
    // Conflicts: with a name of ours, of THIRD (resolved there by rpc), a THIRD process against ours.
    reconnect([
      tuple(A('ours'), peerPid(130), exitM),
      tuple(A('on_third'), peerPid(131), notifyM),
      tuple(A('peer_name'), peerPid(101), exitM),
    ]),
    reconnect([tuple(A('ours'), thirdPid(6), exitM)]),
    reconnect([tuple(A('ours'), peerPid(132), allM), tuple(A('shared'), peerPid(133), A('random_notify_name'))]),
    // The peer's init_connect again, knowing THIRD; and one naming THIRD as its sender.
    [initConnect(new Map<unknown, unknown>([[A(THIRD), 8]]))],
    [cast(G.initConnect, tuple(8, 77), A(THIRD), tuple(G.locker, G.noLongerAPid, new Map(), thirdPid(9)))],
  ]
  const scripts: unknown[][] = []
  for (const p of prefixes) for (const t of tails) scripts.push([...p, ...t])
  // Malformed messages (test/global-bounds.test.ts's, and more): ignored and counted.
  for (const junk of [
    tuple(),
    tuple(G.genCast, 'not a tuple'),
    tuple(G.genCast, tuple(G.initConnect, 8, A(PEER), 'x')),
    tuple(G.genCast, tuple(G.exchange, A(PEER), 'not a list', [], MY_TAG)),
    tuple(G.genCast, tuple(G.newNodes, A('stranger@x'), [], [], [A('evil@x')], [])),
    tuple(G.genCall, 'no from', G.getKnown),
    tuple(G.genCall, tuple(1, 2), tuple(G.setLock)),
    tuple(G.lostConnection, 'a', 1, 'x', 'b'),
    tuple(A('unknown_thing')),
    [A('DOWN'), peerRef(1)],
    42,
  ]) {
    scripts.push([junk], [...meeting, junk])
  }
  return scripts
}

/** The seed scripts, encoded. */
export function globalMessageSeeds(): Buffer[] {
  return seedScripts().map(s => Buffer.concat(s.map(t => etf.encode(t))))
}

export interface GlobalMessagesTarget extends FuzzTarget {
  /** The last run's node: what it sent, ignored and holds (for checking what the seeds reach). */
  inspect(): { sent: Map<string, number>; ignored: Map<string, number>; registered: string[]; known: string[]; locks: number } | undefined
}

export function globalMessagesTarget(): GlobalMessagesTarget {
  let h: Harness | undefined
  let runs = 0
  return {
    name: 'global-messages',
    seeds: globalMessageSeeds,
    async run(input, variant) {
      if (!handlersOn) {
        handlersOn = true
        process.on('uncaughtException', onEscape)
        process.on('unhandledRejection', onEscape)
      }
      h?.dispose()
      h = new Harness()
      await h.start((variant & 8) !== 0)
      const { terms, error } = decodeScript(input)
      const hasMarks = input.includes(MARK)
      const spaced = (variant & 16) === 0
      const toLocker = (variant & 0xe0) === 0xe0
      for (const t of terms) {
        h.apply(hasMarks ? h.substitute(t) : t, toLocker)
        if (spaced) await turn()
      }
      await turn()
      await turn()
      h.check('after the script')
      if ((variant & 7) === 0) {
        await h.probe(runs++)
        h.check('after the probe')
      }
      if (error !== undefined) throw error
    },
    inspect() {
      if (h === undefined) return undefined
      return {
        sent: new Map(h.sent),
        ignored: h.global.ignored(),
        registered: h.global.registered(),
        known: h.global.known(),
        locks: h.global.sizes().locks,
      }
    },
    close() {
      h?.dispose()
      h = undefined
      if (handlersOn) {
        handlersOn = false
        process.off('uncaughtException', onEscape)
        process.off('unhandledRejection', onEscape)
      }
    },
  }
}
