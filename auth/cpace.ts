// CPace over ristretto255 with SHA-512 (draft-irtf-cfrg-cpace, cipher suite
// CPACE-RISTR255-SHA512): the balanced PAKE under the cookie authenticator. Only the
// construction lives here — generator, shares, ISK, key-confirmation tags; the messages and
// their order are in cookie.ts, and docs/protocol.md describes both.
//
// Group operations are @noble/curves' ristretto255 (RFC 9496): decoding rejects every
// non-canonical or invalid encoding, and the group has prime order, so the only bad point
// left to refuse is the identity.
import { Buffer } from 'node:buffer'
import { createHmac, randomBytes } from 'node:crypto'
import { ristretto255 } from '@noble/curves/ed25519'
import { sha512 } from '@noble/hashes/sha2'

const Point = ristretto255.Point
/** A ristretto255 group element. */
export type Point = InstanceType<(typeof ristretto255)['Point']>

/** G.DSI of the ristretto255 suite. */
export const DSI = Buffer.from('CPaceRistretto255')
const DSI_ISK = Buffer.from('CPaceRistretto255_ISK')
const MAC_LABEL = Buffer.from('CPaceMac')
/** SHA-512's input block size (H.s_in_bytes), which the zero padding fills. */
const S_IN_BYTES = 128
/** Encoded group elements and scalars are 32 bytes. */
export const ELEMENT_BYTES = 32
/** HMAC-SHA512 tags. */
export const TAG_BYTES = 64

/** prepend_len: the LEB128-encoded length, then the bytes. */
export function prependLen(bytes: Uint8Array): Buffer {
  const len: number[] = []
  let n = bytes.length
  do {
    len.push(n >= 128 ? (n & 0x7f) | 0x80 : n)
    n >>>= 7
  } while (n > 0)
  return Buffer.concat([Buffer.from(len), bytes])
}

/** lv_cat: each part length-prefixed, concatenated. */
export function lvCat(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map(prependLen))
}

/**
 * generator_string(DSI, PRS, CI, sid): the zero padding makes DSI and PRS fill the hash's
 * first block, so the bytes hashed do not depend on the length of a short cookie.
 */
export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Buffer {
  const zpad = Math.max(0, S_IN_BYTES - prependLen(prs).length - prependLen(DSI).length - 1)
  return lvCat(DSI, prs, Buffer.alloc(zpad), ci, sid)
}

/** calculate_generator: RFC 9496 element derivation of SHA-512(generator_string). */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Point {
  // The one-way map from 64 uniform bytes (noble marks it deprecated in favour of its RFC 9380
  // hasher, which would add an expand_message step CPace does not have).
  return Point.hashToCurve(sha512(generatorString(prs, ci, sid)))
}

/**
 * The draft's recommended sample_scalar: 32 bytes, bits above the group size (252) cleared,
 * read little-endian. Zero (probability 2^-252) is drawn again: it would give the identity.
 */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  const b = Buffer.from(bytes)
  b[31] &= 0x0f
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i])
  return n
}

export function sampleScalar(): bigint {
  for (;;) {
    const y = scalarFromBytes(randomBytes(ELEMENT_BYTES))
    if (y !== 0n) return y
  }
}

/** scalar_mult: the public share Y = encode(y·g). */
export function scalarMult(y: bigint, g: Point): Buffer {
  return Buffer.from(g.multiply(y).toBytes())
}

/**
 * scalar_mult_vfy: encode(y·decode(X)), or null (the draft's G.I) when X does not decode or
 * the result is the identity. The caller must abort on null.
 */
export function scalarMultVfy(y: bigint, x: Uint8Array): Buffer | null {
  let p: Point
  try {
    p = Point.fromBytes(x)
  } catch {
    return null
  }
  if (p.is0()) return null
  const k = p.multiply(y)
  return k.is0() ? null : Buffer.from(k.toBytes())
}

/**
 * The intermediate session key in the initiator–responder setting:
 * ISK = SHA-512(lv_cat(DSI‖"_ISK", sid, K) ‖ lv_cat(Ya, ADa) ‖ lv_cat(Yb, ADb)).
 */
export function deriveIsk(sid: Uint8Array, k: Uint8Array, ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Buffer {
  return Buffer.from(sha512(Buffer.concat([lvCat(DSI_ISK, sid, k), lvCat(ya, ada), lvCat(yb, adb)])))
}

/** The key-confirmation MAC key the draft suggests: SHA-512("CPaceMac" ‖ sid ‖ ISK). */
export function macKey(sid: Uint8Array, isk: Uint8Array): Buffer {
  return Buffer.from(sha512(Buffer.concat([MAC_LABEL, sid, isk])))
}

/** A party's confirmation tag over the message it sent: HMAC-SHA512(mac_key, lv_cat(Y, AD)). */
export function confirmationTag(key: Uint8Array, y: Uint8Array, ad: Uint8Array): Buffer {
  return createHmac('sha512', key).update(lvCat(y, ad)).digest()
}
