// Monitors and the name registry.
import t from 'tap'
import { Runtime, type Proc } from '../lib/process/runtime.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { RegistryError } from '../lib/errors.js'
import { isDown } from '../lib/index.js'

const tick = async (n = 1): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve))
}
const newRuntime = (): Runtime => new Runtime({ node: 'a@h', creation: 1 })
const idle = (rt: Runtime): Pid => rt.spawn(proc => proc.receive(() => false))

/** A process that records everything it receives; `proc()` is its Proc once started. */
function sink(rt: Runtime): { pid: Pid; msgs: unknown[]; proc: () => Proc } {
  const msgs: unknown[] = []
  let p!: Proc
  const pid = rt.spawn(async proc => {
    p = proc
    for (;;) msgs.push(await proc.receive())
  })
  return { pid, msgs, proc: () => p }
}

t.test('monitor delivers DOWN with the exit reason, once', async t => {
  const rt = newRuntime()
  const w = sink(rt)
  const target = idle(rt)
  await tick()
  const ref = w.proc().monitor(target)
  t.type(ref, Ref)
  const ref2 = w.proc().monitor(target)
  rt.exit(target, 'gone')
  await tick()
  t.same(w.msgs, [
    ['DOWN', ref, 'process', target, 'gone'],
    ['DOWN', ref2, 'process', target, 'gone'],
  ])
  t.ok(w.msgs.every(m => (m as unknown[])[3] instanceof Pid))
})

t.test('a monitor does not kill the watcher, and normal exits are reported', async t => {
  const rt = newRuntime()
  const w = sink(rt)
  await tick()
  const target = rt.spawn(async proc => {
    await proc.receive()
  })
  const ref = w.proc().monitor(target)
  rt.send(target, 'go')
  await tick()
  t.same(w.msgs, [['DOWN', ref, 'process', target, 'normal']])
  t.ok(rt.isAlive(w.pid))
})

t.test("monitoring a dead pid or an unknown name gives 'noproc' at once", async t => {
  const rt = newRuntime()
  const w = sink(rt)
  const dead = rt.spawn(() => {})
  await tick()
  const r1 = w.proc().monitor(dead)
  const r2 = w.proc().monitor('nobody')
  const r3 = w.proc().monitor(['nobody', 'a@h'])
  const old = new Pid('a@h', w.pid.id, 0, 0) // same id, older incarnation
  const r4 = w.proc().monitor(old)
  await tick()
  t.same(w.msgs, [
    ['DOWN', r1, 'process', dead, 'noproc'],
    ['DOWN', r2, 'process', ['nobody', 'a@h'], 'noproc'],
    ['DOWN', r3, 'process', ['nobody', 'a@h'], 'noproc'],
    ['DOWN', r4, 'process', old, 'noproc'],
  ])
  t.throws(() => w.proc().monitor(42 as never), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('monitor by registered name reports [name, node], as Erlang reports {Name, Node}', async t => {
  const rt = newRuntime()
  const w = sink(rt)
  const server = idle(rt)
  rt.register('server', server)
  await tick()
  const ref = w.proc().monitor('server')
  const ref2 = w.proc().monitor(['server', 'a@h'])
  rt.exit(server, 'stopped')
  await tick()
  t.same(w.msgs, [
    ['DOWN', ref, 'process', ['server', 'a@h'], 'stopped'],
    ['DOWN', ref2, 'process', ['server', 'a@h'], 'stopped'],
  ])
})

t.test('demonitor removes the monitor; a DOWN already received stays unless flushed', async t => {
  const rt = newRuntime()
  const target = idle(rt)
  let results: unknown[] = []
  rt.spawn(async proc => {
    const r1 = proc.monitor(target)
    const removed = proc.demonitor(r1)
    const removedAgain = proc.demonitor(r1)
    const r2 = proc.monitor(target)
    const r3 = proc.monitor(target)
    proc.send('ctl', ['ready', proc.self])
    await proc.receive(m => m === 'dead')
    // Both DOWNs are in the mailbox now.
    const still2 = proc.demonitor(r2) // no flush: the DOWN stays
    const still3 = proc.demonitor(r3, { flush: true })
    const left: unknown[] = []
    for (;;) {
      const m = await proc.receive(undefined, { timeout: 0 }).catch(() => 'empty')
      if (m === 'empty') break
      left.push(m)
    }
    results = [removed, removedAgain, still2, still3, left.length, (left[0] as unknown[])?.[1] === r2]
  })
  const ctl = rt.spawn(async proc => {
    const [, who] = (await proc.receive()) as [string, Pid]
    rt.exit(target, 'bye')
    proc.send(who, 'dead')
  })
  rt.register('ctl', ctl)
  await tick(3)
  t.same(results, [true, false, false, false, 1, true])
})

t.test('monitors held by a dying watcher are removed from their targets', async t => {
  const rt = newRuntime()
  const target = idle(rt)
  const watcher = rt.spawn(proc => {
    proc.monitor(target)
  })
  await tick()
  t.notOk(rt.isAlive(watcher))
  rt.exit(target, 'x') // nothing to deliver, nothing to throw
  t.equal(rt.processCount, 0)
})

t.test('registry: register, whereis, registered, unregister; names freed at exit', async t => {
  const rt = newRuntime()
  const a = idle(rt)
  const b = rt.spawn(async proc => {
    proc.register('b')
    await proc.receive()
  })
  rt.register('a', a)
  await tick()
  t.same(rt.whereis('a'), a)
  t.same(rt.whereis('b'), b)
  t.same(rt.registered().sort(), ['a', 'b'])
  rt.send('b', 'stop')
  await tick()
  t.equal(rt.whereis('b'), undefined, 'freed when the process exits')
  t.ok(rt.unregister('a'))
  t.notOk(rt.unregister('a'))
  t.equal(rt.whereis('a'), undefined)
  rt.register('a2', a) // may register again after unregister
  t.same(rt.whereis('a2'), a)
})

t.test('registry errors carry stable codes', async t => {
  const rt = newRuntime()
  const a = idle(rt)
  const b = idle(rt)
  rt.register('taken', a)
  t.throws(() => rt.register('taken', b), { name: 'RegistryError', code: 'ERR_NAME_TAKEN' })
  t.throws(() => rt.register('taken', a), { code: 'ERR_NAME_TAKEN' })
  t.throws(() => rt.register('second', a), { code: 'ERR_ALREADY_REGISTERED' })
  for (const bad of ['', 'undefined', 'x'.repeat(256), 42, null]) {
    t.throws(() => rt.register(bad as string, b), RegistryError, `bad name ${String(bad)}`)
    t.throws(() => rt.register(bad as string, b), { code: 'ERR_BAD_REGISTERED_NAME' })
  }
  const dead = rt.spawn(() => {})
  await tick()
  t.throws(() => rt.register('ghost', dead), { code: 'ERR_NOPROC' })
  t.throws(() => rt.register('far', new Pid('b@h', 1, 0, 1)), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => rt.register('far', {} as Pid), { code: 'ERR_BAD_ARGUMENT' })

  // From inside a process.
  const codes: unknown[] = []
  rt.spawn(proc => {
    for (const name of ['taken', '']) {
      try {
        proc.register(name)
      } catch (e) {
        codes.push((e as RegistryError).code)
      }
    }
  })
  await tick()
  t.same(codes, ['ERR_NAME_TAKEN', 'ERR_BAD_REGISTERED_NAME'])
})

t.test('send by name: local name and [name, node]; unknown local name throws ERR_NOPROC', async t => {
  const rt = newRuntime()
  const s = sink(rt)
  rt.register('s', s.pid)
  rt.send('s', 1)
  rt.send(['s', 'a@h'], 2)
  await tick()
  t.same(s.msgs, [1, 2])
  t.throws(() => rt.send('nobody', 1), { code: 'ERR_NOPROC' })
  t.throws(() => rt.send(['nobody', 'a@h'], 1), { code: 'ERR_NOPROC' })
  t.throws(() => rt.send(42 as never, 1), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => rt.send(['x'] as never, 1), { code: 'ERR_BAD_ARGUMENT' })
  // Sends to a dead pid, an older incarnation, or another node without distribution: dropped.
  const dead = rt.spawn(() => {})
  await tick()
  rt.send(dead, 'x')
  rt.send(new Pid('a@h', s.pid.id, 0, 0), 'x')
  rt.send(new Pid('b@h', 1, 0, 1), 'x')
  rt.send(['s', 'b@h'], 'x')
  await tick()
  t.same(s.msgs, [1, 2])
})

t.test('refs are unique per runtime; pids count up; isAlive', async t => {
  const rt = newRuntime()
  const r1 = rt.makeRef()
  const r2 = rt.makeRef()
  t.notOk(r1.equals(r2))
  t.equal(r1.node, 'a@h')
  t.equal(r1.creation, 1)
  const p1 = idle(rt)
  const p2 = idle(rt)
  t.equal(p2.id, p1.id + 1)
  t.equal(p1.node, 'a@h')
  t.equal(p1.creation, 1)
  t.ok(rt.isAlive(p1))
  t.notOk(rt.isAlive(new Pid('b@h', p1.id, 0, 1)))
  t.notOk(rt.isAlive(new Pid('a@h', p1.id, 0, 2)))
  t.notOk(rt.isAlive(new Pid('a@h', p1.id, 1, 1)), 'another serial')
  // Two runtimes in one OS process share nothing.
  const other = new Runtime({ node: 'b@h', creation: 1 })
  t.equal(other.spawn(() => {}).id, 1)
  t.equal(other.makeRef().id, 1)
})

t.test('setIdentity before any spawn; refused with live processes', async t => {
  const rt = new Runtime({ node: 'nonode@nohost', creation: 0 })
  rt.setIdentity('c@h', 7)
  t.equal(rt.node, 'c@h')
  t.equal(rt.creation, 7)
  const pid = idle(rt)
  t.equal(pid.node, 'c@h')
  t.equal(pid.creation, 7)
  const got: string[] = []
  rt.spawn(proc => {
    got.push(proc.node)
  })
  await tick()
  t.same(got, ['c@h'])
  t.throws(() => rt.setIdentity('d@h', 8), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('isDown: true for a DOWN a monitor delivered, false for a look-alike a process sent', async t => {
  const rt = newRuntime()
  const w = sink(rt)
  const target = idle(rt)
  await tick()
  const ref = w.proc().monitor(target)
  // What a peer (or any process) can send: the same array, with the right ref.
  rt.send(w.pid, ['DOWN', ref, 'process', target, 'forged'])
  rt.exit(target, 'bye')
  await tick(3)
  t.equal(w.msgs.length, 2)
  const [forged, real] = w.msgs as [unknown[], unknown[]]
  t.same(forged, real.slice(0, 4).concat('forged'), 'shaped alike')
  t.notOk(isDown(forged), 'the look-alike is not a DOWN')
  t.ok(isDown(real), 'the monitor’s DOWN is')
  t.equal(real[4], 'bye')
  t.notOk(isDown(['DOWN']) || isDown('DOWN') || isDown(undefined))
})
