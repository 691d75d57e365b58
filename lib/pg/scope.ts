// One pg scope: a process registered under the scope's name (as OTP's pg scope is), speaking
// OTP pg's messages to the scopes of the same name on other nodes, netkernel or Erlang/OTP:
//
//   {discover, Peer}                          → Peer ! {'$gen_cast', {sync, Self, [{Group, LocalPids}]}},
//                                               and, for a new peer, monitor it and Peer ! {discover, Self}
//   {'$gen_cast', {sync, Peer, Groups}}       the peer's members, replacing what we had of it
//   {join, Peer, Group, Pid | [Pid]}          the peer's processes joined
//   {leave, Peer, Pid | [Pid], [Group]}       they left (or exited)
//   {'DOWN', …, Peer, _}                      the peer scope (or its node) is gone: drop its members
//
// Local API calls (node.pg.join…) change the state at once and tell every known peer scope.
// Local members are monitored: their exit removes them and tells the peers. Between netkernel
// nodes only, {'$netkernel_pg_send', Group, Msg} asks this scope to hand Msg to its local
// members of Group (group send, process-groups.ts): never sent to an OTP node, whose scope
// would crash on it.
//
// Everything from a peer is checked: a peer scope's members must be processes of its own node,
// messages of other shapes are dropped and counted, and limits.ts bounds what one peer holds.
import type { Logger } from '../logger.js'
import type { Runtime, Proc } from '../process/runtime.js'
import { Atom, atom } from '../terms/atom.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { Tuple, tuple } from '../terms/tuple.js'
import { groupKey, groupLabel, groupTerm, type PgGroup } from './group-key.js'
import { isDown } from '../process/monitors.js'
import type { PgLimits } from './limits.js'
import type { PgEvent, PgMonitor } from './pg-monitor.js'

const DISCOVER = atom('discover')
const SYNC = atom('sync')
const JOIN = atom('join')
const LEAVE = atom('leave')
const GEN_CAST = atom('$gen_cast')
/** Group send between netkernel nodes: {'$netkernel_pg_send', Group, Msg}. */
export const RELAY = atom('$netkernel_pg_send')

interface GroupEntry {
  /** The group as the wire carries it (an Atom for a string group). */
  term: unknown
  /** Every member, local and remote, newest first, a process once per join. */
  all: Pid[]
  local: Pid[]
}

interface LocalMember {
  pid: Pid
  /** Group keys, once per join. */
  groups: string[]
  ref: Ref | undefined
}

interface PeerScope {
  pid: Pid
  ref: Ref | undefined
  /** Its members by group key. */
  groups: Map<string, { term: unknown; pids: Pid[] }>
  members: number
}

export interface ScopeDeps {
  runtime: Runtime
  logger: Logger
  limits: PgLimits
  /** Connected nodes (visible and hidden): where a new scope sends discover. */
  connectedNodes(): string[]
  /** Whether a connection to `node` is up: the scope never dials (OTP's pg sends with noconnect). */
  isConnected(node: string): boolean
}

export class Scope {
  readonly pid: Pid
  readonly groups = new Map<string, GroupEntry>()
  /** Messages from peers that were malformed or over a bound, dropped. */
  dropped = 0
  private ended = false
  private readonly local = new Map<string, LocalMember>()
  private readonly peers = new Map<string, PeerScope>()
  /** Monitor ref key → the pid key of the local member or peer scope it watches. */
  private readonly refs = new Map<string, string>()
  /** Monitors, with the key of the group each watches (undefined: the whole scope). */
  private readonly watchers = new Map<PgMonitor, string | undefined>()
  private proc: Proc | undefined = undefined

  constructor(
    readonly name: string,
    private readonly d: ScopeDeps,
  ) {
    const rt = d.runtime
    this.pid = rt.spawn(proc => this.run(proc))
    try {
      rt.register(name, this.pid)
    } catch (err) {
      rt.exit(this.pid, 'kill')
      throw err
    }
    this.discoverAll()
  }

  /** {discover, Self} to this scope on every connected node. */
  discoverAll(): void {
    for (const node of this.d.connectedNodes()) this.discover(node)
  }

  /** The scope's process runs (false at once when it is killed, before its loop unwinds). */
  get alive(): boolean {
    return !this.ended && this.d.runtime.isAlive(this.pid)
  }

  private get node(): string {
    return this.d.runtime.node
  }

  // ---- the process ----------------------------------------------------------------------

  private async run(proc: Proc): Promise<void> {
    this.proc = proc
    try {
      // Monitors asked for before the process ran.
      for (const m of this.local.values()) m.ref ??= this.monitor(m.pid)
      for (const p of this.peers.values()) p.ref ??= this.monitor(p.pid)
      for (;;) {
        const m: unknown = await proc.receive()
        try {
          if (!this.handle(m)) this.drop(m, 'unknown message')
        } catch (err) {
          this.drop(m, (err as Error).message)
        }
      }
    } finally {
      this.ended = true
      for (const w of [...this.watchers.keys()]) w.stop()
    }
  }

  private monitor(pid: Pid): Ref | undefined {
    if (this.proc === undefined) return undefined // done when the process starts
    const ref = this.proc.monitor(pid)
    this.refs.set(ref.key, pid.key)
    return ref
  }

  private demonitor(ref: Ref | undefined): void {
    if (ref === undefined) return
    this.refs.delete(ref.key)
    this.proc?.demonitor(ref, { flush: true })
  }

  private drop(m: unknown, why: string): void {
    this.dropped++
    const what = m instanceof Tuple && m[0] instanceof Atom ? m[0].name : typeof m
    this.d.logger.debug({ scope: this.name, dropped: this.dropped, what }, `pg scope ${this.name}: dropped a message (${why})`)
  }

  private send(to: Pid | [string, string], msg: unknown): void {
    const node = to instanceof Pid ? to.node : to[1]
    // noconnect: a message to a node that went down is dropped, never a reason to dial it again.
    if (node !== this.node && !this.d.isConnected(node)) return
    try {
      this.d.runtime.send(to, msg, this.pid)
    } catch (err) {
      this.d.logger.warn({ scope: this.name, err }, `pg scope ${this.name}: cannot send to ${String(to)}`)
    }
  }

  /** One message; false when it is not one of the scope's. */
  private handle(m: unknown): boolean {
    if (isDown(m)) return this.down(m[1], m[3])
    if (!(m instanceof Tuple) || m.length < 2) return false
    const tag = m[0]
    if (tag === DISCOVER && m.length === 2) return this.onDiscover(m[1])
    if (tag === GEN_CAST && m.length === 2) {
      const c = m[1]
      return c instanceof Tuple && c.length === 3 && c[0] === SYNC && this.onSync(c[1], c[2])
    }
    if (tag === JOIN && m.length === 4) return this.onJoin(m[1], m[2], m[3])
    if (tag === LEAVE && m.length === 4) return this.onLeave(m[1], m[2], m[3])
    if (tag === RELAY && m.length === 3) return this.onRelay(m[1], m[2])
    return false
  }

  // ---- local members (the API) ----------------------------------------------------------

  /** pg:join: `pids` (local, checked by the caller) join the group, once each time they are listed. */
  join(key: string, term: unknown, pids: Pid[], single: boolean): void {
    for (const pid of pids) {
      let m = this.local.get(pid.key)
      if (m === undefined) {
        m = { pid, groups: [], ref: undefined }
        this.local.set(pid.key, m)
        m.ref = this.monitor(pid)
      }
      m.groups.push(key)
    }
    const g = this.entry(key, term)
    g.all = pids.concat(g.all)
    g.local = pids.concat(g.local)
    this.notify('join', g.term, pids)
    this.broadcast(tuple(JOIN, this.pid, g.term, single ? pids[0] : pids))
  }

  /** pg:leave: 'not_joined' when none of `pids` was in the group. */
  leave(key: string, pids: Pid[], single: boolean): 'ok' | 'not_joined' {
    const left: Pid[] = []
    for (const pid of pids) {
      const m = this.local.get(pid.key)
      const i = m?.groups.indexOf(key) ?? -1
      if (m === undefined || i < 0) continue
      m.groups.splice(i, 1)
      left.push(pid)
      if (m.groups.length === 0) {
        this.local.delete(pid.key)
        this.demonitor(m.ref)
      }
    }
    const g = this.groups.get(key)
    if (left.length === 0 || g === undefined) return 'not_joined'
    const term = g.term
    this.removeMembers(key, left, true)
    this.broadcast(tuple(LEAVE, this.pid, single ? left[0] : left, [term]))
    return 'ok'
  }

  private localExit(m: LocalMember): void {
    this.local.delete(m.pid.key)
    const terms: unknown[] = []
    for (const key of m.groups) {
      const g = this.groups.get(key)
      if (g === undefined) continue
      terms.push(g.term)
      this.removeMembers(key, [m.pid], true)
    }
    if (terms.length > 0) this.broadcast(tuple(LEAVE, this.pid, m.pid, terms))
  }

  private broadcast(msg: unknown): void {
    for (const p of this.peers.values()) this.send(p.pid, msg)
  }

  /** {discover, Self} to this scope on `node` (on nodeup, and when the scope starts). */
  discover(node: string): void {
    if (node !== this.node) this.send([this.name, node], tuple(DISCOVER, this.pid))
  }

  // ---- peers ----------------------------------------------------------------------------

  private onDiscover(peer: unknown): boolean {
    if (!this.isPeer(peer)) return false
    const known = this.peers.has(peer.key)
    if (!known && (!this.reachable(peer) || !this.roomForPeer(peer))) return true
    this.send(peer, tuple(GEN_CAST, tuple(SYNC, this.pid, this.localGroups())))
    if (!known) {
      this.addPeer(peer)
      this.send(peer, tuple(DISCOVER, this.pid))
    }
    return true
  }

  private onSync(peer: unknown, groups: unknown): boolean {
    if (!this.isPeer(peer) || !Array.isArray(groups)) return false
    const lim = this.d.limits
    if (groups.length > lim.maxGroupsPerPeer) return this.overLimit(peer, 'groups')
    const next = new Map<string, { term: unknown; pids: Pid[] }>()
    let members = 0
    for (const e of groups) {
      if (!(e instanceof Tuple) || e.length !== 2 || !Array.isArray(e[1])) return false
      const key = groupKey(e[0])
      const pids = this.peerMembers(peer, e[1])
      if (key === undefined || pids === undefined) return false
      members += pids.length
      if (members > lim.maxMembersPerPeer) return this.overLimit(peer, 'members')
      const had = next.get(key)
      if (had === undefined) next.set(key, { term: groupTerm(e[0]), pids })
      else had.pids = pids.concat(had.pids)
    }
    let p = this.peers.get(peer.key)
    if (p === undefined) {
      // A peer is monitored; a monitor would dial a node that went down (as noconnect sends would not).
      if (!this.reachable(peer) || !this.roomForPeer(peer)) return true
      p = this.addPeer(peer)
    }
    const old = p.groups
    p.groups = next
    p.members = members
    for (const [key, o] of old) {
      const n = next.get(key)
      if (n !== undefined && samePids(o.pids, n.pids)) continue
      this.removeMembers(key, o.pids, false)
    }
    for (const [key, n] of next) {
      const o = old.get(key)
      if (o !== undefined && samePids(o.pids, n.pids)) continue
      this.addRemote(key, n.term, n.pids)
    }
    return true
  }

  private onJoin(peer: unknown, group: unknown, pidOrPids: unknown): boolean {
    if (!this.isPeer(peer)) return false
    const key = groupKey(group)
    const pids = this.peerMembers(peer, pidOrPids instanceof Pid ? [pidOrPids] : pidOrPids)
    if (key === undefined || pids === undefined) return false
    const p = this.peers.get(peer.key)
    if (p === undefined) return true // not (or no longer) a peer: as OTP, ignored
    const lim = this.d.limits
    if (p.members + pids.length > lim.maxMembersPerPeer) return this.overLimit(peer, 'members')
    let mine = p.groups.get(key)
    if (mine === undefined) {
      if (p.groups.size >= lim.maxGroupsPerPeer) return this.overLimit(peer, 'groups')
      mine = { term: groupTerm(group), pids: [] }
      p.groups.set(key, mine)
    }
    mine.pids = pids.concat(mine.pids)
    p.members += pids.length
    this.addRemote(key, mine.term, pids)
    return true
  }

  private onLeave(peer: unknown, pidOrPids: unknown, groups: unknown): boolean {
    if (!this.isPeer(peer) || !Array.isArray(groups)) return false
    const pids = this.peerMembers(peer, pidOrPids instanceof Pid ? [pidOrPids] : pidOrPids)
    if (pids === undefined || groups.length > this.d.limits.maxGroupsPerPeer) return false
    const p = this.peers.get(peer.key)
    if (p === undefined) return true
    for (const group of groups) {
      const key = groupKey(group)
      if (key === undefined) return false
      const mine = p.groups.get(key)
      if (mine === undefined) continue
      const { rest, taken } = split(mine.pids, pids)
      if (taken.length === 0) continue
      mine.pids = rest
      p.members -= taken.length
      if (rest.length === 0) p.groups.delete(key)
      this.removeMembers(key, taken, false)
    }
    return true
  }

  private onRelay(group: unknown, msg: unknown): boolean {
    const key = groupKey(group)
    if (key === undefined) return false
    const g = this.groups.get(key)
    if (g !== undefined) for (const pid of g.local) this.d.runtime.send(pid, msg)
    return true
  }

  private down(ref: unknown, pid: unknown): boolean {
    if (!(ref instanceof Ref) || !(pid instanceof Pid)) return false
    const key = this.refs.get(ref.key)
    if (key === undefined || key !== pid.key) return true // a monitor already dropped
    const m = this.local.get(key)
    if (m !== undefined && m.ref?.equals(ref) === true) {
      this.refs.delete(ref.key)
      this.localExit(m)
      return true
    }
    const p = this.peers.get(key)
    if (p !== undefined && p.ref?.equals(ref) === true) {
      this.refs.delete(ref.key)
      this.peers.delete(key)
      for (const [gk, e] of p.groups) this.removeMembers(gk, e.pids, false)
    }
    return true
  }

  private isPeer(v: unknown): v is Pid {
    return v instanceof Pid && v.node !== this.node
  }

  /** A peer scope's node is still connected (a message from it may outlive its connection). */
  private reachable(peer: Pid): boolean {
    return this.d.isConnected(peer.node)
  }

  /** A peer scope's members: pids of its own node only (pg joins only local processes). */
  private peerMembers(peer: Pid, v: unknown): Pid[] | undefined {
    if (!Array.isArray(v) || v instanceof Tuple || v.length > this.d.limits.maxMembersPerPeer) return undefined
    for (const x of v) if (!(x instanceof Pid) || x.node !== peer.node) return undefined
    return v as Pid[]
  }

  private roomForPeer(peer: Pid): boolean {
    let n = 0
    for (const p of this.peers.values()) if (p.pid.node === peer.node) n++
    if (n < this.d.limits.maxPeersPerNode) return true
    this.overLimit(peer, 'peer scopes')
    return false
  }

  private overLimit(peer: Pid, what: string): boolean {
    this.dropped++
    this.d.logger.warn(
      { scope: this.name, peer: peer.toString() },
      `pg scope ${this.name}: ${peer.node} is over its bound of ${what}; message dropped`,
    )
    return true
  }

  private addPeer(peer: Pid): PeerScope {
    const p: PeerScope = { pid: peer, ref: undefined, groups: new Map(), members: 0 }
    this.peers.set(peer.key, p)
    p.ref = this.monitor(peer)
    return p
  }

  /** The peer scope on `node` (the newest, if it has restarted), for group send. */
  peerOn(node: string): Pid | undefined {
    let found: Pid | undefined
    for (const p of this.peers.values()) if (p.pid.node === node) found = p.pid
    return found
  }

  // ---- the member table -----------------------------------------------------------------

  private entry(key: string, term: unknown): GroupEntry {
    let g = this.groups.get(key)
    if (g === undefined) {
      g = { term, all: [], local: [] }
      this.groups.set(key, g)
    }
    return g
  }

  private addRemote(key: string, term: unknown, pids: Pid[]): void {
    if (pids.length === 0) return
    const g = this.entry(key, term)
    g.all = pids.concat(g.all)
    this.notify('join', g.term, pids)
  }

  /** Remove one membership of each of `pids` (as Erlang's --). */
  private removeMembers(key: string, pids: Pid[], local: boolean): void {
    const g = this.groups.get(key)
    if (g === undefined || pids.length === 0) return
    g.all = split(g.all, pids).rest
    if (local) g.local = split(g.local, pids).rest
    if (g.all.length === 0) this.groups.delete(key)
    this.notify('leave', g.term, pids)
  }

  /** [{Group, LocalPids}] for a sync. */
  private localGroups(): Tuple[] {
    const out: Tuple[] = []
    for (const g of this.groups.values()) if (g.local.length > 0) out.push(tuple(g.term, [...g.local]))
    return out
  }

  members(key: string): Pid[] {
    return [...(this.groups.get(key)?.all ?? [])]
  }

  localMembers(key: string): Pid[] {
    return [...(this.groups.get(key)?.local ?? [])]
  }

  groupLabels(): PgGroup[] {
    return [...this.groups.values()].map(g => groupLabel(g.term))
  }

  // ---- monitors -------------------------------------------------------------------------

  watch(m: PgMonitor, key: string | undefined): void {
    this.watchers.set(m, key)
  }

  unwatch(m: PgMonitor): void {
    this.watchers.delete(m)
  }

  private notify(type: PgEvent['type'], term: unknown, pids: Pid[]): void {
    if (this.watchers.size === 0) return
    let key: string | undefined
    for (const [w, k] of this.watchers) {
      if (k !== undefined && k !== (key ??= groupKey(term))) continue
      w.push({ type, group: groupLabel(term), pids: [...pids] })
    }
  }
}

/** Erlang's `a -- b` (each element of b removes one equal element of a), and what it removed. */
function split(a: Pid[], b: Pid[]): { rest: Pid[]; taken: Pid[] } {
  const counts = new Map<string, number>()
  for (const p of b) counts.set(p.key, (counts.get(p.key) ?? 0) + 1)
  const rest: Pid[] = []
  const taken: Pid[] = []
  for (const p of a) {
    const n = counts.get(p.key)
    if (n !== undefined && n > 0) {
      counts.set(p.key, n - 1)
      taken.push(p)
    } else rest.push(p)
  }
  return { rest, taken }
}

function samePids(a: Pid[], b: Pid[]): boolean {
  return a.length === b.length && a.every((p, i) => p.equals(b[i]))
}
