// Monitors: one-way, one-shot. The watcher gets ['DOWN', ref, 'process', item, reason] when
// the target exits, where item is the pid, or [name, node] for a monitor by name (as Erlang's
// {Name, Node}). A dead pid or unknown name gives 'noproc' at once; another node with no
// distribution, or a lost connection, gives 'noconnection'.
//
// Every monitor touching this runtime is indexed by ref key, so demonitor, remote DOWN and
// remote demonitor are O(1). demonitor(ref) does not remove a DOWN already in the mailbox
// unless asked to (flush), as in Erlang; a flush looks only at what came after the monitor was
// made (a mailbox mark: a DOWN naming its ref cannot be older), so it costs the same whatever
// the backlog.
import { NetkernelError } from '../errors.js'
import { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import type { ProcessSystem } from './process-system.js'
import type { Process } from './process.js'
import type { RemoteName } from './remote.js'
import type { MonitorTarget } from './types.js'
import type { MailboxMark } from './mailbox.js'
import type { MonitorAlias } from './aliases.js'

export class Monitor {
  constructor(
    readonly ref: Ref,
    readonly key: string,
    readonly watcher: Pid,
    /** The watcher, when it is local. */
    readonly watcherProc: Process | undefined,
    /** The target, when it is local. */
    readonly targetProc: Process | undefined,
    /**
     * Local watcher: what DOWN reports (pid or [name, node]), also the remote target.
     * Remote watcher: the target as it asked for it (pid or name), passed to Remote.down.
     */
    readonly item: Pid | RemoteName | string,
    /** Local watcher: its mailbox where the monitor was made (what a flush scans from). */
    readonly mark?: MailboxMark,
  ) {}
}

function isDownFor(ref: Ref): (msg: unknown) => boolean {
  return msg => isDown(msg) && ref.equals(msg[1])
}

/**
 * The DOWN messages runtimes made. A peer can send a look-alike array (a netkernel peer's
 * codec carries plain arrays) with a ref it was given — the ref of a monitor on one of its own
 * processes (it cannot guess others: ref-words.ts) — so code acting on a DOWN (pg scopes, the
 * global name server, calls) asks isDown, not the message's shape.
 * Held weakly, on globalThis so both builds of the package (ESM, CommonJS) share it.
 */
const DOWNS_KEY = Symbol.for('netkernel.downs')
const downs: WeakSet<object> = ((globalThis as { [DOWNS_KEY]?: WeakSet<object> })[DOWNS_KEY] ??= new WeakSet())

/** Is `msg` a DOWN message a monitor delivered (['DOWN', ref, 'process', item, reason]), not a look-alike? */
export function isDown(msg: unknown): msg is ['DOWN', Ref, 'process', unknown, unknown] {
  return Array.isArray(msg) && downs.has(msg)
}

function targetNode(item: Pid | RemoteName | string): string | undefined {
  if (item instanceof Pid) return item.node
  return Array.isArray(item) ? item[1] : undefined
}

export class Monitors {
  private readonly byKey = new Map<string, Monitor>()
  /**
   * Monitors the processes of each other node hold on ours, by node name: what
   * limits.monitorsPerPeer bounds. Kept as every such monitor is added and removed.
   */
  private readonly remoteCount = new Map<string, number>()

  constructor(private readonly system: ProcessSystem) {}

  /** Monitors the processes of `node` hold on this node's processes. */
  heldBy(node: string): number {
    return this.remoteCount.get(node) ?? 0
  }

  /** monitor/2, or monitor/3 with `{alias, Mode}`: the ref is also an alias of `p` (aliases.ts). */
  monitor(p: Process, target: MonitorTarget, alias?: MonitorAlias): Ref {
    const system = this.system
    let pid: Pid | undefined
    let name: string
    let node: string
    if (target instanceof Pid) {
      pid = target
      name = ''
      node = target.node
    } else if (typeof target === 'string') {
      name = target
      node = system.node
    } else if (Array.isArray(target) && typeof target[0] === 'string' && typeof target[1] === 'string') {
      name = target[0]
      node = target[1]
    } else {
      throw new NetkernelError('ERR_BAD_ARGUMENT', 'monitor: expected a Pid, a name or [name, node]')
    }
    const mark = p.mailbox.mark()
    const ref = system.makeRef()
    if (alias !== undefined) system.aliases.add(p, ref, alias)
    const item: Pid | RemoteName = pid ?? [name, node]
    if (node !== system.node) {
      if (system.remote === undefined) {
        down(this.system, p, ref, item, 'noconnection')
        return ref
      }
      this.add(new Monitor(ref, ref.key, p.self, p, undefined, item, mark))
      system.remoteTouched.add(p)
      system.remote.monitor(p.self, item, ref)
      return ref
    }
    const q = pid !== undefined ? system.lookup(pid) : system.registry.get(name)
    if (q === undefined) {
      down(this.system, p, ref, item, 'noproc')
      return ref
    }
    this.add(new Monitor(ref, ref.key, p.self, p, q, item, mark))
    return ref
  }

  /** Remove the monitor `ref` of `p`'s; with flush, its DOWN too (looked for from the monitor's mark). */
  demonitor(p: Process, ref: Ref, flush: boolean): boolean {
    const m = this.byKey.get(ref.key)
    const found = m !== undefined && m.watcherProc === p
    if (found) {
      this.remove(m)
      if (m.targetProc === undefined) this.system.remote?.demonitor(p.self, m.item as Pid | RemoteName, ref)
    }
    if (p.aliases !== undefined) this.system.aliases.monitorEnded(p, ref)
    if (flush) p.mailbox.removeWhere(isDownFor(ref), found ? m.mark : undefined)
    return found
  }

  /** `p` exited: drop the monitors it held, fire the ones held on it. */
  onExit(p: Process, reason: unknown): void {
    const system = this.system
    const held = p.monitors
    if (held !== undefined) {
      p.monitors = undefined
      for (const m of held) {
        this.byKey.delete(m.key)
        if (m.targetProc !== undefined) m.targetProc.monitoredBy?.delete(m)
        else system.toRemote('demonitor', r => r.demonitor(p.self, m.item as Pid | RemoteName, m.ref))
      }
    }
    const on = p.monitoredBy
    if (on !== undefined) {
      p.monitoredBy = undefined
      for (const m of on) {
        this.byKey.delete(m.key)
        if (m.watcherProc === undefined) this.uncount(m.watcher.node)
        const w = m.watcherProc
        if (w !== undefined) {
          w.monitors?.delete(m)
          down(this.system, w, m.ref, m.item, reason)
        } else {
          system.toRemote('down', r => r.down(m.watcher, m.ref, m.item as Pid | string, reason, p.self))
        }
      }
    }
  }

  // ---- across nodes -------------------------------------------------------------------

  /**
   * Remote `watcher` monitors local `target`. False, and nothing done, when a monitor with
   * this ref exists already: a second one would replace it and its DOWN would be lost.
   */
  monitorFrom(watcher: Pid, target: Pid | string, ref: Ref): boolean {
    if (this.byKey.has(ref.key)) return false
    const system = this.system
    const q = target instanceof Pid ? system.lookup(target) : system.registry.get(target)
    if (q === undefined) {
      system.toRemote('down', r => r.down(watcher, ref, target, 'noproc'))
      return true
    }
    this.add(new Monitor(ref, ref.key, watcher, undefined, q, target))
    system.remoteTouched.add(q)
    return true
  }

  demonitorFrom(watcher: Pid, ref: Ref): void {
    const m = this.byKey.get(ref.key)
    if (m !== undefined && m.watcherProc === undefined && m.watcher.equals(watcher)) this.remove(m)
  }

  /**
   * Node `from` says the process monitored by local `watcher` under `ref` died. Only the
   * monitored process's node can say so, and only for a monitor that exists with this ref
   * and this watcher: false (and nothing done) for any other DOWN. A DOWN for a monitor of
   * ours already gone (demonitored as the target died) is ignored.
   */
  downFrom(from: string, watcher: Pid, ref: Ref, reason: unknown): boolean {
    const m = this.byKey.get(ref.key)
    if (m === undefined) return ref.node === this.system.node
    const w = m.watcherProc
    if (w === undefined || m.targetProc !== undefined || targetNode(m.item) !== from || !m.watcher.equals(watcher) || !m.ref.equals(ref)) {
      return false
    }
    this.remove(m)
    down(this.system, w, m.ref, m.item, reason)
    return true
  }

  /** `node` is gone: monitors of processes there fire 'noconnection'; its watchers' are dropped. */
  nodeDown(p: Process, node: string): void {
    if (p.monitors !== undefined) {
      for (const m of p.monitors) {
        if (m.targetProc !== undefined || targetNode(m.item) !== node) continue
        this.remove(m)
        down(this.system, p, m.ref, m.item, 'noconnection')
      }
    }
    if (p.monitoredBy !== undefined) {
      for (const m of p.monitoredBy) {
        if (m.watcherProc === undefined && m.watcher.node === node) this.remove(m)
      }
    }
  }

  private add(m: Monitor): void {
    this.byKey.set(m.key, m)
    if (m.watcherProc !== undefined) (m.watcherProc.monitors ??= new Set()).add(m)
    else this.remoteCount.set(m.watcher.node, this.heldBy(m.watcher.node) + 1)
    if (m.targetProc !== undefined) (m.targetProc.monitoredBy ??= new Set()).add(m)
  }

  private remove(m: Monitor): void {
    this.byKey.delete(m.key)
    if (m.watcherProc !== undefined) m.watcherProc.monitors?.delete(m)
    else this.uncount(m.watcher.node)
    m.targetProc?.monitoredBy?.delete(m)
  }

  private uncount(node: string): void {
    const left = this.heldBy(node) - 1
    if (left > 0) this.remoteCount.set(node, left)
    else this.remoteCount.delete(node)
  }
}

/** Deliver the DOWN of local watcher `w`'s monitor `ref`: the monitor has ended (and so has an alias tied to it). */
function down(system: ProcessSystem, w: Process, ref: Ref, item: Pid | RemoteName | string, reason: unknown): void {
  if (w.aliases !== undefined) system.aliases.monitorEnded(w, ref)
  const msg = ['DOWN', ref, 'process', item, reason]
  downs.add(msg)
  w.deliver(msg)
}
