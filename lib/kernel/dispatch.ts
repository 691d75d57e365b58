// Inbound: a decoded control frame from a connection becomes a call on the local runtime.
//
// The trust boundary. After authentication a peer speaks only for itself: every signal must
// come from a process of the peer's node (LINK, UNLINK, EXIT, EXIT2, MONITOR, DEMONITOR,
// REG_SEND, SPAWN_REQUEST, RPC_CALL), a MONITOR's ref must be one the peer made and may not replace a
// monitor that exists, a DOWN must come from the node of the monitored process for a monitor
// that exists with that ref and watcher, a spawn reply must name a pid of the replying
// node, and an rpc reply must answer a call this node made to that node. Anything else is dropped, counted as an ERR_PROTOCOL refusal (refusals.ts) and
// reported; the connection stays up. Then `policy.allowSignal`, the distribution firewall,
// decides each send, reg_send, link, monitor, exit, spawn and rpc (see signal-policy.ts).
import type { Connection } from './connection.js'
import type { RemoteInbound } from '../process/remote.js'
import type { Logger } from '../logger.js'
import type { KernelPolicy } from './net-kernel.js'
import type { SpawnRequests } from './spawn-requests.js'
import type { RpcRequests } from './rpc-requests.js'
import type { RpcOutcome } from '../process/rpc.js'
import type { SignalDetails, SignalOp } from './signal-policy.js'
import type { StatsRequests } from './stats-requests.js'
import type { Refusals } from './refusals.js'
import { PID_BRAND, Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { type NetkernelError, SpawnError } from '../errors.js'
import { DEFAULT_LIMITS, peerOverLimit, type KernelLimits } from './limits.js'
import { ProcessLimit } from './process-limit.js'
import {
  ALIAS_SEND,
  DEMONITOR,
  DOWN,
  EXIT,
  EXIT2,
  LINK,
  MONITOR,
  NODES,
  REG_SEND,
  RPC_CALL,
  RPC_REPLY,
  SEND,
  SPAWN_REPLY,
  SPAWN_REQUEST,
  STATS_REPLY,
  STATS_REQUEST,
  UNLINK,
} from './frames.js'

export interface DispatchDeps {
  localName: string
  runtime: RemoteInbound
  spawns: SpawnRequests
  rpcs: RpcRequests
  stats: StatsRequests
  policy: KernelPolicy
  logger: Logger
  /** Where refusals are counted (the node's stats read them too). */
  refusals: Refusals
  /** The bounds on one peer's links, monitors and processes here. Default: DEFAULT_LIMITS'. */
  limits?: Partial<Pick<KernelLimits, 'linksPerPeer' | 'monitorsPerPeer' | 'processesPerPeer'>>
  /**
   * limits.processesPerPeer's door, when the node shares one between its wires. Default: one
   * of this dispatcher's own, with `limits.processesPerPeer`.
   */
  processLimit?: ProcessLimit
}

/**
 * The frame handler; what it refuses is counted in the Refusals it was given. `send` takes a
 * message frame [SEND, to, msg] already taken apart (ConnectionHooks.onSend), with the same
 * checks.
 */
export interface Dispatcher {
  (conn: Connection, frame: unknown): void
  send(conn: Connection, to: unknown, msg: unknown): void
}

/** Frame kinds by code, as refusals name them. */
const KIND = [
  'unknown',
  'send',
  'reg_send',
  'link',
  'unlink',
  'exit',
  'exit2',
  'monitor',
  'demonitor',
  'down',
  'spawn_request',
  'spawn_reply',
  'nodes',
  'stats_request',
  'stats_reply',
  'rpc_call',
  'rpc_reply',
  'alias_send',
]

class BadFrame extends Error {}

// Pid's brand, tested here rather than through `instanceof Pid` (the same test): the shared
// Symbol.hasInstance sees values of every kind from all over, and so looks the brand up slowly;
// here it sees pids, a message frame's recipient above all (1.5% of a receiver's CPU profile).
function pidOf(v: unknown, node: string, what: string): Pid {
  if (typeof v !== 'object' || v === null || (v as { [PID_BRAND]?: unknown })[PID_BRAND] !== true)
    throw new BadFrame(`${what} is not a pid`)
  const pid = v as Pid
  if (pid.node !== node) throw new BadFrame(`${what} ${pid.toString()} is not a process of ${node}`)
  return pid
}

function refOf(v: unknown, node: string, what: string): Ref {
  if (!(v instanceof Ref)) throw new BadFrame(`${what} is not a reference`)
  if (v.node !== node) throw new BadFrame(`${what} ${v.toString()} was not made by ${node}`)
  return v
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new BadFrame(`${what} is not a string`)
  return v
}

/** The firewall's question: may `peer` do `op` here? A refusal is counted. */
export type Permit = <K extends SignalOp>(peer: string, op: K, detail: SignalDetails[K]) => boolean

/**
 * `policy.allowSignal` asked as the dispatchers ask it (true only for `true`; false, anything
 * else, a promise or a throw refuses, and the refusal is counted); undefined without a firewall,
 * so that the frame path pays one comparison per signal.
 */
export function createPermit(policy: KernelPolicy, refusals: Refusals): Permit | undefined {
  // Read once. (Called with plain arguments: the typed tuple union only narrows `detail` for the policy's author.)
  const allowSignal = policy.allowSignal as ((peer: string, op: SignalOp, detail: unknown) => unknown) | undefined
  if (allowSignal === undefined) return undefined
  return (peer, op, detail) => {
    let why = 'refused by policy.allowSignal'
    try {
      const ok = allowSignal(peer, op, detail)
      if (ok === true) return true
      if (ok instanceof Promise || (typeof ok === 'object' && ok !== null && 'then' in ok)) {
        why = 'policy.allowSignal must answer synchronously (true or false), it returned a promise'
      }
    } catch (err) {
      why = `policy.allowSignal threw: ${(err as Error)?.message ?? String(err)}`
    }
    refusals.refuse(peer, op, 'ERR_SIGNAL_NOT_ALLOWED', detail, why)
    return false
  }
}

export function createDispatcher(d: DispatchDeps): Dispatcher {
  const { runtime, localName } = d
  const { refusals } = d
  const allowSignal = createPermit(d.policy, refusals)
  const permitted: Permit = allowSignal ?? (() => true)
  const { linksPerPeer, monitorsPerPeer, processesPerPeer } = { ...DEFAULT_LIMITS, ...d.limits }
  const processLimit = d.processLimit ?? new ProcessLimit({ localName: () => localName, runtime, limit: processesPerPeer, refusals })

  const spawnReply = (conn: Connection, reqId: number, code: string, message: string): void => {
    conn.send([SPAWN_REPLY, reqId, false, { code, message }])
  }

  const spawn = async (conn: Connection, reqId: number, req: SignalDetails['spawn']): Promise<void> => {
    const peer = conn.peer
    const { module: m, function: fn } = req
    try {
      if (d.policy.allowSpawn !== undefined && !(await d.policy.allowSpawn(peer, m, fn))) {
        const why = `${localName} does not allow ${peer} to spawn ${m}:${fn}`
        refusals.refuse(peer, 'spawn', 'ERR_SPAWN_NOT_ALLOWED', req, 'refused by policy.allowSpawn')
        spawnReply(conn, reqId, 'ERR_SPAWN_NOT_ALLOWED', why)
        return
      }
      // (Checked after the await, with nothing between it and the spawn.)
      const over = processLimit.refusal(peer, 'spawn', req)
      if (over !== undefined) {
        spawnReply(conn, reqId, 'ERR_LIMIT', over) // (the requester raises it as ERR_SPAWN_FAILED)
        return
      }
      const pid = runtime.spawnModule(m, fn, req.args, { linkTo: req.link ? req.from : undefined, forPeer: peer })
      conn.send([SPAWN_REPLY, reqId, true, pid])
    } catch (err) {
      const e = err as NetkernelError
      const code = e instanceof SpawnError ? e.code : 'ERR_SPAWN_FAILED'
      d.logger.warn({ node: peer, code, err: e }, `spawn request from ${peer} refused`)
      spawnReply(conn, reqId, code, e.message)
    }
  }

  const spawnRequest = (conn: Connection, f: unknown[]): void => {
    const peer = conn.peer
    const reqId = f[1]
    if (typeof reqId !== 'number') throw new BadFrame('spawn request id is not a number')
    let req: SignalDetails['spawn']
    try {
      if (!Array.isArray(f[5])) throw new BadFrame('spawn arguments are not a list')
      req = {
        from: f[2] === null ? undefined : pidOf(f[2], peer, 'spawn requester'),
        module: str(f[3], 'module'),
        function: str(f[4], 'function'),
        args: f[5],
        link: f[6] === true,
      }
    } catch (err) {
      if (err instanceof BadFrame) spawnReply(conn, reqId, 'ERR_SPAWN_FAILED', 'malformed spawn request')
      throw err
    }
    if (allowSignal !== undefined && !permitted(peer, 'spawn', req)) {
      spawnReply(conn, reqId, 'ERR_SPAWN_NOT_ALLOWED', `${localName} does not allow ${peer} to spawn ${req.module}:${req.function}`)
      return
    }
    void spawn(conn, reqId, req)
  }

  /** Answer call `id`; a value that cannot cross (a function, too large) is answered as a badrpc saying so. */
  const rpcReply = (conn: Connection, id: number, key: number | undefined, what: string, o: RpcOutcome): void => {
    const value = o.kind === 'return' ? o.value : o.reason
    const stack = o.kind === 'error' && typeof o.stack === 'string' ? o.stack : undefined
    try {
      // No value field for undefined (MessagePack has only nil): a void function's call resolves undefined.
      const frame: unknown[] = [RPC_REPLY, id, o.kind]
      if (value !== undefined || stack !== undefined) frame.push(value)
      if (stack !== undefined) frame.push(stack)
      conn.send(frame, key)
    } catch (err) {
      const e = err as NetkernelError
      const code = typeof e?.code === 'string' ? e.code : 'ERR_ENCODE'
      const message = `${localName} cannot send the ${o.kind === 'return' ? 'result' : `${o.kind} reason`} of ${what}: ${e?.message ?? String(err)}`
      conn.send([RPC_REPLY, id, 'badrpc', { code, message }], key)
    }
  }

  /** A call that did not start: no process's order key (outbound.ts). */
  const badrpc = (conn: Connection, id: number, code: string, message: string): void => {
    conn.send([RPC_REPLY, id, 'badrpc', { code, message }])
  }

  const rpc = async (conn: Connection, id: number, req: SignalDetails['rpc']): Promise<void> => {
    const peer = conn.peer
    const { module: m, function: fn } = req
    // The reply carries the call process's order key (outbound.ts): it comes after what the
    // function sent before it ended.
    const what = `${m}:${fn}/${req.args.length}`
    let outcome: Promise<RpcOutcome>
    let replyKey: number
    try {
      if (d.policy.allowSpawn !== undefined && !(await d.policy.allowSpawn(peer, m, fn))) {
        refusals.refuse(peer, 'rpc', 'ERR_SPAWN_NOT_ALLOWED', req, 'refused by policy.allowSpawn')
        badrpc(conn, id, 'ERR_SPAWN_NOT_ALLOWED', `${localName} does not allow ${peer} to call ${m}:${fn}`)
        return
      }
      const over = processLimit.refusal(peer, 'rpc', req)
      if (over !== undefined) {
        badrpc(conn, id, 'ERR_LIMIT', over)
        return
      }
      const call = runtime.callModule(m, fn, req.args, peer)
      outcome = call.outcome
      replyKey = call.pid.id
    } catch (err) {
      const e = err as NetkernelError
      const code = e instanceof SpawnError ? e.code : typeof e?.code === 'string' ? e.code : 'ERR_SPAWN_FAILED'
      d.logger.warn({ node: peer, code, err: e }, `rpc ${what} from ${peer} refused`)
      badrpc(conn, id, code, e?.message ?? String(err))
      return
    }
    rpcReply(conn, id, replyKey, what, await outcome)
  }

  const rpcCall = (conn: Connection, f: unknown[]): void => {
    const peer = conn.peer
    const id = f[1]
    if (typeof id !== 'number') throw new BadFrame('rpc call id is not a number')
    let req: SignalDetails['rpc']
    try {
      if (!Array.isArray(f[5])) throw new BadFrame('rpc arguments are not a list')
      req = {
        from: f[2] === null ? undefined : pidOf(f[2], peer, 'rpc caller'),
        module: str(f[3], 'module'),
        function: str(f[4], 'function'),
        args: f[5],
      }
    } catch (err) {
      if (err instanceof BadFrame) badrpc(conn, id, 'ERR_PROTOCOL', `${localName}: malformed rpc call (${err.message})`)
      throw err
    }
    if (allowSignal !== undefined && !permitted(peer, 'rpc', req)) {
      badrpc(conn, id, 'ERR_SIGNAL_NOT_ALLOWED', `${localName} does not allow ${peer} to call ${req.module}:${req.function}`)
      return
    }
    rpc(conn, id, req).catch((err: unknown) =>
      d.logger.warn({ node: peer, err }, `rpc ${req.module}:${req.function} from ${peer}: no reply sent`),
    )
  }

  const send = (conn: Connection, recipient: unknown, msg: unknown): void => {
    const to = pidOf(recipient, localName, 'recipient')
    if (allowSignal !== undefined && !permitted(conn.peer, 'send', { to, message: msg })) return
    runtime.deliver(to, msg)
  }

  const handle = (conn: Connection, frame: unknown): void => {
    if (!Array.isArray(frame)) throw new BadFrame('not a control frame')
    const peer = conn.peer
    switch (frame[0]) {
      case SEND:
        send(conn, frame[1], frame[2])
        return
      case REG_SEND: {
        const from = frame[1] === null ? undefined : pidOf(frame[1], peer, 'sender')
        const name = str(frame[2], 'registered name')
        if (allowSignal !== undefined && !permitted(peer, 'reg_send', { from, name, message: frame[3] })) return
        runtime.deliverNamed(name, frame[3])
        return
      }
      case LINK: {
        const from = pidOf(frame[1], peer, 'linker')
        const to = pidOf(frame[2], localName, 'link target')
        // Refused: as for a process that does not exist, so the linker does not believe it is linked.
        if (allowSignal !== undefined && !permitted(peer, 'link', { from, to })) conn.send([EXIT, to, from, 'noproc'], from.id)
        else if (!runtime.linkFrom(from, to, linksPerPeer)) throw peerOverLimit(d.logger, peer, 'links', linksPerPeer)
        return
      }
      case UNLINK:
        runtime.unlinkFrom(pidOf(frame[1], peer, 'unlinker'), pidOf(frame[2], localName, 'unlink target'))
        return
      case EXIT:
        runtime.exitFrom(pidOf(frame[1], peer, 'exiting process'), pidOf(frame[2], localName, 'linked process'), frame[3], true)
        return
      case EXIT2: {
        const from = pidOf(frame[1], peer, 'exit sender')
        const to = pidOf(frame[2], localName, 'exit target')
        if (allowSignal !== undefined && !permitted(peer, 'exit', { from, to, reason: frame[3] })) return
        runtime.exitFrom(from, to, frame[3], false)
        return
      }
      case MONITOR: {
        const from = pidOf(frame[1], peer, 'watcher')
        const target = frame[2] instanceof Pid ? pidOf(frame[2], localName, 'monitored process') : str(frame[2], 'monitored name')
        const ref = refOf(frame[3], peer, 'monitor ref')
        // Refused: as for a process that does not exist, so the watcher is not left waiting.
        if (allowSignal !== undefined && !permitted(peer, 'monitor', { from, target })) conn.send([DOWN, from, ref, 'noproc'], from.id)
        else if (runtime.monitorsHeldBy(peer) >= monitorsPerPeer) throw peerOverLimit(d.logger, peer, 'monitors', monitorsPerPeer)
        else if (!runtime.monitorFrom(from, target, ref)) throw new BadFrame(`monitor ref ${ref.toString()} is in use`)
        return
      }
      case DEMONITOR:
        runtime.demonitorFrom(pidOf(frame[1], peer, 'watcher'), refOf(frame[3], peer, 'monitor ref'))
        return
      case DOWN: {
        const watcher = pidOf(frame[1], localName, 'watcher')
        if (!(frame[2] instanceof Ref)) throw new BadFrame('monitor ref is not a reference')
        if (!runtime.downFrom(peer, watcher, frame[2], frame[3])) {
          throw new BadFrame(`no monitor ${frame[2].toString()} of a process of ${peer} by ${watcher.toString()}`)
        }
        return
      }
      case SPAWN_REQUEST:
        spawnRequest(conn, frame)
        return
      case SPAWN_REPLY:
        if (frame[2] === true && !(frame[3] instanceof Pid && frame[3].node === peer)) {
          d.spawns.settle(peer, frame[1], false, { code: 'ERR_SPAWN_FAILED', message: 'the spawn reply names no process of that node' })
          throw new BadFrame('spawn reply names no process of the replying node')
        }
        d.spawns.settle(peer, frame[1], frame[2], frame[3])
        return
      case RPC_CALL:
        rpcCall(conn, frame)
        return
      case RPC_REPLY:
        if (!d.rpcs.settle(peer, frame[1], frame[2], frame[3], frame[4])) {
          throw new BadFrame(`rpc reply ${String(frame[1])} answers no call this node made to ${peer} (or is of an unknown kind)`)
        }
        return
      case NODES:
        conn.nodesHeard(frame[1])
        return
      case STATS_REQUEST:
        d.stats.frame(conn, frame, allowSignal === undefined || permitted(peer, 'stats', {}))
        return
      case STATS_REPLY:
        d.stats.frame(conn, frame, true)
        return
      case ALIAS_SEND: {
        const from = frame[1] === null ? undefined : pidOf(frame[1], peer, 'sender')
        const alias = frame[2]
        if (!(alias instanceof Ref)) throw new BadFrame('alias is not a reference')
        if (allowSignal !== undefined && !permitted(peer, 'alias_send', { from, alias, message: frame[3] })) return
        // (Not active, or not this node's: dropped, as Erlang drops it; counted per connection.)
        if (!runtime.deliverAlias(alias, frame[3])) conn.aliasSendsDropped++
        return
      }
      default:
        throw new BadFrame(`unknown frame kind ${String(frame[0])}`)
    }
  }

  const refuse = (conn: Connection, kind: string, err: unknown): void => {
    if (!(err instanceof BadFrame)) throw err
    refusals.refuse(conn.peer, kind, 'ERR_PROTOCOL', { reason: err.message }, err.message)
  }
  const dispatch = (conn: Connection, frame: unknown): void => {
    try {
      handle(conn, frame)
    } catch (err) {
      refuse(conn, Array.isArray(frame) && typeof frame[0] === 'number' ? (KIND[frame[0]] ?? 'unknown') : 'unknown', err)
    }
  }
  const sendFrame = (conn: Connection, to: unknown, msg: unknown): void => {
    try {
      send(conn, to, msg)
    } catch (err) {
      refuse(conn, 'send', err)
    }
  }
  return Object.assign(dispatch, { send: sendFrame })
}
