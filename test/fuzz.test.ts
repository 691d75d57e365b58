// The CI slice of the fuzzer (npm run fuzz runs 1,000,000 inputs per parser): every target,
// a few thousand inputs each, fixed seed, no findings. See docs/robustness.md.
import t from 'tap'
import { allTargets } from '../fuzz/targets/index.js'
import { runTarget } from '../fuzz/runner.js'

const SLICE: Record<string, number> = { handshake: 3000, connection: 3000 }

for (const target of allTargets()) {
  t.test(`fuzz ${target.name}: no findings`, async t => {
    const r = await runTarget(target, { iterations: SLICE[target.name] ?? 5000, seed: 20240601, timeBudget: 1000 })
    t.equal(r.inputs, SLICE[target.name] ?? 5000, 'ran every input')
    t.same(
      r.findings.map(f => `[${f.kind}] ${f.what} input ${f.minimized ?? f.input} variant ${f.variant}`),
      [],
      'no findings',
    )
  })
}
