// What the head-of-line ping waits for (bench/README.md, "Latest full runs"): a node streams
// 1 MB messages to a node in another OS process (honouring backpressure) while another process
// pings an echo on that node over the same connection; both processes record their garbage
// collections (PerformanceObserver), and the slowest 1% of the pings are matched against them:
// how many overlapped a collection in the sender, in the receiver, in neither.
//
//   node --import tsx bench/hol-gc.ts [--messages=3000] [--runs=2] [--recv-flags=--initial-old-space-size=512]
//   (--recv-flags: Node/V8 flags for the receiving process, comma-separated)
import { PerformanceObserver, constants as perf } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { Pid } from '../lib/terms/pid.js'
import { childNode, registerEcho, startPair } from './node-pair.js'

const argv = process.argv.slice(2)
const opt = (name: string, dflt: number): number => Number(argv.find(x => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt)

/** [start, duration, kind] of each collection, start in epoch ms (comparable across processes). */
type Gc = [number, number, number]

function recordGcs(): Gc[] {
  const gcs: Gc[] = []
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      gcs.push([
        e.startTime + performance.timeOrigin,
        e.duration,
        (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0,
      ])
    }
  }).observe({ entryTypes: ['gc'] })
  return gcs
}

const gcs = recordGcs()

if (argv[0] === 'recv') {
  // ---- the receiving node (child process): an echo, a sink, and its GC record on request ----
  const { node, ready } = await childNode(argv[1]!)
  registerEcho(node)
  node.register(
    'sink',
    node.spawn(async proc => {
      for (;;) {
        const m = await proc.receive()
        if (Array.isArray(m) && m[0] === 'gcs') {
          proc.send(m[1] as Pid, ['gcs', gcs.splice(0)])
        }
      }
    }),
  )
  ready()
} else {
  // ---- the driver: the streaming and pinging node ----
  const MESSAGES = opt('messages', 3000)
  const RUNS = opt('runs', 2)
  const recvFlags = (argv.find(x => x.startsWith('--recv-flags='))?.slice(13) ?? '').split(',').filter(Boolean)
  const { node, target, close } = await startPair(fileURLToPath(import.meta.url), `nkhol${process.pid}`, recvFlags)
  try {
    console.log(
      `head-of-line and GC: ${MESSAGES} × 1 MB to a node in another process while pinging it (tcp, loopback), Node ${process.version}` +
        (recvFlags.length > 0 ? `, receiver: node ${recvFlags.join(' ')}` : ''),
    )
    console.log('run  pings  p50 µs  p99 µs  receiver mark-compacts  slowest 1%: in a receiver GC  in a sender GC  in neither')
    const big = Buffer.alloc(1 << 20, 0x78)
    const small = Buffer.alloc(10)
    for (let run = 1; run <= RUNS; run++) {
      gcs.length = 0
      let streaming = true
      const pings: [number, number][] = []
      const stream = new Promise<void>((resolve, reject) => {
        node.spawn(async proc => {
          try {
            for (let i = 0; i < MESSAGES; i++) if (!proc.send(['sink', target], big)) await node.drain(target)
            resolve()
          } catch (err) {
            reject(err as Error)
          } finally {
            streaming = false
          }
        })
      })
      const pinger = new Promise<void>((resolve, reject) => {
        node.spawn(async proc => {
          try {
            while (streaming) {
              const t0 = performance.now()
              proc.send(['echo', target], [proc.self, small])
              await proc.receive(undefined, { timeout: 60_000 })
              pings.push([t0 + performance.timeOrigin, (performance.now() - t0) * 1000])
            }
            resolve()
          } catch (err) {
            reject(err as Error)
          }
        })
      })
      await Promise.all([stream, pinger])
      const theirs = await new Promise<Gc[]>((resolve, reject) => {
        node.spawn(async proc => {
          try {
            proc.send(['sink', target], ['gcs', proc.self])
            resolve(((await proc.receive(undefined, { timeout: 60_000 })) as [string, Gc[]])[1])
          } catch (err) {
            reject(err as Error)
          }
        })
      })
      const sorted = pings.map(p => p[1]).sort((a, b) => a - b)
      const p99 = sorted[Math.floor(sorted.length * 0.99)]!
      const overlaps = (list: Gc[], t0: number, us: number): boolean => list.some(([s, d]) => s < t0 + us / 1000 && s + d > t0)
      let inRecv = 0
      let inSend = 0
      let neither = 0
      const slow = pings.filter(p => p[1] >= p99)
      for (const [t0, us] of slow) {
        const r = overlaps(theirs, t0, us)
        const s = overlaps(gcs, t0, us)
        if (r) inRecv++
        if (s) inSend++
        if (!r && !s) neither++
      }
      const majors = theirs.filter(g => g[2] === perf.NODE_PERFORMANCE_GC_MAJOR).length
      console.log(
        `${String(run).padStart(3)}  ${String(pings.length).padStart(5)}  ${sorted[sorted.length >> 1]!.toFixed(0).padStart(6)}  ${p99.toFixed(0).padStart(6)}` +
          `  ${String(majors).padStart(22)}  ${`${inRecv} of ${slow.length}`.padStart(29)}  ${String(inSend).padStart(14)}  ${String(neither).padStart(10)}`,
      )
    }
  } finally {
    await close()
  }
}
