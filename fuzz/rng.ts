// A small seeded PRNG (xorshift32 over a splitmix-style seed): every fuzz run is reproducible
// from its --seed, and every input's chunking from its variant number.

export class Rng {
  private s: number

  constructor(seed: number) {
    let z = (seed >>> 0) + 0x9e3779b9
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    this.s = (z ^ (z >>> 16)) >>> 0 || 0x6d2b79f5
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let x = this.s
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.s = x >>> 0
    return this.s
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n
  }

  chance(p: number): boolean {
    return this.u32() < p * 0x100000000
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!
  }
}
