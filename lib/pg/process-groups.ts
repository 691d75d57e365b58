// node.pg: OTP's pg (process groups) for a netkernel node. Scopes are processes of the node
// (scope.ts) speaking pg's own protocol, so one implementation serves netkernel peers and
// Erlang/OTP peers alike. The default scope 'pg' starts with the node; others on first join
// or through startScope() (pg:start_link(Scope)).
//
// Group send (send()): one message to every member. Members on netkernel peers get it through
// that peer's scope: one message per node, encoded once, which the peer hands to its local
// members. Members on Erlang/OTP nodes get one message each (their scope does not relay).
import { NetkernelError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Runtime } from '../process/runtime.js'
import { Pid } from '../terms/pid.js'
import { tuple } from '../terms/tuple.js'
import { checkName } from '../process/name-registry.js'
import { checkedGroupKey, groupLabel, groupTerm, type PgGroup } from './group-key.js'
import { DEFAULT_PG_LIMITS, type PgLimits } from './limits.js'
import { PgMonitor } from './pg-monitor.js'
import { RELAY, Scope } from './scope.js'

export type { PgGroup } from './group-key.js'
export type { PgEvent } from './pg-monitor.js'
export { PgMonitor } from './pg-monitor.js'
export type { PgLimits } from './limits.js'

export interface PgScopeOptions {
  /** The scope (pg:join/3's first argument); default 'pg'. */
  scope?: string
}

export interface PgSendOptions extends PgScopeOptions {
  /**
   * Send once per netkernel node, to its scope, which hands the message to its members there
   * (default true). false: one message per member, as a loop over members() would.
   */
  relay?: boolean
}

export interface PgMonitorOptions extends PgScopeOptions {
  /** Stop the monitor when aborted. */
  signal?: AbortSignal
}

export interface ProcessGroupsDeps {
  runtime: Runtime
  logger: Logger
  /** Connected nodes, visible and hidden. */
  connectedNodes(): string[]
  /** Whether a connection to the node is up (the scopes never dial). */
  isConnected(node: string): boolean
  /** The protocol spoken toward a connected node: only 'netkernel' peers take relayed sends. */
  protocolOf(node: string): 'netkernel' | 'erlang' | undefined
  limits?: Partial<PgLimits>
}

export class ProcessGroups {
  private readonly scopes = new Map<string, Scope>()
  private readonly limits: PgLimits

  /** @internal made by startNode() */
  constructor(private readonly d: ProcessGroupsDeps) {
    this.limits = { ...DEFAULT_PG_LIMITS, ...d.limits }
  }

  /**
   * pg:start_link(Scope): start the scope (a process registered as `name`). When it runs
   * already, it discovers the connected nodes again: the way to meet a scope an OTP node
   * started after the connection came up (OTP does not discover a hidden node itself).
   */
  startScope(name: string): void {
    const running = this.scope(name, false)
    if (running !== undefined) running.discoverAll()
    else this.scope(name, true)
  }

  /** The running scopes. */
  scopeNames(): string[] {
    return [...this.scopes.values()].filter(s => s.alive).map(s => s.name)
  }

  /**
   * pg:join: `pids` (processes of this node) join `group`; a process listed (or joined) twice
   * is a member twice. Starts the scope if needed. Every node with this scope learns it.
   */
  join(group: PgGroup, pids: Pid | Pid[], opts: PgScopeOptions = {}): 'ok' {
    const key = checkedGroupKey(group)
    const list = this.localPids(pids, 'join')
    const scope = this.scope(opts.scope, true)!
    if (list.length > 0) scope.join(key, groupTerm(group), list, !Array.isArray(pids))
    return 'ok'
  }

  /** pg:leave: 'not_joined' when none of `pids` was a member. */
  leave(group: PgGroup, pids: Pid | Pid[], opts: PgScopeOptions = {}): 'ok' | 'not_joined' {
    const key = checkedGroupKey(group)
    const list = this.localPids(pids, 'leave')
    const scope = this.scope(opts.scope, false)
    if (scope === undefined || list.length === 0) return 'not_joined'
    return scope.leave(key, list, !Array.isArray(pids))
  }

  /** pg:get_members: the group's members on every node this scope knows, a process once per join. */
  members(group: PgGroup, opts: PgScopeOptions = {}): Pid[] {
    return this.scope(opts.scope, false)?.members(checkedGroupKey(group)) ?? []
  }

  /** pg:get_local_members */
  localMembers(group: PgGroup, opts: PgScopeOptions = {}): Pid[] {
    return this.scope(opts.scope, false)?.localMembers(checkedGroupKey(group)) ?? []
  }

  /** pg:which_groups: groups with members (an atom group as its name, any other term as it came). */
  whichGroups(opts: PgScopeOptions = {}): PgGroup[] {
    return this.scope(opts.scope, false)?.groupLabels() ?? []
  }

  /**
   * pg:monitor(Group) / pg:monitor_scope() (no group): the members now, then every join and
   * leave as events of the returned async iterable, until stop() or the signal. Starts the
   * scope if needed.
   */
  monitor(group?: PgGroup, opts: PgMonitorOptions = {}): PgMonitor {
    const key = group === undefined ? undefined : checkedGroupKey(group)
    const scope = this.scope(opts.scope, true)!
    const members = key === undefined ? [] : scope.members(key)
    const groups: Array<[PgGroup, Pid[]]> = []
    if (key === undefined) for (const g of scope.groups.values()) groups.push([groupLabel(g.term), [...g.all]])
    const label = group === undefined ? undefined : groupLabel(groupTerm(group))
    const m = new PgMonitor(label, members, groups, this.limits.maxQueuedEvents, x => scope.unwatch(x), opts.signal)
    if (!m.stopped) scope.watch(m, key)
    return m
  }

  /**
   * Group send: `msg` to every member of `group` (as this node knows them). Members on a
   * netkernel node get it through that node's scope (one message per node) unless
   * `relay: false`; members on an Erlang/OTP node one message each. Returns how many members
   * it was delivered or sent to.
   */
  send(group: PgGroup, msg: unknown, opts: PgSendOptions = {}): number {
    const key = checkedGroupKey(group)
    const scope = this.scope(opts.scope, false)
    if (scope === undefined) return 0
    const rt = this.d.runtime
    const here = rt.node
    // Per remote node, decided once per call: its scope's pid when its members get one relayed
    // message, else null (an OTP node, or no peer scope there).
    const via = new Map<string, Pid | null>()
    const relayed = new Map<string, number>()
    let n = 0
    for (const pid of scope.members(key)) {
      const node = pid.node
      if (node !== here && opts.relay !== false) {
        let peer = via.get(node)
        if (peer === undefined) {
          peer = this.d.protocolOf(node) === 'netkernel' ? (scope.peerOn(node) ?? null) : null
          via.set(node, peer)
        }
        if (peer !== null) {
          relayed.set(node, (relayed.get(node) ?? 0) + 1)
          continue
        }
      }
      rt.send(pid, msg)
      n++
    }
    if (relayed.size > 0) {
      const term = groupTerm(group)
      for (const [node, count] of relayed) {
        rt.send(via.get(node)!, tuple(RELAY, term, msg), scope.pid)
        n += count
      }
    }
    return n
  }

  /** @internal a node came up: every scope sends it {discover, Self}. */
  nodeUp(node: string): void {
    for (const s of this.scopes.values()) if (s.alive) s.discover(node)
  }

  /** @internal messages peers sent that the scopes dropped (malformed or over a bound). */
  get dropped(): number {
    let n = 0
    for (const s of this.scopes.values()) n += s.dropped
    return n
  }

  private scope(name: string | undefined, start: boolean): Scope | undefined {
    const n = name ?? 'pg'
    const s = this.scopes.get(n)
    if (s?.alive === true || !start) return s?.alive === true ? s : undefined
    checkName(n)
    const scope = new Scope(n, {
      runtime: this.d.runtime,
      logger: this.d.logger,
      limits: this.limits,
      connectedNodes: this.d.connectedNodes,
      isConnected: this.d.isConnected,
    })
    this.scopes.set(n, scope)
    return scope
  }

  private localPids(pids: Pid | Pid[], op: string): Pid[] {
    const list = Array.isArray(pids) ? pids : [pids]
    const here = this.d.runtime.node
    for (const p of list) {
      if (!(p instanceof Pid)) throw new NetkernelError('ERR_BAD_ARGUMENT', `pg.${op}: expected a Pid or an array of Pids`)
      if (p.node !== here) throw new NetkernelError('ERR_BAD_ARGUMENT', `pg.${op}: ${p.toString()} is not a process of ${here}`)
    }
    return list
  }
}
