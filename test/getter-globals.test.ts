// The shipped code (lib/, transports/, auth/) imports Buffer, process and performance, never
// the globals: on Node 20 each global is a getter on globalThis, called at every use — ~15 ns
// on each decoded binary for Buffer (bench/README.md, "What an idle round trip allocates"), a
// call per flush for process.nextTick. eslint.config.js forbids the globals there; this runs
// that rule over every shipped file, so CI holds it (the test command does not run the whole
// lint), and proves the rule fires.
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { root, ruleMessages } from './fixtures/eslint-rule.js'

/** The messages the config's no-restricted-globals gives for `code` placed at `file`. */
async function globals(file: string, code: string): Promise<string[]> {
  return (await ruleMessages(file, 'no-restricted-globals', code)).map(m => `${file}:${m.line} ${m.message}`)
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.ts'))
    .map(f => relative(root, join(root, dir, f)))
}

/** Each global: a use of it, the same use with its import, and (where TypeScript has one) its type. */
const cases: { name: string; global: string; imported: string; type?: string }[] = [
  {
    name: 'Buffer',
    global: 'export const b = Buffer.alloc(1)\n',
    imported: "import { Buffer } from 'node:buffer'\nexport const b = Buffer.alloc(1)\n",
    type: 'export let b: Buffer | undefined\n',
  },
  {
    name: 'process',
    global: 'process.nextTick(() => {})\n',
    imported: "import process from 'node:process'\nprocess.nextTick(() => {})\n",
  },
  {
    name: 'performance',
    global: 'export const now = performance.now()\n',
    imported: "import { performance } from 'node:perf_hooks'\nexport const now = performance.now()\n",
    type: 'export let p: Performance | undefined\n',
  },
]

t.test('the rule fires on each global and is quiet on its import, in each shipped directory', async t => {
  for (const dir of ['lib/kernel', 'transports', 'auth']) {
    const file = `${dir}/snippet.ts`
    for (const c of cases) {
      t.equal((await globals(file, c.global)).length, 1, `${dir}: the global ${c.name}`)
      t.strictSame(await globals(file, c.imported), [], `${dir}: ${c.name} imported`)
      if (c.type !== undefined) t.strictSame(await globals(file, c.type), [], `${dir}: ${c.name}'s type`)
    }
  }
})

t.test('every shipped file uses the imported Buffer, process and performance', async t => {
  const files = ['lib', 'transports', 'auth'].flatMap(tsFiles)
  t.ok(files.length > 100, `${files.length} files`)
  const found: string[] = []
  for (const f of files) found.push(...(await globals(f, readFileSync(join(root, f), 'utf8'))))
  t.strictSame(found, [])
})
