// Busy-waiting after distribution traffic, as the BEAM's schedulers do (+sbwt).
//
// An idle Node process sleeps in epoll_wait; the next message wakes it through the kernel's
// scheduler, which on an idle VM costs most of a round trip: ~80 µs for a plain Node socket
// pair here, against ~10 µs when both loops are already running (OTP, sleeping the same way
// between messages, takes the same ~80 µs; bench/README.md). Erlang's schedulers spin for a
// while before they sleep (+sbwt); here a node that asks for it keeps the event loop polling
// — a chain of setImmediate callbacks, with which libuv polls with a zero timeout — for
// `window` µs after the last frame it read or wrote; then the loop sleeps as usual. The cost is CPU: at most `window` µs of spinning per quiet spell, so
// a node receiving a message every window µs or more often keeps one core busy.
//
// The event loop is the process's (the thread's), so the window is too: the longest one any
// running node asked for. Only a bounded chain of callbacks is ever pending, and only within
// the window, so the process still exits when nothing else holds it.
import { performance } from 'node:perf_hooks'
import { NetkernelError } from '../errors.js'

/**
 * How long the event loop polls after a node's traffic (startNode's busyWait): OTP's names
 * for its busy-wait thresholds — 'none' (0), 'short' (50 µs), 'medium' (200 µs), 'long'
 * (1000 µs) — or µs from 0 to 100000.
 */
export type BusyWait = 'none' | 'short' | 'medium' | 'long' | number

/** The µs each named BusyWait means. */
export const BUSY_WAIT_PRESETS: Readonly<Record<Exclude<BusyWait, number>, number>> = { none: 0, short: 50, medium: 200, long: 1000 }

const windows = new Map<object, number>()
/** The window in ms (performance.now() units); 0 = off. */
let windowMs = 0
let last = 0
let spinning = false

function spin(): void {
  if (windowMs > 0 && performance.now() - last < windowMs) setImmediate(spin)
  else spinning = false
}

/** Distribution traffic just happened: keep polling for the window from now. */
export function busyWaitActivity(): void {
  if (windowMs === 0) return
  last = performance.now()
  if (!spinning) {
    spinning = true
    setImmediate(spin)
  }
}

/** The longest window a node may ask for, µs. */
export const MAX_BUSY_WAIT = 100_000

/** The µs a BusyWait value means; ERR_BAD_ARGUMENT for anything else. */
export function busyWaitMicros(v: BusyWait): number {
  const us = typeof v === 'number' ? v : Object.hasOwn(BUSY_WAIT_PRESETS, v) ? BUSY_WAIT_PRESETS[v] : NaN
  if (!(us >= 0 && us <= MAX_BUSY_WAIT)) {
    throw new NetkernelError(
      'ERR_BAD_ARGUMENT',
      `busyWait must be one of ${Object.keys(BUSY_WAIT_PRESETS).join(', ')} or a number of µs from 0 to ${MAX_BUSY_WAIT}, got ${String(v)}`,
    )
  }
  return us
}

/** `owner` (a node) wants the loop to spin for `us` µs after traffic; 0 withdraws. */
export function setBusyWait(owner: object, us: number): void {
  if (us > 0) windows.set(owner, us)
  else windows.delete(owner)
  let max = 0
  for (const w of windows.values()) if (w > max) max = w
  windowMs = max / 1000
}

/** The window in force in this process, µs (for stats and tests). */
export function busyWaitWindow(): number {
  return windowMs * 1000
}
