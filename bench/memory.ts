// Memory under large messages (bench/README.md, "## Memory"): a node in its own OS process
// receives 1 GB as 1 MB messages over tcp, RUNS times in a row; after each run it reports the
// peak RSS it saw during the run (sampled at every message), its RSS after a GC, and the full
// collections (mark-compacts) V8 ran during the run and their pauses (and the sender's count).
// The sender respects backpressure (send() false → node.drain), so the receiver sees the
// socket's pace.
//
//   node --expose-gc --import tsx bench/memory.ts [--runs=10] [--mb=1024] [--size=1048576] [--cpu-prof=DIR]
//                                                 [--recv-flags=--initial-old-space-size=512]
//   (--cpu-prof: a V8 CPU profile of the receiving process, written to DIR; --recv-flags: Node/V8
//   flags for the receiving process, comma-separated)
//
// Bounded: the peaks stay flat from run to run (no growth) and far below the bytes received.
import { PerformanceObserver, constants as perf } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { Proc } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import { childNode, startPair } from './node-pair.js'

const argv = process.argv.slice(2)
const opt = (name: string, dflt: number): number => Number(argv.find(x => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt)
const MB = 1024 * 1024

interface RunReport {
  count: number
  ms: number
  peakRss: number
  rssAfterGc: number
  /** Full collections (mark-compacts) during the run, and their pauses in all, ms. */
  majorGcs: number
  majorGcMs: number
  ok: boolean
}

const gc = (globalThis as { gc?: () => void }).gc

/** Counts this process's full collections (mark-compacts) and their pauses since the last reset. */
function countMajorGcs(): { reset(): void; read(): { n: number; ms: number } } {
  let n = 0
  let ms = 0
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR) {
        n++
        ms += e.duration
      }
    }
  }).observe({ entryTypes: ['gc'] })
  return {
    reset: () => {
      n = 0
      ms = 0
    },
    read: () => ({ n, ms }),
  }
}

if (argv[0] === 'recv') {
  // ---- the receiving node (child process) ----
  const { node, ready } = await childNode(argv[1]!)
  const majors = countMajorGcs()
  const sink = node.spawn(async (proc: Proc) => {
    for (;;) {
      const [, from, count, size] = (await proc.receive()) as [string, Pid, number, number]
      majors.reset()
      const t0 = performance.now()
      let peak = process.memoryUsage.rss()
      let ok = true
      for (let i = 0; i < count; i++) {
        const m = await proc.receive()
        if (!Buffer.isBuffer(m) || m.length !== size) ok = false
        const rss = process.memoryUsage.rss()
        if (rss > peak) peak = rss
      }
      const ms = performance.now() - t0
      const { n: majorGcs, ms: majorGcMs } = majors.read()
      gc?.()
      const report: RunReport = { count, ms, peakRss: peak, rssAfterGc: process.memoryUsage.rss(), majorGcs, majorGcMs, ok }
      proc.send(from, ['done', report])
    }
  })
  node.register('sink', sink)
  ready()
} else {
  // ---- the driver and sender ----
  const RUNS = opt('runs', 10)
  const SIZE = opt('size', MB)
  const COUNT = Math.round((opt('mb', 1024) * MB) / SIZE)
  const profDir = argv.find(x => x.startsWith('--cpu-prof='))?.slice(11)
  const prof = profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`]
  const recvFlags = (argv.find(x => x.startsWith('--recv-flags='))?.slice(13) ?? '').split(',').filter(Boolean)
  const { node, target, close } = await startPair(fileURLToPath(import.meta.url), `nkmem${process.pid}`, [
    ...recvFlags,
    ...prof,
    '--expose-gc',
  ])
  try {
    const payload = Buffer.alloc(SIZE, 0x78)
    const reports: RunReport[] = []
    const rssMb = (x: number): string => (x / MB).toFixed(0)
    console.log(
      `memory: ${RUNS} runs of ${COUNT} × ${SIZE} B to a node in another process (tcp, loopback), Node ${process.version}` +
        (recvFlags.length > 0 ? `, receiver: node ${recvFlags.join(' ')}` : ''),
    )
    console.log('run  MB/s  peak RSS MB  RSS after GC MB  mark-compacts  their pauses ms  sender mark-compacts')
    const senderMajors = countMajorGcs()
    for (let run = 1; run <= RUNS; run++) {
      senderMajors.reset()
      const r = await new Promise<RunReport>((resolve, reject) => {
        node.spawn(async (proc: Proc) => {
          try {
            const sink: [string, string] = ['sink', target]
            proc.send(sink, ['start', proc.self, COUNT, SIZE])
            for (let i = 0; i < COUNT; i++) if (!proc.send(sink, payload)) await node.drain(target)
            const [, rep] = (await proc.receive(undefined, { timeout: 600_000 })) as [string, RunReport]
            resolve(rep)
          } catch (err) {
            reject(err as Error)
          }
        })
      })
      if (!r.ok || r.count !== COUNT) throw new Error(`run ${run}: received damaged or missing messages`)
      reports.push(r)
      console.log(
        `${String(run).padStart(3)}  ${String(Math.round((COUNT * SIZE) / MB / (r.ms / 1000))).padStart(4)}  ${rssMb(r.peakRss).padStart(11)}  ${rssMb(r.rssAfterGc).padStart(15)}` +
          `  ${String(r.majorGcs).padStart(13)}  ${r.majorGcMs.toFixed(0).padStart(15)}  ${String(senderMajors.read().n).padStart(20)}`,
      )
    }
    const peaks = reports.map(r => r.peakRss)
    const firstHalf = Math.max(...peaks.slice(0, Math.ceil(RUNS / 2)))
    const secondHalf = Math.max(...peaks.slice(Math.ceil(RUNS / 2)))
    console.log(
      `peak RSS over all runs: ${rssMb(Math.max(...peaks))} MB; max of the first half ${rssMb(firstHalf)} MB, of the second half ${rssMb(secondHalf)} MB` +
        `; RSS after GC: run 1 ${rssMb(reports[0]!.rssAfterGc)} MB, run ${RUNS} ${rssMb(reports[RUNS - 1]!.rssAfterGc)} MB`,
    )
  } finally {
    await close()
  }
}
