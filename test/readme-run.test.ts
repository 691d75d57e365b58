// The README's examples run as a newcomer runs them: every ```ts block whose fence says `run`
// is compiled with tsc against the packed package in a scratch project (as `npm i netkernel`
// gives it), run with node as its own OS process, and must end by itself (a node left
// running keeps a program alive) and print what its `console.log(...)   // value` comments
// say, in that order (other lines may come between: a listener's own logging).
//
// What a newcomer's machine has and the runner's must not be touched by: the programs' nodes
// use the default port mapper port, so ERL_EPMD_PORT points them at a port mapper this test
// starts on a free port (else the first would start a detached one on 4369, as erl does), and
// HOME is a scratch directory (the default cookie is ~/.erlang.cookie, created on first use).
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { consumerProject, packedTarball, ROOT, toolEnv, tsc } from './fixtures/packed.js'
import { expectedOutput, tsBlocks, type Block } from './fixtures/readme-blocks.js'
import { startEpmd } from '../lib/epmd/daemon.js'
import { shortHostname } from '../lib/node-name.js'

// Packing, installing and compiling take minutes on a loaded machine (see readme-types).
t.setTimeout(600_000)

const runnable = tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).filter(b => b.run)
const file = (b: Block): string => `readme-line-${b.line}`

/** `lines` holds `want` in order, each as a whole line. */
function inOrder(lines: string[], want: string[]): { ok: boolean; missing?: string } {
  let i = 0
  for (const w of want) {
    while (i < lines.length && lines[i] !== w) i++
    if (i === lines.length) return { ok: false, missing: w }
    i++
  }
  return { ok: true }
}

t.test('the runnable blocks are there and each says what it prints', async t => {
  t.ok(runnable.length >= 4, `${runnable.length} blocks marked run`)
  for (const b of runnable) {
    t.notOk(b.fragment, `line ${b.line}: a block that runs is a program`)
    t.ok(expectedOutput(b.code, 'h').length > 0, `line ${b.line}: its comments say what it prints`)
  }
  t.same(
    expectedOutput(
      "console.log(x)   // 'pong' — net_adm:ping\nconsole.log(a, b)  // 'error' 'negative'\nconsole.log(n)  // 2: one message\nconsole.log(z)\n",
      'vm',
    ),
    ['pong', 'error negative', '2'],
    'how a comment is read',
  )
})

t.test('each runnable block of README.md runs to its end and prints what its comments say', async t => {
  const dir = await consumerProject(t, await packedTarball())
  for (const b of runnable) writeFileSync(join(dir, `${file(b)}.ts`), b.code)
  const built = await tsc(
    dir,
    runnable.map(b => `${file(b)}.ts`),
    'out',
  )
  t.equal(built.output, '', 'tsc compiles them')

  const epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
  t.teardown(() => epmd.close())
  const home = mkdtempSync(join(tmpdir(), 'nk-readme-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const env = { ...toolEnv(), ERL_EPMD_PORT: String(epmd.port), HOME: home }

  for (const b of runnable) {
    const got = await new Promise<{ code: number | null; stdout: string; stderr: string }>(resolve => {
      execFile(
        process.execPath,
        [join('out', `${file(b)}.js`)],
        { cwd: dir, env, timeout: 30_000, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      )
    })
    const where = `README.md line ${b.line}`
    t.equal(got.code, 0, `${where}: ends by itself, exit code 0${got.stderr === '' ? '' : `\n${got.stderr}`}`)
    const want = expectedOutput(b.code, shortHostname())
    const lines = got.stdout.split('\n')
    const seen = inOrder(lines, want)
    t.ok(
      seen.ok,
      `${where}: prints ${JSON.stringify(want)} in order${seen.ok ? '' : ` — no line ${JSON.stringify(seen.missing)} where expected in:\n${got.stdout}`}`,
    )
  }
  for (const until = Date.now() + 5000; epmd.names().length > 0 && Date.now() < until;) await new Promise(r => setTimeout(r, 50))
  t.same(epmd.names(), [], "every program's nodes went from the port mapper")
})
