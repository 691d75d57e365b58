// What `npm i netkernel` gives a user: `npm pack` from a clean clone (no dist/ yet) builds
// before packing and ships the build, the examples, README, the design documents (docs/*.md),
// CHANGELOG, LICENSE and package.json, and the README's links lead to files it ships;
// installed offline in a scratch project, every entry point of "exports" loads through ESM
// import and CJS require, and type-checks under `tsc --strict` with nothing installed besides
// netkernel, as does the shipped example authenticator; the compliance suites run under
// node:test, imported and required, against the package's own tcp() and cookie().
import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { promisify } from 'node:util'
import ts from 'typescript'
import { consumerProject, entryPoints, packedTarball, toolEnv, tsc } from './fixtures/packed.js'
import { isExternal, markdownLinks } from './fixtures/markdown-links.js'

const exec = promisify(execFile)

// Packing, installing and type-checking take minutes on a loaded machine: lift the runner's
// per-file timeout (.taprc) for this file (the root t tells the runner).
t.setTimeout(600_000)

const tarball = await packedTarball()
const list = (await exec('tar', ['-tzf', tarball])).stdout
  .split('\n')
  .filter(Boolean)
  .map(f => f.replace(/^package\//, ''))
const dir = await consumerProject(t, tarball)
const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', 'netkernel', 'package.json'), 'utf8'))
const entries = entryPoints(manifest)

t.test(
  'the tarball holds dist/, examples/, README.md, docs/*.md, CHANGELOG.md, LICENSE and package.json, and no tests or benchmarks',
  async t => {
    for (const f of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'docs/architecture.md',
      'docs/protocol.md',
      'LICENSE',
      'dist/lib/index.js',
      'dist/lib/index.cjs',
      'dist/lib/index.d.ts',
      'examples/signature-auth.ts',
    ]) {
      t.ok(list.includes(f), `ships ${f}`)
    }
    t.same(
      list.filter(f => !/^(dist\/|examples\/[^/]+\.ts$|docs\/[^/]+\.md$|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f)),
      [],
      'nothing else',
    )
    t.same(
      list.filter(f => /^(test|bench)\//.test(f) || /(^|\/)(test|bench)\//.test(f)),
      [],
      'no test/ or bench/ files',
    )
    t.match(
      readFileSync(join(dir, 'node_modules', 'netkernel', 'LICENSE'), 'utf8'),
      /MIT License[\s\S]*Copyright \(c\) 2026 the netkernel authors/,
    )
    // Every file package.json points at is in the tarball.
    const targets: string[] = []
    const walk = (v: unknown): void => {
      if (typeof v === 'string') targets.push(v.replace(/^\.\//, ''))
      else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk)
    }
    walk([manifest.main, manifest.module, manifest.types, manifest.bin, manifest.exports])
    for (const f of new Set(targets)) t.ok(list.includes(f), `${f} (named in package.json) is shipped`)
  },
)

t.test(
  'the links of the shipped README and docs lead to shipped files, but for the repository-only bench/ and CONTRIBUTING.md',
  async t => {
    // Someone reading the installed package's README (or an editor's preview of it) follows
    // its links inside the package. The benchmark and the contributors' guide stay in the
    // repository: the README names them as such.
    const repoOnly = /^(bench\/|CONTRIBUTING\.md$)/
    const root = join(dir, 'node_modules', 'netkernel')
    let count = 0
    for (const doc of list.filter(f => f.endsWith('.md'))) {
      for (const { target, line } of markdownLinks(readFileSync(join(root, doc), 'utf8'))) {
        if (isExternal(target)) continue
        const path = target.split('#')[0]!
        const file = path === '' ? doc : normalize(join(dirname(doc), decodeURIComponent(path)))
        if (repoOnly.test(file)) continue
        count++
        t.ok(list.includes(file) || list.some(f => f.startsWith(`${file}/`)), `${doc}:${line} → ${target} is in the package`)
      }
    }
    t.ok(count >= 30, `${count} links checked`)
  },
)

t.test('ESM import and CJS require of every entry point', async t => {
  t.ok(entries.length >= 9, `entry points: ${entries.join(', ')}`)
  const code = entries.filter(e => !e.endsWith('/package.json'))
  writeFileSync(
    join(dir, 'load.mjs'),
    [
      'const out = {}',
      ...code.map(e => `out[${JSON.stringify(e)}] = Object.keys(await import(${JSON.stringify(e)})).sort()`),
      `out['netkernel/package.json'] = Object.keys((await import('netkernel/package.json', { with: { type: 'json' } })).default)`,
      'console.log(JSON.stringify(out))',
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'load.cjs'),
    [
      'const out = {}',
      ...code.map(e => `out[${JSON.stringify(e)}] = Object.keys(require(${JSON.stringify(e)})).sort()`),
      `out['netkernel/package.json'] = Object.keys(require('netkernel/package.json'))`,
      'console.log(JSON.stringify(out))',
    ].join('\n'),
  )
  const run = async (file: string): Promise<Record<string, string[]>> =>
    JSON.parse((await exec(process.execPath, [file], { cwd: dir, env: toolEnv(), timeout: 30_000 })).stdout)
  const esm = await run('load.mjs')
  const cjs = await run('load.cjs')
  for (const e of entries) {
    t.ok(esm[e]?.length, `import ${e}: ${esm[e]?.slice(0, 6).join(', ')}`)
    t.ok(cjs[e]?.length, `require ${e}`)
    if (!e.endsWith('/package.json')) t.same(cjs[e], esm[e], `${e}: the same exports through require and import`)
  }
  for (const name of ['startNode', 'module', 'authenticator', 'Pid', 'NetkernelError'])
    t.ok(esm.netkernel?.includes(name), `netkernel exports ${name}`)
  t.same(
    esm['netkernel/compliance'],
    ['authenticatorCompliance', 'handshakeSession', 'kernelFaults', 'transportCompliance'],
    'netkernel/compliance: the suites, the session helper and its faults',
  )
})

t.test('tsc --strict --module nodenext of ESM and CJS files importing every entry point', async t => {
  const code = entries.filter(e => !e.endsWith('/package.json'))
  const ident = (i: number): string => `e${i}`
  writeFileSync(
    join(dir, 'entries.ts'),
    [
      ...code.map((e, i) => `import * as ${ident(i)} from ${JSON.stringify(e)}`),
      `export const all = [${code.map((_, i) => ident(i)).join(', ')}]`,
      "import { startNode, module, type Pid, type Node } from 'netkernel'",
      'const s = module({ send_node: (proc, to: Pid) => proc.send(to, proc.node) })',
      "export const started: Promise<Node> = startNode({ name: 'x', modules: { s } })",
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'entries.cts'),
    [
      ...code.map((e, i) => `import ${ident(i)} = require(${JSON.stringify(e)})`),
      `export const all = [${code.map((_, i) => ident(i)).join(', ')}]`,
      `export const start: typeof ${ident(0)}.startNode = ${ident(0)}.startNode`,
    ].join('\n'),
  )
  const { ok, output } = await tsc(dir, ['entries.ts', 'entries.cts'])
  t.equal(output, '', 'no diagnostics')
  t.ok(ok, 'tsc exits 0')
})

t.test('every value the declarations export exists at runtime, through import and require', async t => {
  // A class exported as a type only (`export type { C }`) came out of the declaration bundle as
  // a plain export of a declared class: `x instanceof C` compiled, then the import failed.
  const code = entries.filter(e => !e.endsWith('/package.json'))
  writeFileSync(join(dir, 'values.ts'), code.map((e, i) => `import * as v${i} from ${JSON.stringify(e)}`).join('\n'))
  const program = ts.createProgram([join(dir, 'values.ts')], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  })
  const checker = program.getTypeChecker()
  const values: Record<string, string[]> = {}
  for (const stmt of program.getSourceFile(join(dir, 'values.ts'))!.statements) {
    if (!ts.isImportDeclaration(stmt)) continue
    const entry = (stmt.moduleSpecifier as ts.StringLiteral).text
    const mod = checker.getSymbolAtLocation(stmt.moduleSpecifier)
    t.ok(mod, `${entry} has declarations`)
    if (mod === undefined) continue
    values[entry] = checker
      .getExportsOfModule(mod)
      .filter(s => {
        const target = (s.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(s) : s
        const typeOnly = s.declarations?.some(d => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly))
        return (target.flags & ts.SymbolFlags.Value) !== 0 && !typeOnly
      })
      .map(s => s.name)
  }
  const keys = (load: (e: string) => string): string =>
    [
      'const out = {}',
      ...code.map(e => `out[${JSON.stringify(e)}] = Object.keys(${load(JSON.stringify(e))})`),
      'console.log(JSON.stringify(out))',
    ].join('\n')
  writeFileSync(
    join(dir, 'keys.mjs'),
    keys(e => `await import(${e})`),
  )
  writeFileSync(
    join(dir, 'keys.cjs'),
    keys(e => `require(${e})`),
  )
  for (const file of ['keys.mjs', 'keys.cjs']) {
    const runtime = JSON.parse((await exec(process.execPath, [file], { cwd: dir, env: toolEnv(), timeout: 30_000 })).stdout) as Record<
      string,
      string[]
    >
    for (const e of code) {
      t.ok((values[e]?.length ?? 0) > 0, `${e}: its declarations export values`)
      t.same(
        (values[e] ?? []).filter(n => !runtime[e]!.includes(n)),
        [],
        `${file} ${e}: every value its declarations export is there`,
      )
    }
  }
})

t.test('the shipped example authenticator type-checks in a consumer project as it is', async t => {
  copyFileSync(join(dir, 'node_modules', 'netkernel', 'examples', 'signature-auth.ts'), join(dir, 'signature-auth.ts'))
  writeFileSync(
    join(dir, 'use-example.ts'),
    [
      "import { generateKeyPairSync } from 'node:crypto'",
      "import { startNode, type Authenticator } from 'netkernel'",
      "import { signatureAuth } from './signature-auth.js'",
      "const { privateKey, publicKey } = generateKeyPairSync('ed25519')",
      "const auth: Authenticator = signatureAuth({ privateKey, peers: { 'bar@host': publicKey } })",
      "export const started = startNode({ name: 'foo', auth })",
    ].join('\n'),
  )
  const { ok, output } = await tsc(dir, ['use-example.ts'])
  t.equal(output, '', 'no diagnostics')
  t.ok(ok, 'tsc exits 0')
})

t.test('a third party runs netkernel/compliance under node:test, through import and require', async t => {
  const suites = (load: (m: string) => string): string =>
    [
      `const { describe, it } = ${load('node:test')}`,
      `const { transportCompliance, authenticatorCompliance, handshakeSession, kernelFaults } = ${load('netkernel/compliance')}`,
      `const { tcp } = ${load('netkernel/transports/tcp')}`,
      `const { cookie } = ${load('netkernel/auth/cookie')}`,
      'const cookies = secret => ({ cookieFor: () => secret })',
      "describe('tcp', () => {",
      "  for (const c of transportCompliance({ name: 'tcp', setup: () => ({ transport: tcp(), host: '127.0.0.1' }) })) it(c.name, c.run)",
      '})',
      "describe('cookie', () => {",
      '  for (const c of authenticatorCompliance({ faults: kernelFaults, setup: () => ({ a: cookie(), b: cookie(),',
      "    good: () => handshakeSession({ name: 'a@h', cookies: cookies('S') }, { name: 'b@h', cookies: cookies('S') }),",
      "    bad: () => handshakeSession({ name: 'a@h', cookies: cookies('S') }, { name: 'b@h', cookies: cookies('T') }) }) })) it(c.name, c.run)",
      '})',
    ].join('\n')
  writeFileSync(
    join(dir, 'suites.mjs'),
    suites(m => `await import(${JSON.stringify(m)})`),
  )
  writeFileSync(
    join(dir, 'suites.cjs'),
    suites(m => `require(${JSON.stringify(m)})`),
  )
  for (const file of ['suites.mjs', 'suites.cjs']) {
    const run = await exec(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: dir, env: toolEnv(), timeout: 60_000 }).then(
      r => ({ code: 0, out: r.stdout }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? '' }),
    )
    const count = (what: string): number => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(run.out)?.[1] ?? -1)
    t.equal(run.code, 0, `${file}: node --test exits 0`, { found: run.out.split('\n').filter(l => /not ok/.test(l)) })
    t.equal(count('pass'), 15 + 23, `${file}: every case of both suites passes (the authenticator's with its channel contract cases)`)
    t.equal(count('fail'), 0, `${file}: none fails`)
  }
})
