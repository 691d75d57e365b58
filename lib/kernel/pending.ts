// What the net kernel (net-kernel.ts) holds for a connection being set up, per node until the
// setup ends: the frames queued for it meanwhile (and their bytes, for the high-water mark),
// the dial in progress, the setup deadline, and who waits for the outcome (connect(),
// drain()). What the setup is — requested, superseded, an inbound one finishing — is the
// setup machine's (setup-machine.ts), under the same setup number.
import type { OrderKey } from './outbox.js'

export interface Pending {
  node: string
  /** The setup machine's number for this setup. */
  id: number
  queue: [frame: Buffer, key: OrderKey][]
  bytes: number
  /** Where our dial went, once resolved (for messages). */
  address?: string
  /** Our dial, while it runs: aborting it ends it. */
  dial: AbortController | undefined
  /** The peer whose gossip started this dial (counted against its bound until settled). */
  hint?: string
  timer: unknown
  waiters: ((up: boolean) => void)[]
}
