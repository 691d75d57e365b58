// limits.processesPerPeer at the door: before a peer's spawn request or rpc/erpc call starts
// a process here, on either wire, its dispatcher asks whether the peer has room. The count is
// the runtime's (lib/process/peer-processes.ts: from a process's creation to its exit). Past
// the bound the one request is refused, not the connection (a legitimate client may burst),
// and each wire answers in its own way. The first refusal of a burst is logged at warn with
// the peer's name; the burst ends when one of the peer's requests is admitted, or when its
// connection ends.
import type { Logger } from '../logger.js'
import type { RemoteInbound } from '../process/remote.js'

export interface ProcessLimitDeps {
  localName(): string
  runtime: Pick<RemoteInbound, 'processesFor'>
  /** limits.processesPerPeer */
  limit: number
  logger: Logger
}

export class ProcessLimit {
  /** Peers whose requests are being refused, their burst's first refusal logged. */
  private readonly refusing = new Set<string>()

  constructor(private readonly d: ProcessLimitDeps) {}

  /**
   * Undefined when `peer` may start one more process here now (a spawn or a call); else why
   * not, for the refusal the wire sends.
   */
  refusal(peer: string, what: 'spawn' | 'call'): string | undefined {
    const { limit } = this.d
    if (this.d.runtime.processesFor(peer) < limit) {
      if (this.refusing.size !== 0) this.refusing.delete(peer)
      return undefined
    }
    const message = `${peer} has ${limit} processes running on ${this.d.localName()} (limits.processesPerPeer): ${what} refused`
    if (!this.refusing.has(peer)) {
      this.refusing.add(peer)
      this.d.logger.warn(
        { node: peer, code: 'ERR_LIMIT', limit },
        `${message} (more refusals of ${peer} go unlogged until one of its requests is admitted)`,
      )
    }
    return message
  }

  /** `peer`'s connection is gone: a refusal after it starts a new burst. */
  nodeGone(peer: string): void {
    this.refusing.delete(peer)
  }
}
