// A pg scope (lib/pg/: scope.ts, process-groups.ts, pg-monitor.ts, group-key.ts, limits.ts)
// against a hostile, authenticated peer node: every message the peer's scope process can send
// the local scope — {discover, Peer}, {'$gen_cast', {sync, Peer, Groups}}, {join, Peer, Group,
// PidOrPids}, {leave, Peer, PidOrPids, Groups}, {'$netkernel_pg_send', Group, Msg}, and what
// pg.erl does not answer ('$gen_call's, DOWN look-alikes) — and the signals the peer causes: a
// DOWN for the scope's monitor of one of its processes, and the connection's loss (nodedown).
//
// The input is an External Term Format term (the seeds: realistic OTP 25 pg messages from the
// peer's scope pid with members of the peer's node, a few naming pids of the local node or of
// a third, unconnected node, and fast-check group terms), decoded by the real ETF decoder (a
// failed decode is refused with its CodecError). A list is a script whose elements are the
// steps (at most 64); any other term is one message. Steps:
//
//   {'$fuzz_down', I, Reason [, Ref]}  the peer sends DOWN for the scope's I-th monitor of a
//                                      process of the peer (with Ref instead of its own ref)
//   '$fuzz_nodedown'                   the connection is lost (runtime.nodeDown, as node.ts
//                                      does); it comes back (nodeup) before the next message
//   {'$fuzz_from', Pid, Msg}           Msg as a REG_SEND from Pid (of another node: refused)
//   anything else                      a message of the peer, delivered by the real dispatcher
//                                      (dispatch.ts) as SEND to the scope's pid or REG_SEND to
//                                      its name, into a real Runtime whose net kernel is a
//                                      recorder (as test/pg-bounds.test.ts builds it)
//
// Variant bits: 0 REG_SEND to 'pg' (else SEND to its pid); 1 small limits (2 scopes per node,
// 8 members, 4 groups, 4 queued monitor events) instead of the defaults; 2 the peer is a
// netkernel node (MessagePack: the input's binaries become strings, as a peer can send); 3
// the event loop turns after every step (else once the script is delivered); 4 a fresh
// harness for this input, so that the run reproduces alone (else the harness of its limits,
// kept for 256 inputs and dropped after a finding); 5-6 both clear: probe after the checks.
//
// Oracle, after the loop turned: the scope process lives under its name; no exception escaped
// (uncaughtException, unhandledRejection), nothing was logged at error level (a crashed
// process) and no handler threw (the scope's catch-all logs the error's message as the drop
// reason); the scope dialled no unconnected node and sent its peers only well-formed messages
// naming its own processes, with atom groups as atoms; what a peer holds is within the limits
// and its books agree with the member table (every remote member a process of the peer scope's
// node, the only node connected; counts; local members as joined); the local members the
// harness joined are still there; a scope monitor (pg.monitor()) replays to the member table;
// after a nodedown, nothing of that node is left. The probe: a relayed group send reaches a
// local member, and a local join then leave shows in members/localMembers/whichGroups. The
// books are the scope's private fields (ScopeView): if they move, the target says so.
import { setImmediate as turnLoop } from 'node:timers/promises'
import { inspect } from 'node:util'
import { EtfDecoder, EtfEncoder } from '../../lib/terms/etf/index.js'
import { atom } from '../../lib/terms/atom.js'
import { Tuple, tuple } from '../../lib/terms/tuple.js'
import { ImproperList } from '../../lib/terms/improper-list.js'
import { Pid } from '../../lib/terms/pid.js'
import { Ref } from '../../lib/terms/ref.js'
import { Runtime } from '../../lib/process/runtime.js'
import type { Remote } from '../../lib/process/remote.js'
import type { Dispatcher } from '../../lib/kernel/dispatch.js'
import { DOWN, REG_SEND, SEND } from '../../lib/kernel/frames.js'
import type { Connection } from '../../lib/kernel/connection.js'
import { SpawnError, NetkernelError } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import { ProcessGroups, type PgEvent, type PgMonitor } from '../../lib/pg/process-groups.js'
import { DEFAULT_PG_LIMITS, type PgLimits } from '../../lib/pg/limits.js'
import { groupKey } from '../../lib/pg/group-key.js'
import { harnessDispatcher } from '../node-harness.js'
import { otpTermArb, sample } from '../terms-arb.js'
import { InvariantViolation, checkCause, describeError, type FuzzTarget } from '../target.js'

// Long names with addresses, as Erlang clusters are often named.
const LOCAL = 'pgfuzz@10.0.0.1'
const PEER = 'peer@10.0.0.2'
const THIRD = 'third@10.0.0.3'
const LOCAL_CREATION = 7
const PEER_CREATION = 1_700_000_001
const SCOPE = 'pg'
const MAX_STEPS = 64
const KEEP_FOR = 256
/** setImmediate turns after the input (more, up to MAX_TURNS, while the monitor's reader lags). */
const TURNS = 2
const MAX_TURNS = 8
const SMALL_LIMITS: PgLimits = { maxPeersPerNode: 2, maxMembersPerPeer: 8, maxGroupsPerPeer: 4, maxQueuedEvents: 4 }
const PROBE_GROUP = 'nk_probe'

const A = {
  discover: atom('discover'),
  join: atom('join'),
  leave: atom('leave'),
  sync: atom('sync'),
  cast: atom('$gen_cast'),
  call: atom('$gen_call'),
  relay: atom('$netkernel_pg_send'),
  fuzzDown: atom('$fuzz_down'),
  fuzzNodedown: atom('$fuzz_nodedown'),
  fuzzFrom: atom('$fuzz_from'),
  probe: atom('$fuzz_probe'),
  g: atom('g'),
  h: atom('h'),
}
const ROOM = tuple(atom('chat'), Buffer.from('room1'))

const decoder = new EtfDecoder()
const encoder = new EtfEncoder()

/** What the target reads of a scope (private fields of scope.ts, read to check its books). */
interface ScopeView {
  readonly pid: Pid
  readonly alive: boolean
  readonly groups: Map<string, { term: unknown; all: Pid[]; local: Pid[] }>
  readonly peers: Map<string, { pid: Pid; groups: Map<string, { term: unknown; pids: Pid[] }>; members: number }>
  readonly local: Map<string, { pid: Pid; groups: string[] }>
}

interface Harness {
  readonly runtime: Runtime
  readonly pg: ProcessGroups
  readonly dispatch: Dispatcher
  readonly conn: Connection
  readonly limits: PgLimits
  readonly scopePid: Pid
  /** The local processes joined at the start: [pid, group, times]. */
  readonly members: ReadonlyArray<[Pid, unknown, number]>
  readonly prober: Pid
  /** Probe numbers the relay brought to the recording member. */
  readonly probed: Set<number>
  readonly connected: Set<string>
  /** What the scope sent other nodes, since the last check. */
  sent: Array<{ to: unknown; msg: unknown; from: Pid | undefined }>
  /** The runtime's monitors of processes on other nodes (what the peer may send DOWN for). */
  monitors: Array<{ from: Pid; target: unknown; ref: Ref }>
  /** What went wrong outside the oracle's view: logged errors, a handler's throw, a dial. */
  problems: Array<{ what: string; err?: unknown }>
  /** The scope monitor, and the membership its events replay to (group key → pid key → count). */
  monitor: PgMonitor | undefined
  model: Map<string, Map<string, number>>
  /** The monitor ended (over its bound): start another before comparing. */
  lagged: boolean
  /** The connection to the peer is down (a nodedown step), to come back before the next message. */
  down: boolean
  probeSeq: number
  inputs: number
}

function limitsOf(small: boolean): PgLimits {
  return small ? SMALL_LIMITS : { ...DEFAULT_PG_LIMITS }
}

function nodeOf(target: unknown): string | undefined {
  if (target instanceof Pid) return target.node
  return Array.isArray(target) && typeof target[1] === 'string' ? target[1] : undefined
}

function buildHarness(small: boolean): Harness {
  const problems: Harness['problems'] = []
  const logger: Logger = {
    trace: () => {},
    info: () => {},
    debug: (_obj, msg) => {
      // scope.ts drops what it does not take as 'unknown message', and a message whose handler
      // threw with the error's message instead.
      if (typeof msg === 'string' && msg.includes(': dropped a message (') && !msg.endsWith('(unknown message)')) {
        problems.push({ what: `a handler of the scope threw: ${msg}` })
      }
    },
    warn: (obj, msg) => {
      if (typeof msg === 'string' && msg.includes('cannot send')) problems.push({ what: msg, err: (obj as { err?: unknown }).err })
    },
    error: (obj, msg) => problems.push({ what: `logged an error: ${String(msg)}`, err: (obj as { err?: unknown }).err }),
  }
  const connected = new Set([PEER])
  const runtime = new Runtime({ node: LOCAL, creation: LOCAL_CREATION, logger })
  // Filled in below; what the net kernel records goes here from the start.
  const h = { sent: [], monitors: [], problems } as unknown as Harness
  const dial = (what: string, node: string | undefined): void => {
    if (node === undefined || !connected.has(node)) problems.push({ what: `${what} toward ${String(node)}, which is not connected` })
  }
  const remote: Remote = {
    send: (from, to, msg) => {
      dial('a message', to.node)
      h.sent.push({ to, msg, from })
      return true
    },
    regSend: (from, name, node, msg) => {
      dial('a registered send', node)
      h.sent.push({ to: [name, node], msg, from })
      return true
    },
    drain: async () => {},
    link: (_from, to) => dial('a link', to.node),
    unlink: () => {},
    exit: (_from, to) => dial('an exit signal', to.node),
    monitor: (from, target, ref) => {
      dial('a monitor', nodeOf(target))
      h.monitors.push({ from, target, ref })
    },
    demonitor: (_from, _target, ref) => {
      h.monitors = h.monitors.filter(m => m.ref.key !== ref.key)
    },
    down: () => {},
    spawn: () => Promise.reject(new SpawnError('ERR_SPAWN_FAILED', 'no remote spawns while fuzzing pg')),
    rpc: () => Promise.reject(new SpawnError('ERR_SPAWN_FAILED', 'no remote calls while fuzzing pg')),
    ensureConnected: node => dial('a connection', node),
    isConnected: node => connected.has(node),
  }
  runtime.setRemote(remote)
  const { dispatch } = harnessDispatcher(LOCAL, runtime)
  const limits = limitsOf(small)
  const pg = new ProcessGroups({
    runtime,
    logger,
    connectedNodes: () => [...connected],
    isConnected: node => connected.has(node),
    protocolOf: node => (node === PEER ? 'netkernel' : undefined),
    limits,
  })
  const probed = new Set<number>()
  // Local members: one records the probes relayed to group g; the other is in g twice.
  const recorder = runtime.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      if (m instanceof Tuple && m[0] === A.probe && typeof m[1] === 'number') probed.add(m[1])
    }
  })
  const idle = (): Pid =>
    runtime.spawn(async proc => {
      for (;;) await proc.receive()
    })
  const twice = idle()
  const prober = idle()
  // Their monitors are the scope's first refs (1 and 2): a peer can guess them.
  pg.join('g', recorder)
  pg.join(ROOM, recorder)
  pg.join('g', [twice, twice])
  const scopePid = runtime.whereis(SCOPE)!
  Object.assign(h, {
    runtime,
    pg,
    dispatch,
    conn: { peer: PEER, type: 'visible', send: () => true, write: () => true, nodesHeard: () => {} } as unknown as Connection,
    limits,
    scopePid,
    members: [
      [recorder, 'g', 1],
      [recorder, ROOM, 1],
      [twice, 'g', 2],
    ],
    prober,
    probed,
    connected,
    sent: h.sent,
    monitors: h.monitors,
    problems,
    monitor: undefined,
    model: new Map(),
    lagged: false,
    down: false,
    probeSeq: 0,
    inputs: 0,
  } satisfies Harness)
  watch(h)
  return h
}

/** A scope monitor whose events replay onto a copy of the membership it started from. */
function watch(h: Harness): void {
  h.monitor?.stop()
  const m = h.pg.monitor()
  const model = new Map<string, Map<string, number>>()
  for (const [group, pids] of m.groups) count(model, groupKey(group) ?? '?', pids, 1)
  h.monitor = m
  h.model = model
  h.lagged = false
  void (async () => {
    try {
      for await (const e of m) replay(h, model, e)
    } catch (err) {
      if (err instanceof NetkernelError && err.code === 'ERR_LIMIT') h.lagged = true
      else h.problems.push({ what: `the scope monitor failed: ${describeError(err)}`, err })
    }
  })()
}

function count(model: Map<string, Map<string, number>>, key: string, pids: readonly Pid[], by: number): boolean {
  let g = model.get(key)
  if (g === undefined) model.set(key, (g = new Map()))
  let ok = true
  for (const p of pids) {
    const n = (g.get(p.key) ?? 0) + by
    if (n < 0) ok = false
    if (n <= 0) g.delete(p.key)
    else g.set(p.key, n)
  }
  if (g.size === 0) model.delete(key)
  return ok
}

function replay(h: Harness, model: Map<string, Map<string, number>>, e: PgEvent): void {
  if (model !== h.model) return
  const key = groupKey(e.group)
  if (key === undefined) h.problems.push({ what: `a monitor event names a group with no key: ${show(e.group)}` })
  for (const p of e.pids) {
    if (p.node !== LOCAL && p.node !== PEER) h.problems.push({ what: `a monitor event names ${p.toString()} (${e.type})` })
  }
  if (!count(model, key ?? '?', e.pids, e.type === 'join' ? 1 : -1)) {
    h.problems.push({ what: `a monitor event has ${e.pids.map(String).join(', ')} leave ${String(key)}, of which they were not members` })
  }
}

/** The input's binaries as strings (a netkernel peer's MessagePack can carry either). */
function asNetkernel(v: unknown, depth: number): unknown {
  if (depth > 32) return v
  if (Buffer.isBuffer(v)) {
    const s = v.toString('utf8')
    return Buffer.from(s, 'utf8').equals(v) ? s : v
  }
  if (v instanceof Tuple) return Tuple.from(Array.from(v, x => asNetkernel(x, depth + 1)))
  if (Array.isArray(v)) return v.map(x => asNetkernel(x, depth + 1))
  if (v instanceof ImproperList)
    return new ImproperList(
      v.items.map(x => asNetkernel(x, depth + 1)),
      asNetkernel(v.tail, depth + 1),
    )
  if (v instanceof Map) return new Map(Array.from(v, ([k, x]) => [asNetkernel(k, depth + 1), asNetkernel(x, depth + 1)]))
  return v
}

function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !(v instanceof Tuple)
}

const turn = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await turnLoop()
}

function reconnect(h: Harness): void {
  if (!h.down) return
  h.down = false
  h.connected.add(PEER)
  h.pg.nodeUp(PEER)
}

function nodeDown(h: Harness): void {
  h.down = true
  h.connected.delete(PEER)
  h.runtime.nodeDown(PEER)
  h.monitors = h.monitors.filter(m => nodeOf(m.target) !== PEER)
}

/** The peer's DOWN for the scope's I-th monitor of a process of the peer. */
function peerDown(h: Harness, step: Tuple): void {
  const mine = h.monitors.filter(m => m.from.equals(h.scopePid) && nodeOf(m.target) === PEER)
  if (mine.length === 0) return
  const i = typeof step[1] === 'number' && Number.isSafeInteger(step[1]) ? Math.abs(step[1]) % mine.length : 0
  const m = mine[i]!
  const ref = step.length > 3 && step[3] instanceof Ref ? step[3] : m.ref
  h.dispatch(h.conn, [DOWN, m.from, ref, step[2]])
  h.monitors = h.monitors.filter(x => x.ref.key !== ref.key)
}

async function deliver(h: Harness, steps: readonly unknown[], variant: number): Promise<void> {
  const native = (variant & 4) !== 0
  const each = (variant & 8) !== 0
  for (const raw of steps) {
    const step = native ? asNetkernel(raw, 0) : raw
    if (step === A.fuzzNodedown) {
      nodeDown(h)
      if (each) {
        await turn(TURNS)
        checkGone(h)
      }
      continue
    }
    if (step instanceof Tuple && step[0] === A.fuzzDown && step.length >= 3) {
      // The peer can only answer a monitor the scope has made: let it take what came before.
      if (!each) await turn(1)
      peerDown(h, step)
    } else {
      reconnect(h)
      if (step instanceof Tuple && step[0] === A.fuzzFrom && step.length === 3) h.dispatch(h.conn, [REG_SEND, step[1], SCOPE, step[2]])
      else if ((variant & 1) !== 0) h.dispatch(h.conn, [REG_SEND, new Pid(PEER, 71, 0, PEER_CREATION), SCOPE, step])
      else h.dispatch(h.conn, [SEND, h.scopePid, step])
    }
    if (each) await turn(1)
  }
}

function scopeOf(h: Harness): ScopeView | undefined {
  const scopes = (h.pg as unknown as { scopes?: unknown }).scopes
  if (!(scopes instanceof Map)) throw new Error('pg-messages reads ProcessGroups.scopes, which moved: update the target')
  const s = scopes.get(SCOPE) as ScopeView | undefined
  if (s !== undefined && !(s.groups instanceof Map && s.peers instanceof Map && s.local instanceof Map)) {
    throw new Error('pg-messages reads a Scope’s groups, peers and local members, which moved: update the target')
  }
  return s
}

/**
 * A finding. Its stack starts where the rule was checked (not here), since the runner tells
 * findings apart by the top frame.
 */
function fail(what: string, cause?: unknown, from: (...args: never[]) => unknown = fail): never {
  // (The runner takes the first line with ' at ' for the top frame: not one of the message's.)
  const err = new InvariantViolation(what.replace(/ at /g, ' at\u00a0'), cause === undefined ? undefined : { cause })
  Error.captureStackTrace(err, from)
  throw err
}

function show(v: unknown): string {
  return inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 8 }).slice(0, 300)
}

function counts(pids: readonly Pid[]): Map<string, number> {
  const m = new Map<string, number>()
  for (const p of pids) m.set(p.key, (m.get(p.key) ?? 0) + 1)
  return m
}

function sameCounts(a: ReadonlyMap<string, number> | undefined, b: ReadonlyMap<string, number> | undefined): boolean {
  const x = a ?? new Map<string, number>()
  const y = b ?? new Map<string, number>()
  if (x.size !== y.size) return false
  for (const [k, n] of x) if (y.get(k) !== n) return false
  return true
}

/** The scope still runs, under its name, and no error got past it. */
function checkLife(h: Harness, escaped: Array<{ what: string; err: unknown }>): void {
  const e = escaped.shift()
  if (e !== undefined) fail(`${e.what}: ${describeError(e.err)}`, e.err)
  const p = h.problems.shift()
  if (p !== undefined) fail(p.err === undefined ? p.what : `${p.what}: ${describeError(p.err)}`, p.err)
  const s = scopeOf(h)
  if (s === undefined || !s.alive || !h.runtime.isAlive(h.scopePid)) fail('the pg scope process is dead')
  const at = h.runtime.whereis(SCOPE)
  if (at === undefined || !at.equals(h.scopePid)) fail(`the name ${SCOPE} is no longer the scope's (${String(at)})`)
  if (!h.pg.scopeNames().includes(SCOPE)) fail('node.pg no longer lists the scope')
}

/** What a peer holds is bounded, its books agree with the member table, and local members stay. */
function checkBooks(h: Harness): ScopeView {
  const s = scopeOf(h)!
  const lim = h.limits
  const remote = new Map<string, Map<string, number>>()
  const perNode = new Map<string, number>()
  for (const [key, p] of s.peers) {
    if (key !== p.pid.key) fail(`a peer scope is filed under ${key}, not its pid ${p.pid.toString()}`)
    if (p.pid.node !== PEER) fail(`${p.pid.toString()} is a peer scope, but ${p.pid.node} is not connected`)
    perNode.set(p.pid.node, (perNode.get(p.pid.node) ?? 0) + 1)
    if (p.groups.size > lim.maxGroupsPerPeer)
      fail(`peer scope ${p.pid.toString()} has ${p.groups.size} groups (bound ${lim.maxGroupsPerPeer})`)
    let n = 0
    for (const [gk, e] of p.groups) {
      n += e.pids.length
      for (const x of e.pids) {
        if (!(x instanceof Pid) || x.node !== p.pid.node) fail(`${String(x)} is a member for peer scope ${p.pid.toString()}`)
      }
      let r = remote.get(gk)
      if (r === undefined) remote.set(gk, (r = new Map()))
      for (const x of e.pids) r.set(x.key, (r.get(x.key) ?? 0) + 1)
    }
    if (n !== p.members) fail(`peer scope ${p.pid.toString()} counts ${p.members} members but holds ${n}`)
    if (n > lim.maxMembersPerPeer) fail(`peer scope ${p.pid.toString()} holds ${n} members (bound ${lim.maxMembersPerPeer})`)
  }
  for (const [node, n] of perNode) if (n > lim.maxPeersPerNode) fail(`${n} peer scopes of ${node} (bound ${lim.maxPeersPerNode})`)
  const localByKey = new Map<string, Map<string, number>>()
  for (const [key, m] of s.local) {
    if (key !== m.pid.key || m.pid.node !== LOCAL) fail(`local member ${m.pid.toString()} is filed under ${key}`)
    for (const gk of m.groups) {
      let l = localByKey.get(gk)
      if (l === undefined) localByKey.set(gk, (l = new Map()))
      l.set(key, (l.get(key) ?? 0) + 1)
    }
  }
  for (const [gk, g] of s.groups) {
    if (g.all.length === 0) fail(`group ${gk} is kept with no members`)
    if (groupKey(g.term) !== gk) fail(`group ${gk} is filed under another key than its term's`)
    const all = counts(g.all)
    const local = counts(g.local)
    for (const x of g.all) if (x.node !== LOCAL && x.node !== PEER) fail(`${x.toString()} is a member of ${gk}`)
    for (const x of g.local) if (x.node !== LOCAL) fail(`${x.toString()} is a local member of ${gk}`)
    if (!sameCounts(local, localByKey.get(gk))) fail(`the local members of ${gk} are not those that joined it`)
    const rest = new Map<string, number>()
    for (const [k, n] of all) {
      const m = n - (local.get(k) ?? 0)
      if (m < 0) fail(`a local member of ${gk} is missing from its members`)
      if (m > 0) rest.set(k, m)
    }
    if (!sameCounts(rest, remote.get(gk))) fail(`the remote members of ${gk} are not those its peer scopes hold`)
  }
  for (const [gk, r] of remote) if (r.size > 0 && !s.groups.has(gk)) fail(`a peer scope holds members of ${gk}, a group the scope lost`)
  for (const [gk, l] of localByKey) if (l.size > 0 && !s.groups.has(gk)) fail(`local members joined ${gk}, a group the scope lost`)
  // The harness's own members: a peer cannot make them leave.
  for (const [pid, group, times] of h.members) {
    const n = h.pg.localMembers(group).filter(p => p.equals(pid)).length
    if (n !== times) fail(`local member ${pid.toString()} is in ${String(group)} ${n} times, not ${times}: a peer removed it`)
    if (h.pg.members(group).filter(p => p.equals(pid)).length !== times) fail(`members(${String(group)}) lost ${pid.toString()}`)
  }
  if (h.pg.whichGroups().length !== s.groups.size) fail('whichGroups() does not list the groups with members')
  return s
}

/** The membership the monitor's events replay to is the member table. */
function modelAgrees(h: Harness, s: ScopeView): boolean {
  if (h.model.size !== s.groups.size) return false
  for (const [gk, g] of s.groups) if (!sameCounts(counts(g.all), h.model.get(gk))) return false
  return true
}

/** Everything the scope sent its peers: pg's messages, naming itself and its own processes. */
function checkSent(h: Harness): void {
  const sent = h.sent
  h.sent = []
  for (const { to, msg, from } of sent) {
    const bad = (why: string): never => fail(`the scope sent ${show(to)} a message ${why}: ${show(msg)}`, undefined, bad)
    if (from === undefined || !from.equals(h.scopePid)) bad(`from ${String(from)}`)
    if (!(msg instanceof Tuple) || !(msg[1] instanceof Pid || (msg[0] === A.cast && msg[1] instanceof Tuple))) bad('of no pg shape')
    const m = msg as Tuple
    const locals = (v: unknown): void => {
      const pids = v instanceof Pid ? [v] : v
      if (!isList(pids) || pids.length === 0) bad('with no members')
      for (const p of pids as unknown[]) if (!(p instanceof Pid) || p.node !== LOCAL) bad(`naming ${String(p)} as its member`)
    }
    const group = (g: unknown): void => {
      if (typeof g === 'string') bad(`naming group ${g} as a string (an Erlang/OTP peer reads a binary, not the atom)`)
      if (groupKey(g) === undefined) bad('naming a group with no key')
    }
    const self = (v: unknown): void => {
      if (!(v instanceof Pid) || !v.equals(h.scopePid)) bad(`naming ${String(v)} as the scope`)
    }
    if (m[0] === A.discover && m.length === 2) self(m[1])
    else if (m[0] === A.join && m.length === 4) {
      self(m[1])
      group(m[2])
      locals(m[3])
    } else if (m[0] === A.leave && m.length === 4) {
      self(m[1])
      locals(m[2])
      if (!isList(m[3]) || m[3].length === 0) bad('leaving no groups')
      for (const g of m[3] as unknown[]) group(g)
    } else if (m[0] === A.cast && m.length === 2 && m[1] instanceof Tuple && m[1][0] === A.sync && m[1].length === 3) {
      self(m[1][1])
      const groups = m[1][2]
      if (!isList(groups)) bad('syncing no list')
      for (const e of groups as unknown[]) {
        if (!(e instanceof Tuple) || e.length !== 2) bad('syncing a malformed group')
        group((e as Tuple)[0])
        locals((e as Tuple)[1])
      }
    } else bad('of no pg shape')
  }
}

/** After a nodedown, once the scope took the DOWNs: nothing of the node is left. */
function checkGone(h: Harness): void {
  const s = scopeOf(h)
  if (s === undefined || !h.down) return
  for (const p of s.peers.values()) if (p.pid.node === PEER) fail(`peer scope ${p.pid.toString()} outlived its node's nodedown`)
  for (const [gk, g] of s.groups) {
    const left = g.all.find(x => x.node === PEER)
    if (left !== undefined) fail(`${left.toString()} is still a member of ${gk} after its node went down`)
  }
}

/** A relayed group send reaches a local member; a local join then leave shows in every view. */
async function probe(h: Harness): Promise<void> {
  const n = ++h.probeSeq
  h.dispatch(h.conn, [SEND, h.scopePid, tuple(A.relay, A.g, tuple(A.probe, n))])
  const pg = h.pg
  if (pg.join(PROBE_GROUP, h.prober) !== 'ok') fail('a local join did not answer ok')
  const mine = pg.localMembers(PROBE_GROUP)
  if (mine.length !== 1 || !mine[0]!.equals(h.prober)) fail(`after a local join, localMembers is [${mine.map(String).join(', ')}]`)
  if (!pg.members(PROBE_GROUP).some(p => p.equals(h.prober))) fail('after a local join, members() lacks it')
  if (!pg.whichGroups().includes(PROBE_GROUP)) fail('after a local join, whichGroups() lacks the group')
  if (pg.leave(PROBE_GROUP, h.prober) !== 'ok') fail('a local leave did not answer ok')
  if (pg.localMembers(PROBE_GROUP).length !== 0) fail('after a local leave, localMembers is not empty')
  if (pg.members(PROBE_GROUP).some(p => p.equals(h.prober))) fail('after a local leave, members() still has it')
  await turn(TURNS)
  if (!h.probed.delete(n)) fail('a relayed group send did not reach the local member: the scope is not serving')
}

// ---- seeds ---------------------------------------------------------------------------------

const peerScope = (i = 0): Pid => new Pid(PEER, 71 + i, 0, PEER_CREATION)
const pm = (i: number): Pid => new Pid(PEER, 100 + i, 0, PEER_CREATION)
const thirdPid = (i: number): Pid => new Pid(THIRD, 100 + i, 0, 3)
const localPid = (i: number): Pid => new Pid(LOCAL, i, 0, LOCAL_CREATION)
const otpRef = (node: string, creation: number, ...ids: number[]): Ref => new Ref(node, ids[0]!, creation, ids)

const discover = (p = peerScope()): Tuple => tuple(A.discover, p)
const sync = (p: Pid, groups: Array<[unknown, unknown]>): Tuple =>
  tuple(
    A.cast,
    tuple(
      A.sync,
      p,
      groups.map(([g, pids]) => tuple(g, pids)),
    ),
  )
const join = (p: Pid, g: unknown, pids: unknown): Tuple => tuple(A.join, p, g, pids)
const leave = (p: Pid, pids: unknown, groups: unknown[]): Tuple => tuple(A.leave, p, pids, groups)
const peerDownStep = (i: number, reason: unknown, ref?: Ref): Tuple =>
  ref === undefined ? tuple(A.fuzzDown, i, reason) : tuple(A.fuzzDown, i, reason, ref)
const range = (from: number, n: number): Pid[] => Array.from({ length: n }, (_, i) => pm(from + i))

function pgSeeds(): Buffer[] {
  const ps = peerScope()
  const deep: unknown = Array.from({ length: 10 }).reduce<unknown>(t => tuple(t), A.g)
  const groups: unknown[] = [
    A.g,
    A.h,
    ROOM,
    Buffer.from('room'),
    42,
    new Map<unknown, unknown>([[atom('type'), atom('worker')]]),
    [atom('a'), atom('b')],
    pm(9),
    otpRef(PEER, PEER_CREATION, 5, 6, 7),
  ]
  const scripts: unknown[] = [
    // A peer scope discovers us (OTP's pg at start or nodeup), then tells its members.
    discover(),
    [
      discover(),
      sync(ps, [
        [A.g, [pm(1), pm(2)]],
        [A.h, [pm(2)]],
      ]),
    ],
    [
      sync(ps, [
        [A.g, [pm(1)]],
        [ROOM, [pm(1), pm(1)]],
      ]),
    ],
    // Joins (a pid, a list), leaves (one membership of each, groups that do not hold them).
    [discover(), join(ps, A.g, pm(1)), join(ps, A.g, [pm(2), pm(3)]), leave(ps, pm(1), [A.g]), leave(ps, [pm(2), pm(3)], [A.g, A.h])],
    [discover(), join(ps, A.h, [pm(4), pm(4)]), leave(ps, pm(4), [A.h]), join(ps, A.h, [])],
    // A second sync replaces what the first said.
    [
      discover(),
      sync(ps, [
        [A.g, [pm(1), pm(2)]],
        [A.h, [pm(3)]],
      ]),
      sync(ps, [[A.g, [pm(4)]]]),
      sync(ps, []),
    ],
    [
      discover(),
      sync(ps, [
        [A.g, [pm(1)]],
        [A.g, [pm(2)]],
      ]),
    ],
    // Every kind of group term OTP code uses.
    [discover(), ...groups.map((g, i) => join(ps, g, pm(i)))],
    [
      discover(),
      sync(
        ps,
        groups.map((g, i) => [g, [pm(i)]] as [unknown, unknown]),
      ),
    ],
    [discover(), join(ps, deep, pm(1)), join(ps, Buffer.alloc(2000, 1), pm(1))],
    // The peer scope goes down: its DOWN, or the connection's loss; then it comes back.
    [discover(), sync(ps, [[A.g, [pm(1), pm(2)]]]), peerDownStep(0, atom('shutdown'))],
    [discover(), sync(ps, [[A.g, [pm(1)]]]), A.fuzzNodedown],
    [discover(), sync(ps, [[A.g, [pm(1)]]]), A.fuzzNodedown, discover(), sync(ps, [[A.h, [pm(2)]]])],
    [sync(ps, [[A.g, [pm(1)]]]), A.fuzzNodedown, sync(ps, [[A.g, [pm(5)]]]), join(ps, A.g, pm(6))],
    // A restarted peer scope (a new pid) while the old one's DOWN is still to come.
    [discover(), sync(ps, [[A.g, [pm(1)]]]), discover(peerScope(1)), sync(peerScope(1), [[A.g, [pm(2)]]]), peerDownStep(0, atom('killed'))],
    // A DOWN with a ref of another shape whose key is the scope's monitor's (the scope's third ref:
    // '10.0.0' + '.1.3' is '10.0.0.1' + '.3'), then the connection's loss.
    [
      discover(),
      sync(ps, [[A.g, [pm(1)]]]),
      peerDownStep(0, atom('normal'), otpRef('pgfuzz@10.0.0', LOCAL_CREATION, 1, 3)),
      A.fuzzNodedown,
    ],
    [discover(), peerDownStep(0, atom('normal'), new Ref(LOCAL, 3, LOCAL_CREATION)), sync(ps, [[A.g, [pm(1)]]])],
    // Group send between netkernel nodes, to the harness's members of g.
    tuple(A.relay, A.g, tuple(atom('hello'), 1)),
    [discover(), tuple(A.relay, ROOM, atom('hi')), tuple(A.relay, Buffer.from('nope'), 1)],
    // Not from the peer's node: another node's scope (not connected), members of other nodes.
    discover(thirdPid(0)),
    [discover(thirdPid(0)), sync(thirdPid(0), [[A.g, [thirdPid(1)]]]), join(thirdPid(0), A.g, thirdPid(2))],
    [discover(), join(ps, A.g, [pm(1), thirdPid(1)]), join(ps, A.g, localPid(1)), sync(ps, [[A.g, [localPid(2)]]])],
    [discover(), sync(ps, [[A.g, [thirdPid(1)]]]), leave(ps, thirdPid(1), [A.g])],
    [discover(localPid(1)), join(localPid(1), A.g, localPid(2)), sync(localPid(3), [[A.g, [localPid(4)]]])],
    [tuple(A.fuzzFrom, thirdPid(0), discover(thirdPid(0))), tuple(A.fuzzFrom, localPid(1), discover())],
    // Bounds: scopes per node, members and groups per scope (the small limits cross them all).
    Array.from({ length: 10 }, (_, i) => discover(peerScope(i))),
    [discover(), sync(ps, [[A.g, range(0, 9)]]), join(ps, A.g, range(10, 9)), join(ps, A.h, range(20, 4))],
    [discover(), ...Array.from({ length: 6 }, (_, i) => join(ps, atom(`g${i}`), pm(i)))],
    [
      discover(),
      sync(
        ps,
        Array.from({ length: 6 }, (_, i) => [atom(`g${i}`), [pm(i)]] as [unknown, unknown]),
      ),
    ],
    [discover(), sync(ps, [[A.g, range(0, 6)]]), join(ps, A.g, range(6, 3)), leave(ps, range(0, 3), [A.g, A.g, A.h, A.g, A.h])],
    [discover(), sync(ps, [[A.g, range(0, 300)]]), leave(ps, range(0, 300), [A.g])],
    // What pg.erl does not take from a peer: calls, DOWN and EXIT look-alikes, others.
    tuple(A.call, tuple(ps, otpRef(PEER, PEER_CREATION, 1, 2, 3)), tuple(atom('join_local'), A.g, [pm(1)])),
    tuple(A.call, tuple(ps, new ImproperList([atom('alias')], otpRef(PEER, PEER_CREATION, 4, 5, 6))), atom('which_groups')),
    tuple(atom('DOWN'), new Ref(LOCAL, 1, LOCAL_CREATION), atom('process'), localPid(1), atom('killed')),
    // As a list ['DOWN', Ref, 'process', Pid, Reason]: its binaries are the runtime's own DOWN's
    // strings when a netkernel peer sends it (variant bit 2); refs 1 and 2 monitor the harness's members.
    [[Buffer.from('DOWN'), new Ref(LOCAL, 1, LOCAL_CREATION), Buffer.from('process'), localPid(1), Buffer.from('killed')]],
    [[Buffer.from('DOWN'), new Ref(LOCAL, 2, LOCAL_CREATION), Buffer.from('process'), localPid(2), Buffer.from('killed')]],
    [discover(), sync(ps, [[A.g, [pm(1)]]]), [Buffer.from('DOWN'), new Ref(LOCAL, 3, LOCAL_CREATION), Buffer.from('process'), ps, 1]],
    // A group a netkernel peer names with a string: the atom's key, not the atom.
    [discover(), join(ps, Buffer.from(PROBE_GROUP), pm(1)), join(ps, Buffer.from('g'), pm(2))],
    tuple(atom('EXIT'), ps, atom('kill')),
    tuple(atom('nodedown'), atom(PEER)),
    tuple(atom('nodeup'), atom(PEER)),
    tuple(A.cast, tuple(A.sync, ps)),
    [discover(), tuple(A.join, ps, A.g), tuple(A.leave, ps, pm(1), A.g), leave(ps, pm(1), [])],
  ]
  const out = scripts.map(t => encoder.encode(t))
  // Group terms and fields of every kind, in each message's places.
  const terms = sample(otpTermArb([LOCAL, PEER, THIRD]), 90, 11)
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]
    const shapes = [
      [discover(), join(ps, t, pm(i))],
      [discover(), sync(ps, [[t, [pm(i)]]]), leave(ps, pm(i), [t])],
      [discover(), join(ps, A.g, t), tuple(A.leave, ps, [pm(1)], t)],
      [t],
    ]
    try {
      out.push(encoder.encode(shapes[i % shapes.length]))
    } catch {
      // NaN, Infinity and errors with codes are no ETF terms: not a seed
    }
  }
  return out
}

// ---- the target ----------------------------------------------------------------------------

export function pgMessagesTarget(): FuzzTarget {
  let seeds: Buffer[] | undefined
  const kept: Array<Harness | undefined> = [undefined, undefined]
  const escaped: Array<{ what: string; err: unknown }> = []
  const onException = (err: unknown): void => void escaped.push({ what: 'an uncaught exception', err })
  const onRejection = (err: unknown): void => void escaped.push({ what: 'an unhandled rejection', err })
  let listening = false
  const drop = (h: Harness | undefined): void => {
    h?.monitor?.stop()
    h?.runtime.shutdown('kill')
  }
  return {
    name: 'pg-messages',
    seeds: () => (seeds ??= pgSeeds()),
    async run(input, variant) {
      let term: unknown
      try {
        term = decoder.decode(input)
      } catch (err) {
        checkCause(err)
        throw err
      }
      if (!listening) {
        listening = true
        process.on('uncaughtException', onException)
        process.on('unhandledRejection', onRejection)
      }
      const small = (variant >>> 1) & 1
      const fresh = (variant & 16) !== 0
      let h = fresh ? undefined : kept[small]
      if (h !== undefined && h.inputs >= KEEP_FOR) {
        drop(h)
        h = undefined
      }
      if (h === undefined) {
        h = buildHarness(small === 1)
        if (!fresh) kept[small] = h
        await turn(1)
      }
      h.inputs++
      let ok = false
      try {
        const steps = isList(term) ? term.slice(0, MAX_STEPS) : [term]
        await deliver(h, steps, variant)
        await turn(TURNS)
        checkLife(h, escaped)
        if (h.down) {
          checkGone(h)
          reconnect(h)
          await turn(1)
        }
        checkLife(h, escaped)
        const s = checkBooks(h)
        checkSent(h)
        if (h.lagged) watch(h)
        else {
          for (let i = TURNS; i < MAX_TURNS && !modelAgrees(h, s); i++) await turn(1)
          if (!h.lagged && !modelAgrees(h, s)) fail('a scope monitor’s events do not replay to the member table')
        }
        if (((variant >>> 5) & 3) === 0) {
          await probe(h)
          checkLife(h, escaped)
          checkSent(h)
        }
        ok = true
      } finally {
        // A harness an input broke is not reused: the next input starts from a clean one.
        if (fresh || !ok) {
          drop(h)
          if (kept[small] === h) kept[small] = undefined
        }
      }
    },
    close() {
      for (const h of kept) drop(h)
      kept.fill(undefined)
      if (listening) {
        process.off('uncaughtException', onException)
        process.off('unhandledRejection', onRejection)
        listening = false
      }
    },
  }
}
