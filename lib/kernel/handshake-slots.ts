// Bounds the inbound handshakes under way at once — unauthenticated peers, so each holds a
// socket and a deadline for nothing proven — in total and per address. A connection over a
// bound is refused as it is accepted. Each bound reports its first refusal only, until it is
// free again (the address has no handshake left, the total is back under half), so a flood
// makes one log line, not one per socket.

export type SlotRefusal = { bound: 'total' | 'address'; limit: number; first: boolean }

export class HandshakeSlots {
  private total = 0
  private readonly byAddress = new Map<string, number>()
  /** Bounds that reported a refusal since they were last free: addresses, and '' for the total. */
  private readonly reported = new Set<string>()

  constructor(
    private readonly max: number,
    private readonly perAddress: number,
  ) {}

  /** Take a slot for a handshake from `address`; undefined when taken, else why not. */
  take(address: string): SlotRefusal | undefined {
    const n = this.byAddress.get(address) ?? 0
    if (n >= this.perAddress) return this.refuse(address, 'address', this.perAddress)
    if (this.total >= this.max) return this.refuse('', 'total', this.max)
    this.byAddress.set(address, n + 1)
    this.total++
    return undefined
  }

  release(address: string): void {
    const n = (this.byAddress.get(address) ?? 1) - 1
    if (n > 0) this.byAddress.set(address, n)
    else {
      this.byAddress.delete(address)
      this.reported.delete(address)
    }
    this.total--
    if (this.total < this.max / 2) this.reported.delete('')
  }

  get inUse(): number {
    return this.total
  }

  private refuse(key: string, bound: SlotRefusal['bound'], limit: number): SlotRefusal {
    const first = !this.reported.has(key)
    this.reported.add(key)
    return { bound, limit, first }
  }
}
