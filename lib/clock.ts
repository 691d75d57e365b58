// Injectable time: the kernel and the parts around it take their timers from a Clock, so
// tick and timeout tests can drive time instead of waiting for it.
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  setInterval(fn: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    t.unref()
    return t
  },
  clearInterval: h => clearInterval(h as NodeJS.Timeout),
}
