// `netkernel bench`'s own check of its options (benchArgsProblem, which bench/main.ts runs
// too): every scenario family --only names is accepted, alone and together, and --help lists them;
// --pin takes same or apart.
import t from 'tap'
import { BENCH_FAMILIES, BENCH_HELP, benchArgsProblem } from '../lib/cli/bench.js'

t.test('--only accepts each scenario family, and all of them at once', async t => {
  for (const family of ['tput', 'm2o', 'local', 'ping', 'call', 'hol', 'pg']) {
    t.ok(BENCH_FAMILIES.includes(family), `${family} is a family`)
    t.equal(benchArgsProblem([`--only=${family}`]), undefined, `--only=${family}`)
  }
  t.equal(benchArgsProblem([`--only=${BENCH_FAMILIES.join(',')}`, '--runs=1', '--no-tls']), undefined, 'all families')
  t.equal(benchArgsProblem(['--only=call,ping', '--no-tls', '--no-ssh', '--no-otp-nk', '--out=/tmp/x']), undefined, 'call beside ping')
  t.match(benchArgsProblem(['--only=calls']), /not a scenario family: calls/, 'a near miss is refused')
  t.match(BENCH_HELP, `--only=${BENCH_FAMILIES.join(',')}`, '--help lists every family')
})

t.test('--pin takes same or apart', async t => {
  t.equal(benchArgsProblem(['--pin=same', '--only=ping']), undefined, 'same')
  t.equal(benchArgsProblem(['--pin=apart']), undefined, 'apart')
  t.match(benchArgsProblem(['--pin=0,1']), /--pin=0,1: give same .* or apart/, 'anything else is refused')
  t.match(benchArgsProblem(['--pin']), /takes its value after '='/)
  t.match(BENCH_HELP, '--pin=same|apart', '--help lists it')
})
