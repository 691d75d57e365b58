// Inbound: a decoded control frame from a connection becomes a call on the local runtime.
// A frame that decodes but has bad fields is dropped (and logged); the connection stays up.
// Signals that claim to come from a process on a third node are refused: a peer speaks
// only for its own processes.
import type { Connection } from './connection.js'
import type { RemoteInbound } from '../process/remote.js'
import type { Logger } from '../logger.js'
import type { NetKernel, KernelPolicy } from './net-kernel.js'
import type { SpawnRequests } from './spawn-requests.js'
import type { StatsRequests } from './stats-requests.js'
import { Pid } from '../terms/pid.js'
import { Ref } from '../terms/ref.js'
import { NetkernelError, SpawnError } from '../errors.js'
import {
  DEMONITOR, DOWN, EXIT, EXIT2, LINK, MONITOR, NODES, REG_SEND, SEND, SPAWN_REPLY, SPAWN_REQUEST, UNLINK,
} from './frames.js'
import { STATS_REPLY, STATS_REQUEST } from './frames.js'

export interface DispatchDeps {
  localName: string
  runtime: RemoteInbound
  kernel(): NetKernel
  spawns: SpawnRequests
  stats: StatsRequests
  policy: KernelPolicy
  logger: Logger
}

class BadFrame extends Error {}

function pidOf(v: unknown, node?: string): Pid {
  if (!(v instanceof Pid) || (node !== undefined && v.node !== node)) throw new BadFrame('pid')
  return v
}

function str(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new BadFrame('string')
  return v
}

export function createDispatcher(d: DispatchDeps): (conn: Connection, frame: unknown) => void {
  const { runtime, localName } = d

  const spawnRequest = async (conn: Connection, f: unknown[]): Promise<void> => {
    const [, reqId, from, mod, fun, args, link] = f
    if (typeof reqId !== 'number') throw new BadFrame('reqId')
    try {
      const requester = from === null ? undefined : pidOf(from, conn.peer)
      const m = str(mod)
      const fn = str(fun)
      if (!Array.isArray(args)) throw new BadFrame('args')
      if (d.policy.allowSpawn !== undefined && !(await d.policy.allowSpawn(conn.peer, m, fn))) {
        throw new SpawnError('ERR_SPAWN_NOT_ALLOWED', `${localName} does not allow ${conn.peer} to spawn ${m}:${fn}`)
      }
      const pid = runtime.spawnModule(m, fn, args, { linkTo: link === true ? requester : undefined })
      conn.send([SPAWN_REPLY, reqId, true, pid])
    } catch (err) {
      const e = err as NetkernelError
      const code = e instanceof SpawnError ? e.code : 'ERR_SPAWN_FAILED'
      d.logger.warn({ node: conn.peer, code, err: e }, `spawn request from ${conn.peer} refused`)
      conn.send([SPAWN_REPLY, reqId, false, { code, message: e instanceof BadFrame ? 'malformed spawn request' : e.message }])
    }
  }

  const handle = (conn: Connection, frame: unknown): void => {
    if (!Array.isArray(frame)) throw new BadFrame('not a control frame')
    const peer = conn.peer
    switch (frame[0]) {
      case SEND:
        runtime.deliver(pidOf(frame[1], localName), frame[2])
        return
      case REG_SEND:
        if (frame[1] !== null) pidOf(frame[1], peer)
        runtime.deliverNamed(str(frame[2]), frame[3])
        return
      case LINK:
        runtime.linkFrom(pidOf(frame[1], peer), pidOf(frame[2], localName))
        return
      case UNLINK:
        runtime.unlinkFrom(pidOf(frame[1], peer), pidOf(frame[2], localName))
        return
      case EXIT:
      case EXIT2:
        runtime.exitFrom(pidOf(frame[1], peer), pidOf(frame[2], localName), frame[3], frame[0] === EXIT)
        return
      case MONITOR: {
        const target = frame[2] instanceof Pid ? pidOf(frame[2], localName) : str(frame[2])
        if (!(frame[3] instanceof Ref)) throw new BadFrame('ref')
        runtime.monitorFrom(pidOf(frame[1], peer), target, frame[3])
        return
      }
      case DEMONITOR:
        if (!(frame[3] instanceof Ref)) throw new BadFrame('ref')
        runtime.demonitorFrom(pidOf(frame[1], peer), frame[3])
        return
      case DOWN:
        if (!(frame[2] instanceof Ref)) throw new BadFrame('ref')
        runtime.downFrom(pidOf(frame[1], localName), frame[2], frame[3])
        return
      case SPAWN_REQUEST:
        void spawnRequest(conn, frame).catch(err => d.logger.warn({ node: peer, err }, `malformed spawn request from ${peer} dropped`))
        return
      case SPAWN_REPLY:
        d.spawns.settle(peer, frame[1], frame[2], frame[3])
        return
      case NODES:
        d.kernel().meshHint(conn, frame[1])
        return
      case STATS_REQUEST: case STATS_REPLY: d.stats.frame(conn, frame); return
      default:
        throw new BadFrame(`unknown kind ${String(frame[0])}`)
    }
  }

  return (conn, frame) => {
    try {
      handle(conn, frame)
    } catch (err) {
      if (!(err instanceof BadFrame)) throw err
      d.logger.warn({ node: conn.peer, field: err.message }, `bad control frame from ${conn.peer} dropped (${err.message})`)
    }
  }
}
