// The README's TypeScript compiles as written: every ```ts block is a file of a scratch
// consumer project with the packed package installed, type-checked with
// `tsc --strict --noEmit --module nodenext`. A block that is a listing rather than a program
// (calls on a `node` or `proc` it does not declare) is marked ```ts fragment and skipped.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { consumerProject, packedTarball, ROOT, tsc } from './fixtures/packed.js'
import { tsBlocks, type Block } from './fixtures/readme-blocks.js'

// Packing, installing and type-checking take minutes on a loaded machine: lift the runner's
// per-file timeout (.taprc) for this file (the root t tells the runner).
t.setTimeout(600_000)

const blocks = tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'))
const programs = blocks.filter(b => !b.fragment)

t.test('most ts blocks are programs; fragments are marked', async t => {
  t.ok(blocks.length >= 8, `${blocks.length} ts blocks found`)
  t.ok(programs.length > blocks.length - programs.length, `${programs.length} checked, ${blocks.length - programs.length} marked fragment`)
})

t.test('each ts block of README.md type-checks under --strict against the packed package', async t => {
  const dir = await consumerProject(t, await packedTarball())
  const file = (b: Block): string => `readme-line-${b.line}.ts`
  for (const b of programs) writeFileSync(join(dir, file(b)), b.code)
  const { output } = await tsc(dir, programs.map(file))
  const diagnostics = output.split('\n').filter(Boolean)
  for (const b of programs) {
    const mine = diagnostics.filter(d => d.startsWith(`${file(b)}(`))
    t.same(
      mine,
      [],
      `README.md line ${b.line}: ${b.code
        .split('\n')
        .find(l => l.trim() && !l.startsWith('import'))
        ?.trim()}`,
    )
  }
  t.same(
    diagnostics.filter(d => !/^readme-line-\d+\.ts\(/.test(d)),
    [],
    "no diagnostics elsewhere (the package's own types)",
  )
})
