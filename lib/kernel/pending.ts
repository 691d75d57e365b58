// A connection being set up, as the net kernel (net-kernel.ts) tracks it per node until the
// handshake ends: the frames queued for it meanwhile (and their bytes, for the high-water
// mark), the dial in progress, how a simultaneous connect settled, the setup deadline, and
// who waits for the outcome (connect(), drain()).
import type { OrderKey } from './outbox.js'

export interface Pending {
  node: string
  queue: [frame: Buffer, key: OrderKey][]
  bytes: number
  /** Where our dial went, once resolved (for messages). */
  address?: string
  /** Set when something local asked for this connection (send, spawn, connect). */
  requested: boolean
  dial: AbortController | undefined
  /** Our dial lost a simultaneous connect, or was abandoned for an inbound one. */
  superseded: boolean
  /** An authenticated inbound connection from the node is being set up (commit()). */
  inbound: boolean
  /** The peer whose gossip started this dial (counted against its bound until settled). */
  hint?: string
  timer: unknown
  waiters: ((up: boolean) => void)[]
}
