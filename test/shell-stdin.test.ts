// `netkernel shell` whose input is not a terminal, as in `netkernel shell ... < script`,
// `< /dev/null` or `cmd | netkernel shell ...`: it runs the lines, stops the node gracefully
// at the end of the input and exits 0; SIGTERM or SIGINT stop it the same way; erl's
// trailing dot (`flush().`) is accepted.
import t from 'tap'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { full, nextEvent, testEpmd, testNode } from './fixtures/cluster.js'
import { startCli } from './fixtures/cli-process.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A temp HOME: the shell keeps its default history file (~/.netkernel_history) there. */
function home(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-shell-stdin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function readFd(t: Teardown, path: string): number {
  const fd = openSync(path, 'r')
  t.teardown(() => closeSync(fd))
  return fd
}

t.test('< /dev/null: the shell stops and exits 0 at once (with its default history file)', async t => {
  const epmd = await testEpmd(t)
  const sh = startCli(t, ['shell', '--sname', 'nul', '--cookie', 'c', '--epmd-port', String(epmd.port)], {
    stdin: readFd(t, '/dev/null'),
    env: { HOME: home(t) },
  })
  const started = Date.now()
  t.equal(await sh.exited(8000), 0, 'exit status 0')
  t.ok(Date.now() - started < 8000, `it exited within ${Date.now() - started} ms`)
  t.match(sh.stdout(), /netkernel shell: node nul@/)
})

t.test("< script: each line runs and prints; `flush().` keeps erl's dot; the node stops gracefully at the end", async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'sbar' })
  const dir = home(t)
  const script = join(dir, 'script.txt')
  writeFileSync(
    script,
    [
      'S = self()',
      `spawn('${bar.name}', 's', 'send_node', [S]).`,
      'receive(5000).',
      "send(S, 'later').",
      'flush().',
      '[1,',
      '2].',
      'node()',
      '',
    ].join('\n'),
  )
  const down = nextEvent<[string, { reason: string }]>(bar, 'nodedown', n => n === full('piped'))
  const sh = startCli(t, ['shell', '--sname', 'piped', '--cookie', 'test-cookie', '--epmd-port', String(epmd.port)], {
    stdin: readFd(t, script),
    env: { HOME: dir },
  })
  t.equal(await sh.exited(), 0, 'exit status 0 at the end of the script')
  const out = sh.stdout()
  t.match(out, new RegExp(`> <${esc(bar.name)}\\.\\d+\\.\\d+>\\n`), 'spawn(...). printed the pid')
  t.match(out, new RegExp(`> '${esc(bar.name)}'\\n`), 'receive(5000). printed the message')
  t.match(out, /> 'later'\n/, 'send(...). printed the message sent')
  t.match(out, /> Shell got 'later'\nok\n/, 'flush(). flushed, and the next line ran on its own')
  t.match(out, /> (\.\.\. )?\[1, 2\]\n/, 'an expression over two lines, ended by a dot')
  t.match(out, new RegExp(`> '${esc(full('piped'))}'\\n`), 'node()')
  t.notMatch(out, /exception/, 'no line failed')
  t.equal((await down)[1].reason, 'connection_closed', "bar saw the shell's node go down")
})

t.test('a pipe still open: SIGTERM and SIGINT stop the node gracefully and exit 0 promptly', async t => {
  const epmd = await testEpmd(t)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const name = `sig${signal.slice(3).toLowerCase()}`
    const sh = startCli(t, ['shell', '--sname', name, '--cookie', 'c', '--epmd-port', String(epmd.port)], { env: { HOME: home(t) } })
    sh.child.stdin.write('1 + 1\n')
    await sh.waitFor('stdout', /> 2\n/)
    const started = Date.now()
    sh.child.kill(signal)
    t.equal(await sh.exited(5000), 0, `${signal}: exit status 0`)
    t.ok(Date.now() - started < 5000, `${signal}: it exited within ${Date.now() - started} ms`)
  }
})
