// The mutation engine: a few random edits of a seed — bit flips, interesting bytes, byte
// inserts and deletes, duplicated ranges, splices with other seeds, and rewritten length
// fields (u8/u16/u32 big-endian set to boundary values or nudged) — and the chunkings a
// streaming decoder is fed (whole, byte by byte, or cut at random points).
import { Rng } from './rng.js'

const BYTES = [
  0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xc1, 0xc2, 0xc4, 0xc7, 0xc9, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x90,
  0x9f, 0x80, 0x8f, 0xa0, 0xbf, 0xe0,
]
const LENGTHS = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 31, 32, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 4097, 0x7fff, 0xffff, 0x10000,
  0x7fffffff, 0xfffffffe, 0xffffffff,
]
/** Mutated inputs are cut to this length: enough for every parser's interesting paths. */
export const MAX_INPUT = 64 * 1024

function writeField(b: Buffer, at: number, width: 1 | 2 | 4, v: number): void {
  if (at + width > b.length) return
  if (width === 1) b[at] = v & 0xff
  else if (width === 2) b.writeUInt16BE(v & 0xffff, at)
  else b.writeUInt32BE(v >>> 0, at)
}

function readField(b: Buffer, at: number, width: 1 | 2 | 4): number {
  if (at + width > b.length) return 0
  return width === 1 ? b[at]! : width === 2 ? b.readUInt16BE(at) : b.readUInt32BE(at)
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = rng.chance(0.5) ? rng.pick(BYTES) : rng.int(256)
  return b
}

function once(b: Buffer, rng: Rng, pool: readonly Buffer[]): Buffer {
  const n = b.length
  switch (rng.int(11)) {
    case 0: {
      // flip a bit
      if (n === 0) return randomBytes(rng, 1)
      const c = Buffer.from(b)
      c[rng.int(n)]! ^= 1 << rng.int(8)
      return c
    }
    case 1: {
      // an interesting or random byte
      if (n === 0) return randomBytes(rng, 1)
      const c = Buffer.from(b)
      c[rng.int(n)] = rng.chance(0.6) ? rng.pick(BYTES) : rng.int(256)
      return c
    }
    case 2: {
      // insert bytes
      const at = rng.int(n + 1)
      return Buffer.concat([b.subarray(0, at), randomBytes(rng, 1 + rng.int(rng.chance(0.8) ? 4 : 64)), b.subarray(at)])
    }
    case 3: {
      // delete a range
      if (n === 0) return b
      const at = rng.int(n)
      const len = 1 + rng.int(Math.min(n - at, rng.chance(0.7) ? 4 : n))
      return Buffer.concat([b.subarray(0, at), b.subarray(at + len)])
    }
    case 4: {
      // duplicate a range
      if (n === 0) return b
      const at = rng.int(n)
      const len = 1 + rng.int(Math.min(n - at, 256))
      const to = rng.int(n + 1)
      return Buffer.concat([b.subarray(0, to), b.subarray(at, at + len), b.subarray(to)])
    }
    case 5: {
      // splice: a prefix of this seed, the tail of another
      const other = rng.pick(pool)
      return Buffer.concat([b.subarray(0, rng.int(n + 1)), other.subarray(rng.int(other.length + 1))])
    }
    case 6: {
      // insert a slice of another seed (or all of it: a second frame)
      const other = rng.pick(pool)
      const from = rng.chance(0.5) ? 0 : rng.int(other.length + 1)
      const to = rng.chance(0.5) ? other.length : from + rng.int(other.length - from + 1)
      const at = rng.int(n + 1)
      return Buffer.concat([b.subarray(0, at), other.subarray(from, to), b.subarray(at)])
    }
    case 7:
    case 8: {
      // a length field: set to a boundary value, to the bytes left, or nudged
      if (n === 0) return b
      const width = rng.pick([1, 2, 4] as const)
      const at = rng.chance(0.3) ? 0 : rng.int(n)
      const c = Buffer.from(b)
      const left = n - at - width
      const r = rng.int(4)
      const v = r === 0 ? rng.pick(LENGTHS) : r === 1 ? left + rng.int(3) - 1 : readField(c, at, width) + rng.int(33) - 16
      writeField(c, at, width, v)
      return c
    }
    case 9: // truncate
      return b.subarray(0, rng.int(n + 1))
    default: // append random bytes
      return Buffer.concat([b, randomBytes(rng, 1 + rng.int(16))])
  }
}

/** One to a few mutations of `seed` (never longer than MAX_INPUT). */
export function mutate(seed: Buffer, rng: Rng, pool: readonly Buffer[]): Buffer {
  let b = seed
  const count = 1 + (rng.chance(0.5) ? 0 : rng.int(rng.chance(0.8) ? 3 : 8))
  for (let i = 0; i < count; i++) b = once(b, rng, pool)
  return b.length > MAX_INPUT ? b.subarray(0, MAX_INPUT) : b
}

/** The chunks a streaming parser is fed, decided by `variant`: whole, byte by byte, or random cuts. */
export function chunks(input: Buffer, variant: number): Buffer[] {
  const mode = variant & 3
  if (mode === 0 || input.length < 2) return [input]
  if (mode === 1 && input.length <= 512) {
    const out: Buffer[] = []
    for (let i = 0; i < input.length; i++) out.push(input.subarray(i, i + 1))
    return out
  }
  const rng = new Rng(variant)
  const cuts = new Set<number>()
  const count = 1 + rng.int(8)
  for (let i = 0; i < count; i++) cuts.add(1 + rng.int(input.length - 1))
  const sorted = [...cuts].sort((a, b) => a - b)
  const out: Buffer[] = []
  let at = 0
  for (const c of sorted) {
    out.push(input.subarray(at, c))
    at = c
  }
  out.push(input.subarray(at))
  return out
}
