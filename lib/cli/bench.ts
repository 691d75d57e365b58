// `netkernel bench`: runs the side-by-side benchmark (bench/main.ts) from a source checkout,
// passing the arguments through. The benchmark is development tooling: it needs the
// repository's bench/ folder and its dev dependencies (tsx, and tsup to compile the peers), and erl for the OTP columns.
// Its options are checked here (benchArgsProblem, which bench/main.ts uses too), so that a
// mistyped one is a usage error before anything starts.
import process from 'node:process'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { usageError } from './usage.js'

export const BENCH_HELP = `usage: netkernel bench [--quick] [--runs=R] [--only=tput,m2o,local,ping,call,hol,pg] [--sizes=10,100,...]
                       [--counts=SIZE:N,...] [--no-otp] [--no-otp-nk] [--no-tls] [--no-ssh]
                       [--cpu-prof=DIR] [--peer-flags=FLAGS] [--pin=same|apart] [--out=DIR]

Throughput (10 B .. 1 MB), ping-pong and gen_server call latency, many-to-one and head-of-line
blocking between nodes in separate OS processes over tcp, tls and ssh, beside a raw socket
pipe, the bare codec loop and Erlang/OTP (default, +zdbbl 32768, inet_tls) when erl is
installed. Results go to bench/results/ (JSON and SVG; a --quick run's to
bench/results/quick/, ignored by git). Options take their value after '=' (--runs=3). See
bench/README.md.
`

const FLAGS = ['quick', 'no-otp', 'no-otp-nk', 'no-tls', 'no-ssh']
export const BENCH_FAMILIES = ['tput', 'm2o', 'local', 'ping', 'call', 'hol', 'pg']
export const BENCH_SIZES = [10, 100, 1024, 65536, 1048576]

/** Checks of the options that take a value: undefined when `value` is fine, else what is wrong. */
const VALUED: Record<string, (value: string) => string | undefined> = {
  runs: v => (/^[1-9]\d*$/.test(v) ? undefined : `--runs=${v}: give a positive whole number of rounds`),
  only: v => {
    const bad = v.split(',').filter(f => !BENCH_FAMILIES.includes(f))
    return bad.length === 0 ? undefined : `--only=${v}: not a scenario family: ${bad.join(', ')} (${BENCH_FAMILIES.join(', ')})`
  },
  sizes: v => {
    const bad = v.split(',').filter(x => !BENCH_SIZES.includes(Number(x)))
    return bad.length === 0 ? undefined : `--sizes=${v}: not a payload size: ${bad.join(', ')} (${BENCH_SIZES.join(', ')})`
  },
  counts: v => {
    const bad = v.split(',').filter(pair => {
      const m = /^(\d+):(\d+)$/.exec(pair)
      return m === null || !BENCH_SIZES.includes(Number(m[1])) || Number(m[2]) < 2
    })
    return bad.length === 0
      ? undefined
      : `--counts=${v}: give SIZE:N with SIZE one of ${BENCH_SIZES.join(', ')} and N ≥ 2 (not ${bad.join(', ')})`
  },
  'cpu-prof': v => (v === '' ? '--cpu-prof=DIR: give a directory' : undefined),
  out: v => (v === '' ? '--out=DIR: give a directory' : undefined),
  'peer-flags': () => undefined,
  pin: v =>
    v === 'same' || v === 'apart' ? undefined : `--pin=${v}: give same (both sides on CPU 0) or apart (receiver on CPU 0, sender on CPU 1)`,
}

/** What is wrong with the benchmark's arguments, or undefined when nothing is. */
export function benchArgsProblem(argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg)
    const name = m?.[1]
    if (m === null || name === undefined) return `unexpected argument '${arg}'`
    const value = m[2]
    if (FLAGS.includes(name)) {
      if (value !== undefined) return `--${name} takes no value`
      continue
    }
    const check = VALUED[name]
    if (check === undefined) return `unknown option '--${name}'`
    if (value === undefined) return `--${name} takes its value after '=' (--${name}=VALUE)`
    const problem = check(value)
    if (problem !== undefined) return problem
  }
  return undefined
}

function findBench(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'bench', 'main.ts')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  return undefined
}

export async function benchMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(BENCH_HELP)
    return 0
  }
  const problem = benchArgsProblem(argv)
  if (problem !== undefined) return usageError('bench', problem)
  const main = findBench()
  if (main === undefined) {
    process.stderr.write('netkernel bench runs from a source checkout of netkernel (git clone, npm ci, npm run bench)\n')
    return 1
  }
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...argv], { stdio: 'inherit' })
  return new Promise(resolve => child.once('exit', code => resolve(code ?? 1)))
}
