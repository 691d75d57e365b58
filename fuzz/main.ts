// `npm run fuzz`: fuzzes every parser that reads a peer's bytes (see docs/robustness.md).
//
//   node --import tsx fuzz/main.ts [--iterations N] [--parser NAME[,NAME]] [--seed S]
//        [--budget MS] [--max-rss MB] [--max-heap-growth MB] [--hang MS] [--list]
//   node --import tsx fuzz/main.ts --parser NAME --repro HEX [--variant V]
//
// Each target runs in a worker thread; a watchdog stops one whose input does not return within
// --hang ms and reports that input. Exit status 1 when anything was found.
import { Worker } from 'node:worker_threads'
import { parseArgs } from 'node:util'
import { allTargets } from './targets/index.js'
import { describeError, isAccepted } from './target.js'
import { SHARED_BYTES, SHARED_HEADER, type WorkerJob } from './shared-input.js'
import type { Finding, RunResult } from './runner.js'

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '1000000' },
    parser: { type: 'string' },
    seed: { type: 'string', default: '1' },
    budget: { type: 'string', default: '200' },
    'max-rss': { type: 'string', default: '1536' },
    'max-heap-growth': { type: 'string', default: '64' },
    hang: { type: 'string', default: '10000' },
    repro: { type: 'string' },
    variant: { type: 'string', default: '0' },
    list: { type: 'boolean', default: false },
  },
})

const out = (s: string): void => {
  process.stdout.write(s + '\n')
}
const targets = allTargets()
if (values.list) {
  for (const t of targets) out(t.name)
  process.exit(0)
}
const wanted = values.parser?.split(',') ?? targets.map(t => t.name)
for (const w of wanted) {
  if (!targets.some(t => t.name === w)) {
    process.stderr.write(`unknown parser ${w}: one of ${targets.map(t => t.name).join(', ')}\n`)
    process.exit(2)
  }
}

if (values.repro !== undefined) {
  // Run one input in this thread and say how it ended.
  const target = targets.find(t => t.name === wanted[0])!
  const input = Buffer.from(values.repro, 'hex')
  try {
    await target.run(input, Number(values.variant) >>> 0)
    out(`${target.name}: parsed`)
  } catch (err) {
    out(`${target.name}: ${isAccepted(err) ? 'refused (fine)' : 'FINDING'}: ${describeError(err)}`)
    if (!isAccepted(err) && err instanceof Error) out(err.stack ?? '')
    process.exitCode = isAccepted(err) ? 0 : 1
  }
  await target.close?.()
  process.exit()
}

const options: WorkerJob['options'] = {
  iterations: Number(values.iterations),
  seed: Number(values.seed),
  timeBudget: Number(values.budget),
  maxRssMb: Number(values['max-rss']),
  maxHeapGrowthMb: Number(values['max-heap-growth']),
}
const hangMs = Number(values.hang)

function runInWorker(name: string): Promise<RunResult> {
  const shared = new SharedArrayBuffer(SHARED_HEADER + SHARED_BYTES)
  const header = new Int32Array(shared, 0, 4)
  // tsx's loader hooks do not reach a worker started from a .ts file: register them in it first.
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href)
  const boot = `import('tsx/esm/api').then(api => { api.register(); return import(${entry}) })`
  const worker = new Worker(boot, { eval: true, workerData: { target: name, options, shared } satisfies WorkerJob })
  const started = Date.now()
  return new Promise((resolve, reject) => {
    let beat = -1
    let since = Date.now()
    let done = 0
    const watchdog = setInterval(() => {
      const now = Atomics.load(header, 0)
      if (now !== beat) {
        beat = now
        since = Date.now()
        return
      }
      if (Date.now() - since < hangMs) return
      clearInterval(watchdog)
      const n = header[1]!
      const finding: Finding = {
        target: name,
        kind: 'slow',
        what: `an input did not return within ${hangMs} ms (hang)`,
        input: Buffer.from(new Uint8Array(shared, SHARED_HEADER, n)).toString('hex'),
        variant: header[2]! >>> 0,
        count: 1,
      }
      void worker.terminate()
      const seconds = (Date.now() - started) / 1000
      resolve({
        target: name,
        inputs: done,
        findings: [finding],
        seconds,
        perSecond: Math.round(done / seconds),
        peakRssMb: Math.round(process.memoryUsage.rss() / 1048576),
        accepted: 0,
        heapGrowthMb: 0,
      })
    }, 1000)
    worker.on('message', (m: { type: string; done?: number; result?: RunResult }) => {
      if (m.type === 'progress') {
        done = m.done!
        process.stderr.write(`  ${name}: ${done} inputs\n`)
      } else if (m.type === 'result') {
        clearInterval(watchdog)
        resolve(m.result!)
      }
    })
    worker.on('error', err => {
      clearInterval(watchdog)
      reject(err)
    })
  })
}

out(
  `fuzz: ${options.iterations} inputs per parser, seed ${options.seed}, budget ${options.timeBudget} ms per input, RSS cap ${options.maxRssMb} MB`,
)
const results: RunResult[] = []
for (const name of wanted) {
  const r = await runInWorker(name)
  results.push(r)
  out(
    `${r.target.padEnd(16)} inputs ${String(r.inputs).padStart(8)}  findings ${String(r.findings.length).padStart(2)}  ${String(r.perSecond).padStart(7)} inputs/s  ${r.seconds.toFixed(1).padStart(7)} s  peak RSS ${r.peakRssMb} MB  heap +${r.heapGrowthMb} MB  accepted ${((100 * r.accepted) / Math.max(1, r.inputs)).toFixed(1)}%`,
  )
  for (const f of r.findings) {
    out(`  FINDING [${f.kind}] x${f.count}: ${f.what}`)
    if (f.stack)
      out(
        f.stack
          .split('\n')
          .slice(0, 6)
          .map(l => `    ${l}`)
          .join('\n'),
      )
    out(`    input:     ${f.input.length > 600 ? f.input.slice(0, 600) + '…' : f.input}`)
    if (f.minimized !== undefined) out(`    minimized: ${f.minimized}`)
    out(
      `    reproduce: node --import tsx fuzz/main.ts --parser ${f.target} --variant ${f.variant} --repro ${f.minimized ?? (f.input.length > 600 ? '<input hex>' : f.input)}`,
    )
  }
}
const total = results.reduce((n, r) => n + r.findings.length, 0)
out(total === 0 ? 'no findings' : `${total} finding(s)`)
process.exit(total === 0 ? 0 : 1)
