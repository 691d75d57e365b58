// The locker: global's second process (OTP's loop_the_locker). When two nodes meet, each
// server hands its locker the other's locker (his_the_locker); one of the two lockers takes
// the lock {global, lists:sort([LockerA, LockerB])} on the boss (the greatest known node),
// on both nodes and on every known node, then tells the other locker (a lock_set cast
// through its server); the other, told, takes the same lock on its side and answers. With
// the lock held on both sides the servers exchange their names (global-server.ts), and the
// locker waits until its server cancels it (after the exchange), then releases the lock.
//
// What is simplified: OTP prefers nodes on its own host (local before remote); one list
// here. Waits OTP makes forever are bounded (the partner's answer: LOCK_WAIT_MS; the
// exchange: EXCHANGE_WAIT_MS) and then release the lock.
import { atom } from '../terms/atom.js'
import { Pid } from '../terms/pid.js'
import { Tuple, tuple } from '../terms/tuple.js'
import type { Proc } from '../process/types.js'
import type { Logger } from '../logger.js'
import { cast, multiCall } from './global-calls.js'
import type { GlobalTables } from './global-tables.js'
import { G, comparePids, isTrue, maxNode, sameTerm } from './global-terms.js'

export const LOCK_WAIT_MS = 30_000
export const EXCHANGE_WAIT_MS = 60_000

/** Messages the server sends its locker (JS objects: a peer cannot forge them). */
export class LockerMsg {
  constructor(
    readonly kind: 'his_the_locker' | 'cancel' | 'add_to_known' | 'remove_from_known' | 'lock_set',
    readonly node: string,
    readonly fields: {
      locker?: Pid
      vsn?: number
      hisTag?: unknown
      myTag?: unknown
      fn?: () => void
      nodes?: string[]
      isSet?: boolean
    } = {},
  ) {}
}

interface Him {
  node: string
  locker: Pid
  vsn: number
  myTag: unknown
  hisTag: unknown
}

/** The lock id two lockers share: {global, [LockerA, LockerB]} sorted as Erlang sorts pids. */
export function lockerLockId(a: Pid, b: Pid): Tuple {
  return tuple(G.global, comparePids(a, b) <= 0 ? [a, b] : [b, a])
}

/** set_lock(Id, Nodes, 0): one try on all of `nodes`; on a refusal, undo where it was taken. */
export async function setLockOnce(proc: Proc, tables: GlobalTables, id: unknown, nodes: string[]): Promise<boolean> {
  if (nodes.length === 0) return true
  if (nodes.length > 1 && nodes.includes(proc.node) && tables.canSetLock(id) === false) return false
  const replies = await multiCall(proc, nodes, tuple(G.setLock, id))
  const yes = [...replies].filter(([, r]) => isTrue(r)).map(([n]) => n)
  if (yes.length === replies.size) return true
  if (replies.size > 1) await multiCall(proc, yes, tuple(G.delLock, id))
  return false
}

export async function delLock(proc: Proc, id: unknown, nodes: string[]): Promise<void> {
  if (nodes.length > 0) await multiCall(proc, nodes, tuple(G.delLock, id))
}

/** delete_global_lock: release on every node but the boss, then on the boss. */
export async function deleteGlobalLock(proc: Proc, id: unknown, nodes: string[]): Promise<void> {
  const boss = maxNode(nodes)
  await delLock(
    proc,
    id,
    nodes.filter(n => n !== boss),
  )
  await delLock(proc, id, [boss])
}

export function theLocker(tables: GlobalTables, logger: Logger): (proc: Proc) => Promise<void> {
  return async proc => {
    const self = proc.node
    let known: string[] = []
    let boss = self
    let hims: Him[] = []
    let justSynced = false

    const updateKnown = (m: LockerMsg): void => {
      if (m.kind === 'add_to_known') known = [...(m.fields.nodes ?? []), ...known]
      else {
        const i = known.indexOf(m.node)
        if (i >= 0) known.splice(i, 1)
      }
      boss = maxNode([self, ...known])
    }
    const drainKnown = async (): Promise<void> => {
      for (;;) {
        let m: LockerMsg
        try {
          m = await proc.receive(
            (x: unknown): x is LockerMsg => x instanceof LockerMsg && (x.kind === 'add_to_known' || x.kind === 'remove_from_known'),
            { timeout: 0 },
          )
        } catch {
          return
        }
        updateKnown(m)
      }
    }
    const removeHim = (node: string, tag: unknown): void => {
      hims = hims.filter(h => !(h.node === node && sameTerm(h.myTag, tag)))
    }
    const sendLockSet = (isSet: boolean, his: Pid, hisTag: unknown): void => {
      cast(proc, his.node, tuple(G.lockSet, proc.self, isSet, known.map(atom), hisTag))
    }
    const lockNodesSafely = async (id: Tuple, extra: string[]): Promise<boolean> => {
      const first = [boss]
      if (!(boss === self || tables.canSetLock(id) !== false)) return false
      if (!(await setLockOnce(proc, tables, id, first))) return false
      await drainKnown()
      const second = [self, ...extra].filter(n => !first.includes(n))
      if (!(await setLockOnce(proc, tables, id, second))) {
        await delLock(proc, id, first)
        return false
      }
      if (
        !(await setLockOnce(
          proc,
          tables,
          id,
          known.filter(n => !first.includes(n)),
        ))
      ) {
        await delLock(proc, id, [...first, ...second])
        return false
      }
      return true
    }
    /** Hold the lock until the server cancels the exchange with `node` (then run its fun). */
    const waitCancelLock = async (node: string, id: Tuple, myTag: unknown, nodes: string[]): Promise<void> => {
      try {
        const m = await proc.receive(
          (x: unknown): x is LockerMsg =>
            x instanceof LockerMsg && x.kind === 'cancel' && x.node === node && sameTerm(x.fields.myTag, myTag),
          { timeout: EXCHANGE_WAIT_MS },
        )
        m.fields.fn?.()
      } catch {
        logger.warn({ node }, `global: the exchange with ${node} did not finish in ${EXCHANGE_WAIT_MS} ms; lock released`)
      }
      await deleteGlobalLock(proc, id, nodes)
    }
    /** Told by `pid`'s locker that it holds the lock: take it here too and answer. */
    const onLockSet = async (m: LockerMsg): Promise<void> => {
      const pid = m.fields.locker!
      const him = hims.find(h => h.node === pid.node)
      if (m.fields.isSet !== true) return
      if (him === undefined || (m.fields.myTag !== undefined && !sameTerm(m.fields.myTag, him.myTag))) {
        if (him === undefined) proc.send(pid, tuple(G.lockSet, proc.self, false, known.map(atom)))
        return
      }
      const id = lockerLockId(proc.self, pid)
      const ok = await lockNodesSafely(id, [])
      sendLockSet(ok, pid, him.hisTag)
      if (!ok) {
        justSynced = false
        return
      }
      proc.send(G.server, new LockIsSet(him.node, him.myTag, id))
      await waitCancelLock(him.node, id, him.myTag, [self, ...known])
      justSynced = true
      removeHim(him.node, him.myTag)
    }
    const selectNode = async (): Promise<void> => {
      hims = hims.filter(h => !known.includes(h.node))
      if (hims.length === 0) return
      const him = hims[Math.floor(Math.random() * hims.length)]!
      const id = lockerLockId(proc.self, him.locker)
      if (!(await lockNodesSafely(id, [him.node]))) return
      const nodes = [self, him.node, ...known]
      sendLockSet(true, him.locker, him.hisTag)
      // Wait for the partner's answer, or the server's cancel of this meeting.
      for (;;) {
        let m: unknown
        try {
          m = await proc.receive(
            (x: unknown) =>
              (x instanceof LockerMsg && x.kind === 'lock_set' && x.fields.locker?.node === him.node) ||
              (x instanceof LockerMsg && x.kind === 'cancel' && x.node === him.node && sameTerm(x.fields.myTag, him.myTag)) ||
              (isRawLockSet(x) && (x[1] as Pid).node === him.node),
            { timeout: LOCK_WAIT_MS },
          )
        } catch {
          await deleteGlobalLock(proc, id, nodes)
          removeHim(him.node, him.myTag)
          return
        }
        if (m instanceof LockerMsg && m.kind === 'cancel') {
          m.fields.fn?.()
          await deleteGlobalLock(proc, id, nodes)
          removeHim(him.node, him.myTag)
          return
        }
        const isSet = m instanceof LockerMsg ? m.fields.isSet === true : isTrue((m as Tuple)[2])
        const tag = m instanceof LockerMsg ? m.fields.myTag : undefined
        if (tag !== undefined && !sameTerm(tag, him.myTag)) continue // an old meeting's answer
        if (!isSet) {
          await deleteGlobalLock(proc, id, nodes)
          return
        }
        proc.send(G.server, new LockIsSet(him.node, him.myTag, id))
        await waitCancelLock(him.node, id, him.myTag, nodes)
        justSynced = true
        hims = hims.filter(h => h !== him)
        return
      }
    }

    for (;;) {
      let m: unknown
      const timeout = hims.length === 0 ? undefined : justSynced ? 0 : known.length === 0 ? 200 : Math.min(1000 + 100 * known.length, 3000)
      justSynced = false
      try {
        m = await proc.receive(undefined, timeout === undefined ? undefined : { timeout })
      } catch (err) {
        if (!isTimeout(err)) throw err
        if (!tables.isLockSet(G.global)) {
          await selectNode().catch((e: unknown) => {
            if (isExit(e)) throw e
            logger.warn({ err: e }, 'global: the locker could not approach a node')
          })
        }
        continue
      }
      try {
        if (isRawLockSet(m)) {
          // {lock_set, Pid, Bool, Known}: an old-style answer straight to this process.
          await onLockSet(new LockerMsg('lock_set', (m[1] as Pid).node, { locker: m[1] as Pid, isSet: isTrue(m[2]) }))
          continue
        }
        if (!(m instanceof LockerMsg)) continue // a late reply, a stray message
        switch (m.kind) {
          case 'his_the_locker':
            hims.push({ node: m.node, locker: m.fields.locker!, vsn: m.fields.vsn ?? 8, myTag: m.fields.myTag, hisTag: m.fields.hisTag })
            break
          case 'cancel':
            if (m.fields.myTag !== undefined) removeHim(m.node, m.fields.myTag)
            break
          case 'add_to_known':
          case 'remove_from_known':
            updateKnown(m)
            break
          case 'lock_set':
            await onLockSet(m)
            break
        }
      } catch (err) {
        if (isExit(err)) throw err
        logger.warn({ err }, 'global: the locker could not handle a message')
      }
    }
  }
}

/** What the locker tells its server when the lock is held on both sides. */
export class LockIsSet {
  constructor(
    readonly node: string,
    readonly myTag: unknown,
    readonly lockId: Tuple,
  ) {}
}

function isRawLockSet(x: unknown): x is Tuple {
  return x instanceof Tuple && x.length === 4 && x[0] === G.lockSet && x[1] instanceof Pid
}

function isExit(err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'ProcessExit'
}

function isTimeout(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'ERR_RECEIVE_TIMEOUT'
}
