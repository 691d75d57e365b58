// How much CPU an OS process of the bench has spent: bench/main.ts charges each run's two
// processes (Measure.sides) with what they spent during it.
import { readdirSync, readFileSync } from 'node:fs'

/**
 * The CPU time, ns, that a running OS process has spent so far: the sum of its threads' time on a
 * CPU, user and system (/proc/PID/task/TID/schedstat, Linux). Read from outside, so that a Node
 * peer and an Erlang VM are counted alike, with every thread (V8's and libuv's; the VM's
 * schedulers, their busy-waiting, its poll thread). A thread that has ended is no longer
 * counted (the processes measured keep theirs). Undefined where /proc cannot tell.
 */
export function cpuNsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    let ns = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // the thread has ended meanwhile
      }
    }
    return Number.isFinite(ns) ? ns : undefined
  } catch {
    return undefined
  }
}
