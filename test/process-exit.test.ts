// Process exits and links: return → 'normal', throw → the error, proc.exit unwinds, and
// Erlang's exit-signal rules through links and exit/2.
import t from 'tap'
import { Runtime, ProcessExit, type Proc } from '../lib/process/runtime.js'
import { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'

const tick = async (n = 1): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve))
}
const newRuntime = (): Runtime => new Runtime({ node: 'a@h', creation: 1 })

/** A process that traps exits and records everything it receives. */
function trapper(rt: Runtime): { pid: Pid; msgs: unknown[]; proc: () => Proc } {
  const msgs: unknown[] = []
  let p!: Proc
  const pid = rt.spawn(async proc => {
    p = proc
    proc.trapExit(true)
    for (;;) msgs.push(await proc.receive())
  })
  return { pid, msgs, proc: () => p }
}

/** A process that waits forever (does not trap). */
const idle = (rt: Runtime): Pid => rt.spawn(proc => proc.receive(() => false))

/** Exit reason of `pid`, observed through a monitor taken now. */
function reasonOf(rt: Runtime, pid: Pid): Promise<unknown> {
  return new Promise(resolve => {
    rt.spawn(async proc => {
      proc.monitor(pid)
      const m = (await proc.receive()) as unknown[]
      resolve(m[4])
    })
  })
}

t.test('a returning process exits normal; a throwing one exits with its error', async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  await tick()
  const err = new Error('boom')
  const p = tr.proc()
  const a = p.spawnLink(() => 42)
  const b = p.spawnLink(async () => {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- yields one microtask on purpose
    await null
    throw err
  })
  const c = p.spawnLink(() => {
    throw 'sync-throw'
  })
  await tick()
  t.same(tr.msgs, [
    ['EXIT', a, 'normal'],
    ['EXIT', c, 'sync-throw'],
    ['EXIT', b, err],
  ])
  t.equal((tr.msgs[2] as unknown[])[2], err, 'the Error object itself is the reason')
  t.equal(rt.processCount, 1)
})

t.test('proc.exit(reason) ends the process at once and unwinds the function', async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  await tick()
  const steps: string[] = []
  let caught: unknown
  const pid = tr.proc().spawnLink(async proc => {
    try {
      steps.push('before')
      proc.exit('bye')
      steps.push('after exit') // never
    } catch (e) {
      caught = e
      steps.push('caught')
      proc.send(tr.pid, 'dropped: sent after death')
      await proc.receive().catch((e2: unknown) => steps.push(e2 === e ? 'receive rejected with marker' : 'other'))
      t.throws(() => proc.link(tr.pid), ProcessExit, 'other calls throw the marker')
      t.throws(() => proc.exit('again'), ProcessExit)
    }
  })
  await tick()
  t.same(steps, ['before', 'caught', 'receive rejected with marker'])
  t.type(caught, ProcessExit)
  t.match(caught, { reason: 'bye', pid })
  t.match(String(caught), /ProcessExit: process <a@h\.\d+\.0> exited: bye/)
  t.same(tr.msgs, [['EXIT', pid, 'bye']], 'one EXIT, no message sent after death')
})

t.test('a process killed while waiting unwinds through finally', async t => {
  const rt = newRuntime()
  const steps: string[] = []
  const pid = rt.spawn(async proc => {
    try {
      await proc.receive()
    } finally {
      steps.push('finally')
    }
  })
  await tick()
  const why = reasonOf(rt, pid)
  await tick()
  rt.exit(pid, 'shutdown')
  t.equal(await why, 'shutdown')
  await tick()
  t.same(steps, ['finally'])
  t.notOk(rt.isAlive(pid))
})

t.test('a process killed before it started never runs', async t => {
  const rt = newRuntime()
  let ran = false
  const pid = rt.spawn(() => {
    ran = true
  })
  rt.exit(pid, 'kill')
  await tick()
  t.notOk(ran)
  t.equal(rt.processCount, 0)
})

t.test('links: an abnormal exit kills a non-trapping linked process, with the same reason', async t => {
  const rt = newRuntime()
  const a = idle(rt)
  const b = rt.spawn(proc => proc.receive(() => false), { link: a })
  const c = rt.spawn(proc => proc.receive(() => false), { link: b })
  await tick()
  const reasons = [reasonOf(rt, a), reasonOf(rt, b), reasonOf(rt, c)]
  await tick()
  rt.exit(c, 'crash')
  t.same(await Promise.all(reasons), ['crash', 'crash', 'crash'], 'propagates along the chain')
})

t.test("links: 'normal' does not kill a non-trapping process; a trapping one gets EXIT", async t => {
  const rt = newRuntime()
  const a = idle(rt)
  const tr = trapper(rt)
  await tick()
  let child!: Pid
  rt.spawn(proc => {
    proc.link(a)
    proc.link(tr.pid)
    child = proc.self
  })
  await tick()
  t.ok(rt.isAlive(a), "a non-trapping process ignores 'normal'")
  t.same(tr.msgs, [['EXIT', child, 'normal']])
})

t.test('links: a trapping process gets EXIT instead of dying', async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  await tick()
  const child = rt.spawn(proc => proc.receive(() => false), { link: tr.pid })
  await tick()
  rt.exit(child, 'boom')
  await tick()
  t.same(tr.msgs, [['EXIT', child, 'boom']])
  t.ok(rt.isAlive(tr.pid))
})

t.test("exit/2 'kill' kills even a trapping process; links see 'killed'", async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  const watcher = trapper(rt)
  await tick()
  watcher.proc().link(tr.pid)
  const why = reasonOf(rt, tr.pid)
  await tick()
  rt.exit(tr.pid, 'kill')
  t.equal(await why, 'killed')
  t.same(watcher.msgs, [['EXIT', tr.pid, 'killed']])
  t.ok(rt.isAlive(watcher.pid), "'killed' through a link is trappable")
})

t.test("a process exiting with reason 'kill' sends a trappable 'kill' through its links", async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  const plain = idle(rt)
  const why = reasonOf(rt, plain)
  await tick()
  const p = rt.spawn(
    proc => {
      proc.link(plain)
      proc.exit('kill')
    },
    { link: tr.pid },
  )
  await tick(2)
  t.same(tr.msgs, [['EXIT', p, 'kill']])
  t.equal(await why, 'kill', 'a non-trapping linked process dies with kill')
})

t.test('exit/2 rules: normal ignored unless trapping or to self; dead pid is a no-op', async t => {
  const rt = newRuntime()
  const a = idle(rt)
  const tr = trapper(rt)
  await tick()
  rt.exit(a, 'normal')
  t.ok(rt.isAlive(a), 'exit(pid, normal) does not kill a non-trapping process')
  rt.exit(tr.pid, 'normal')
  await tick()
  t.same(tr.msgs, [['EXIT', new Pid('a@h', 0, 0, 1), 'normal']], 'from the node pid when sent from outside')
  tr.proc().exit(a, 'custom')
  t.notOk(rt.isAlive(a), 'an abnormal exit/2 kills')
  rt.exit(a, 'again') // dead pid: no-op
  t.throws(() => rt.exit('nope' as never, 'x'), { code: 'ERR_BAD_ARGUMENT' })

  // exit(self(), normal) terminates the caller (the Erlang special case), and unwinds it.
  let after = false
  const selfPid = rt.spawn(proc => {
    proc.exit(proc.self, 'normal')
    after = true
  })
  const why = reasonOf(rt, selfPid)
  await tick()
  t.equal(await why, 'noproc', 'died before the monitor could be set')
  t.notOk(after)
  // A trapping process sending exit/2 to itself gets an EXIT message and carries on.
  tr.proc().exit(tr.pid, 'note')
  await tick()
  t.same(tr.msgs.at(-1), ['EXIT', tr.pid, 'note'])
})

t.test("the atoms normal and kill (Atom objects) are the reasons 'normal' and 'kill'", async t => {
  await t.test("proc.exit(atom('normal')) does not kill a linked process; a trapping one sees 'normal'", async t => {
    const rt = newRuntime()
    const a = idle(rt)
    const tr = trapper(rt)
    await tick()
    const p = rt.spawn(proc => {
      proc.link(a)
      proc.link(tr.pid)
      proc.exit(atom('normal'))
    })
    const why = reasonOf(rt, p)
    await tick(2)
    t.ok(rt.isAlive(a), 'the non-trapping partner survives')
    t.same(tr.msgs, [['EXIT', p, 'normal']], "the trapping one gets EXIT with 'normal'")
    t.equal(await why, 'noproc')
  })

  await t.test("exit/2 with atom('normal') does not kill a non-trapping process", async t => {
    const rt = newRuntime()
    const a = idle(rt)
    const tr = trapper(rt)
    await tick()
    rt.exit(a, atom('normal'))
    t.ok(rt.isAlive(a), 'from outside a process')
    tr.proc().exit(a, atom('normal'))
    t.ok(rt.isAlive(a), 'from a process')
    rt.exit(tr.pid, atom('normal'))
    await tick()
    t.same(tr.msgs, [['EXIT', new Pid('a@h', 0, 0, 1), 'normal']], 'a trapping process gets it as a message')
  })

  await t.test("exit/2 with atom('kill') cannot be trapped and reports 'killed'", async t => {
    const rt = newRuntime()
    const tr = trapper(rt)
    const watcher = trapper(rt)
    await tick()
    watcher.proc().link(tr.pid)
    const why = reasonOf(rt, tr.pid)
    await tick()
    rt.exit(tr.pid, atom('kill'))
    t.notOk(rt.isAlive(tr.pid), 'the trapping process is dead')
    t.equal(await why, 'killed')
    t.same(tr.msgs, [], 'it never saw an EXIT message')
    t.same(watcher.msgs, [['EXIT', tr.pid, 'killed']])
    const other = trapper(rt)
    await tick()
    watcher.proc().exit(other.pid, atom('kill'))
    t.notOk(rt.isAlive(other.pid), 'from a process as well')
  })

  await t.test("exiting with atom('kill') sends a trappable 'kill' through links, as the string does", async t => {
    const rt = newRuntime()
    const tr = trapper(rt)
    await tick()
    const p = rt.spawn(proc => proc.exit(atom('kill')), { link: tr.pid })
    await tick(2)
    t.same(tr.msgs, [['EXIT', p, 'kill']])
    t.ok(rt.isAlive(tr.pid))
  })

  await t.test('other atoms stay atoms', async t => {
    const rt = newRuntime()
    const tr = trapper(rt)
    await tick()
    rt.exit(tr.pid, atom('shutdown'))
    await tick()
    t.equal(tr.msgs.length, 1)
    t.equal((tr.msgs[0] as unknown[])[2], atom('shutdown'))
  })
})

t.test("link to a dead pid: 'noproc' exit signal (EXIT message when trapping)", async t => {
  const rt = newRuntime()
  const dead = rt.spawn(() => {})
  await tick()
  const tr = trapper(rt)
  await tick()
  tr.proc().link(dead)
  await tick()
  t.same(tr.msgs, [['EXIT', dead, 'noproc']])

  let after = false
  const victim = rt.spawn(proc => {
    proc.link(dead)
    after = true
  })
  const why = reasonOf(rt, victim)
  await tick()
  t.notOk(after, 'a non-trapping linker dies at once')
  t.equal(await why, 'noproc')

  // A pid of an older incarnation of this node is dead too.
  tr.proc().link(new Pid('a@h', 1, 0, 0))
  await tick()
  t.same(tr.msgs.at(-1), ['EXIT', new Pid('a@h', 1, 0, 0), 'noproc'])
})

t.test('unlink removes both sides; linking twice or to self is a no-op', async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  const a = idle(rt)
  await tick()
  const p = tr.proc()
  p.link(a)
  p.link(a)
  p.link(tr.pid)
  p.unlink(a)
  p.unlink(a)
  rt.exit(a, 'boom')
  await tick()
  t.same(tr.msgs, [], 'no EXIT after unlink')

  const b = idle(rt)
  await tick()
  p.link(b)
  rt.exit(tr.pid, 'kill')
  await tick()
  t.notOk(rt.isAlive(b), 'the link was single but bidirectional')
})

t.test('spawnLink: child crash reaches the parent; parent death reaches the child', async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  await tick()
  let child!: Pid
  const parent = rt.spawn(async proc => {
    child = proc.spawnLink(c => c.receive(() => false))
    await proc.receive(() => false)
  })
  await tick()
  const why = reasonOf(rt, child)
  await tick()
  rt.exit(parent, 'parent-died')
  t.equal(await why, 'parent-died')
  void tr
})

t.test('a link to a parent that is already dead gives the child noproc', async t => {
  const rt = newRuntime()
  const dead = rt.spawn(() => {})
  await tick()
  let ran = false
  const child = rt.spawn(
    () => {
      ran = true
    },
    { link: dead },
  )
  await tick()
  t.notOk(ran)
  t.notOk(rt.isAlive(child))
})

t.test('a long chain of linked processes dies without overflowing the stack', async t => {
  const rt = newRuntime()
  const N = 50_000
  let prev = idle(rt)
  const first = prev
  for (let i = 0; i < N; i++) prev = rt.spawn(proc => proc.receive(() => false), { link: prev })
  await tick()
  t.equal(rt.processCount, N + 1)
  rt.exit(first, 'cascade')
  t.equal(rt.processCount, 0)
})

t.test('shutdown kills every process, trapping or not, and stops spawning', async t => {
  const rt = newRuntime()
  const tr = trapper(rt)
  const a = idle(rt)
  rt.register('a', a)
  await tick()
  rt.shutdown()
  t.equal(rt.processCount, 0)
  t.same(rt.registered(), [])
  t.notOk(rt.isAlive(tr.pid))
  t.throws(() => rt.spawn(() => {}), { code: 'ERR_NODE_STOPPED' })
})
