// The processes this node runs at other nodes' request — their spawn requests and their rpc
// and erpc calls, on either wire — counted per requesting node: what limits.processesPerPeer
// bounds. A process is counted from its creation to its exit; every exit goes through
// ProcessSystem.terminate, which releases it here, so the count is exact however the
// process ends (return, throw, proc.exit, an exit signal, kill, a lost link, node stop).
import type { Process } from './process.js'

export class PeerProcesses {
  private readonly running = new Map<string, number>()

  /** Processes running here at `node`'s request. */
  of(node: string): number {
    return this.running.get(node) ?? 0
  }

  /** New process `p` runs at `node`'s request: counted until it exits. */
  add(p: Process, node: string): void {
    p.forPeer = node
    this.running.set(node, this.of(node) + 1)
  }

  /** `p` exited: if it ran at a node's request, its place is free. */
  release(p: Process): void {
    const node = p.forPeer
    if (node === undefined) return
    p.forPeer = undefined
    const left = this.of(node) - 1
    if (left > 0) this.running.set(node, left)
    else this.running.delete(node)
  }
}
