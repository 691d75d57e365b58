// `netkernel shell --erlang` beside a real erl node: the seed's transcripts with Erlang on
// the other side. erl sends to a name registered in the netkernel shell and both sides
// flush; the shell spawns the seed's s module (compiled from Erlang) on erl; rpc:call both
// ways. The shell runs as its own OS process, its input a pipe, as `netkernel shell < script`.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { full, testEpmd } from './fixtures/cluster.js'
import { startCli, shellDriver as driver } from './fixtures/cli-process.js'
import { erlangSkip, need, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl } from './fixtures/erl.js'
import { startNode } from '../lib/node.js'
import { Atom, atom } from '../lib/terms/atom.js'
import { Tuple, tuple } from '../lib/terms/tuple.js'
import { Pid } from '../lib/terms/pid.js'
import { ShellProcess } from '../lib/cli/shell-process.js'
import { shellContext } from '../lib/cli/shell-context.js'
import { erlFormat } from '../lib/cli/shell-format.js'
import { seedModules } from '../lib/cli/seed-modules.js'

const run = promisify(execFile)
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

interface Teardown {
  teardown(fn: () => unknown): void
}

const erlSkip = erlangSkip('epmd', 'erl')

function tempDir(t: Teardown, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test("the shell functions with --erlang: names are atoms, atoms are names, flush() prints erl's way", async t => {
  const node = await startNode({ name: 'ctx@localhost', cookie: 'c', epmd: false, listen: false, modules: seedModules })
  t.teardown(() => node.stop())
  const shell = await ShellProcess.start(node)
  t.teardown(() => shell.stop())
  const printed: string[] = []
  const c = shellContext(
    node,
    shell,
    { print: l => void printed.push(l), signal: () => undefined, quit: () => {} },
    { erlang: true, format: erlFormat },
  ) as Record<string, any>
  t.equal(c.node(), atom('ctx@localhost'), 'node() is an atom')
  t.same(c.nodes('connected'), [])
  t.equal(c.atom('ok'), atom('ok'))
  t.ok(c.tuple(1, 2) instanceof Tuple)
  const S = c.self() as Pid
  t.equal(c.register(atom('srv'), S), true, 'register takes an atom')
  t.equal(c.whereis(atom('srv')), S)
  t.ok(
    (c.registered() as unknown[]).some(n => n === atom('srv')),
    'registered() lists atoms',
  )
  c.send([atom('srv'), atom('ctx@localhost')], tuple(atom('hi'), S))
  c.send(atom('srv'), 'text')
  await c.flush()
  t.same(printed.splice(0), [`Shell got {hi,${S.toString()}}`, 'Shell got <<"text">>'], 'flush() prints as erl')
  const p = (await c.spawn(atom('ctx@localhost'), atom('s'), atom('send_node'), [S])) as Pid
  t.ok(p instanceof Pid, 'spawn takes atoms for node, module and function')
  t.equal(await c.receive(5000), 'ctx@localhost')
  t.equal(await c.net_adm.ping(atom('nowhere@localhost')), atom('pang'), 'ping answers an atom')
  t.equal(c.unregister(atom('srv')), true)
  await t.rejects(
    Promise.resolve().then(() => c.rpc.call('x@localhost', 5, 'f', [])),
    { code: 'ERR_BAD_ARGUMENT' },
  )
  t.type(atom('x'), Atom)
})

t.test('--help documents --erlang (shell and node)', async t => {
  for (const cmd of ['shell', 'node']) {
    const sh = startCli(t, [cmd, '--help'])
    t.equal(await sh.exited(), 0)
    t.match(sh.stdout(), /--erlang\s+also speak Erlang\/OTP's distribution protocol/, `netkernel ${cmd} --help`)
  }
})

t.test('--erlang: results print as erl prints them; names come back as atoms', async t => {
  const epmd = await testEpmd(t)
  const sh = startCli(t, ['shell', '--sname', 'erlfmt', '--erlang', '--cookie', 'c', '--epmd-port', String(epmd.port), '--history', ''], {
    env: { HOME: tempDir(t, 'nk-shell-erl-') },
  })
  const d = driver(sh)
  await sh.waitFor('stdout', /Erlang\/OTP distribution too/)
  await d.line("tuple(atom('hi'), 'text', [1, 2.5], new ImproperList([atom('a')], atom('b')))", /> \{hi,<<"text">>,\[1,2\.5\],\[a\|b\]\}\n/)
  await d.line('node()', new RegExp(`> ${esc(full('erlfmt'))}\\n`))
  await d.line("new Map([[atom('b'), 1], [atom('a'), Buffer.from([1, 2])]])", /> #\{a => <<1,2>>,b => 1\}\n/)
  await d.line("send(self(), tuple(atom('x'), 1.0e6)); flush()", /> Shell got \{x,1000000\}\nok\n/)
  await d.line("exit(self(), 'kill')", /\*\* exception exit: killed\n/)
  await sh.waitFor('stdout', /exited \(killed\); self\(\) is now </)
  sh.child.stdin.end()
  t.equal(await sh.exited(), 0)
  t.notMatch(sh.stderr(), /\S/, 'nothing on stderr')
})

t.test("the seed's transcripts with a real erl on the other side", { skip: erlSkip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop()) // after the nodes: teardowns run in reverse order
  const dir = tempDir(t, 'nk-shell-erl-')
  // The seed's module s, in Erlang, on the erl node.
  writeFileSync(
    join(dir, 's.erl'),
    [
      '-module(s).',
      '-export([send_node/1, s/0, server/0]).',
      'send_node(To) -> To ! node().',
      's() -> receive {Msg, From} -> From ! Msg, s() end.',
      'server() -> register(server, self()), s().',
      '',
    ].join('\n'),
  )
  await run(need('erlc'), ['-o', dir, join(dir, 's.erl')], { timeout: 30_000 })
  // A JavaScript module for erl's rpc:call.
  writeFileSync(join(dir, 'calc.mjs'), 'export const calc = { add: (proc, a, b) => a + b, where: proc => proc.node }\n')
  const cookie = 'shell-erlang-cookie'
  const erl = await startErl(t, { name: `e${process.pid}`, epmdPort: epmd.port, cookie, args: ['-pa', dir] })
  const js = full(`js${process.pid}`)
  const sh = startCli(
    t,
    [
      'shell',
      '--sname',
      `js${process.pid}`,
      '--erlang',
      '--cookie',
      cookie,
      '--epmd-port',
      String(epmd.port),
      '--no-start-epmd',
      '--history',
      '',
      '--module',
      join(dir, 'calc.mjs'),
    ],
    { env: { HOME: dir } },
  )
  const d = driver(sh)
  await sh.waitFor('stdout', /modules calc, /)

  t.test('erl → shell: {server, JsNode} ! {hi, self()}; flush() on both sides', async t => {
    await d.line("register('server', self())", /> true\n/)
    t.equal(await erl.eval(`net_adm:ping('${js}').`), 'pong', 'erl: net_adm:ping(JsNode) → pong')
    t.match(await erl.eval(`{server, '${js}'} ! {hi, self()}.`), /^\{hi,<\d+\.\d+\.\d+>\}$/)
    const [, erlPid] = await d.flushUntil(new RegExp(`Shell got \\{hi,(<${esc(erl.node)}\\.\\d+\\.\\d+>)\\}\\n`))
    t.pass(`shell: flush() → Shell got {hi,${erlPid}}`)

    await erl.eval(`{server, '${js}'} ! {ping, self()}.`)
    await d.line('M = await receive(5000)', new RegExp(`> \\{ping,${esc(erlPid!)}\\}\\n`))
    await d.line("send(M[1], tuple(atom('pong'), self()))", new RegExp(`> \\{pong,<${esc(js)}\\.\\d+\\.\\d+>\\}\\n`))
    t.equal(await erl.eval('c:flush().'), 'ok')
    await erl.waitOutput(/Shell got \{pong,<\d+\.\d+\.\d+>\}/)
    t.pass('erl: flush() → Shell got {pong,<...>}')
  })

  t.test('shell → erl: spawn(ErlNode, s, send_node, [S]); the echo server', async t => {
    await d.line('S = self()', new RegExp(`> <${esc(js)}\\.\\d+\\.\\d+>\\n`))
    await d.line(`spawn('${erl.node}', 's', 'send_node', [S])`, new RegExp(`> <${esc(erl.node)}\\.\\d+\\.\\d+>\\n`))
    await d.flushUntil(new RegExp(`Shell got ${esc(erl.node)}\\n`))
    t.pass(`flush() → Shell got ${erl.node} (erl's node() is an atom)`)
    await d.line(`spawn('${erl.node}', 's', 'server', [])`, new RegExp(`> <${esc(erl.node)}\\.\\d+\\.\\d+>\\n`))
    await d.line(`send(['server', '${erl.node}'], tuple(atom('hi'), self()))`, new RegExp(`> \\{hi,<${esc(js)}\\.\\d+\\.\\d+>\\}\\n`))
    await d.flushUntil(/Shell got hi\n/)
    t.pass('the Erlang echo server answered: Shell got hi')
    await d.line('nodes()', new RegExp(`> \\[${esc(erl.node)}\\]\\n`))
  })

  t.test('rpc both ways: rpc:call into a JavaScript module; rpc.call into erl', async t => {
    t.equal(await erl.eval(`rpc:call('${js}', calc, add, [40, 2]).`), '42')
    t.equal(await erl.eval(`rpc:call('${js}', calc, where, []).`), `<<"${js}">>`, 'a JS string comes back as a binary')
    await d.line(`rpc.call('${erl.node}', 'erlang', 'node', [])`, new RegExp(`> ${esc(erl.node)}\\n`))
    await d.line(`rpc.call('${erl.node}', 'lists', 'reverse', [[1, 2, 3]])`, /> \[3,2,1\]\n/)
    await d.line(`net_adm.ping('${erl.node}')`, /> pong\n/)
  })

  t.teardown(async () => {
    if (sh.child.exitCode === null) {
      sh.child.stdin.end()
      await sh.exited().catch(() => {})
    }
  })
})
