// limits.processesPerPeer at the door: before a peer's spawn request or rpc/erpc call starts
// a process here, on either wire, its dispatcher asks whether the peer has room. The count is
// the runtime's (lib/process/peer-processes.ts: from a process's creation to its exit). Past
// the bound the one request is refused, not the connection (a legitimate client may burst),
// and each wire answers in its own way. A refusal is a refusal like policy's (refusals.ts):
// counted per peer under its op ('spawn', 'rpc'), in stats() and `netkernel top`, published
// on 'netkernel:refused' with code ERR_LIMIT, and logged at the 1st, 2nd, 4th, 8th...
import type { RemoteInbound } from '../process/remote.js'
import type { Refusals } from './refusals.js'

export interface ProcessLimitDeps {
  localName(): string
  runtime: Pick<RemoteInbound, 'processesFor'>
  /** limits.processesPerPeer */
  limit: number
  refusals: Pick<Refusals, 'refuse'>
}

export class ProcessLimit {
  constructor(private readonly d: ProcessLimitDeps) {}

  /**
   * Undefined when `peer` may start one more process here now (a spawn or a call); else why
   * not, for the refusal the wire sends, the refusal counted. `detail`: the request, as
   * 'netkernel:refused' publishes it.
   */
  refusal(peer: string, op: 'spawn' | 'rpc', detail: object): string | undefined {
    const { limit } = this.d
    if (this.d.runtime.processesFor(peer) < limit) return undefined
    const why = `${peer} has ${limit} processes running on ${this.d.localName()} (limits.processesPerPeer)`
    this.d.refusals.refuse(peer, op, 'ERR_LIMIT', detail, why)
    return `${why}: ${op === 'spawn' ? 'spawn' : 'call'} refused`
  }
}
