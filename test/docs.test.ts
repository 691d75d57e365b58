// The documentation a clone carries stays whole: the API reference (TypeDoc, `npm run docs`)
// covers every public entry point and builds without a warning — a broken {@link}, a public
// signature naming a type the package does not export — every document a source comment
// cites is a file of the repository, and the README's Command line section names every
// option the commands' --help texts show.
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

// The README's "Command line" section against the commands' own --help: every option a help
// text prints is in the section, and every option a help text defines (an option line, or
// `[--flag` in its usage) is in that command's synopsis there — the transport options through
// "[TRANSPORT OPTIONS]" and their table, --help through "Each command has `--help`".
const COMMANDS = ['shell', 'node', 'top', 'epmd', 'certs', 'demo', 'bench']

/** The README's section `## title`, up to the next `## ` heading. */
function readmeSection(title: string): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const start = text.indexOf(`\n## ${title}\n`)
  if (start < 0) throw new Error(`README.md has no section '## ${title}'`)
  const end = text.indexOf('\n## ', start + 1)
  return text.slice(start, end < 0 ? undefined : end)
}

/** The synopsis lines of `cmd` in the section's first code block: its `netkernel cmd` lines and their indented continuations. */
function synopsis(section: string, cmd: string): string {
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  const out: string[] = []
  let mine = false
  for (const line of block.split('\n')) {
    if (line.startsWith('netkernel ')) mine = line.split(/\s+/)[1] === cmd
    if (mine) out.push(line)
  }
  return out.join('\n')
}

const hasFlag = (text: string, flag: string): boolean => new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(text)

async function help(cmd: string | undefined): Promise<string> {
  const main = join(ROOT, 'lib', 'cli', 'main.ts')
  const { stdout } = await run(process.execPath, ['--import', 'tsx', main, ...(cmd === undefined ? [] : [cmd]), '--help'], { cwd: ROOT })
  return stdout
}

t.test("README's Command line section lists every option the commands' --help shows", async t => {
  const section = readmeSection('Command line')
  const transportTable = section.slice(section.indexOf('### Transport options'))
  t.ok(transportTable.length > 0, 'the section has its Transport options table')
  const { transportArgs } = await import('../lib/cli/transport-options.js')
  const transportFlags = new Set(Object.keys(transportArgs).map(k => `--${k}`))
  const texts = await Promise.all([undefined, ...COMMANDS].map(help))
  let checked = 0
  texts.forEach((text, i) => {
    const cmd = i === 0 ? undefined : COMMANDS[i - 1]!
    const name = cmd === undefined ? 'netkernel --help' : `netkernel ${cmd} --help`
    t.match(text, /^usage: /i, `${name} prints its usage`)
    const printed = new Set(text.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [])
    for (const flag of printed) {
      checked++
      t.ok(hasFlag(section, flag), `${name} prints ${flag}: the README's Command line section names it`)
    }
    if (cmd === undefined) return
    const defined = new Set([...text.matchAll(/^ {2,4}(--[a-z][a-z0-9-]*)|\[(--[a-z][a-z0-9-]*)/gm)].map(m => (m[1] ?? m[2])!))
    const mine = synopsis(section, cmd)
    t.ok(mine !== '', `the README's synopsis has netkernel ${cmd}`)
    for (const flag of defined) {
      if (flag === '--help') t.match(section, 'Each command has `--help`', `${name}: --help`)
      else if (transportFlags.has(flag)) {
        t.ok(
          mine.includes('[TRANSPORT OPTIONS]') && hasFlag(transportTable, flag),
          `netkernel ${cmd} ${flag}: a transport option, in the table`,
        )
      } else t.ok(hasFlag(mine, flag), `netkernel ${cmd} ${flag}: in its synopsis`)
    }
  })
  t.ok(checked > 50, `${checked} options checked`)
})
