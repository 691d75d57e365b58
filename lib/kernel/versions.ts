// Which version of the native protocol two netkernel nodes speak (docs/protocol.md,
// "Versioning"). The dialler's hello says `v`, the oldest version it speaks, and `vmax`, its
// newest; the responder answers with the newest version in both its range and the dialler's,
// in its 'ok' status (`v`), or refuses with 'version' when the ranges do not meet.
//
// Why `v` is the oldest: a node of version 4 reads `v` alone and refuses any value but 4, so
// a newer node that still speaks 4 is let in by it, and speaks 4. Its 'ok' says no `v`: an 'ok'
// without one means the dialler's oldest version. A version-4 dialler sends no `vmax`: its
// range is `v` alone.
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './frames.js'

/** The version fields of this node's hello. */
export const HELLO_VERSIONS = { v: MIN_PROTOCOL_VERSION, vmax: PROTOCOL_VERSION } as const

function isVersion(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 0x10000
}

/** Responder: the version to speak with a hello's `v` and `vmax`, or undefined (refuse 'version'). */
export function agreeVersion(v: unknown, vmax: unknown): number | undefined {
  if (!isVersion(v)) return undefined
  const top = vmax === undefined || vmax === null ? v : vmax
  if (!isVersion(top) || top < v) return undefined
  const lo = Math.max(v, MIN_PROTOCOL_VERSION)
  const hi = Math.min(top, PROTOCOL_VERSION)
  return lo <= hi ? hi : undefined
}

/**
 * Dialler: the version an 'ok' status names (`v`; absent from a version-4 node: the hello's
 * `v`), or undefined when it names one outside what the hello offered, `lo` to `hi`.
 */
export function agreedVersion(v: unknown, lo: number = HELLO_VERSIONS.v, hi: number = HELLO_VERSIONS.vmax): number | undefined {
  if (v === undefined) return lo
  return isVersion(v) && v >= lo && v <= hi ? v : undefined
}

/** Does a native connection of protocol version `version` carry ALIAS_SEND frames? */
export function nativeAliases(version: number): boolean {
  return version >= 5
}
