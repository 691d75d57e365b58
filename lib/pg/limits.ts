// What a peer can make a pg scope hold. A peer's scope process tells us its members (sync,
// join); without bounds one peer could fill our memory. A message that would cross a bound is
// dropped whole (counted and logged), as a malformed one is.

export interface PgLimits {
  /** Scope processes of one peer node one scope keeps track of (a restarted scope is a new one). */
  maxPeersPerNode: number
  /** Memberships (pid × group, duplicates counted) one peer scope may hold here. */
  maxMembersPerPeer: number
  /** Groups one peer scope may have members in. */
  maxGroupsPerPeer: number
  /** Events a monitor buffers for a reader that does not keep up (then it ends with ERR_LIMIT). */
  maxQueuedEvents: number
}

export const DEFAULT_PG_LIMITS: Readonly<PgLimits> = {
  maxPeersPerNode: 8,
  maxMembersPerPeer: 250_000,
  maxGroupsPerPeer: 50_000,
  maxQueuedEvents: 10_000,
}
