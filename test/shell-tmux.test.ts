// `netkernel shell` driven through a pseudo-terminal (tmux), as a person types: the seed's
// Erlang shell transcripts, written in JavaScript, against a peer node 'bar'.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { full, inProcess, nextEvent, testEpmd, testNode } from './fixtures/cluster.js'
import { startShell, tmuxSkip } from './fixtures/shell-tmux.js'
import { waitFor } from './fixtures/epmd-real.js'

const skip = tmuxSkip()
if (skip) t.comment(`skipping the shell's terminal tests: ${skip}`)

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-shell-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('the seed transcript, the echo server, nodes(), prompt, .help, completion, history, q()', { skip }, async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const dir = tempDir(t)
  const history = join(dir, 'history')
  const foo = full('foo')
  const sh = await startShell(t, ['--sname', 'foo', '--cookie', 'test-cookie', '--epmd-port', String(epmd.port), '--history', history])
  const P = (n: number): string => esc(`(${foo})${n}>`)

  await sh.waitFor(new RegExp(`${P(1)}$`))
  t.pass("the prompt is erl's: (foo@host)1>")

  // 1. Remote spawn: s:send_node(Self) runs on bar and sends back its node name.
  await sh.line('S = self()')
  const [, self] = await sh.waitFor(new RegExp(`S = self\\(\\)\\n(<${esc(foo)}\\.\\d+\\.\\d+>)\\n${P(2)}`))
  await sh.line(`spawn('${bar.name}', 's', 'send_node', [S])`)
  await sh.waitFor(new RegExp(`\\n<${esc(bar.name)}\\.\\d+\\.\\d+>\\n${P(3)}`))
  t.pass('spawn(...) printed the Pid the promise resolved to')
  let n = 3
  for (;;) {
    // the message may arrive just after the spawn reply: flush again, as one would
    await sh.line('flush()')
    n++
    await sh.waitFor(new RegExp(`${P(n)}$`))
    if ((await sh.screen()).includes(`Shell got '${bar.name}'`)) break
    if (n > 20) t.fail('no message from send_node')
  }
  t.pass(`flush() printed Shell got '${bar.name}'`)

  // 2. The echo server registered as server on bar.
  await sh.line(`spawn('${bar.name}', 's', 'server', [])`)
  await sh.waitFor(new RegExp(`${P(++n)}$`))
  await sh.line(`send(['server', '${bar.name}'], ['hi', self()])`)
  await sh.waitFor(new RegExp(`\\n\\['hi', ${esc(self as string)}\\]\\n${P(++n)}$`))
  for (;;) {
    await sh.line('flush()')
    await sh.waitFor(new RegExp(`${P(++n)}$`))
    if ((await sh.screen()).includes(`Shell got 'hi'`)) break
    if (n > 40) t.fail('no echo')
  }
  t.pass("the echo server answered: Shell got 'hi'")

  await sh.line('nodes()')
  await sh.waitFor(new RegExp(`nodes\\(\\)\\n\\['${esc(bar.name)}'\\]\\n${P(++n)}$`))
  await sh.line("nodes('hidden')")
  await sh.waitFor(new RegExp(`nodes\\('hidden'\\)\\n\\[\\]\\n${P(++n)}$`))
  await sh.line('node()')
  await sh.waitFor(new RegExp(`node\\(\\)\\n'${esc(foo)}'\\n${P(++n)}$`))
  await sh.line('x = await receive(50)')
  await sh.waitFor(new RegExp(`\\*\\* exception error: ERR_RECEIVE_TIMEOUT: .*\\n${P(++n)}$`))
  t.pass('top-level await works; an exception is reported as erl does')

  // The counter grows by one per evaluated line, and only then.
  await sh.line('')
  await sh.line('[1,')
  await sh.line("'two']")
  await sh.waitFor(new RegExp(`\\n\\[1, 'two'\\]\\n${P(++n)}$`))
  const numbers = [...(await sh.screen()).matchAll(new RegExp(`^${esc(`(${foo})`)}(\\d+)>`, 'gm'))].map(m => Number(m[1]))
  t.same(
    [...new Set(numbers)],
    Array.from({ length: n }, (_, i) => i + 1),
    'prompts 1, 2, 3, ... (an empty line or an unfinished expression keeps the number)',
  )

  await sh.line('.help')
  const help = await sh.waitFor(/REPL commands:[\s\S]*\.exit[\s\S]*Ctrl\+D[^\n]*\n/)
  const screen = await sh.screen()
  for (const f of [
    'self()',
    'spawn(node, mod, fun, args)',
    'flush()',
    'send(dest, msg)',
    'receive(match?, timeout?)',
    'nodes()',
    'net_kernel.connect_node(node)',
    'q() / halt()',
  ]) {
    t.ok(screen.includes(f), `.help lists ${f}`)
  }
  t.ok(help, '.help lists the REPL commands')

  await sh.keys(['flu'], true)
  await sh.keys(['Tab'])
  await sh.waitFor(new RegExp(`${P(n)} flush$`))
  t.pass('Tab completes flu to flush')
  await sh.keys(['C-u'])
  await sh.keys(['net_kernel.connect_n'], true)
  await sh.keys(['Tab'])
  await sh.waitFor(new RegExp(`${P(n)} net_kernel\\.connect_node$`))
  await sh.keys([`('${bar.name}')`], true)
  await sh.keys(['Enter'])
  await sh.waitFor(new RegExp(`\\ntrue\\n${P(++n)}$`))
  t.pass('Tab completes inside net_kernel; connect_node answers true')

  const down = nextEvent(bar, 'nodedown', node => node === foo)
  await sh.line('q()')
  t.equal(await sh.exitStatus(), 0, 'q() leaves with status 0')
  await down
  t.pass('bar saw foo go down')
  const lines = readFileSync(history, 'utf8').split('\n')
  for (const l of ['S = self()', 'nodes()', 'q()']) t.ok(lines.includes(l), `history file has ${l}`)
})

t.test('Ctrl+C stops a wait; a killed shell process is replaced; Ctrl+D stops the node', { skip }, async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = full('foo3')
  const sh = await startShell(t, ['--sname', 'foo3', '--cookie', 'test-cookie', '--epmd-port', String(epmd.port), '--history', ''])
  const P = (n: number): string => esc(`(${foo})${n}>`)
  await sh.waitFor(new RegExp(`${P(1)}$`))

  await sh.line('receive()')
  await sh.keys(['1+1'], true) // typed while waiting: kept for later
  await sh.rawMode()
  await sh.keys(['C-c'])
  await sh.waitFor(new RegExp(`ERR_ABORTED: interrupted \\(Ctrl\\+C\\)\\n${P(2)} 1\\+1$`))
  await sh.keys(['Enter'])
  await sh.waitFor(new RegExp(`\\n2\\n${P(3)}$`))
  t.pass('Ctrl+C stopped receive(); the keys typed meanwhile were kept')

  await sh.line('await receive()')
  await sh.waitFor(new RegExp(`${P(3)} await receive\\(\\)$`))
  await sh.rawMode() // the line's code has run: now it waits, and Ctrl+C is a key
  await sh.keys(['C-c'])
  await sh.waitFor(new RegExp(`exception error: .*interrupted.*\\n${P(4)}$`))
  await sh.line('send(self(), 42); await receive(100)')
  await sh.waitFor(new RegExp(`\\n42\\n${P(5)}$`))
  t.pass('Ctrl+C stopped a top-level await receive(); the mailbox works after it')

  // Ctrl+C at once, while the line's code still runs (the terminal is out of raw mode then, so
  // it is a real SIGINT): the code is interrupted, and the shell survives it again and again.
  for (let n = 5; n < 8; n++) {
    await sh.line('for (let i = 0; i < 3e8; i++); await receive()')
    await sh.keys(['C-c'])
    await sh.waitFor(new RegExp(`exception error: .*interrupted.*\\n${P(n + 1)}$`))
  }
  t.pass('Ctrl+C while a line runs: interrupted three times, the shell still there')
  await sh.line('send(self(), 43); await receive(100)')
  await sh.waitFor(new RegExp(`\\n43\\n${P(9)}$`))

  await sh.line('S = self()')
  const [, old] = await sh.waitFor(/S = self\(\)\n(<\S+>)\n/)
  await sh.line("exit(self(), 'kill')")
  await sh.waitFor(/\*\* exception exit: 'killed'/)
  await sh.waitFor(new RegExp(`shell process ${esc(old as string)} exited \\('killed'\\); self\\(\\) is now <`))
  await sh.line('self()')
  const [, now] = await sh.waitFor(new RegExp(`${P(11)} self\\(\\)\\n(<\\S+>)\\n`))
  t.not(now, old, 'a new shell process took over')

  await sh.line(`net_kernel.connect_node('${bar.name}')`)
  await sh.waitFor(new RegExp(`${P(12)} net_kernel.connect_node\\('${esc(bar.name)}'\\)\\ntrue\\n`))
  await sh.line(`monitor_node('${bar.name}')`)
  await sh.waitFor(new RegExp(`${P(13)} monitor_node\\('${esc(bar.name)}'\\)\\ntrue\\n`))
  await sh.line(`disconnect_node('${bar.name}')`)
  await sh.waitFor(new RegExp(`${P(14)} disconnect_node\\('${esc(bar.name)}'\\)\\ntrue\\n`))
  for (let n = 15; ; n++) {
    await sh.line('flush()')
    await sh.waitFor(new RegExp(`${P(n + 1)}$`))
    if ((await sh.screen()).includes(`Shell got ['nodedown', '${bar.name}']`)) break
    if (n > 34) t.fail('no nodedown message')
  }
  t.pass("monitor_node: the shell got ['nodedown', bar] after disconnect_node")

  // The ping connects again, unless bar's 'global' has: its locker may still be meeting foo3
  // (for the connect above) at the disconnect, and its lock_set then reconnects, as OTP's would.
  await sh.line(`net_adm.ping('${bar.name}')`)
  await sh.waitFor(/net_adm\.ping\('[^']+'\)\n'pong'\n/)
  await waitFor(() => bar.nodes().includes(foo), 10_000, `${foo} in the nodes() of ${bar.name}`)
  const down = nextEvent(bar, 'nodedown', node => node === foo)
  await sh.keys(['C-d'])
  t.equal(await sh.exitStatus(), 0, 'Ctrl+D leaves with status 0')
  await down
  t.pass('bar saw foo3 go down')
})

t.test("--module: a file's exported modules are spawnable on the shell's node", { skip }, async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const dir = tempDir(t)
  writeFileSync(
    join(dir, 'greet.mjs'),
    [
      "export const greeter = { hello: (proc, to) => proc.send(to, ['hello from', proc.node]) }",
      'export const notAModule = 42',
      'export default { counter: { count: (proc, to, n) => proc.send(to, n + 1) } }',
    ].join('\n'),
  )
  const foo = full('foo2')
  const sh = await startShell(
    t,
    ['--sname', 'foo2', '--cookie', 'test-cookie', '--epmd-port', String(epmd.port), '--history', '', '--module', './greet.mjs'],
    { cwd: dir },
  )
  await sh.waitFor(new RegExp(`modules counter, frequency, greeter, s\\b[\\s\\S]*${esc(`(${foo})1>`)}$`))

  const got = await inProcess(bar, async proc => {
    await proc.spawn(foo, 'greeter', 'hello', [proc.self])
    const a = await proc.receive(undefined, { timeout: 10_000 })
    await proc.spawn(foo, 'counter', 'count', [proc.self, 41])
    const b = await proc.receive(undefined, { timeout: 10_000 })
    return [a, b]
  })
  t.same(got, [['hello from', foo], 42], 'bar spawned greeter.hello and counter.count on foo2')

  await sh.line("spawn('greeter', 'hello', [self()])")
  await sh.waitFor(new RegExp(`\\n<${esc(foo)}\\.\\d+\\.\\d+>\\n`))
  await sh.line('receive(5000)')
  await sh.waitFor(new RegExp(`\\n\\['hello from', '${esc(foo)}'\\]\\n`))
  t.pass("spawn(mod, fun, args) runs the loaded module on the shell's own node")
  await sh.line('.exit')
  t.equal(await sh.exitStatus(), 0, '.exit leaves with status 0')
})
