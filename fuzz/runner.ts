// The fuzz loop for one target: seeds first, then mutations of the seed pool; the oracle
// (every input parses or throws a NetkernelError), a per-input time budget, a process RSS
// bound, de-duplicated findings with a cheaply minimized input.
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import vm from 'node:vm'
import { setImmediate as yieldLoop } from 'node:timers/promises'
import { Rng } from './rng.js'
import { mutate } from './mutate.js'
import { describeError, isAccepted, type FuzzTarget } from './target.js'

export interface RunOptions {
  iterations: number
  seed: number
  /** One input taking longer than this (ms) is a finding. */
  timeBudget?: number
  /** Process RSS above this many MB is a finding. */
  maxRssMb?: number
  /** Live heap growing more than this many MB between the first tenth of the run and its end is a finding. */
  maxHeapGrowthMb?: number
  /** Stop after this many distinct findings. */
  maxFindings?: number
  /** Called before each run of an input (the worker publishes it for the hang watchdog). */
  onInput?(input: Buffer, variant: number): void
  /** Progress, about every `progressEvery` inputs. */
  onProgress?(done: number): void
  progressEvery?: number
}

export interface Finding {
  target: string
  kind: 'error' | 'slow' | 'memory'
  /** Error class and message (or what was exceeded). */
  what: string
  stack?: string
  input: string
  variant: number
  minimized?: string
  /** How many inputs hit the same signature. */
  count: number
}

export interface RunResult {
  target: string
  inputs: number
  findings: Finding[]
  seconds: number
  perSecond: number
  peakRssMb: number
  /** Inputs the parser accepted (the rest were refused with a NetkernelError). */
  accepted: number
  /** Live heap growth (MB) from a tenth of the way through the run to its end. */
  heapGrowthMb: number
}

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Heap in use after a full collection: what the target really holds on to. */
function liveHeap(): number {
  gc()
  return process.memoryUsage().heapUsed
}

type Outcome = { ok: true } | { ok: false; kind: Finding['kind']; what: string; stack?: string; signature: string }

function topFrame(err: unknown): string {
  return err instanceof Error ? (err.stack?.split('\n').find(l => l.includes(' at ')) ?? '').trim() : ''
}

/** What makes two findings the same: the error's class and code, where it was thrown, and where its cause was. */
function signatureOf(err: unknown): string {
  if (!(err instanceof Error)) return describeError(err).slice(0, 80)
  const code = (err as { code?: unknown }).code
  const cause = err.cause instanceof Error ? ` <- ${err.cause.name} @ ${topFrame(err.cause)}` : ''
  return `${err.name}${code !== undefined ? ` ${String(code)}` : ''} @ ${topFrame(err)}${cause}`
}

function stackOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  const cause = err.cause instanceof Error ? `\ncaused by ${err.cause.stack ?? ''}` : ''
  return `${err.stack ?? ''}${cause}`
}

type Hook = ((input: Buffer, variant: number) => void) | undefined

async function attempt(
  target: FuzzTarget,
  input: Buffer,
  variant: number,
  budget: number,
  hook: Hook,
): Promise<{ outcome: Outcome; accepted: boolean; ms: number }> {
  hook?.(input, variant)
  const t0 = performance.now()
  let outcome: Outcome = { ok: true }
  let accepted = true
  try {
    const r = target.run(input, variant)
    if (r !== undefined) await r
  } catch (err) {
    accepted = false
    if (!isAccepted(err)) {
      outcome = { ok: false, kind: 'error', what: describeError(err), stack: stackOf(err), signature: signatureOf(err) }
    }
  }
  const ms = performance.now() - t0
  if (outcome.ok && ms > budget)
    outcome = { ok: false, kind: 'slow', what: `one input took ${ms.toFixed(0)} ms (budget ${budget} ms)`, signature: 'slow' }
  return { outcome, accepted, ms }
}

/** Delta-debugging lite: drop ranges while the same signature reproduces (at most `tries` runs). */
async function minimize(
  target: FuzzTarget,
  input: Buffer,
  variant: number,
  signature: string,
  budget: number,
  hook: Hook,
  tries: number,
): Promise<Buffer> {
  let best = input
  let step = Math.max(1, best.length >> 1)
  while (step >= 1 && tries > 0) {
    let shrunk = false
    for (let at = 0; at < best.length && tries > 0; at += step) {
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + step)])
      tries--
      const { outcome } = await attempt(target, candidate, variant, budget, hook)
      if (!outcome.ok && outcome.signature === signature) {
        best = candidate
        shrunk = true
        at -= step
      }
    }
    if (!shrunk) step >>= 1
  }
  return best
}

export async function runTarget(target: FuzzTarget, opts: RunOptions): Promise<RunResult> {
  const budget = opts.timeBudget ?? 200
  const maxRss = (opts.maxRssMb ?? 1536) * 1024 * 1024
  const maxFindings = opts.maxFindings ?? 10
  const rng = new Rng(opts.seed)
  const pool = target.seeds().filter(s => s.length > 0)
  if (pool.length === 0) pool.push(Buffer.alloc(1))
  const bySignature = new Map<string, Finding>()
  let peakRss = process.memoryUsage.rss()
  let accepted = 0
  const started = performance.now()
  const warm = Math.min(opts.iterations - 1, Math.max(pool.length, Math.floor(opts.iterations / 10)))
  let heapAtWarm = 0
  let i = 0
  for (; i < opts.iterations && bySignature.size < maxFindings; i++) {
    if (i === warm) heapAtWarm = liveHeap()
    const input = i < pool.length ? pool[i]! : mutate(rng.pick(pool), rng, pool)
    const variant = rng.u32()
    const r = await attempt(target, input, variant, budget, opts.onInput)
    if (r.accepted) accepted++
    let o = r.outcome
    // A slow input counts only if it is slow again (a GC pause or a busy machine is not a finding).
    if (!o.ok && o.kind === 'slow' && (await attempt(target, input, variant, budget, opts.onInput)).outcome.ok) o = { ok: true }
    if (!o.ok) {
      const seen = bySignature.get(o.signature)
      if (seen) seen.count++
      else {
        const min = await minimize(target, input, variant, o.signature, budget, opts.onInput, o.kind === 'slow' ? 10 : 400)
        bySignature.set(o.signature, {
          target: target.name,
          kind: o.kind,
          what: o.what,
          stack: o.stack,
          input: input.toString('hex'),
          variant,
          minimized: min.length < input.length ? min.toString('hex') : undefined,
          count: 1,
        })
      }
    }
    if ((i & 1023) === 1023) {
      const rss = process.memoryUsage.rss()
      if (rss > peakRss) peakRss = rss
      if (rss > maxRss && !bySignature.has('memory')) {
        bySignature.set('memory', {
          target: target.name,
          kind: 'memory',
          what: `RSS ${Math.round(rss / 1048576)} MB exceeds ${opts.maxRssMb ?? 1536} MB after ${i + 1} inputs (last input below)`,
          input: input.toString('hex'),
          variant,
          count: 1,
        })
      }
      await yieldLoop() // let timers, stream callbacks and processes run
    }
    if (opts.onProgress && opts.progressEvery && (i + 1) % opts.progressEvery === 0) opts.onProgress(i + 1)
  }
  const heapGrowthMb = Math.round((liveHeap() - heapAtWarm) / 1048576)
  if (heapAtWarm > 0 && heapGrowthMb > (opts.maxHeapGrowthMb ?? 64)) {
    bySignature.set('heap', {
      target: target.name,
      kind: 'memory',
      what: `live heap grew by ${heapGrowthMb} MB from input ${warm} to input ${i}`,
      input: '',
      variant: 0,
      count: 1,
    })
  }
  await target.close?.()
  const seconds = (performance.now() - started) / 1000
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  return {
    target: target.name,
    inputs: i,
    findings: [...bySignature.values()],
    seconds,
    perSecond: Math.round(i / Math.max(seconds, 1e-9)),
    peakRssMb: Math.round(peakRss / 1048576),
    accepted,
    heapGrowthMb,
  }
}
