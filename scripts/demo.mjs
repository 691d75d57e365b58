// `npm run demo`: build netkernel into dist/ only when dist/ is missing or older than a
// source file (saying so: the build takes ~15-20 s), then run `netkernel demo` from dist/
// in this very process (so a Ctrl+C or a kill reaches the demo itself).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(root, 'dist', 'lib', 'cli', 'main.js')
const SOURCES = ['lib', 'transports', 'auth', 'package.json', 'tsconfig.json', 'tsup.config.ts']

/** The [oldest, newest] modification time of the files under `path` (a file or a folder). */
function mtimes(path) {
  const st = statSync(path)
  if (!st.isDirectory()) return [st.mtimeMs, st.mtimeMs]
  let range = [Infinity, -Infinity]
  for (const e of readdirSync(path)) {
    const [lo, hi] = mtimes(join(path, e))
    range = [Math.min(range[0], lo), Math.max(range[1], hi)]
  }
  return range
}

function stale() {
  if (!existsSync(entry)) return 'dist/ is missing: building netkernel (first run only, ~20 s)…'
  const built = mtimes(join(root, 'dist'))[0]
  const changed = Math.max(...SOURCES.filter(s => existsSync(join(root, s))).map(s => mtimes(join(root, s))[1]))
  return changed > built ? 'sources changed since the last build: building netkernel again (~20 s)…' : undefined
}

const why = stale()
if (why !== undefined) {
  process.stderr.write(`${why}\n`)
  const started = Date.now()
  const tsup = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsup.cmd' : 'tsup')
  const r = spawnSync(tsup, ['--silent'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (r.status !== 0) {
    process.stderr.write(`the build failed (${r.error?.message ?? `exit status ${r.status ?? r.signal}`}); try: npm run build\n`)
    process.exit(1)
  }
  process.stderr.write(`built in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`)
}
process.argv = [process.argv[0], entry, 'demo', ...process.argv.slice(2)]
await import(pathToFileURL(entry).href)
