// The distribution header of an Erlang distribution frame (erl_ext_dist, "Distribution Header"):
// after `131 68` (or a first fragment's `131 69 SeqId FragId`) come
//
//   NumberOfAtomCacheRefs:8
//   Flags: NumberOfAtomCacheRefs/2+1 bytes of nibbles, low nibble first: one per ref
//          (bit 3 NewCacheEntryFlag, bits 0-2 SegmentIndex), then one whose bit 0 is LongAtoms
//   one entry per ref: new  InternalSegmentIndex:8 Length:8|16 (LongAtoms) AtomText (UTF-8)
//                      old  InternalSegmentIndex:8
//
// (flags and entries absent when NumberOfAtomCacheRefs is 0). A new entry stores its atom in the
// connection's cache slot SegmentIndex*256 + InternalSegmentIndex; an old one reads that slot.
// ATOM_CACHE_REF n in the terms that follow is the n-th ref of this header.
import { Buffer } from 'node:buffer'
import { type Atom, atom } from '../atom.js'
import { etfDecodeError } from './etf-decoder.js'
import type { CodecError } from '../../errors.js'

/** Slots of a connection's atom cache: 8 segments of 256. */
export const ATOM_CACHE_SIZE = 2048

/** The receive-side atom cache of one distribution connection. */
export class AtomCache {
  private readonly slots: (Atom | undefined)[] = new Array<Atom | undefined>(ATOM_CACHE_SIZE)

  get(slot: number): Atom | undefined {
    return this.slots[slot]
  }

  set(slot: number, a: Atom): void {
    this.slots[slot] = a
  }

  clear(): void {
    this.slots.fill(undefined)
  }
}

function bad(message: string, at: number): CodecError {
  return etfDecodeError(`malformed distribution header: ${message} (at offset ${at})`)
}

/**
 * Reads the header at buf[offset] (the NumberOfAtomCacheRefs byte), updating `cache` with its
 * new entries; returns the frame's refs and where the control message starts. Malformed input
 * throws CodecError ERR_DECODE; the cache is updated only when the whole header is valid.
 */
export function readDistHeader(buf: Buffer, offset: number, cache: AtomCache): { refs: Atom[]; end: number } {
  let pos = offset
  if (pos >= buf.length) throw bad('no NumberOfAtomCacheRefs byte', pos)
  const n = buf[pos++]!
  if (n === 0) return { refs: [], end: pos }
  const flagBytes = (n >> 1) + 1
  if (buf.length - pos < flagBytes) throw bad(`${flagBytes} flag bytes for ${n} refs do not fit`, pos)
  const flagsAt = pos
  pos += flagBytes
  const nibble = (i: number): number => {
    const b = buf[flagsAt + (i >> 1)]!
    return i & 1 ? b >> 4 : b & 0x0f
  }
  const longAtoms = (nibble(n) & 1) === 1
  const refs: Atom[] = new Array<Atom>(n)
  const added: [number, Atom][] = []
  for (let i = 0; i < n; i++) {
    const f = nibble(i)
    const slot = (f & 7) * 256
    if (pos >= buf.length) throw bad(`atom cache ref ${i} of ${n} is missing`, pos)
    const index = slot + buf[pos++]!
    if (f & 8) {
      let len: number
      if (longAtoms) {
        if (buf.length - pos < 2) throw bad('truncated atom length', pos)
        len = (buf[pos]! << 8) | buf[pos + 1]!
        pos += 2
      } else {
        if (pos >= buf.length) throw bad('truncated atom length', pos)
        len = buf[pos++]!
      }
      if (len > 255 * 4) throw bad(`an atom of ${len} bytes is longer than 255 characters`, pos)
      if (buf.length - pos < len) throw bad(`atom text of ${len} bytes does not fit`, pos)
      const text = buf.toString('utf8', pos, pos + len)
      if (text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(buf.subarray(pos, pos + len)))
        throw bad('an atom is not valid UTF-8', pos)
      if (len > 255 && [...text].length > 255) throw bad('an atom is longer than 255 characters', pos)
      pos += len
      const a = atom(text)
      refs[i] = a
      added.push([index, a])
    } else {
      // An old entry may name a slot this very header fills (earlier ref).
      let a = cache.get(index)
      for (let k = added.length - 1; k >= 0; k--) {
        if (added[k]![0] === index) {
          a = added[k]![1]
          break
        }
      }
      if (a === undefined) throw bad(`atom cache ref ${i} names empty slot ${index}`, pos - 1)
      refs[i] = a
    }
  }
  for (const [index, a] of added) cache.set(index, a)
  return { refs, end: pos }
}
