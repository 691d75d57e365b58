// Buffers kept for reuse, up to a number of bytes. The outbox keeps two (outbox.ts): the
// encoding buffers of large frames and the buffers of batches, each given back only once the
// socket has written it; the pool itself knows nothing of when a buffer is free.

export class BufferPool {
  private readonly buffers: Buffer[] = []
  private size = 0

  /** Holds at most about `cap` bytes: give() keeps nothing once they are reached. */
  constructor(private readonly cap: number) {}

  /** Bytes held. */
  get bytes(): number {
    return this.size
  }

  /** A buffer of at least `min` bytes, the most recently given first; undefined if none is. */
  take(min = 0): Buffer | undefined {
    const list = this.buffers
    for (let i = list.length - 1; i >= 0; i--) {
      const b = list[i]!
      if (b.length < min) continue
      list[i] = list[list.length - 1]!
      list.pop()
      this.size -= b.length
      return b
    }
    return undefined
  }

  /** Keep `b`, unless the pool already holds `cap` bytes. */
  give(b: Buffer): void {
    if (this.size >= this.cap) return
    this.buffers.push(b)
    this.size += b.length
  }

  clear(): void {
    this.buffers.length = 0
    this.size = 0
  }
}
