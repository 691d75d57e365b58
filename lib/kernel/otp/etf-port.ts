// The OTP wire's seam to the External Term Format codec: encode a term (no version byte) into
// a frame batch, decode one at an offset with a frame's atom-cache refs, and read a
// distribution header's atom-cache part against the connection's cache.
//
// The codec is lib/terms/etf/; one port per connection (the atom cache is the connection's).
import type { FrameBatch } from '../../terms/frame-batch.js'
import type { Atom } from '../../terms/atom.js'
import { AtomCache, EtfDecoder, EtfEncoder, readDistHeader } from '../../terms/etf/index.js'

export interface EtfPort {
  /** Append `value`'s ETF bytes (no 131 version byte). Throws CodecError ERR_ENCODE. */
  encodeInto(value: unknown, out: FrameBatch): void
  /** One term at `offset`; `owned`: binaries may be views of `buf`. Throws CodecError ERR_DECODE. */
  decodeAt(buf: Buffer, offset: number, refs: unknown, owned: boolean): { value: unknown; end: number }
  /** The atom-cache part of a distribution header at `offset` (NumberOfAtomCacheRefs first). */
  readHeader(buf: Buffer, offset: number): { refs: unknown; offset: number }
}

export function createEtfPort(): EtfPort {
  const encoder = new EtfEncoder()
  const decoder = new EtfDecoder()
  const cache = new AtomCache()
  return {
    encodeInto: (value, out) => encoder.encodeInto(value, out),
    decodeAt: (buf, offset, refs, owned) => decoder.decodeAt(buf, offset, refs as readonly Atom[] | undefined, owned),
    readHeader: (buf, offset) => {
      const h = readDistHeader(buf, offset, cache)
      return { refs: h.refs, offset: h.end }
    },
  }
}
