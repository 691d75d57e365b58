// The memory a fuzz worker shares with the main thread's watchdog, and the job it is given.
import type { RunOptions } from './runner.js'

export interface WorkerJob {
  target: string
  options: Omit<RunOptions, 'onInput' | 'onProgress'>
  shared: SharedArrayBuffer
}

/** Shared memory: [heartbeat, input length, variant, 0] as Int32, then up to SHARED_BYTES of input. */
export const SHARED_HEADER = 16
export const SHARED_BYTES = 64 * 1024
