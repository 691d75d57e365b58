// Exit reasons given as Atom objects (atom('normal'), atom('kill'): a reason taken out of
// Erlang data) across the wire: they are the reasons 'normal' and 'kill', with OTP's meaning —
// exit(normal) never kills a linked process, exit(Pid, kill) cannot be trapped and reports
// killed — toward a netkernel peer (the Atom crosses as itself) and toward a real erl node.
// (The local rules: test/process-exit.test.ts.)
import t from 'tap'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { sleep } from './fixtures/mesh-helpers.js'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'

/** The reason `pid` (on `node`) dies with within `ms`, or 'alive'. The monitor is set before it resolves `ready`. */
function fate(node: Node, pid: Pid, ms = 1000): { ready: Promise<void>; reason: Promise<unknown> } {
  let ready!: () => void
  const set = new Promise<void>(r => (ready = r))
  const reason = inProcess(node, async proc => {
    proc.monitor(pid)
    ready()
    try {
      const m = (await proc.receive(x => Array.isArray(x) && x[0] === 'DOWN', { timeout: ms })) as unknown[]
      return m[4]
    } catch {
      return 'alive'
    }
  })
  return { ready: set, reason }
}

/** A process on `node` that waits forever; trapping exits (its EXIT messages kept in `got`) if asked. */
function waiter(node: Node, trap = false): { pid: Pid; got: unknown[] } {
  const got: unknown[] = []
  const pid = node.spawn(async proc => {
    proc.trapExit(trap)
    for (;;) got.push(await proc.receive())
  })
  return { pid, got }
}

t.test('toward a netkernel peer', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'atoma' })
  const b = await testNode(t, epmd, { name: 'atomb' })
  t.equal(await a.connect(b.name), true)

  await t.test("proc.exit(atom('normal')) does not kill a linked process on the peer", async t => {
    const partner = waiter(b)
    const f = fate(b, partner.pid)
    await f.ready
    a.spawn(async proc => {
      proc.link(partner.pid)
      await sleep(100) // the link reaches b
      proc.exit(atom('normal'))
    })
    t.equal(await f.reason, 'alive')
  })

  await t.test("node.exit(pid, atom('normal')) does not kill a non-trapping process on the peer", async t => {
    const plain = waiter(b)
    const f = fate(b, plain.pid)
    await f.ready
    a.exit(plain.pid, atom('normal'))
    t.equal(await f.reason, 'alive')
  })

  await t.test("node.exit(pid, atom('kill')) kills a trapping process on the peer with reason killed", async t => {
    const trapping = waiter(b, true)
    await sleep(20)
    const f = fate(b, trapping.pid)
    await f.ready
    a.exit(trapping.pid, atom('kill'))
    t.equal(await f.reason, 'killed')
    t.same(trapping.got, [], 'it never got the signal as a message')
  })
})

t.test('toward a real erl node', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const cookie = 'atom-reasons'
  const node = await startErlangNode(t, epmd.port, { name: `jsatom${process.pid}`, cookie })
  const erl = await startErl(t, { name: `eatom${process.pid}`, epmdPort: epmd.port, cookie })
  const js = `'${node.name}'`
  // An erl process registered as `name` (trapping exits when asked) that tells the JS box what it got.
  const erlProc = async (name: string, trap: boolean): Promise<Pid> => {
    const got = inProcess(node, async proc => {
      node.register(`box_${name}`, proc.self)
      return proc.receive(undefined, { timeout: 5000 })
    })
    await erl.eval(
      // (The shell keeps bindings: each process's variables are named after it.)
      `begin P_${name} = spawn(fun() -> process_flag(trap_exit, ${trap}), {box_${name}, ${js}} ! self(), ` +
        `(fun L_${name}() -> receive M_${name} -> {box_${name}, ${js}} ! M_${name}, L_${name}() end end)() end), ` +
        `register(${name}, P_${name}), ok end.`,
    )
    return (await got) as Pid
  }
  const alive = (name: string): Promise<string> => erl.eval(`is_pid(whereis(${name})).`)

  await t.test("proc.exit(atom('normal')): a linked erl process survives", async t => {
    const e = await erlProc('linked', false)
    const done = inProcess(node, async proc => {
      proc.link(e)
      await sleep(100)
      proc.exit(atom('normal'))
    })
    await done.catch(() => undefined)
    await sleep(200)
    t.equal(await alive('linked'), 'true')
  })

  await t.test("node.exit(pid, atom('kill')) kills a trapping erl process; a JS monitor sees killed", async t => {
    const e = await erlProc('trapping', true)
    const f = fate(node, e, 3000)
    await f.ready
    node.exit(e, atom('kill'))
    t.equal(await f.reason, 'killed')
    t.equal(await alive('trapping'), 'false')
  })
})
