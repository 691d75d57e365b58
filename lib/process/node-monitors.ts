// monitor_node/2: each monitorNode(node, true) adds one ['nodedown', node] delivery, each
// false removes one. They fire once, when the connection to the node is lost (or cannot be
// set up), and are then gone. Without distribution, nodedown is delivered at once.
import { NetkernelError } from '../errors.js'
import type { ProcessSystem } from './process-system.js'
import type { Process } from './process.js'

export class NodeMonitors {
  private readonly byNode = new Map<string, Set<Process>>()

  constructor(private readonly system: ProcessSystem) {}

  set(p: Process, node: string, flag: boolean): void {
    const system = this.system
    if (typeof node !== 'string' || node === '') {
      throw new NetkernelError('ERR_BAD_ARGUMENT', 'monitorNode: node must be a non-empty string')
    }
    if (node === system.node) return // this node cannot go down under its own processes
    if (!flag) {
      const n = p.nodeMons?.get(node)
      if (n === undefined) return
      if (n > 1) {
        p.nodeMons!.set(node, n - 1)
        return
      }
      p.nodeMons!.delete(node)
      this.forget(p, node)
      return
    }
    if (system.remote === undefined) {
      p.deliver(['nodedown', node])
      return
    }
    const mons = (p.nodeMons ??= new Map())
    mons.set(node, (mons.get(node) ?? 0) + 1)
    let set = this.byNode.get(node)
    if (set === undefined) this.byNode.set(node, (set = new Set()))
    set.add(p)
    system.remote.ensureConnected(node)
  }

  onExit(p: Process): void {
    const mons = p.nodeMons
    if (mons === undefined) return
    p.nodeMons = undefined
    for (const node of mons.keys()) this.forget(p, node)
  }

  nodeDown(node: string): void {
    const set = this.byNode.get(node)
    if (set === undefined) return
    this.byNode.delete(node)
    for (const p of set) {
      const n = p.nodeMons?.get(node) ?? 0
      p.nodeMons?.delete(node)
      for (let i = 0; i < n; i++) p.deliver(['nodedown', node])
    }
  }

  private forget(p: Process, node: string): void {
    const set = this.byNode.get(node)
    if (set === undefined) return
    set.delete(p)
    if (set.size === 0) this.byNode.delete(node)
  }
}
