// The documentation a clone carries stays whole: the API reference (TypeDoc, `npm run docs`)
// covers every public entry point and builds without a warning — a broken {@link}, a public
// signature naming a type the package does not export — and every document a source comment
// cites is a file of the repository.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { import: { types: string } }>
}
const config = JSON.parse(readFileSync(join(ROOT, 'typedoc.json'), 'utf8')) as {
  entryPoints: string[]
  treatWarningsAsErrors?: boolean
  validation?: Record<string, boolean>
}

t.test('the API reference covers exactly the entry points of package.json "exports"', async t => {
  const sources = Object.values(manifest.exports)
    .flatMap(e => (typeof e === 'string' ? [] : [e.import.types]))
    .map(types => types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'))
  t.ok(sources.length >= 7, `${sources.length} entry points in "exports"`)
  t.same([...config.entryPoints].sort(), sources.sort())
  for (const s of sources) t.ok(existsSync(join(ROOT, s)), `${s} exists`)
})

// Type errors are tsc's to report (npm run typecheck); skipping TypeDoc's own check halves its time.
t.test('typedoc builds the reference without a warning', async t => {
  t.equal(config.treatWarningsAsErrors, true, 'warnings fail the build')
  t.equal(config.validation?.invalidLink, true, 'broken links are checked')
  t.equal(config.validation?.notExported, true, 'referenced but unexported types are checked')
  const bin = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc')
  const started = Date.now()
  const out = await run(process.execPath, [bin, '--emit', 'none', '--skipErrorChecking'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  })
    .then(r => ({ code: 0, text: r.stdout + r.stderr }))
    .catch((err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code ?? -1,
      text: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    }))
  t.equal(out.code, 0, `typedoc exits 0:\n${out.text}`)
  t.notMatch(out.text, /\[(warning|error)\]/, 'no warning or error')
  t.comment(`typedoc took ${Date.now() - started} ms`)
})

/** Every .ts/.mjs file under `dir` (node_modules and generated folders skipped). */
function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'corpus' || e.name === 'results') continue
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...sourceFiles(p))
    else if (/\.(ts|mjs)$/.test(e.name)) out.push(p)
  }
  return out
}

t.test('every document cited in the code is in the repository', async t => {
  // A path ending in .md that is not a property access (forge.md.sha256) or part of a
  // relative path the code builds (new URL('../README.md', ...) is checked by its own test).
  const cite = /(?<![\w./-])((?:[\w-]+\/)*[\w-]+\.md)\b(?![.\w])/g
  let count = 0
  const roots = readdirSync(ROOT)
    .filter(f => /\.(ts|mjs)$/.test(f))
    .map(f => join(ROOT, f))
  const dirs = ['lib', 'transports', 'auth', 'test', 'bench', 'fuzz', 'soak', 'scripts'].filter(d => existsSync(join(ROOT, d)))
  for (const file of [...roots, ...dirs.flatMap(d => sourceFiles(join(ROOT, d)))]) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(cite)) {
      count++
      const cited = m[1]!
      const line = text.slice(0, m.index).split('\n').length
      t.ok(existsSync(join(ROOT, cited)), `${relative(ROOT, file)}:${line} cites ${cited}, a file of the repository`)
    }
  }
  t.ok(count > 0, `${count} citations checked`)
})
