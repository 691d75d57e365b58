// Top self-time functions of V8 CPU profiles (`node --cpu-prof`, e.g. bench/main.ts --cpu-prof=DIR).
//   node --import tsx bench/cpu-top.ts DIR_OR_FILE... [--top=20]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const args = process.argv.slice(2)
const top = Number(args.find(a => a.startsWith('--top='))?.slice(6) ?? 20)
const files = args
  .filter(a => !a.startsWith('--'))
  .flatMap(p =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter(f => f.endsWith('.cpuprofile'))
          .map(f => join(p, f))
      : [p],
  )

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(prof.nodes.map(n => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0
    total += dt
    const f = byId.get(id)!.callFrame
    const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(lib|transports|bench|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
    const key = `${f.functionName || '(anonymous)'}${where}`
    self.set(key, (self.get(key) ?? 0) + dt)
  })
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled`)
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
}
