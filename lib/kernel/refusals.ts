// What this node refused its peers, counted per peer: operations policy refused
// (allowSignal, allowSpawn) and spawns or calls past limits.processesPerPeer, under their op,
// and frames a peer may not send (a signal for a process of another node, a forged reply, a
// malformed frame) under 'protocol'. Each refusal is published on 'netkernel:refused'; the log
// gets the 1st, 2nd, 4th, 8th... of each kind from each peer, so that a peer hammering the
// firewall cannot flood it.
import type { Logger } from '../logger.js'
import type { SignalOp } from './signal-policy.js'
import { REFUSED_CHANNEL, publish } from '../diagnostics.js'

/** A refused frame kind for protocol refusals ('down', 'link', ...), or the op policy refused. */
export type RefusedOp = SignalOp | 'protocol'
export type RefusalCode = 'ERR_SIGNAL_NOT_ALLOWED' | 'ERR_SPAWN_NOT_ALLOWED' | 'ERR_PROTOCOL' | 'ERR_LIMIT'
export type RefusalCounts = Partial<Record<RefusedOp, number>>

export class Refusals {
  private readonly byPeer = new Map<string, RefusalCounts>()

  constructor(
    private readonly node: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Count one refusal of `op` from `peer`. `op` is a SignalOp for a policy refusal, the kind
   * of the frame for a protocol refusal; `why` says what was wrong.
   */
  refuse(peer: string, op: string, code: RefusalCode, detail: object, why: string): void {
    const key: RefusedOp = code === 'ERR_PROTOCOL' ? 'protocol' : (op as SignalOp)
    let counts = this.byPeer.get(peer)
    if (counts === undefined) this.byPeer.set(peer, (counts = {}))
    const n = (counts[key] ?? 0) + 1
    counts[key] = n
    if ((n & (n - 1)) === 0) {
      this.logger.warn(
        { node: peer, op, code, refused: n },
        `${op} from ${peer} refused: ${why} (${n} ${key} refusals from ${peer} so far)`,
      )
    }
    publish(REFUSED_CHANNEL, () => ({ node: this.node, peer, op, detail, code, reason: why }))
  }

  /** A snapshot: peer → refusals by op (only ops with at least one). */
  counts(): Map<string, RefusalCounts> {
    const out = new Map<string, RefusalCounts>()
    for (const [peer, c] of this.byPeer) out.set(peer, { ...c })
    return out
  }

  /** Every refusal from `peer`, or from all peers. */
  total(peer?: string): number {
    let sum = 0
    for (const [p, c] of this.byPeer) {
      if (peer !== undefined && p !== peer) continue
      for (const n of Object.values(c)) sum += n ?? 0
    }
    return sum
  }
}
