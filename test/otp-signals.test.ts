// Signals between a netkernel node (erlang: true) and a real erl node, both ways: sends to
// pids and registered names, replies to the sender, terms that survive the round trip, links
// with exit propagation and noproc, unlink, monitors by pid and by name with noproc, exit/2.
// (Node loss — noconnection — is in otp-signals-nodedown.test.ts.)
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { inProcess } from './fixtures/cluster.js'
import { Pid } from '../lib/terms/pid.js'
import { atom, Atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'

const cookie = 'otp-signals-cookie'

const tagged = (tag: string) => (m: unknown) => m instanceof Tuple && m[0] instanceof Atom && m[0].name === tag
const isSignal = (tag: 'EXIT' | 'DOWN') => (m: unknown) => Array.isArray(m) && !(m instanceof Tuple) && m[0] === tag
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

t.test('signals between netkernel and erl', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `js${process.pid}`, cookie })
  const erl = await startErl(t, { name: `e${process.pid}`, epmdPort: epmd.port, cookie })
  const js = `'${node.name}'`
  // The driver keeps bindings between expressions: `X$` is a variable of this expression only.
  let n = 0
  const ev = (expr: string, ms?: number): Promise<string> => {
    n++
    return erl.eval(expr.replace(/([A-Z][A-Za-z0-9_]*)\$/g, `$1_${n}`), ms)
  }
  await ev(`register(shell, self()), process_flag(trap_exit, true).`)

  // An echo server on the JS side: {From, Term} → From ! {echo, Term}.
  const echo = node.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      if (m instanceof Tuple && m[0] instanceof Pid) proc.send(m[0], tuple(atom('echo'), m[1]))
    }
  })
  node.register('echo', echo)

  let box = 0
  /** The value of erl expression `expr` (evaluated in the shell), as a JS term. */
  const fromErl = async (expr: string): Promise<unknown> => {
    const name = `box${++box}`
    const got = inProcess(node, async proc => {
      node.register(name, proc.self)
      return proc.receive(undefined, { timeout: 5000 })
    })
    await ev(`{${name}, ${js}} ! (${expr}), ok.`)
    return got
  }
  /** Bind the erl shell variable `name` to a JS pid. */
  const toErl = async (name: string, pid: Pid): Promise<void> => {
    await inProcess(node, async proc => void proc.send(['shell', erl.node], tuple(atom('pid_for_shell'), pid)))
    await ev(`${name} = receive {pid_for_shell, P$} -> P$ after 5000 -> error(timeout) end.`)
  }
  /** A JS process that exits with 'bye', or with R when sent {die, R}; registered under `name` if given. */
  const victim = (name?: string): Pid => {
    const pid = node.spawn(async proc => {
      const m = await proc.receive()
      proc.exit(m instanceof Tuple ? m[1] : 'bye')
    })
    if (name !== undefined) node.register(name, pid)
    return pid
  }
  /** An erl process registered as `name` that exits with `bye` when sent `die` and reports other messages to the shell. */
  const erlVictim = async (name: string, trap = false): Promise<Pid> => {
    await ev(
      `P$ = spawn(fun() -> process_flag(trap_exit, ${trap}), ` +
        `(fun L$() -> receive die -> exit(bye); M$ -> shell ! {got, ${name}, M$}, L$() end end)() end), register(${name}, P$).`,
    )
    return (await fromErl(`whereis(${name})`)) as Pid
  }

  await t.test('net_adm:ping through the wire (MONITOR_P, REG_SEND net_kernel, DEMONITOR_P)', async t => {
    t.equal(await ev(`net_adm:ping(${js}).`), 'pong')
  })

  await t.test('{Name, Node} ! Msg reaches a registered JS process; the reply reaches the sender', async t => {
    t.equal(await ev(`{echo, ${js}} ! {self(), hello}, receive {echo, R$} -> R$ after 5000 -> timeout end.`), 'hello')
    t.ok(node.nodes('visible').includes(erl.node), 'connected, as a visible node (the node runs global)')
  })

  await t.test('terms survive the round trip', async t => {
    const terms = [
      'ok',
      "'with space'",
      '{a, {b, c}, {}}',
      '<<"bin", 0, 255>>',
      '<<1:3>>',
      '#{a => 1, <<"k">> => [1, 2], {t} => x}',
      'self()',
      'make_ref()',
      '[1, 2 | 3]',
      '"charlist"',
      '[]',
      '3.5',
      '-7',
      '1 bsl 70',
      '-(1 bsl 53) - 1',
      "'日本'",
      'true',
      'undefined',
      'fun erlang:self/0',
    ]
    for (const term of terms) {
      const r = await ev(`T$ = ${term}, {echo, ${js}} ! {self(), T$}, receive {echo, R$} -> R$ =:= T$ after 5000 -> timeout end.`)
      t.equal(r, 'true', term)
    }
  })

  await t.test('JS sends to an erl pid and to [name, node]', async t => {
    const back = inProcess(node, async proc => {
      proc.send(['shell', erl.node], tuple(atom('hi'), proc.self))
      return proc.receive(tagged('back'), { timeout: 5000 })
    })
    t.equal(await ev(`receive {hi, P$} -> P$ ! {back, node(P$)}, ok after 5000 -> timeout end.`), 'ok')
    t.same(await back, tuple(atom('back'), atom(node.name)))
    const shell = (await fromErl('self()')) as Pid
    t.ok(shell instanceof Pid)
    node.send(shell, 'a JS string is a binary')
    t.equal(await ev(`receive B$ when is_binary(B$) -> B$ after 5000 -> timeout end.`), '<<"a JS string is a binary">>')
  })

  await t.test('links: erl links to a JS process, which exits; a dead JS pid gives noproc', async t => {
    await toErl('V1', victim())
    await ev(`link(V1), V1 ! {die, boom}.`)
    t.equal(await ev(`receive {'EXIT', V1, R$} -> R$ after 5000 -> timeout end.`), 'boom')
    t.equal(await ev(`link(V1), receive {'EXIT', V1, R$} -> R$ after 5000 -> timeout end.`), 'noproc')
  })

  await t.test('links: JS links to an erl process, which exits; a dead erl pid gives noproc', async t => {
    const p = await erlVictim('ev1')
    const got = await inProcess(node, async proc => {
      proc.trapExit(true)
      proc.link(p)
      proc.send(p, atom('die'))
      return proc.receive(isSignal('EXIT'), { timeout: 5000 })
    })
    t.same(got, ['EXIT', p, 'bye'])
    const again = await inProcess(node, async proc => {
      proc.trapExit(true)
      proc.link(p)
      return proc.receive(isSignal('EXIT'), { timeout: 5000 })
    })
    t.same(again, ['EXIT', p, 'noproc'])
  })

  await t.test('unlink both ways: no exit signal after it', async t => {
    await toErl('V2', victim())
    await ev(`link(V2), unlink(V2), V2 ! {die, boom}.`)
    t.equal(await ev(`receive {'EXIT', V2, R$} -> R$ after 500 -> none end.`), 'none', 'erl unlinked (UNLINK_ID, acknowledged)')
    const p = await erlVictim('ev2')
    const got = await inProcess(node, async proc => {
      proc.trapExit(true)
      proc.link(p)
      proc.unlink(p)
      proc.send(p, atom('die'))
      return proc.receive(isSignal('EXIT'), { timeout: 500 }).catch(() => 'none')
    })
    t.equal(got, 'none', 'JS unlinked')
    // An unlink and a new link in a row: the new link holds.
    await toErl('V3', victim())
    await ev(`link(V3), unlink(V3), link(V3), V3 ! {die, again}.`)
    t.equal(await ev(`receive {'EXIT', V3, R$} -> R$ after 5000 -> timeout end.`), 'again')
  })

  await t.test('erl monitors JS processes by pid and by name; noproc', async t => {
    await toErl('V4', victim())
    await ev(`R4 = monitor(process, V4), V4 ! {die, gone}.`)
    t.equal(await ev(`receive {'DOWN', R4, process, V4, W$} -> W$ after 5000 -> timeout end.`), 'gone')
    victim('named')
    await ev(`R5 = monitor(process, {named, ${js}}), {named, ${js}} ! {die, gone_too}.`)
    t.equal(await ev(`receive {'DOWN', R5, process, I$, W$} -> {I$, W$} after 5000 -> timeout end.`), `{{named,${node.name}},gone_too}`)
    t.equal(
      await ev(`R$ = monitor(process, {nobody, ${js}}), receive {'DOWN', R$, process, _, W$} -> W$ after 5000 -> timeout end.`),
      'noproc',
    )
    t.equal(await ev(`R$ = monitor(process, V4), receive {'DOWN', R$, process, _, W$} -> W$ after 5000 -> timeout end.`), 'noproc')
    await toErl('V6', victim())
    t.equal(
      await ev(`R$ = monitor(process, V6), demonitor(R$), V6 ! {die, x}, receive {'DOWN', R$, _, _, _} -> down after 300 -> none end.`),
      'none',
    )
  })

  await t.test('JS monitors erl processes by pid and by name; noproc', async t => {
    const p = await erlVictim('ev3')
    const [m, ref] = await inProcess(node, async proc => {
      const ref = proc.monitor(p)
      proc.send(p, atom('die'))
      return [await proc.receive(isSignal('DOWN'), { timeout: 5000 }), ref]
    })
    t.same(m, ['DOWN', ref, 'process', p, 'bye'])
    await erlVictim('ev4')
    const byName = await inProcess(node, async proc => {
      proc.monitor(['ev4', erl.node])
      proc.send(['ev4', erl.node], atom('die'))
      return proc.receive(isSignal('DOWN'), { timeout: 5000 })
    })
    t.same((byName as unknown[]).slice(2), ['process', ['ev4', erl.node], 'bye'])
    const noproc = await inProcess(node, async proc => {
      proc.monitor(['nobody', erl.node])
      const a = await proc.receive(isSignal('DOWN'), { timeout: 5000 })
      proc.monitor(p)
      const b = await proc.receive(isSignal('DOWN'), { timeout: 5000 })
      return [(a as unknown[])[4], (b as unknown[])[4]]
    })
    t.same(noproc, ['noproc', 'noproc'])
  })

  await t.test('exit/2 both ways', async t => {
    const v = victim()
    await toErl('V7', v)
    const watched = inProcess(node, async proc => {
      proc.monitor(v)
      return proc.receive(isSignal('DOWN'), { timeout: 5000 })
    })
    await sleep(50)
    await ev(`exit(V7, kill).`)
    t.equal(((await watched) as unknown[])[4], 'killed', 'exit(Pid, kill) from erl kills the JS process')
    const p = await erlVictim('ev5', true)
    await inProcess(node, async proc => proc.exit(p, 'bye_from_js'))
    t.equal(
      await ev(`receive {got, ev5, {'EXIT', F$, W$}} -> {node(F$) =:= ${js}, W$} after 5000 -> timeout end.`),
      '{true,bye_from_js}',
      'a trapping erl process gets the exit signal as a message',
    )
  })
})
