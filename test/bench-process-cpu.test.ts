// The bench's CPU accounting (bench/process-cpu.ts, cpuNsOf): read from outside an OS process,
// it counts what every thread of it spent — as the process's own getrusage does — so that a
// Node peer and an Erlang VM are charged alike; it is undefined for a process that is gone.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import t from 'tap'
import { cpuNsOf } from '../bench/process-cpu.js'

// A child whose worker thread spins when told to, until the process has spent 250 ms of CPU
// (or 5 s have passed, on a machine too busy to give it that), then stays alive (blocked), and
// prints the CPU time (user + system, ns) the whole process spent meanwhile by its own count.
const CHILD = String.raw`
const { Worker } = require('node:worker_threads')
const lines = require('node:readline').createInterface({ input: process.stdin })
console.log('ready')
lines.once('line', () => {
  const c0 = process.cpuUsage()
  const w = new Worker(
    "const { parentPort } = require('node:worker_threads');" +
      'const c0 = process.cpuUsage(); const t = Date.now();' +
      'for (;;) { const c = process.cpuUsage(c0); if (c.user + c.system >= 250000 || Date.now() - t > 5000) break }' +
      "parentPort.postMessage('spun'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)",
    { eval: true },
  )
  w.once('message', () => {
    const c = process.cpuUsage(c0)
    console.log(String((c.user + c.system) * 1000))
  })
})
`

t.test('counts every thread of a running process, as its own getrusage does', async t => {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  t.equal((await lines.next()).value, 'ready')
  const before = cpuNsOf(child.pid)
  child.stdin.write('go\n')
  const own = Number((await lines.next()).value) // the process's count of what it spent since 'go'
  const after = cpuNsOf(child.pid)
  t.type(before, 'number')
  t.type(after, 'number')
  const measured = after! - before!
  t.ok(own >= 100e6, `the worker spun (${(own / 1e6).toFixed(0)} ms of CPU by the process's own count)`)
  // The two clocks differ by what the process did between the readings and its own (the worker's
  // start-up, the line read, the printing): tens of ms at most.
  t.ok(Math.abs(measured - own) <= 0.2 * own + 30e6, `read from outside: ${(measured / 1e6).toFixed(0)} ms`)
})

t.test('is undefined for a process that has ended, and for no process', async t => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  t.equal(cpuNsOf(child.pid), undefined)
  t.equal(cpuNsOf(undefined), undefined)
})
