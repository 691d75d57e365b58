// Asking V8 for a young-generation collection while large messages come in (startNode's
// scavengeEvery; bench/README.md, "Large messages and V8's heap").
//
// Every large message a node takes in is an ArrayBuffer of its own (its body), and V8 counts
// the bytes of the live ones against the old generation's headroom: its allocation limit
// minus the live heap, ~8 MB on a node whose program allocates little on the JavaScript heap
// — which is what a receiver of large messages is. A body the program has already dropped is
// freed only by a collection, and a young one by the cheapest, a scavenge; but a scavenge
// comes when the young generation fills, and bodies do not fill it. So the headroom ran out
// first, every ~8 messages of 1 MB, and V8 marked and compacted the whole heap: 1–6 ms during
// which no message moved, on every connection.
//
// So a process taking in large bodies asks for a scavenge itself, each time `every` bytes of
// them have come in since the last: the bodies dropped by then die young, for the cost of a
// scavenge (tens to hundreds of µs, with little young data alive), and the old generation's
// limit is no longer reached by bodies alone. Bodies the program keeps are promoted as usual.
//
// V8 offers the collection as `gc({ type: 'minor' })` only with --expose-gc, to each context
// made while the flag is on. Unless the process was started with it, the flag is turned on
// just long enough to take the function from a new context, then off again, so no context
// made later sees a `gc` global. That happens once, at the first scavenge asked for: a
// process that never takes in large bodies never touches V8's flags. If it fails, the assist
// stays off (the heap works as before).
//
// The heap is the process's, so the interval is too: the shortest any running node asked for.
import process from 'node:process'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { NetkernelError } from '../errors.js'
import { PIECE } from './fragments.js'

/** startNode's default scavengeEvery: half the ~8 MB headroom, so a body or two kept alive still fits. */
export const DEFAULT_SCAVENGE_EVERY = 4 * 1024 * 1024
/** The largest interval a node may ask for (1 GiB). */
export const MAX_SCAVENGE_EVERY = 1024 * 1024 * 1024
/**
 * A message counts as large from this size on, the size from which netkernel fragments it
 * (fragments.ts PIECE); an Erlang peer's whole frames are counted from it too. Smaller ones
 * come with enough allocation on the heap that V8's own scavenges keep up: counting 16 KiB
 * messages made a receiver ask for 312 more scavenges per 1.6 GB, and spend 30–50% more CPU
 * per message, to save 1–2 of its 3–4 mark-compacts.
 */
export const LARGE_BODY = PIECE

type MinorGc = (opts: { type: 'minor' }) => void

const intervals = new Map<object, number>()
/** Bytes between two scavenges; 0 = off. */
let every = 0
let taken = 0
let asked = 0
/** undefined: not looked up yet; null: not available (the assist stays off). */
let collect: MinorGc | null | undefined

/** The bytes a scavengeEvery value means (false: 0, off); ERR_BAD_ARGUMENT for anything else. */
export function scavengeEveryBytes(v: number | false): number {
  if (v === false) return 0
  if (!(Number.isInteger(v) && v >= 0 && v <= MAX_SCAVENGE_EVERY)) {
    throw new NetkernelError(
      'ERR_BAD_ARGUMENT',
      `scavengeEvery must be false or a number of bytes from 0 to ${MAX_SCAVENGE_EVERY}, got ${String(v)}`,
    )
  }
  return v
}

/** `owner` (a node) wants a scavenge every `bytes` of large bodies; 0 withdraws. */
export function setScavengeEvery(owner: object, bytes: number): void {
  if (bytes > 0) intervals.set(owner, bytes)
  else intervals.delete(owner)
  let min = 0
  for (const b of intervals.values()) if (min === 0 || b < min) min = b
  every = min
  if (every === 0) taken = 0
}

/** The interval in force in this process, bytes (0: off). */
export function scavengeInterval(): number {
  return every
}

/** Scavenges asked for in this process so far (for tests: nothing else reads it). */
export function scavengesAsked(): number {
  return asked
}

/** `bytes` of large message bodies were taken in: ask for a scavenge once the interval is full. */
export function largeBodyTaken(bytes: number): void {
  if (every === 0) return
  taken += bytes
  if (taken < every) return
  taken = 0
  if (collect === undefined) collect = minorGc()
  if (collect === null) return
  asked++
  collect({ type: 'minor' })
}

function minorGc(): MinorGc | null {
  // Started with --expose-gc: every new context has V8's gc (a global named gc may be the program's own).
  const exposed = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some(a => /^--expose[-_]gc$/.test(a))
  try {
    if (!exposed) setFlagsFromString('--expose-gc')
    try {
      const gc = runInNewContext('gc') as unknown
      return typeof gc === 'function' ? (gc as MinorGc) : null
    } finally {
      if (!exposed) setFlagsFromString('--no-expose-gc')
    }
  } catch {
    return null
  }
}
