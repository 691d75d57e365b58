// `netkernel bench`: runs the side-by-side benchmark (bench/main.ts) from a source checkout,
// passing the arguments through. The benchmark is development tooling: it needs the
// repository's bench/ folder and its dev dependencies (tsx, and tsup to compile the peers), and erl for the OTP columns.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

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
  const main = findBench()
  if (main === undefined) {
    process.stderr.write('netkernel bench runs from a source checkout of netkernel (git clone, npm ci, npm run bench)\n')
    return 1
  }
  if (argv.includes('--help')) {
    process.stdout
      .write(`usage: netkernel bench [--quick] [--runs=R] [--no-otp] [--no-tls] [--no-ssh] [--only=tput,m2o,local,ping,hol] [--sizes=...] [--cpu-prof=DIR] [--out=DIR]

Throughput (10 B .. 1 MB), ping-pong latency, many-to-one and head-of-line blocking between
nodes in separate OS processes over tcp, tls and ssh, beside a raw socket pipe, the bare
codec loop and Erlang/OTP (default, +zdbbl 32768, inet_tls) when erl is installed. Results
go to bench/results/ (JSON and SVG; a --quick run's to bench/results/quick/, ignored by
git). See bench/README.md.
`)
    return 0
  }
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...argv], { stdio: 'inherit' })
  return new Promise(resolve => child.once('exit', code => resolve(code ?? 1)))
}
