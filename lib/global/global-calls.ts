// gen_server:multi_call and gen_server:cast to the global name servers of a list of nodes,
// from a process, in the message shapes OTP 25 uses (so OTP servers answer them, and so do
// ours): {'$gen_call', {Self, {Ref, Node}}, Request} answered {{Ref, Node}, Reply}, and
// {'$gen_cast', Request}. Each call monitors the server by name: a node that is down, or has
// no global name server, counts as a bad node (as in OTP), and the whole call is bounded by
// a timeout (OTP waits forever).
import { atom } from '../terms/atom.js'
import { Ref } from '../terms/ref.js'
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

/** multi_call: the replies of the servers that answered, by node. */
export async function multiCall(
  proc: Proc,
  nodes: readonly string[],
  request: unknown,
  timeoutMs = CALL_TIMEOUT_MS,
): Promise<Map<string, unknown>> {
  const replies = new Map<string, unknown>()
  const waiting = new Map<string, { node: string; mon: Ref }>() // tag key → node
  const byMon = new Map<string, string>() // monitor key → tag key
  for (const node of new Set(nodes)) {
    const tag = tuple(proc.makeRef(), atom(node))
    const mon = proc.monitor(serverOf(proc, node))
    const tk = termKey(tag)
    waiting.set(tk, { node, mon })
    byMon.set(termKey(mon), tk)
    proc.send(serverOf(proc, node), tuple(G.genCall, tuple(proc.self, tag), request))
  }
  const deadline = Date.now() + timeoutMs
  while (waiting.size > 0) {
    let m: unknown
    try {
      m = await proc.receive(
        (x: unknown) =>
          (x instanceof Tuple && x.length === 2 && waiting.has(termKey(x[0]))) ||
          (Array.isArray(x) && !(x instanceof Tuple) && x[0] === 'DOWN' && x[1] instanceof Ref && byMon.has(termKey(x[1]))),
        { timeout: Math.max(0, deadline - Date.now()) },
      )
    } catch {
      break // the deadline: the rest count as bad nodes
    }
    if (m instanceof Tuple) {
      const tk = termKey(m[0])
      const w = waiting.get(tk)!
      waiting.delete(tk)
      byMon.delete(termKey(w.mon))
      proc.demonitor(w.mon, { flush: true })
      replies.set(w.node, m[1])
    } else {
      const mk = termKey((m as unknown[])[1])
      const tk = byMon.get(mk)!
      byMon.delete(mk)
      waiting.delete(tk)
    }
  }
  for (const w of waiting.values()) proc.demonitor(w.mon, { flush: true })
  return replies
}
