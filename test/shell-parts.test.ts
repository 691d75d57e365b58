// The shell's parts in this process: how it prints terms and exceptions, how --module files
// become modules, the shell functions on a local node, and the REPL over plain streams.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNode, type Node } from '../lib/node.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { NetkernelError, ReceiveTimeoutError } from '../lib/errors.js'
import { ProcessExit } from '../lib/process/runtime.js'
import { OK, formatException, formatTerm } from '../lib/cli/shell-format.js'
import { loadModules, modulesOf } from '../lib/cli/shell-modules.js'
import { ShellProcess } from '../lib/cli/shell-process.js'
import { shellContext, type ShellIO } from '../lib/cli/shell-context.js'
import { startShellRepl } from '../lib/cli/shell-repl.js'
import { seedModules } from '../lib/cli/seed-modules.js'

const MAIN = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))

async function localNode(t: { teardown(fn: () => unknown): void }, name = 'local'): Promise<Node> {
  const node = await startNode({ name: `${name}@localhost`, cookie: 'c', epmd: false, listen: false, modules: seedModules })
  t.teardown(() => node.stop())
  return node
}

t.test('formatTerm: erl-like, JavaScript-ish', async t => {
  const pid = new Pid('bar@vm', 7, 0, 1)
  t.equal(formatTerm('bar@vm'), "'bar@vm'")
  t.equal(formatTerm("it's\n"), "'it\\'s\\n'")
  t.equal(formatTerm(['hi', pid]), "['hi', <bar@vm.7.0>]")
  t.equal(formatTerm(new Ref('bar@vm', 3, 1)), '#Ref<bar@vm.3>')
  t.equal(formatTerm(OK), 'ok')
  t.equal(formatTerm(Symbol('x')), 'Symbol(x)')
  t.equal(formatTerm(undefined), 'undefined')
  t.equal(formatTerm(null), 'null')
  t.equal(formatTerm(true), 'true')
  t.equal(formatTerm(-0), '-0')
  t.equal(formatTerm(1.5), '1.5')
  t.equal(formatTerm(12n), '12n')
  t.equal(formatTerm(Buffer.from([1, 2, 3])), '<<1,2,3>>')
  t.equal(formatTerm(new Map([['a', [1]]])), "Map{'a' => [1]}")
  t.equal(formatTerm(new Set([1, 2])), 'Set{1, 2}')
  t.equal(formatTerm({ a: 1, 'b-c': { d: 'e' } }), "{a: 1, 'b-c': {d: 'e'}}")
  t.equal(
    formatTerm(function named() {}),
    '[Function named]',
  )
  t.equal(
    formatTerm(() => {}),
    '[Function]',
  )
  t.equal(formatTerm(new NetkernelError('ERR_NOPROC', 'gone')), 'NetkernelError ERR_NOPROC: gone')
  t.equal(formatTerm(new ProcessExit(pid, 'killed')), "[ProcessExit <bar@vm.7.0>: 'killed']")
  t.match(formatTerm(Promise.resolve(1)), /^Promise/)
  const cyclic: unknown[] = [1]
  cyclic.push(cyclic)
  t.equal(formatTerm(cyclic), '[1, [Circular]]')
  t.equal(formatTerm([[[[[[[[[[[[[['deep']]]]]]]]]]]]]]), '[[[[[[[[[[[[[...]]]]]]]]]]]]]')
  t.match(formatTerm(Array.from({ length: 150 }, (_, i) => i)), /, 99, \.\.\. 50 more\]$/)
  t.match(formatTerm(Buffer.alloc(150)), /,\.\.\. 50 more>>$/)
})

t.test('formatException: as erl reports them', async t => {
  const pid = new Pid('foo@vm', 1, 0, 1)
  t.equal(formatException(new ProcessExit(pid, 'killed')), "** exception exit: 'killed'")
  t.equal(formatException(new ReceiveTimeoutError(5, 'x')), '** exception error: ERR_RECEIVE_TIMEOUT: receive timed out after 5 ms in x')
  t.equal(formatException(new TypeError('f is not a function')), '** exception error: TypeError: f is not a function')
  t.equal(formatException(Object.assign(new Error('boom'), { code: 'E_X' })), '** exception error: Error E_X: boom')
  t.equal(formatException(['oops', 1]), "** exception throw: ['oops', 1]")
})

t.test('--module files: named exports, a default map, a default module, errors', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'nk-mod-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'a.mjs'),
    'export const s = { send_node: (p, to) => p.send(to, p.node) }\nexport const n = 1\nexport const e = {}\n',
  )
  writeFileSync(join(dir, 'b.mjs'), 'export default { m1: { f: () => 1 }, skip: 2 }\n')
  writeFileSync(join(dir, 'solo.mjs'), 'export default { f: () => 1, g: () => 2 }\n')
  writeFileSync(join(dir, 'none.mjs'), 'export const x = 1\n')
  writeFileSync(join(dir, 'broken.mjs'), 'export const = \n')
  const mods = await loadModules(['a.mjs', 'b.mjs', 'solo.mjs'], dir)
  t.same(Object.keys(mods).sort(), ['m1', 's', 'solo'])
  t.type(mods.s?.send_node, 'function')
  t.same(Object.keys(modulesOf('/x/y.mjs', { default: null })), [])
  await t.rejects(loadModules(['none.mjs'], dir), { name: 'ModuleLoadError', message: /none\.mjs defines no module/ })
  await t.rejects(loadModules(['broken.mjs'], dir), { name: 'ModuleLoadError', message: /cannot load module file broken\.mjs/ })
  await t.rejects(loadModules(['missing.mjs'], dir), { name: 'ModuleLoadError', message: /cannot load module file missing\.mjs/ })

  // NAME=FILE: one module under that name.
  writeFileSync(join(dir, 'two.mjs'), 'export const p = { f: () => 1 }\nexport const q = { g: () => 2 }\n')
  const named = await loadModules(['counter=b.mjs', 'greeter=solo.mjs', 'q=two.mjs'], dir)
  t.same(Object.keys(named).sort(), ['counter', 'greeter', 'q'], 'the only module, the default module, the export of that name')
  t.type(named.counter?.f, 'function')
  t.type(named.q?.g, 'function')
  await t.rejects(loadModules(['r=two.mjs'], dir), {
    name: 'ModuleLoadError',
    message: /two\.mjs defines several modules \(p, q\) and none is named r/,
  })
})

t.test('the shell functions on a local node', async t => {
  const node = await localNode(t)
  const printed: string[] = []
  let quits = 0
  const restarts: unknown[] = []
  const shell = await ShellProcess.start(node, { onRestart: (old, reason, now) => restarts.push([old, reason, now]) })
  t.teardown(() => shell.stop())
  const ac = new AbortController()
  const io: ShellIO = {
    print: l => printed.push(l),
    signal: () => ac.signal,
    quit: () => {
      quits++
    },
  }
  const c = shellContext(node, shell, io) as Record<string, any>

  const S = c.self() as Pid
  t.equal(c.node(), node.name)
  t.equal(c.node(S), node.name)
  t.same(c.nodes(), [])
  t.same(c.nodes('connected'), [])
  t.throws(() => c.nodes('bogus'), { code: 'ERR_BAD_ARGUMENT' })
  t.equal(c.is_alive(), false)

  const p = await c.spawn(node.name, 's', 'send_node', [S])
  t.type(p, Pid)
  await c.spawn('s', 'send_node', [S])
  t.same(await c.receive(5000), node.name, 'receive(timeout)')
  t.equal(await c.flush(), OK)
  t.same(printed.splice(0), [`Shell got '${node.name}'`])
  t.equal(await c.flush(), OK, 'flush of an empty mailbox')
  t.same(printed, [])

  t.same(c.send(S, ['a', 1]), ['a', 1], 'send returns the message')
  c.send(S, ['b', 2])
  t.same(await c.receive((m: unknown) => Array.isArray(m) && m[0] === 'b'), ['b', 2], 'selective receive')
  t.same(await c.receive(), ['a', 1])
  await t.rejects(c.receive(undefined, 10), { code: 'ERR_RECEIVE_TIMEOUT' })
  await t.rejects(c.receive('x'), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => c.spawn(1, 2), { code: 'ERR_BAD_ARGUMENT' })

  const server = await c.spawn('s', 'server', [])
  await new Promise(r => setTimeout(r, 20))
  t.same(c.whereis('server'), server)
  t.ok(c.registered().includes('server'))
  t.equal(c.unregister('server'), true)
  t.equal(c.whereis('server'), undefined)
  t.equal(c.register('srv', server), true)
  c.send('srv', ['hi', S])
  t.equal(await c.receive(5000), 'hi')

  const loop = c.spawn(async (proc: { receive(): Promise<unknown> }) => {
    await proc.receive()
  }) as Pid
  const ref = c.monitor('process', loop) as Ref
  t.type(ref, Ref)
  t.equal(c.exit(loop, 'bye'), true)
  t.match(await c.receive(5000), ['DOWN', ref, 'process', loop, 'bye'])
  const ref2 = c.monitor(server)
  t.equal(c.demonitor(ref2), true)
  t.type(c.make_ref(), Ref)
  const al = c.alias() as Ref
  c.send(al, 'via alias')
  t.equal(await c.receive(5000), 'via alias', 'alias(): send(alias, msg) reaches the shell process')
  t.equal(c.unalias(al), true)
  const once = c.alias(['reply']) as Ref
  c.send(once, 'once')
  c.send(once, 'twice')
  c.send(S, 'marker')
  t.same([await c.receive(5000), await c.receive(5000)], ['once', 'marker'], "alias(['reply']) takes one message")
  t.throws(() => c.alias('sometimes'), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => c.exit('not a pid', 'x'), { code: 'ERR_BAD_ARGUMENT' })

  t.equal(c.process_flag('trap_exit', true), false)
  const linked = c.spawn_link(async () => {
    throw new Error('crash')
  }) as Pid
  t.match(await c.receive(5000), ['EXIT', linked])
  t.equal(c.process_flag('trap_exit', false), true)
  t.throws(() => c.process_flag('priority', 'high'), { code: 'ERR_BAD_ARGUMENT' })
  const l2 = await c.spawn_link('s', 's', [])
  t.equal(c.unlink(l2), true)
  t.equal(c.link(l2), true)
  c.send(l2, 'stop')

  t.equal(c.monitor_node('nowhere@localhost'), true)
  t.same(await c.receive(5000), ['nodedown', 'nowhere@localhost'], 'monitor_node of an unreachable node')
  t.throws(() => c.monitor_node(''), { code: 'ERR_BAD_ARGUMENT' })
  t.equal(await c.net_kernel.connect_node('nowhere@localhost'), false)
  t.equal(await c.net_adm.ping('nowhere@localhost'), 'pang')
  t.equal(c.disconnect_node('nowhere@localhost'), false)
  t.equal(c.set_cookie('new'), true)
  t.equal(c.get_cookie(), 'new')
  t.equal(c.set_cookie('other@localhost', 'x'), true)
  t.equal(c.get_cookie('other@localhost'), 'x')

  t.equal(c.help(), OK)
  t.match(printed.splice(0).join('\n'), /flush\(\)[\s\S]*net_kernel\.connect_node/)
  t.equal(c.q(), OK)
  t.equal(c.halt(), OK)
  t.equal(quits, 2)

  // exit(reason) ends the shell process; a new one takes its place.
  t.throws(() => c.exit('normal'), ProcessExit)
  for (let i = 0; i < 100 && restarts.length === 0; i++) await new Promise(r => setTimeout(r, 10))
  t.match(restarts, [[S, 'normal', Pid]])
  t.not(c.self(), S, 'a new shell process')

  // Ctrl+C (the abort signal) stops a waiting receive.
  const waiting = c.receive()
  ac.abort(new Error('stop'))
  await t.rejects(waiting, { message: 'stop' })
})

function replOver(t: { teardown(fn: () => unknown): void }, node: Node, shell: ShellProcess) {
  const input = new PassThrough()
  const output = new PassThrough()
  let out = ''
  output.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const started = startShellRepl({ name: node.name, input, output, banner: 'hello', context: io => shellContext(node, shell, io) })
  t.teardown(async () => (await started).close())
  const until = async (re: RegExp): Promise<string> => {
    for (let i = 0; i < 500; i++) {
      if (re.test(out)) return out
      await new Promise(r => setTimeout(r, 10))
    }
    throw new Error(`no ${re} in output:\n${out}`)
  }
  return { input, started, until, out: () => out }
}

t.test('the REPL over plain streams: prompt counter, awaited results, errors, .help, q()', async t => {
  const node = await localNode(t, 'repl')
  const shell = await ShellProcess.start(node)
  t.teardown(() => shell.stop())
  const { input, started, until } = replOver(t, node, shell)
  const session = await started
  await until(/^hello\n\(repl@localhost\)1> $/)
  // Lines arrive together; each one is evaluated after the previous one's promise settled.
  input.write("S = self()\nspawn('s', 'send_node', [S])\nreceive(1000)\nreceive(5)\nfoo(\n)\n\nnotDefined\n")
  const out = await until(/\(repl@localhost\)7> $/)
  t.match(out, /1> <repl@localhost\.\d+\.0>\n/)
  t.match(out, /2> <repl@localhost\.\d+\.0>\n/)
  t.match(out, /3> 'repl@localhost'\n/)
  t.match(out, /4> \*\* exception error: ERR_RECEIVE_TIMEOUT: receive timed out after 5 ms/)
  t.match(out, /\.\.\. \*\* exception error: ReferenceError: foo is not defined\n/, 'an unfinished line continues; the counter waits')
  t.match(out, /6> \*\* exception error: ReferenceError: notDefined is not defined\n/)
  input.write('.help\n')
  await until(/REPL commands:[\s\S]*\.exit[\s\S]*q\(\) stops the node and leaves\.\n\(repl@localhost\)7> $/)
  input.write('setTimeout(() => { throw new Error("later") }, 1), 1\n')
  await until(/\*\* exception error: Error: later\n/)
  // A SIGINT the REPL reports (a Ctrl+C the terminal turned into a signal while the line's code
  // ran) stops the top-level await that follows, as a Ctrl+C key does.
  const g = globalThis as { nkWaiting?: boolean }
  input.write('await (async () => { nkWaiting = true; return receive() })()\n')
  for (let i = 0; i < 500 && g.nkWaiting !== true; i++) await new Promise(r => setTimeout(r, 10))
  delete g.nkWaiting
  session.server.emit('SIGINT')
  await until(/\*\* exception error: ERR_ABORTED: interrupted \(Ctrl\+C\)\n\(repl@localhost\)9> $/)
  input.write('q()\n')
  await until(/ok\n/)
  await session.closed
  t.pass('q() closed the REPL')
})

t.test('netkernel shell --help and bad arguments', async t => {
  const run = async (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'shell', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    const [code] = await once(child, 'exit')
    return { code, out }
  }
  t.match(await run(['--help']), { code: 0, out: /usage: netkernel shell[\s\S]*--module FILE[\s\S]*--history FILE/ })
  t.match(await run([]), { code: 2, out: /give --sname NAME or --name NAME@HOST\.DOMAIN/ })
  t.match(await run(['--sname', 'a', '--name', 'a@b.c']), { code: 2, out: /give one of --sname and --name/ })
  t.match(await run(['--sname', 'a', '--transport', 'carrier-pigeon']), {
    code: 2,
    out: /unknown transport 'carrier-pigeon' \(--transport tcp\|tls\|ssh\)/,
  })
  t.match(await run(['--sname', 'a', '--epmd-port', 'x']), { code: 2, out: /bad --epmd-port 'x'/ })
  t.match(await run(['--sname', 'a', '--bogus']), { code: 2, out: /bogus/ })
  t.match(await run(['--sname', 'a', '--module', '/nonexistent/x.mjs']), {
    code: 2,
    out: /--module: cannot load module file \/nonexistent\/x\.mjs/,
  })
})
