// The global name server's tables, OTP's global_names and global_locks: which process holds
// each global name (with its resolve method), which lock each resource is held under and by
// whom. Every holder and every named process is monitored by the server (the `monitor`
// function), and the monitor's DOWN removes it: a name or a lock never outlives its process
// or its node. Bounded per node (names and lock holders a peer's processes may have here).
import type { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import { Tuple } from '../terms/tuple.js'
import { G, termKey } from './global-terms.js'

export interface NameEntry {
  readonly name: unknown
  readonly pid: Pid
  readonly method: unknown
  readonly ref: Ref
}

export interface LockEntry {
  readonly resource: unknown
  readonly requester: unknown
  /** pid key → the holder and the server's monitor of it. */
  readonly holders: Map<string, { pid: Pid; ref: Ref }>
}

export interface TableLimits {
  /** Global names whose process lives on one node (default 10 000). */
  maxNamesPerNode: number
  /** Lock holders on one node (default 1 000). */
  maxLocksPerNode: number
}

export const DEFAULT_TABLE_LIMITS: TableLimits = { maxNamesPerNode: 10_000, maxLocksPerNode: 1_000 }

export class GlobalTables {
  readonly names = new Map<string, NameEntry>()
  readonly locks = new Map<string, LockEntry>()
  /** Monitor ref key → what it watches. */
  private readonly byRef = new Map<string, { kind: 'name'; key: string } | { kind: 'lock'; key: string; pid: string }>()
  /** Names and lock holders per node (of the process). */
  private readonly perNode = new Map<string, { names: number; locks: number }>()
  /** Set when the `global` lock went away because its holder died (OTP's global_lock_down). */
  globalLockDown = false

  constructor(
    private readonly monitor: (pid: Pid) => Ref,
    private readonly demonitor: (ref: Ref) => void,
    readonly limits: TableLimits = DEFAULT_TABLE_LIMITS,
  ) {}

  // ---- names -----------------------------------------------------------------------------

  whereis(name: unknown): NameEntry | undefined {
    return this.names.get(termKey(name))
  }

  /** True when `pid` already has a global name. */
  hasName(pid: Pid): boolean {
    for (const e of this.names.values()) if (e.pid.equals(pid)) return true
    return false
  }

  /** Insert (replacing any holder of the name); false when the node's bound is reached. */
  insertName(name: unknown, pid: Pid, method: unknown): boolean {
    const key = termKey(name)
    this.deleteName(name)
    const count = this.count(pid.node)
    if (count.names >= this.limits.maxNamesPerNode) return false
    const ref = this.monitor(pid)
    this.names.set(key, { name, pid, method, ref })
    this.byRef.set(termKey(ref), { kind: 'name', key })
    count.names++
    return true
  }

  deleteName(name: unknown): NameEntry | undefined {
    const key = termKey(name)
    const e = this.names.get(key)
    if (e === undefined) return undefined
    this.names.delete(key)
    this.byRef.delete(termKey(e.ref))
    this.demonitor(e.ref)
    this.uncount(e.pid.node, 'names')
    return e
  }

  // ---- locks -----------------------------------------------------------------------------

  /** can_set_lock: the lock's holders when `id` {Resource, Requester} may be taken, else false. */
  canSetLock(id: unknown): LockEntry | 'free' | false {
    if (!(id instanceof Tuple) || id.length !== 2) return false
    const e = this.locks.get(termKey(id[0]))
    if (e === undefined) return 'free'
    return termKey(e.requester) === termKey(id[1]) ? e : false
  }

  isLockSet(resource: unknown): boolean {
    return this.locks.has(termKey(resource))
  }

  /** The requester of the lock on `resource`, if set. */
  lockRequester(resource: unknown): LockEntry | undefined {
    return this.locks.get(termKey(resource))
  }

  /** handle_set_lock: true when `pid` now holds `id` (or already did). */
  setLock(id: unknown, pid: Pid): boolean {
    const can = this.canSetLock(id)
    if (can === false) return false
    const pk = termKey(pid)
    if (can !== 'free' && can.holders.has(pk)) return true
    const count = this.count(pid.node)
    if (count.locks >= this.limits.maxLocksPerNode) return false
    const t = id as Tuple
    const rk = termKey(t[0])
    let e = this.locks.get(rk)
    if (e === undefined) {
      e = { resource: t[0], requester: t[1], holders: new Map() }
      this.locks.set(rk, e)
    }
    const ref = this.monitor(pid)
    e.holders.set(pk, { pid, ref })
    this.byRef.set(termKey(ref), { kind: 'lock', key: rk, pid: pk })
    count.locks++
    return true
  }

  /** handle_del_lock: `pid` no longer holds `id`. */
  delLock(id: unknown, pid: Pid): void {
    if (!(id instanceof Tuple) || id.length !== 2) return
    const rk = termKey(id[0])
    const e = this.locks.get(rk)
    if (e === undefined || termKey(e.requester) !== termKey(id[1])) return
    this.removeHolder(rk, e, termKey(pid), false)
  }

  private removeHolder(rk: string, e: LockEntry, pk: string, down: boolean): void {
    const h = e.holders.get(pk)
    if (h === undefined) return
    e.holders.delete(pk)
    this.byRef.delete(termKey(h.ref))
    this.demonitor(h.ref)
    this.uncount(h.pid.node, 'locks')
    if (e.holders.size === 0) {
      this.locks.delete(rk)
      if (e.resource === G.global) this.globalLockDown = down
    }
  }

  // ---- monitors --------------------------------------------------------------------------

  /** A DOWN for one of the server's monitors: remove the name or lock holder it watched. */
  down(ref: Ref): boolean {
    const rk = termKey(ref)
    const w = this.byRef.get(rk)
    if (w === undefined) return false
    if (w.kind === 'name') {
      const e = this.names.get(w.key)
      if (e !== undefined) this.deleteName(e.name)
      else this.byRef.delete(rk)
      return true
    }
    const e = this.locks.get(w.key)
    if (e === undefined) this.byRef.delete(rk)
    else this.removeHolder(w.key, e, w.pid, true)
    return true
  }

  /** Sizes, for tests and stats: names, locks, lock holders, live monitors. */
  sizes(): { names: number; locks: number; holders: number; monitors: number } {
    let holders = 0
    for (const e of this.locks.values()) holders += e.holders.size
    return { names: this.names.size, locks: this.locks.size, holders, monitors: this.byRef.size }
  }

  private count(node: string): { names: number; locks: number } {
    let c = this.perNode.get(node)
    if (c === undefined) this.perNode.set(node, (c = { names: 0, locks: 0 }))
    return c
  }

  private uncount(node: string, what: 'names' | 'locks'): void {
    const c = this.perNode.get(node)
    if (c === undefined) return
    c[what]--
    if (c.names <= 0 && c.locks <= 0) this.perNode.delete(node)
  }
}
