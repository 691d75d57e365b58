// gen_server:multi_call and gen_server:cast to the global name servers of a list of nodes,
// from a process, in the message shapes OTP 25 uses (so OTP servers answer them, and so do
// ours): {'$gen_call', {Self, {Ref, Node}}, Request} answered {{Ref, Node}, Reply}, and
// {'$gen_cast', Request}. A node that goes down counts as a bad node (as in OTP), and the
// whole call is bounded by a timeout (OTP waits forever).
import { atom } from '../terms/atom.js'
import { Tuple, tuple } from '../terms/tuple.js'
import type { Proc } from '../process/types.js'
import { G, termKey } from './global-terms.js'

/** The longest a multi_call waits for its last reply (OTP: infinity). */
export const CALL_TIMEOUT_MS = 30_000

/** {global_name_server, Node} as a destination (the local name for this node). */
export function serverOf(proc: Proc, node: string): string | [string, string] {
  return node === proc.node ? G.server : [G.server, node]
}

export function cast(proc: Proc, node: string, request: unknown): void {
  proc.send(serverOf(proc, node), tuple(G.genCast, request))
}

/**
 * multi_call: the replies of the servers that answered, by node. A node that goes down (or
 * cannot be reached) counts as a bad node at once; the nodes called are global members (known
 * nodes, or the one being met), so each is watched with monitor_node, which costs no message
 * (a monitor of the server's name would cost two per call, and halve the call rate).
 */
export async function multiCall(
  proc: Proc,
  nodes: readonly string[],
  request: unknown,
  timeoutMs = CALL_TIMEOUT_MS,
): Promise<Map<string, unknown>> {
  const replies = new Map<string, unknown>()
  const waiting = new Map<string, string>() // tag key → node
  const byNode = new Map<string, string>() // node → tag key
  for (const node of new Set(nodes)) {
    const tag = tuple(proc.makeRef(), atom(node))
    const tk = termKey(tag)
    waiting.set(tk, node)
    if (node !== proc.node) {
      byNode.set(node, tk)
      proc.monitorNode(node, true)
    }
    proc.send(serverOf(proc, node), tuple(G.genCall, tuple(proc.self, tag), request))
  }
  // One timer for the whole call (a receive timeout per reply costs more than the reply).
  const expired = { expired: true }
  const timer = setTimeout(() => proc.send(proc.self, expired), timeoutMs)
  try {
    while (waiting.size > 0) {
      const m: unknown = await proc.receive(
        (x: unknown) =>
          x === expired ||
          (x instanceof Tuple && x.length === 2 && waiting.has(termKey(x[0]))) ||
          (Array.isArray(x) && !(x instanceof Tuple) && x[0] === 'nodedown' && typeof x[1] === 'string' && byNode.has(x[1])),
      )
      if (m === expired) break // the deadline: the rest count as bad nodes
      if (m instanceof Tuple) {
        const tk = termKey(m[0])
        const node = waiting.get(tk)!
        waiting.delete(tk)
        if (byNode.delete(node)) proc.monitorNode(node, false)
        replies.set(node, m[1])
      } else {
        const node = (m as unknown[])[1] as string
        waiting.delete(byNode.get(node)!)
        byNode.delete(node)
      }
    }
  } finally {
    clearTimeout(timer)
  }
  for (const node of byNode.keys()) proc.monitorNode(node, false)
  return replies
}
