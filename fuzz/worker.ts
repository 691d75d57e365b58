// One target's fuzz run in a worker thread, so that the main thread's watchdog can stop an
// input that never returns. Before each run the input is copied into shared memory, with a
// heartbeat counter: on a hang the main thread reads the guilty input from there.
import { parentPort, workerData } from 'node:worker_threads'
import { allTargets } from './targets/index.js'
import { runTarget } from './runner.js'
import { SHARED_BYTES, SHARED_HEADER, type WorkerJob } from './shared-input.js'

const job = workerData as WorkerJob
const header = new Int32Array(job.shared, 0, 4)
const bytes = new Uint8Array(job.shared, SHARED_HEADER)
const target = allTargets().find(t => t.name === job.target)!

const result = await runTarget(target, {
  ...job.options,
  onInput(input, variant) {
    const n = Math.min(input.length, SHARED_BYTES)
    bytes.set(input.subarray(0, n))
    header[1] = n
    header[2] = variant | 0
    Atomics.add(header, 0, 1)
  },
  progressEvery: 100_000,
  onProgress: done => parentPort!.postMessage({ type: 'progress', done }),
})
parentPort!.postMessage({ type: 'result', result })
