// The global name server (registered `global_name_server`, as on a BEAM node): global's
// protocol version 8, as OTP 25 speaks it, over both protocols (the messages are the same
// terms on an OTP connection and on a netkernel one).
//
// When a visible node comes up, both servers run the same meeting (OTP's handle_nodeup and
// what follows), keyed by a tag each side picks:
//   A → B  {'$gen_cast', {init_connect, {8, TagA}, A, {locker, no_longer_a_pid, Known, LockerA}}}
//   B → A  {init_connect_ack, B, TagA, TagB}                       (plain message)
//   the lockers take the lock {global, [LockerA, LockerB]} on both sides (global-locker.ts);
//   each locker tells its server: lock_is_set → A → B {exchange, A, Names, [], TagB}
//   each side resolves B's names against its own (conflicts: the smaller node's side runs
//   the resolve method, by rpc global:resolve_it on the node of the registered process)
//   A → B  {resolved, A, ResolvedForB, KnownA, unused, [], TagB}
//   each side applies both lists, tells the nodes it knew {new_nodes, A, Ops, [], Nodes, Info},
//   connects to the nodes the other knew (the transitive mesh) and sends them {in_sync, A, true}.
// Also: {set_lock, Id} / {del_lock, Id} / {register, Name, Pid, Method} / {unregister, Name}
// / {sync, Nodes} / get_known calls; lost_connection / remove_connection (OTP 25's
// prevent_overlapping_partitions); DOWN of monitored names and lock holders.
//
// Every message from a peer is checked for its shape; a malformed one is counted and
// ignored (logged at debug), never thrown out of the loop.
import { randomInt } from 'node:crypto'
import { Atom, atom } from '../terms/atom.js'
import { Pid } from '../terms/pid.js'
import { isDown } from '../process/monitors.js'
import { Tuple, tuple } from '../terms/tuple.js'
import type { Proc } from '../process/types.js'
import type { Logger } from '../logger.js'
import { cast } from './global-calls.js'
import { GlobalTables, type TableLimits } from './global-tables.js'
import { LockerMsg, LockIsSet } from './global-locker.js'
import { G, GLOBAL_VSN, isTrue, nameOf, sameTerm, termKey } from './global-terms.js'
import { resolveConflict } from './global-resolve.js'

/** What the node tells its server (JS objects: a peer cannot forge them). */
export class ServerEvent {
  constructor(
    readonly kind: 'nodeup' | 'nodedown' | 'extra_nodedown' | 'exchange_ops' | 'sync',
    readonly node: string,
    readonly fields: {
      tag?: unknown
      ops?: unknown[]
      resolved?: unknown[]
      nodes?: string[]
      done?: () => void
    } = {},
  ) {}
}

export interface GlobalServerDeps {
  logger: Logger
  /**
   * The node's connectAll. False, as OTP's `-connect_all false`: the server meets no peer (a
   * nodeup starts nothing, a peer's init_connect waits for ever), so it makes no transitive
   * connections, names stay on this node, and lost_connection is neither sent nor obeyed.
   */
  connectAll: boolean
  /** Dial a node (the transitive mesh): true when connected. */
  connect(node: string): Promise<boolean>
  disconnect(node: string): void
  /** True while a visible connection to `node` is up. */
  isVisible(node: string): boolean
  /** rpc global:resolve_it on `node` (a conflict whose registered process lives there). */
  rpc(node: string, args: unknown[]): Promise<unknown>
  limits: TableLimits
  /** Most entries a peer may list in one message (names, nodes, ops). */
  maxListLength: number
  /** Most nodes this node's global knows (each is dialled). */
  maxKnownNodes: number
}

/** Most sync calls waiting at once. */
const MAX_SYNCERS = 1000

interface NodeState {
  myTag?: unknown
  hisTag?: unknown
  vsn?: number
  waitLock?: 'lock_is_set' | { exchange: unknown[] }
  saveOps?: unknown[] | { hisKnown: unknown[]; hisResolved: unknown[] }
  preConnect?: { vsn: number; initMsg: Tuple; hisTag: unknown }
  lockId?: Tuple
}

interface Syncer {
  nodes: Set<string>
  reply: () => void
}

/** The server's state the facade and the registrar read (one JS thread: no copies needed). */
export interface GlobalServerState {
  readonly tables: GlobalTables
  /** Known nodes (synced with, or learnt from a synced node) → their protocol version. */
  readonly known: Map<string, number>
  readonly synced: Set<string>
  /** Malformed or unexpected messages ignored, by kind. */
  readonly ignored: Map<string, number>
}

export function globalServer(
  deps: GlobalServerDeps,
  state: { tables?: GlobalTables; server?: GlobalServerState; locker?: Pid },
  startLocker: (tables: GlobalTables) => Pid,
): (proc: Proc) => Promise<void> {
  return async proc => {
    const self = proc.node
    const log = deps.logger
    const tables = new GlobalTables(
      pid => proc.monitor(pid),
      ref => void proc.demonitor(ref, { flush: true }),
      deps.limits,
    )
    const known = new Map<string, number>()
    const pending = new Map<string, number>()
    const removing = new Set<string>()
    const synced = new Set<string>()
    const ignored = new Map<string, number>()
    const nodes = new Map<string, NodeState>()
    const resolvers = new Map<string, unknown>() // node → the tag of its meeting
    const syncers = new Set<Syncer>()
    const lost = new Map<string, { xcre: unknown; opId: number; at: number }>()
    const xCreation = randomInt(1, 2 ** 47)
    let nextTag = randomInt(1, 2 ** 40)
    let nextOp = 1
    state.tables = tables
    state.server = { tables, known, synced, ignored }
    const locker = startLocker(tables)
    state.locker = locker

    const ignore = (kind: string, m: unknown): void => {
      ignored.set(kind, (ignored.get(kind) ?? 0) + 1)
      if (ignored.size > 64) ignored.delete(ignored.keys().next().value!)
      log.debug({ kind, msg: String(m).slice(0, 200) }, `global: ignored a malformed ${kind} message`)
    }
    const ns = (node: string): NodeState => {
      let s = nodes.get(node)
      if (s === undefined) nodes.set(node, (s = {}))
      return s
    }
    const reset = (node: string): void => void nodes.delete(node)
    const toLocker = (m: LockerMsg): void => void proc.send(locker, m)
    const volatileSend = (node: string, msg: unknown): void => {
      if (deps.isVisible(node)) proc.send([G.server, node], msg)
    }
    const potentiallyKnown = (node: string): boolean => known.has(node) || pending.has(node)
    const nodeVsn = (node: string): number => (node === self ? GLOBAL_VSN : (known.get(node) ?? pending.get(node) ?? 0))
    const knownList = (): Tuple[] => [...known].map(([n, v]) => tuple(atom(n), v))
    const namesList = (): Tuple[] => [...tables.names.values()].map(e => tuple(e.name, e.pid, e.method))
    const notifySynced = (node: string): void => {
      for (const s of syncers) {
        s.nodes.delete(node)
        if (s.nodes.size === 0) {
          syncers.delete(s)
          s.reply()
        }
      }
    }

    const sendCancelConnect = (node: string, myTag: unknown): void => {
      const v = pending.get(node)
      if (v === undefined || v < 8) return
      const st = nodes.get(node)
      if (st === undefined || !sameTerm(st.myTag, myTag)) return
      volatileSend(node, tuple(G.cancelConnect, atom(self), st.hisTag))
    }
    const cancelLocker = (node: string, tag: unknown, fn?: () => void): void => {
      toLocker(new LockerMsg('cancel', node, { myTag: tag, fn }))
      sendCancelConnect(node, tag)
      if (tag !== undefined && sameTerm(resolvers.get(node), tag)) resolvers.delete(node)
    }

    const handleNodeup = (node: string): void => {
      if (known.has(node) || resolvers.has(node)) return
      const pre = nodes.get(node)?.preConnect
      const myTag = nextTag++
      nodes.set(node, { myTag })
      const knownMap = new Map<unknown, unknown>([...known].map(([n, v]) => [atom(n), v]))
      cast(proc, node, tuple(G.initConnect, tuple(GLOBAL_VSN, myTag), atom(self), tuple(G.locker, G.noLongerAPid, knownMap, locker)))
      resolvers.set(node, myTag)
      if (pre !== undefined) initConnect(pre.vsn, node, pre.initMsg, pre.hisTag, pre.vsn)
    }
    const restartConnect = (node: string, myTag: unknown): void => {
      cancelLocker(node, myTag)
      reset(node)
      pending.delete(node)
      if (typeof myTag === 'number' || typeof myTag === 'bigint') handleNodeup(node)
    }
    const initConnect = (vsn: number, node: string, initMsg: Tuple, hisTag: unknown, hisVsn: number): void => {
      if (pending.has(node)) {
        if (hisVsn < 8) {
          deps.disconnect(node)
          return
        }
        volatileSend(node, tuple(G.cancelConnect, atom(self), hisTag))
        restartConnect(node, nodes.get(node)?.myTag)
      }
      const st = ns(node)
      st.vsn = vsn
      st.hisTag = hisTag
      const tag = resolvers.get(node)
      if (tag !== undefined && sameTerm(tag, st.myTag)) {
        toLocker(new LockerMsg('his_the_locker', node, { locker: initMsg[3] as Pid, vsn, hisTag, myTag: tag }))
        volatileSend(node, tuple(G.initConnectAck, atom(self), hisTag, tag))
        pending.set(node, hisVsn)
      } else {
        st.preConnect = { vsn, initMsg, hisTag }
      }
    }
    const exchange = (node: string, names: unknown[]): void => {
      const st = ns(node)
      const w = st.waitLock
      st.waitLock = undefined
      if (w === 'lock_is_set') {
        const tag = resolvers.get(node)
        // (Not awaited: an rpc may take a while. A failure must not become an unhandled rejection.)
        resolve(node, tag, names).catch((err: unknown) => {
          ignore('crash', names)
          log.warn({ err, node }, `global: resolving ${node}'s names failed; they were not taken`)
        })
      } else {
        st.waitLock = { exchange: names }
      }
    }
    /** The resolver: his names against ours; ops for us, resolved for him (OTP's exchange_names). */
    const resolve = async (node: string, tag: unknown, names: unknown[]): Promise<void> => {
      const ops: unknown[] = []
      const res: unknown[] = []
      for (const n of names) {
        if (!(n instanceof Tuple) || n.length !== 3 || !(n[1] instanceof Pid)) continue
        const [name, pid, method] = n as unknown as [unknown, Pid, unknown]
        const mine = tables.whereis(name)
        if (mine === undefined) {
          ops.push(tuple(G.insert, tuple(name, pid, method)))
          continue
        }
        if (mine.pid.equals(pid) || !(self < node)) continue
        // A process of a node neither this one, connected nor known (insName would not take it)
        // is not weighed against ours: resolving a conflict may exit our process. Ours stays.
        if (!takenNode(pid.node)) {
          ignore('name of an unknown node', name)
          continue
        }
        let winner: unknown
        try {
          winner =
            mine.pid.node === self
              ? resolveConflict(
                  mine.method,
                  name,
                  pid,
                  mine.pid,
                  (p, msg) => proc.send(p, msg),
                  (p, r) => proc.exit(p, r),
                  log,
                )
              : await deps.rpc(mine.pid.node, [mine.method, name, pid, mine.pid])
        } catch (err) {
          log.info({ err, node: mine.pid.node }, `global: resolving the conflict on a name failed; ${node}'s process kept`)
          winner = pid
        }
        if (winner instanceof Pid && winner.equals(pid)) ops.push(tuple(G.insert, tuple(name, pid, method)))
        else if (winner instanceof Pid && winner.equals(mine.pid)) res.push(tuple(G.insert, tuple(name, mine.pid, mine.method)))
        else {
          ops.push(tuple(G.delete, name))
          res.push(tuple(G.delete, name))
        }
      }
      proc.send(proc.self, new ServerEvent('exchange_ops', node, { tag, ops, resolved: res }))
    }
    const lockIsSet = (node: string, lockId: Tuple): void => {
      const st = ns(node)
      cast(proc, node, tuple(G.exchange, atom(self), namesList(), [], st.hisTag))
      st.lockId = lockId
      const w = st.waitLock
      if (w !== undefined && w !== 'lock_is_set') {
        st.waitLock = 'lock_is_set'
        exchange(node, w.exchange)
      } else st.waitLock = 'lock_is_set'
    }
    const lockStillSet = (from: Pid | string, info: unknown[]): boolean => {
      const e = tables.lockRequester(G.global)
      if (e === undefined) return !tables.globalLockDown
      if (from instanceof Pid) return e.holders.has(termKey(from))
      const lock = info.find(x => x instanceof Tuple && x[0] === G.lock) as Tuple | undefined
      const id = lock?.[1]
      return id instanceof Tuple && sameTerm(id[1], e.requester)
    }
    /** May a name be held by a process of `node`: this one, connected, or known? */
    const takenNode = (node: string): boolean => node === self || deps.isVisible(node) || known.has(node)
    const insName = (name: unknown, pid: Pid, method: unknown, from: Pid | string, info: unknown[]): void => {
      // A process of a node that is neither this one, connected, nor known is not taken (a
      // peer could otherwise make us hold names, monitors and dials for any node it invents).
      if (!takenNode(pid.node)) {
        ignore('name of an unknown node', name)
        return
      }
      // Global's own processes hold no names: a conflict over one would exit them.
      if (pid.equals(proc.self) || pid.equals(locker)) {
        ignore("name of global's own process", name)
        return
      }
      if (!tables.insertName(name, pid, method)) {
        ignore('name over the per-node bound', name)
        return
      }
      if (!lockStillSet(from, info)) tables.deleteName(name)
    }
    const doOps = (ops: unknown[], connNode: string, info: unknown[]): void => {
      for (const op of ops) {
        if (!(op instanceof Tuple) || op.length !== 2) continue
        if (op[0] === G.insert && op[1] instanceof Tuple && op[1].length === 3 && op[1][1] instanceof Pid) {
          insName(op[1][0], op[1][1], op[1][2], connNode, info)
        } else if (op[0] === G.delete) tables.deleteName(op[1])
      }
    }
    const addToKnown = (list: unknown[]): string[] => {
      const added: string[] = []
      for (const e of list) {
        const n = e instanceof Tuple ? nameOf(e[0]) : nameOf(e)
        const v = e instanceof Tuple && typeof e[1] === 'number' ? e[1] : 0
        if (n === undefined || n === self) continue
        const had = known.get(n)
        if (had === undefined && known.size >= deps.maxKnownNodes) {
          ignore('node over the known-nodes bound', n)
          continue
        }
        if (had === undefined) {
          known.set(n, v)
          added.push(n)
        } else if (had < 0) known.set(n, v)
      }
      return added
    }
    const syncOthers = (list: string[]): void => {
      for (const n of list) {
        void deps.connect(n).then(
          ok => {
            if (ok) cast(proc, n, tuple(G.inSync, atom(self), true))
            else {
              log.warn({ node: n }, `'global' at ${self} failed to connect to ${n}`)
              proc.send(proc.self, new ServerEvent('extra_nodedown', n))
            }
          },
          () => proc.send(proc.self, new ServerEvent('extra_nodedown', n)),
        )
      }
    }
    const cancelResolvedLocker = (node: string, fn?: () => void): void => {
      const tag = nodes.get(node)?.myTag
      pending.delete(node)
      cancelLocker(node, tag, fn)
      reset(node)
    }
    const resolved = (node: string, hisResolved: unknown[], hisKnown: unknown[]): void => {
      const st = ns(node)
      const ops = [...((st.saveOps as unknown[] | undefined) ?? []), ...hisResolved]
      const newNodes = [atom(node), ...hisKnown].flatMap(e => {
        if (e instanceof Tuple && typeof e[1] === 'number' && e[1] !== 0 && e[0] instanceof Atom) return [e]
        const n = nameOf(e instanceof Tuple ? e[0] : e)
        return n === undefined ? [] : [tuple(atom(n), nodeVsn(n))]
      })
      const hisKnownNodes = hisKnown
        .map(e => nameOf(e instanceof Tuple ? e[0] : e))
        .filter((n): n is string => n !== undefined && n !== self)
      syncOthers(hisKnownNodes)
      const info = [tuple(G.vsn, st.vsn ?? GLOBAL_VSN), tuple(G.lock, st.lockId)]
      // His nodes become known before his names go in (names of unknown nodes are refused).
      const before = [...known.keys()]
      const added = addToKnown(newNodes)
      doOps(ops, self, info)
      notifySynced(node)
      for (const n of hisKnownNodes) cancelResolvedLocker(n)
      const msg = tuple(G.newNodes, atom(self), ops, [], newNodes, info)
      cancelResolvedLocker(node, () => {
        for (const n of before) cast(proc, n, msg)
      })
      toLocker(new LockerMsg('add_to_known', node, { nodes: added }))
      synced.add(node)
    }
    const handleNodedown = (node: string, what: 'remove_connection' | 'ignore_node' | 'disconnected'): void => {
      cancelLocker(node, nodes.get(node)?.myTag)
      toLocker(new LockerMsg('remove_from_known', node))
      reset(node)
      if (what === 'remove_connection') removing.add(node)
      else if (what === 'ignore_node') removing.delete(node)
      else if (removing.has(node)) removing.delete(node)
      else if (deps.connectAll) informConnectionLoss(node)
      pending.delete(node)
      known.delete(node)
      synced.delete(node)
      resolvers.delete(node)
    }
    const informConnectionLoss = (node: string): void => {
      const msg = tuple(G.lostConnection, atom(self), xCreation, nextOp++, atom(node))
      multicast(msg, node)
    }
    const multicast = (msg: unknown, except: string): void => {
      const to = new Set<string>()
      for (const [n, v] of known) if (n !== except && v >= 7) to.add(n)
      for (const [n, v] of pending) if (n !== except && v >= 7) to.add(n)
      for (const n of to) volatileSend(n, msg)
    }
    const lostConnection = (m: Tuple): void => {
      const a = nameOf(m[1])
      const b = nameOf(m[4])
      const opId = m[3]
      if (a === undefined || b === undefined || typeof opId !== 'number') return ignore('lost_connection', m)
      const key = `${a} ${b}`
      const now = Date.now()
      for (const [k, v] of lost) if (now - v.at > 3_600_000) lost.delete(k)
      const had = lost.get(key)
      if (had !== undefined && sameTerm(had.xcre, m[2]) && opId <= had.opId) return
      multicast(m, a)
      lost.delete(key)
      if (lost.size >= 1000) lost.delete(lost.keys().next().value!)
      lost.set(key, { xcre: m[2], opId, at: now })
      const rm = self === b ? a : b
      if (!potentiallyKnown(rm)) return
      volatileSend(rm, tuple(G.removeConnection, atom(self)))
      log.warn({ node: rm }, `'global' at node ${self} requested disconnect from node ${rm} in order to prevent overlapping partitions`)
      handleNodedown(rm, 'remove_connection')
    }

    const handleCall = (from: Pid, tag: unknown, req: unknown): void => {
      const reply = (r: unknown): void => void proc.send(from, tuple(tag, r))
      if (req === G.getKnown) return reply(knownList())
      if (req === G.getSynced) return reply([...synced].map(atom))
      if (req === G.getProtocolVersion) return reply(GLOBAL_VSN)
      if (!(req instanceof Tuple)) return ignore('call', req)
      const op = req[0]
      if (op === G.setLock && req.length === 2) return reply(tables.setLock(req[1], from))
      if (op === G.delLock && req.length === 2) {
        tables.delLock(req[1], from)
        return reply(true)
      }
      if (op === G.register && req.length === 4 && req[2] instanceof Pid) {
        insName(req[1], req[2], req[3], from, [])
        return reply(G.yes)
      }
      if (op === G.registerExt && req.length === 5 && req[2] instanceof Pid) {
        insName(req[1], req[2], req[3], from, [])
        return reply(G.yes)
      }
      if (op === G.unregister && req.length === 2) {
        tables.deleteName(req[1])
        return reply(G.ok)
      }
      if (op === G.sync && req.length === 2 && Array.isArray(req[1])) {
        const want = new Set(
          req[1]
            .slice(0, deps.maxListLength)
            .map(nameOf)
            .filter((n): n is string => n !== undefined && n !== self && !synced.has(n) && deps.isVisible(n)),
        )
        // A node that is not connected counts as down at once (OTP's monitor_node); pending
        // syncs are bounded (the oldest is answered when a peer asks too many).
        if (want.size === 0) return reply(G.ok)
        if (syncers.size >= MAX_SYNCERS) {
          const oldest = syncers.values().next().value!
          syncers.delete(oldest)
          oldest.reply()
        }
        syncers.add({ nodes: want, reply: () => reply(G.ok) })
        return
      }
      ignore('call', req)
    }

    const handleCast = (req: unknown): void => {
      if (!(req instanceof Tuple) || !(req[0] instanceof Atom)) return ignore('cast', req)
      const op = req[0]
      const node = nameOf(req[1])
      if (op === G.initConnect && req.length === 4) {
        const n = nameOf(req[2])
        const v = req[1]
        const init = req[3]
        if (n === undefined || !(v instanceof Tuple) || v.length < 2 || typeof v[0] !== 'number') return ignore('init_connect', req)
        if (!(init instanceof Tuple) || init.length !== 4 || !(init[3] instanceof Pid) || init[3].node !== n)
          return ignore('init_connect', req)
        if (!deps.isVisible(n)) return ignore('init_connect', req)
        const hisVsn = v[0]
        initConnect(Math.min(hisVsn, GLOBAL_VSN), n, init, v[1], hisVsn)
        return
      }
      if (op === G.lockSet && (req.length === 5 || req.length === 4) && req[1] instanceof Pid) {
        const pidNode = req[1].node
        const tag = req.length === 5 ? req[4] : undefined
        const s2 = nodes.get(pidNode)
        if (tag !== undefined && (s2 === undefined || !sameTerm(s2.myTag, tag))) return
        toLocker(new LockerMsg('lock_set', pidNode, { locker: req[1], isSet: isTrue(req[2]), myTag: tag }))
        return
      }
      // OTP's global ignores these (kept for old nodes); their second element is no node name.
      if (op === G.asyncDelName || op === G.asyncDelLock) return
      if (node === undefined) return ignore('cast', req)
      const st = nodes.get(node)
      const myTagOk = (t: unknown): boolean => st !== undefined && st.myTag !== undefined && sameTerm(st.myTag, t)
      if (op === G.exchange && req.length === 5 && Array.isArray(req[2])) {
        if (req[2].length > deps.maxListLength) return ignore('exchange', req)
        if (myTagOk(req[4])) exchange(node, req[2])
        else cancelLocker(node, req[4])
        return
      }
      if (op === G.resolved && req.length === 7 && Array.isArray(req[2]) && Array.isArray(req[3])) {
        if (req[2].length > deps.maxListLength || req[3].length > deps.maxListLength) return ignore('resolved', req)
        if (!myTagOk(req[6])) return cancelLocker(node, req[6])
        if (Array.isArray(st!.saveOps)) resolved(node, req[2], req[3])
        else st!.saveOps = { hisKnown: req[3], hisResolved: req[2] }
        return
      }
      if (op === G.newNodes && req.length === 6 && Array.isArray(req[2]) && Array.isArray(req[4]) && Array.isArray(req[5])) {
        if (req[2].length > deps.maxListLength || req[4].length > deps.maxListLength) return ignore('new_nodes', req)
        if (!synced.has(node) && !known.has(node)) return ignore('new_nodes', req)
        const added = addToKnown(req[4])
        syncOthers(added)
        doOps(req[2], node, req[5])
        toLocker(new LockerMsg('add_to_known', node, { nodes: added }))
        return
      }
      if (op === G.inSync && req.length === 3) {
        notifySynced(node)
        synced.add(node)
        pending.delete(node)
        cancelLocker(node, st?.myTag)
        reset(node)
        return
      }
      ignore('cast', req)
    }

    const handleInfo = (m: Tuple): void => {
      const op = m[0]
      if (op === G.initConnectAck && m.length === 4) {
        const node = nameOf(m[1])
        if (node === undefined) return ignore('init_connect_ack', m)
        const st = nodes.get(node)
        if (st !== undefined && sameTerm(st.myTag, m[2]) && sameTerm(st.hisTag, m[3])) return
        volatileSend(node, tuple(G.cancelConnect, atom(self), m[3]))
        restartConnect(node, st?.myTag)
        return
      }
      if (op === G.cancelConnect && m.length === 3) {
        const node = nameOf(m[1])
        if (node === undefined) return ignore('cancel_connect', m)
        const st = nodes.get(node)
        if (st === undefined || !sameTerm(st.myTag, m[2])) return
        cancelLocker(node, m[2])
        reset(node)
        pending.delete(node)
        restartConnect(node, m[2])
        return
      }
      if (op === G.lostConnection && m.length === 5) return deps.connectAll ? lostConnection(m) : undefined
      if (op === G.removeConnection && m.length === 2) {
        const node = nameOf(m[1])
        if (node === undefined || !potentiallyKnown(node)) return
        deps.disconnect(node)
        handleNodedown(node, 'remove_connection')
        log.warn({ node }, `'global' at node ${self} disconnected node ${node} in order to prevent overlapping partitions`)
        return
      }
      ignore('info', m)
    }

    const handleEvent = (e: ServerEvent): void => {
      switch (e.kind) {
        case 'nodeup':
          if (deps.connectAll) handleNodeup(e.node)
          return
        case 'nodedown':
        case 'extra_nodedown':
          notifySynced(e.node)
          handleNodedown(e.node, 'disconnected')
          return
        case 'exchange_ops': {
          const st = nodes.get(e.node)
          if (st === undefined || !sameTerm(st.myTag, e.fields.tag)) return cancelLocker(e.node, e.fields.tag)
          cast(proc, e.node, tuple(G.resolved, atom(self), e.fields.resolved ?? [], knownList(), G.unused, [], st.hisTag))
          const saved = st.saveOps
          st.saveOps = e.fields.ops ?? []
          if (saved !== undefined && !Array.isArray(saved)) resolved(e.node, saved.hisResolved, saved.hisKnown)
          return
        }
        case 'sync': {
          const want = new Set((e.fields.nodes ?? []).filter(n => n !== self && !synced.has(n) && deps.isVisible(n)))
          if (want.size === 0) e.fields.done?.()
          else syncers.add({ nodes: want, reply: e.fields.done ?? (() => {}) })
          return
        }
      }
    }

    for (;;) {
      const m: unknown = await proc.receive()
      try {
        if (m instanceof ServerEvent) handleEvent(m)
        else if (m instanceof LockIsSet) {
          const st = nodes.get(m.node)
          if (st !== undefined && sameTerm(st.myTag, m.myTag)) lockIsSet(m.node, m.lockId)
          else cancelLocker(m.node, m.myTag)
        } else if (isDown(m)) tables.down(m[1])
        else if (m instanceof Tuple && m[0] === G.genCall && m.length === 3) {
          const from = m[1]
          if (!(from instanceof Tuple) || from.length !== 2 || !(from[0] instanceof Pid)) ignore('call', m)
          else handleCall(from[0], from[1], m[2])
        } else if (m instanceof Tuple && m[0] === G.genCast && m.length === 2) handleCast(m[1])
        else if (m instanceof Tuple && m.length > 0) handleInfo(m)
        else ignore('info', m)
      } catch (err) {
        ignore('crash', m)
        log.warn({ err }, 'global: a message could not be handled')
      }
    }
  }
}
