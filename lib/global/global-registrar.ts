// The registrar: the process that registers and unregisters names for this node's JS code,
// one request at a time (OTP's the_registrar and trans_all_known). It takes the lock
// {global, Registrar} on the boss (the greatest known node) and then on every known node,
// checks, tells every known node's server ({register, Name, Pid, Method} or
// {unregister, Name}, a multi_call), and releases the lock. A lock refused somewhere is
// retried after a random sleep (OTP's: up to 1/8 s, doubling, at most 8 s) until the
// request's deadline.
import type { Pid } from '../terms/pid.js'
import { tuple } from '../terms/tuple.js'
import type { Proc } from '../process/types.js'
import { NetkernelError } from '../errors.js'
import { multiCall } from './global-calls.js'
import { deleteGlobalLock, delLock, setLockOnce } from './global-locker.js'
import type { GlobalServerState } from './global-server.js'
import { G, maxNode } from './global-terms.js'

export class RegistrarRequest {
  constructor(
    /** Runs with the lock held on `nodes` (this node first). */
    readonly fn: (proc: Proc, nodes: string[]) => Promise<unknown>,
    readonly deadline: number,
    readonly done: (result: unknown, err?: Error) => void,
  ) {}
}

export function registrar(server: () => GlobalServerState | undefined): (proc: Proc) => Promise<void> {
  return async proc => {
    for (;;) {
      const m: unknown = await proc.receive()
      if (!(m instanceof RegistrarRequest)) continue // late replies of an abandoned call
      try {
        const nodes = await lockKnown(proc, server, m.deadline)
        try {
          m.done(await m.fn(proc, nodes))
        } finally {
          await deleteGlobalLock(proc, tuple(G.global, proc.self), nodes)
        }
      } catch (err) {
        m.done(undefined, err as Error)
      }
    }
  }
}

/** set_lock_known: the lock {global, self()} on the boss, then on all known nodes; the nodes. */
async function lockKnown(proc: Proc, server: () => GlobalServerState | undefined, deadline: number): Promise<string[]> {
  const id = tuple(G.global, proc.self)
  for (let times = 0; ; times++) {
    const s = server()
    if (s === undefined) throw new NetkernelError('ERR_NODE_STOPPED', `${proc.node}: the global name server is not running`)
    const known = [...s.known.keys()]
    const nodes = [proc.node, ...known]
    const boss = maxNode(nodes)
    if (await setLockOnce(proc, s.tables, id, [boss])) {
      if ((await setLockOnce(proc, s.tables, id, nodes)) && [...s.known.keys()].every(n => known.includes(n))) return nodes
      await delLock(proc, id, [boss])
    }
    const tmax = times > 5 ? 8000 : ((1 << times) * 1000) / 8
    const wait = 1 + Math.floor(Math.random() * tmax)
    if (Date.now() + wait > deadline) {
      throw new NetkernelError('ERR_GLOBAL_TIMEOUT', `${proc.node}: the global lock could not be taken on ${nodes.join(', ')} in time`)
    }
    await new Promise(r => setTimeout(r, wait))
  }
}

/** register_name's fun: register when the name is free and the pid has no other name. */
export function registerFn(name: unknown, pid: Pid, method: unknown, server: () => GlobalServerState | undefined) {
  return async (proc: Proc, nodes: string[]): Promise<boolean> => {
    const s = server()
    if (s === undefined || s.tables.whereis(name) !== undefined || s.tables.hasName(pid)) return false
    await multiCall(proc, nodes, tuple(G.register, name, pid, method))
    return true
  }
}

export function unregisterFn(name: unknown) {
  return async (proc: Proc, nodes: string[]): Promise<void> => {
    await multiCall(proc, nodes, tuple(G.unregister, name))
  }
}
