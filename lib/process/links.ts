// Links: bidirectional, recorded on both local processes (or on the local side plus the
// remote node, through Remote). When a process exits, every linked process gets an exit
// signal with its reason (ProcessSystem.applySignal decides what that does); across nodes the signal
// travels through Remote.exit, and a lost node gives 'noconnection'.
import type { Pid } from '../terms/pid.js'
import type { ProcessSystem } from './process-system.js'
import type { Process } from './process.js'

export class Links {
  /**
   * Links with the processes of each other node, by node name: what limits.linksPerPeer
   * bounds. Kept as every link to a remote pid is added and removed.
   */
  private readonly remoteCount = new Map<string, number>()

  constructor(private readonly system: ProcessSystem) {}

  /** Links between this node's processes and those of `node`. */
  with(node: string): number {
    return this.remoteCount.get(node) ?? 0
  }

  /** link/1 from local `p`. A dead pid gives 'noproc', an unreachable node 'noconnection'. */
  link(p: Process, pid: Pid): void {
    const system = this.system
    if (pid.equals(p.self) || p.links?.has(pid.key)) return
    if (pid.node !== system.node) {
      if (system.remote === undefined) {
        system.applySignal(p, pid, 'noconnection', true)
        return
      }
      this.add(p, pid)
      system.remoteTouched.add(p)
      system.remote.link(p.self, pid)
      return
    }
    const q = system.lookup(pid)
    if (q === undefined) {
      system.applySignal(p, pid, 'noproc', true)
      return
    }
    this.add(p, pid)
    this.add(q, p.self)
  }

  /** The link of a new process to its parent (spawn_link). A remote parent has linked its side. */
  linkNew(p: Process, parent: Pid): void {
    const system = this.system
    if (parent.node !== system.node) {
      this.add(p, parent)
      system.remoteTouched.add(p)
      return
    }
    const q = system.lookup(parent)
    if (q === undefined) {
      system.applySignal(p, parent, 'noproc', true)
      return
    }
    this.add(p, parent)
    this.add(q, p.self)
  }

  unlink(p: Process, pid: Pid): void {
    const system = this.system
    if (!this.remove(p, pid)) return
    if (pid.node !== system.node) {
      system.remote?.unlink(p.self, pid)
      return
    }
    system.lookup(pid)?.links?.delete(p.self.key)
  }

  /** `p` exited with `reason`: signal every linked process. */
  onExit(p: Process, reason: unknown): void {
    const links = p.links
    if (links === undefined) return
    p.links = undefined
    const system = this.system
    const self = p.self
    const key = self.key
    for (const pid of links.values()) {
      if (pid.node !== system.node) {
        this.uncount(pid.node, 1)
        system.toRemote('exit', r => r.exit(self, pid, reason, true))
        continue
      }
      const q = system.lookup(pid)
      if (q === undefined) continue
      q.links?.delete(key)
      system.queueSignal(q, self, reason)
    }
  }

  // ---- across nodes -------------------------------------------------------------------

  /** spawn_link(Node, Mod, Fun, Args) from local `p`: record the link when the pid arrives. */
  spawnLinkRemote(p: Process, node: string, mod: string, fun: string, args: unknown[]): Promise<Pid> {
    const remote = this.system.remote!
    const pending = (p.spawnLinks ??= { count: 0, early: undefined })
    pending.count++
    return remote.spawn(p.self, node, mod, fun, args, { link: true }).then(
      pid => {
        this.settleSpawnLink(p, pid)
        return pid
      },
      (err: unknown) => {
        this.settleSpawnLink(p, undefined)
        throw err
      },
    )
  }

  private settleSpawnLink(p: Process, pid: Pid | undefined): void {
    const system = this.system
    const pending = p.spawnLinks!
    pending.count--
    let early: [Pid, unknown] | undefined
    if (pid !== undefined && pending.early !== undefined) {
      const i = pending.early.findIndex(e => e[0].equals(pid))
      if (i >= 0) early = pending.early.splice(i, 1)[0]
    }
    if (pending.count === 0) p.spawnLinks = undefined
    if (pid === undefined) return
    if (early !== undefined) {
      // The new process died (link exit) before its pid reached us: the link is already gone.
      system.applySignal(p, pid, early[1], true)
    } else if (p.dead) {
      system.toRemote('exit', r => r.exit(p.self, pid, p.reason, true))
    } else if (system.remote === undefined || !system.remote.isConnected(pid.node)) {
      system.applySignal(p, pid, 'noconnection', true)
    } else {
      this.add(p, pid)
      system.remoteTouched.add(p)
    }
  }

  /** Remote `from` links to local `to`; false (nothing done) when the link would be one more than `max` with from's node. */
  linkFrom(from: Pid, to: Pid, max: number): boolean {
    const system = this.system
    const q = system.lookup(to)
    if (q === undefined) {
      system.toRemote('exit', r => r.exit(to, from, 'noproc', true))
      return true
    }
    if (q.links?.has(from.key) === true) return true
    if (this.with(from.node) >= max) return false
    this.add(q, from)
    system.remoteTouched.add(q)
    return true
  }

  unlinkFrom(from: Pid, to: Pid): void {
    const q = this.system.lookup(to)
    if (q !== undefined) this.remove(q, from)
  }

  exitFrom(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    const system = this.system
    const q = system.lookup(to)
    if (q === undefined) return
    if (viaLink && !this.remove(q, from)) {
      // No such link: unlinked meanwhile (ignore), or a spawn_link reply still on its way.
      if (q.spawnLinks !== undefined) (q.spawnLinks.early ??= []).push([from, reason])
      return
    }
    system.applySignal(q, from, reason, viaLink)
  }

  /** `node` is gone: each link of `p` to it delivers 'noconnection'. */
  nodeDown(p: Process, node: string): void {
    const links = p.links
    if (links === undefined) return
    let lost: Pid[] | undefined
    for (const [key, pid] of links) {
      if (pid.node !== node) continue
      links.delete(key)
      ;(lost ??= []).push(pid)
    }
    if (lost === undefined) return
    this.uncount(node, lost.length)
    for (const pid of lost) this.system.applySignal(p, pid, 'noconnection', true)
  }

  private add(p: Process, pid: Pid): void {
    const links = (p.links ??= new Map())
    if (pid.node !== this.system.node && !links.has(pid.key)) this.remoteCount.set(pid.node, this.with(pid.node) + 1)
    links.set(pid.key, pid)
  }

  /** Remove `p`'s link to `pid`; false if there was none. */
  private remove(p: Process, pid: Pid): boolean {
    if (p.links?.delete(pid.key) !== true) return false
    if (pid.node !== this.system.node) this.uncount(pid.node, 1)
    return true
  }

  private uncount(node: string, n: number): void {
    const left = this.with(node) - n
    if (left > 0) this.remoteCount.set(node, left)
    else this.remoteCount.delete(node)
  }
}
