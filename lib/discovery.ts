// Discovery: where does `name@host` listen and which protocol does it speak (resolve), and
// telling the world where this node listens (announce). The port mapper is one
// implementation (lib/epmd/discovery.ts); a `resolve` function given to startNode is another
// (staticDiscovery below); DNS or Kubernetes could be others. The kernel only resolves;
// startNode announces once the node listens, and withdraws the announcement when it stops.
import type { DialAddress } from './transport.js'

/** Where a node accepts connections, and what it speaks there. */
export interface NodeAddress extends DialAddress {
  /**
   * The distribution protocol the node speaks at that address. 'netkernel' (or undefined)
   * is this library's own; 'erlang' is Erlang/OTP's (dialled only by a node started with
   * `erlang: true`). The port mapper reports 'netkernel' for entries with netkernel's Extra
   * marker (lib/epmd/discovery.ts), 'erlang' for the others.
   */
  protocol?: string
}

export interface AnnounceOptions {
  /** This node's full name ('foo@host'). */
  name: string
  /** The port it accepts connections on. */
  port: number
  hidden: boolean
  /** Aborts the announcing itself (not the announcement once made). */
  signal?: AbortSignal
}

/** A standing announcement: kept while the node runs, withdrawn by close(). */
export interface Announcement {
  /** The creation the discovery assigned this node (the port mapper does), if any. */
  readonly creation?: number
  /** Withdraw the announcement (the node stops). */
  close(): void
}

export interface Discovery {
  /** Where `node` listens; rejects with a NetkernelError (ERR_NODE_NOT_FOUND, ...) when unknown. */
  resolve(node: string, signal: AbortSignal): Promise<NodeAddress>
  /** Make this node findable at `port`. */
  announce(opts: AnnounceOptions): Promise<Announcement>
}

/** Nothing announced, nothing to withdraw. */
const NOT_ANNOUNCED: Announcement = { close: () => {} }

/** A Discovery that resolves with a function (startNode's `resolve`) and announces nothing. */
export function staticDiscovery(resolve: (node: string, signal: AbortSignal) => Promise<NodeAddress>): Discovery {
  return { resolve, announce: async () => NOT_ANNOUNCED }
}
