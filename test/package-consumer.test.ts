// What `npm i netkernel` gives a user: `npm pack` from a clean clone (no dist/ yet) builds
// before packing and ships the build, README, LICENSE and package.json; installed offline in a
// scratch project, every entry point of "exports" loads through ESM import and CJS require,
// and type-checks under `tsc --strict` with nothing installed besides netkernel.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { consumerProject, entryPoints, packedTarball, toolEnv, tsc } from './fixtures/packed.js'

const exec = promisify(execFile)

const tarball = await packedTarball()
const list = (await exec('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean).map(f => f.replace(/^package\//, ''))
const dir = await consumerProject(t, tarball)
const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', 'netkernel', 'package.json'), 'utf8'))
const entries = entryPoints(manifest)

t.test('the tarball holds dist/, README.md, LICENSE and package.json, and no tests or benchmarks', async t => {
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/lib/index.js', 'dist/lib/index.cjs', 'dist/lib/index.d.ts']) {
    t.ok(list.includes(f), `ships ${f}`)
  }
  t.same(list.filter(f => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(f)), [], 'nothing else')
  t.same(list.filter(f => /^(test|bench)\//.test(f) || /(^|\/)(test|bench)\//.test(f)), [], 'no test/ or bench/ files')
  t.match(readFileSync(join(dir, 'node_modules', 'netkernel', 'LICENSE'), 'utf8'), /MIT License[\s\S]*Copyright \(c\) 2026 the netkernel authors/)
  // Every file package.json points at is in the tarball.
  const targets: string[] = []
  const walk = (v: unknown): void => {
    if (typeof v === 'string') targets.push(v.replace(/^\.\//, ''))
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk([manifest.main, manifest.module, manifest.types, manifest.bin, manifest.exports])
  for (const f of new Set(targets)) t.ok(list.includes(f), `${f} (named in package.json) is shipped`)
})

t.test('ESM import and CJS require of every entry point', async t => {
  t.ok(entries.length >= 8, `entry points: ${entries.join(', ')}`)
  const code = entries.filter(e => !e.endsWith('/package.json'))
  writeFileSync(join(dir, 'load.mjs'), [
    'const out = {}',
    ...code.map(e => `out[${JSON.stringify(e)}] = Object.keys(await import(${JSON.stringify(e)})).sort()`),
    `out['netkernel/package.json'] = Object.keys((await import('netkernel/package.json', { with: { type: 'json' } })).default)`,
    'console.log(JSON.stringify(out))',
  ].join('\n'))
  writeFileSync(join(dir, 'load.cjs'), [
    'const out = {}',
    ...code.map(e => `out[${JSON.stringify(e)}] = Object.keys(require(${JSON.stringify(e)})).sort()`),
    `out['netkernel/package.json'] = Object.keys(require('netkernel/package.json'))`,
    'console.log(JSON.stringify(out))',
  ].join('\n'))
  const run = async (file: string): Promise<Record<string, string[]>> =>
    JSON.parse((await exec(process.execPath, [file], { cwd: dir, env: toolEnv(), timeout: 30_000 })).stdout)
  const esm = await run('load.mjs')
  const cjs = await run('load.cjs')
  for (const e of entries) {
    t.ok(esm[e]?.length, `import ${e}: ${esm[e]?.slice(0, 6).join(', ')}`)
    t.ok(cjs[e]?.length, `require ${e}`)
    if (!e.endsWith('/package.json')) t.same(cjs[e], esm[e], `${e}: the same exports through require and import`)
  }
  for (const name of ['startNode', 'module', 'authenticator', 'Pid', 'NetkernelError']) t.ok(esm.netkernel?.includes(name), `netkernel exports ${name}`)
})

t.test('tsc --strict --module nodenext of ESM and CJS files importing every entry point', async t => {
  const code = entries.filter(e => !e.endsWith('/package.json'))
  const ident = (i: number): string => `e${i}`
  writeFileSync(join(dir, 'entries.ts'), [
    ...code.map((e, i) => `import * as ${ident(i)} from ${JSON.stringify(e)}`),
    `export const all = [${code.map((_, i) => ident(i)).join(', ')}]`,
    "import { startNode, module, type Pid, type Node } from 'netkernel'",
    'const s = module({ send_node: (proc, to: Pid) => proc.send(to, proc.node) })',
    "export const started: Promise<Node> = startNode({ name: 'x', modules: { s } })",
  ].join('\n'))
  writeFileSync(join(dir, 'entries.cts'), [
    ...code.map((e, i) => `import ${ident(i)} = require(${JSON.stringify(e)})`),
    `export const all = [${code.map((_, i) => ident(i)).join(', ')}]`,
    `export const start: typeof ${ident(0)}.startNode = ${ident(0)}.startNode`,
  ].join('\n'))
  const { ok, output } = await tsc(dir, ['entries.ts', 'entries.cts'])
  t.equal(output, '', 'no diagnostics')
  t.ok(ok, 'tsc exits 0')
})
