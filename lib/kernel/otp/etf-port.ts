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
  /**
   * One term at `offset`; `owned`: binaries may be views of `buf`. `termsBefore`: terms the
   * message decoded into already (its control term), counted with this one's against
   * maxTerms; `terms` in the result is the total. Throws CodecError ERR_DECODE, or
   * ERR_MESSAGE_TOO_LARGE past maxTerms.
   */
  decodeAt(buf: Buffer, offset: number, refs: unknown, owned: boolean, termsBefore?: number): { value: unknown; end: number; terms: number }
  /** The atom-cache part of a distribution header at `offset` (NumberOfAtomCacheRefs first). */
  readHeader(buf: Buffer, offset: number): { refs: unknown; offset: number }
}

export interface EtfPortOptions {
  /** The most terms one message decodes into (default MAX_MESSAGE_TERMS). */
  maxTerms?: number
  /** The most bytes one term is written into (default: no bound). */
  maxSize?: number
}

export function createEtfPort(o: EtfPortOptions = {}): EtfPort {
  const encoder = new EtfEncoder({ maxSize: o.maxSize })
  const decoder = new EtfDecoder({ maxTerms: o.maxTerms })
  const cache = new AtomCache()
  return {
    encodeInto: (value, out) => encoder.encodeInto(value, out),
    decodeAt: (buf, offset, refs, owned, termsBefore) =>
      decoder.decodeAt(buf, offset, refs as readonly Atom[] | undefined, owned, termsBefore),
    readHeader: (buf, offset) => {
      const h = readDistHeader(buf, offset, cache)
      return { refs: h.refs, offset: h.end }
    },
  }
}
