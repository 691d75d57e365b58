// The shipped code (lib/, transports/, auth/) uses Buffer imported from node:buffer, never the
// global: on Node 20 the global is a getter on globalThis, called at every use — ~15 ns on each
// decoded binary (bench/README.md, "What an idle round trip allocates"). eslint.config.js
// forbids the global there; this runs that rule over every shipped file, so CI holds it (the
// test command does not run the whole lint), and proves the rule fires.
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

t.test('the rule fires on the global and is quiet on the import, in each shipped directory', async t => {
  for (const dir of ['lib/kernel', 'transports', 'auth']) {
    const file = `${dir}/snippet.ts`
    t.equal((await globals(file, 'export const b = Buffer.alloc(1)\n')).length, 1, `${dir}: the global`)
    t.strictSame(await globals(file, "import { Buffer } from 'node:buffer'\nexport const b = Buffer.alloc(1)\n"), [], `${dir}: imported`)
    t.strictSame(await globals(file, 'export let b: Buffer | undefined\n'), [], `${dir}: as a type only`)
  }
})

t.test('every shipped file uses the imported Buffer', async t => {
  const files = ['lib', 'transports', 'auth'].flatMap(tsFiles)
  t.ok(files.length > 100, `${files.length} files`)
  const found: string[] = []
  for (const f of files) found.push(...(await globals(f, readFileSync(join(root, f), 'utf8'))))
  t.strictSame(found, [])
})
