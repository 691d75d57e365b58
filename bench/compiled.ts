// The bench's child processes run compiled JavaScript, as an application using the built
// package does, not TypeScript through tsx. A Node process that imports tsx carries ~3 MB more
// heap (its loader), and the garbage collections of its busy start-up set V8's old-generation
// limit high: a node receiving 2,000 messages of 1 MB over tls took 2 mark-compacts under tsx
// and 87–157 as plain JavaScript; over tcp its CPU per MB was 0.4 ms against 1.2 (bench/README.md,
// "Peers as compiled JavaScript"). Measured under tsx, the large-message figures were those
// of a process no user runs.
//
// compiled(entry) bundles one bench script (it and what it imports from the tree; the npm
// packages stay imports, tsup among them) into node_modules/.cache/, where those imports
// resolve as from the repository, and returns node's arguments to run it: the bundle's path.
// Once per entry and process; removed at exit. With NETKERNEL_BENCH_PEERS=tsx in the
// environment, the arguments run the script through tsx instead, as the bench did before
// (for comparisons).
import { rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = fileURLToPath(new URL('..', import.meta.url))
const outDir = join(root, 'node_modules', '.cache', `netkernel-bench-${process.pid}`)
const built = new Map<string, Promise<string>>()

export async function compiled(entry: string): Promise<string[]> {
  if (process.env.NETKERNEL_BENCH_PEERS === 'tsx') return ['--import', 'tsx', entry]
  return [await bundled(entry)]
}

function bundled(entry: string): Promise<string> {
  let p = built.get(entry)
  if (p === undefined) {
    if (built.size === 0) process.once('exit', () => rmSync(outDir, { recursive: true, force: true }))
    p = compile(entry)
    built.set(entry, p)
  }
  return p
}

async function compile(entry: string): Promise<string> {
  const name = basename(entry).replace(/\.ts$/, '')
  const pkg = createRequire(import.meta.url)('../package.json') as Record<
    'dependencies' | 'devDependencies',
    Record<string, string> | undefined
  >
  const { build } = await import('tsup')
  await build({
    config: false,
    entry: { [name]: entry },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    silent: true,
    external: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})],
  })
  return join(outDir, `${name}.js`)
}
