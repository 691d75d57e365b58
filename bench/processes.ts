// Process runtime benchmarks (bench/README.md, "## Processes"):
//   1. spawn N processes that each wait in receive: wall time, and heap per idle process
//      (global.gc() before and after, so run with --expose-gc; without it the heap figure is
//      skipped);
//   2. local send/receive round-trips per second between two processes (ping-pong);
//   3. selective receive behind 10,000 skipped messages;
//   4. gen_server calls from a process with 0, 10,000 and 100,000 messages queued ahead of
//      the reply (a call looks only at what came after it: the three should match).
//
//   node --expose-gc --import tsx bench/processes.ts [N] [roundTrips]
import { Runtime } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import { asCall } from '../lib/process/gen-call.js'

const N = Number(process.argv[2] ?? 100_000)
const ROUND_TRIPS = Number(process.argv[3] ?? 1_000_000)
const gc = (globalThis as { gc?: () => void }).gc

function heap(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

async function idleProcesses(n: number, report: boolean): Promise<void> {
  const N = n
  const rt = new Runtime({ node: 'bench@localhost', creation: 1 })
  const before = heap()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    rt.spawn(async proc => {
      await proc.receive()
    })
  }
  await tick() // every process has started and is waiting in receive
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const after = heap()
  if (rt.processCount !== N) throw new Error(`expected ${N} live processes, got ${rt.processCount}`)
  if (!report) {
    rt.shutdown()
    await tick()
    return
  }
  console.log(`spawn ${N} idle processes (each waiting in receive): ${ms.toFixed(0)} ms (${((N / ms) * 1000).toFixed(0)} spawns/s)`)
  if (gc) console.log(`heap per idle process: ${((after - before) / N).toFixed(0)} bytes`)
  else console.log('heap per idle process: run with --expose-gc to measure')
  const t1 = process.hrtime.bigint()
  rt.shutdown()
  await tick()
  console.log(`shutdown of ${N} processes: ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0)} ms`)
}

async function pingPong(): Promise<void> {
  const rt = new Runtime({ node: 'bench@localhost', creation: 1 })
  let done!: () => void
  const finished = new Promise<void>(resolve => (done = resolve))
  const pong = rt.spawn(async proc => {
    for (;;) {
      const m = (await proc.receive()) as [Pid, number]
      proc.send(m[0], m[1])
    }
  })
  const t0 = process.hrtime.bigint()
  rt.spawn(async proc => {
    const msg: [Pid, number] = [proc.self, 0]
    for (let i = 0; i < ROUND_TRIPS; i++) {
      proc.send(pong, msg)
      await proc.receive()
    }
    done()
  })
  await finished
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  console.log(`local ping-pong: ${ROUND_TRIPS} round trips in ${(s * 1000).toFixed(0)} ms = ${(ROUND_TRIPS / s).toFixed(0)} round trips/s`)
  rt.shutdown()
}

async function selective(): Promise<void> {
  // Selective receive of the last message behind 10,000 non-matching ones, 1,000 times.
  const rt = new Runtime({ node: 'bench@localhost', creation: 1 })
  const K = 10_000
  const R = 1_000
  let done!: () => void
  const finished = new Promise<void>(resolve => (done = resolve))
  const pid = rt.spawn(async proc => {
    for (let i = 0; i < R; i++) await proc.receive(m => m === 'wanted')
    done()
  })
  for (let i = 0; i < K; i++) rt.send(pid, i)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < R; i++) rt.send(pid, 'wanted')
  await finished
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  console.log(`selective receive behind ${K} skipped messages: ${R} receives in ${ms.toFixed(0)} ms`)
  rt.shutdown()
}

async function callsBehind(backlog: number, report = true): Promise<void> {
  const rt = new Runtime({ node: 'bench@localhost', creation: 1 })
  const R = 1_000
  const server = rt.spawn(async proc => {
    for (;;) {
      const c = asCall(await proc.receive())
      if (c !== undefined) proc.reply(c.from, c.request)
    }
  })
  let done!: (ms: number) => void
  const finished = new Promise<number>(resolve => (done = resolve))
  rt.spawn(async proc => {
    for (let i = 0; i < backlog; i++) proc.send(proc.self, i)
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < R; i++) await proc.call(server, i)
    done(Number(process.hrtime.bigint() - t0) / 1e6)
  })
  const ms = await finished
  if (report) console.log(`gen_server calls with ${backlog} messages queued ahead: ${R} calls in ${ms.toFixed(1)} ms`)
  rt.shutdown()
}

console.log(`node ${process.version}, ${process.arch}`)
await idleProcesses(10_000, false) // warm-up: JIT the spawn and receive paths
await idleProcesses(N, true)
await pingPong()
await selective()
for (let i = 0; i < 5; i++) await callsBehind(0, false) // warm-up: JIT the call path
for (const backlog of [0, 10_000, 100_000]) await callsBehind(backlog)
