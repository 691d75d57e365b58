// The seam with the net kernel: outbound calls through a fake Remote that records them, the
// inbound RemoteInbound methods, nodeDown, monitorNode, modules and remote spawn.
import t from 'tap'
import { Runtime, type Proc } from '../lib/process/runtime.js'
import type { Remote, RemoteName, SpawnOptions } from '../lib/process/remote.js'
import type { RpcOptions } from '../lib/process/rpc.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { SpawnError } from '../lib/errors.js'

const tick = async (n = 1): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve))
}

type Call = [method: string, ...args: unknown[]]

/** Records every outbound call; spawn answers with queued results. */
class FakeRemote implements Remote {
  calls: Call[] = []
  connected = new Set<string>(['b@h'])
  spawnResults: Array<Pid | Error> = []
  onEnsure: ((node: string) => void) | undefined
  private nextId = 100

  send(from: Pid | undefined, to: Pid, msg: unknown): boolean {
    this.calls.push(['send', from, to, msg])
    return true
  }
  regSend(from: Pid | undefined, name: string, node: string, msg: unknown): boolean {
    this.calls.push(['regSend', from, name, node, msg])
    return true
  }
  drain(node: string): Promise<void> {
    this.calls.push(['drain', node])
    return Promise.resolve()
  }
  link(from: Pid, to: Pid): void {
    this.calls.push(['link', from, to])
  }
  unlink(from: Pid, to: Pid): void {
    this.calls.push(['unlink', from, to])
  }
  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    this.calls.push(['exit', from, to, reason, viaLink])
  }
  monitor(from: Pid, target: Pid | RemoteName, ref: Ref): void {
    this.calls.push(['monitor', from, target, ref])
  }
  demonitor(from: Pid, target: Pid | RemoteName, ref: Ref): void {
    this.calls.push(['demonitor', from, target, ref])
  }
  down(watcher: Pid, ref: Ref, target: Pid | string, reason: unknown): void {
    this.calls.push(['down', watcher, ref, target, reason])
  }
  spawn(from: Pid | undefined, node: string, mod: string, fun: string, args: unknown[], opts: SpawnOptions): Promise<Pid> {
    this.calls.push(['spawn', from, node, mod, fun, args, opts])
    const r = this.spawnResults.shift() ?? new Pid(node, this.nextId++, 0, 1)
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r)
  }
  rpc(from: Pid | undefined, node: string, mod: string, fun: string, args: unknown[], opts: RpcOptions): Promise<unknown> {
    this.calls.push(['rpc', from, node, mod, fun, args, opts])
    return Promise.resolve(['called', node, mod, fun])
  }
  ensureConnected(node: string): void {
    this.calls.push(['ensureConnected', node])
    this.onEnsure?.(node)
  }
  isConnected(node: string): boolean {
    return this.connected.has(node)
  }
  take(method: string): Call[] {
    const out = this.calls.filter(c => c[0] === method)
    this.calls = this.calls.filter(c => c[0] !== method)
    return out
  }
}

function setup(): { rt: Runtime; remote: FakeRemote } {
  const remote = new FakeRemote()
  return { rt: new Runtime({ node: 'a@h', creation: 1, remote }), remote }
}

function sink(rt: Runtime, trap = false): { pid: Pid; msgs: unknown[]; proc: () => Proc } {
  const msgs: unknown[] = []
  let p!: Proc
  const pid = rt.spawn(async proc => {
    p = proc
    proc.trapExit(trap)
    for (;;) msgs.push(await proc.receive())
  })
  return { pid, msgs, proc: () => p }
}

const far = (id: number, node = 'b@h'): Pid => new Pid(node, id, 0, 1)

t.test('sends to another node go through Remote.send / regSend with the sender', async t => {
  const { rt, remote } = setup()
  const s = sink(rt)
  await tick()
  s.proc().send(far(1), 'hi')
  s.proc().send(['srv', 'b@h'], 'yo')
  rt.send(far(2), 'outside')
  t.same(remote.take('send'), [
    ['send', s.pid, far(1), 'hi'],
    ['send', undefined, far(2), 'outside'],
  ])
  t.same(remote.take('regSend'), [['regSend', s.pid, 'srv', 'b@h', 'yo']])
  // Same node name, other creation: a dead old incarnation, never routed remotely.
  rt.send(new Pid('a@h', 1, 0, 99), 'stale')
  t.same(remote.calls, [])
})

t.test('inbound deliver / deliverNamed; stale or unknown targets are dropped', async t => {
  const { rt } = setup()
  const s = sink(rt)
  rt.register('s', s.pid)
  rt.deliver(s.pid, 1)
  rt.deliverNamed('s', 2)
  rt.deliverNamed('nobody', 3)
  rt.deliver(new Pid('a@h', s.pid.id, 0, 2), 4)
  rt.deliver(far(1), 5)
  await tick()
  t.same(s.msgs, [1, 2])
})

t.test('links across nodes: link/unlink calls, exit propagation both ways', async t => {
  const { rt, remote } = setup()
  const s = sink(rt, true)
  await tick()
  const p = s.proc()
  p.link(far(1))
  t.same(remote.take('link'), [['link', s.pid, far(1)]])
  p.link(far(1))
  t.same(remote.take('link'), [], 'already linked')
  p.unlink(far(1))
  t.same(remote.take('unlink'), [['unlink', s.pid, far(1)]])
  p.unlink(far(1))
  t.same(remote.take('unlink'), [], 'not linked')

  // Remote exit via a link that no longer exists is ignored.
  rt.exitFrom(far(1), s.pid, 'late', true)
  // Remote links to us, then dies.
  rt.linkFrom(far(2), s.pid)
  rt.exitFrom(far(2), s.pid, 'crashed', true)
  // exit/2 from a remote process (no link needed).
  rt.exitFrom(far(3), s.pid, 'told', false)
  await tick()
  t.same(s.msgs, [
    ['EXIT', far(2), 'crashed'],
    ['EXIT', far(3), 'told'],
  ])

  // Our death propagates through Remote.exit (viaLink); exit/2 to a remote pid (not via link).
  rt.linkFrom(far(4), s.pid)
  rt.unlinkFrom(far(4), s.pid)
  rt.linkFrom(far(5), s.pid)
  p.exit(far(6), 'go away')
  t.same(remote.take('exit'), [['exit', s.pid, far(6), 'go away', false]])
  rt.exit(far(6), 'from outside')
  t.same(remote.take('exit'), [['exit', new Pid('a@h', 0, 0, 1), far(6), 'from outside', false]])
  rt.exit(s.pid, 'kill')
  t.same(remote.take('exit'), [['exit', s.pid, far(5), 'killed', true]], 'only the remaining link')
})

t.test("inbound link to a dead local pid answers 'noproc'; inbound kill is untrappable", async t => {
  const { rt, remote } = setup()
  const dead = rt.spawn(() => {})
  await tick()
  rt.linkFrom(far(1), dead)
  t.same(remote.take('exit'), [['exit', dead, far(1), 'noproc', true]])
  rt.exitFrom(far(1), dead, 'x', false) // no-op
  rt.unlinkFrom(far(1), dead) // no-op

  const s = sink(rt, true)
  await tick()
  rt.exitFrom(far(2), s.pid, 'kill', false)
  t.notOk(rt.isAlive(s.pid))
})

t.test('monitors across nodes: monitor, DOWN from remote, demonitor, watcher death', async t => {
  const { rt, remote } = setup()
  const s = sink(rt)
  await tick()
  const p = s.proc()
  const r1 = p.monitor(far(1))
  const r2 = p.monitor(['srv', 'b@h'])
  t.same(remote.take('monitor'), [
    ['monitor', s.pid, far(1), r1],
    ['monitor', s.pid, ['srv', 'b@h'], r2],
  ])
  rt.downFrom('b@h', s.pid, r1, 'crashed')
  rt.downFrom('b@h', s.pid, r1, 'twice') // already fired: ignored
  rt.downFrom('b@h', far(9), r2, 'wrong watcher') // not ours: ignored
  rt.downFrom('b@h', s.pid, new Ref('a@h', 9999, 1), 'unknown ref')
  await tick()
  t.same(s.msgs, [['DOWN', r1, 'process', far(1), 'crashed']])

  t.ok(p.demonitor(r2))
  t.same(remote.take('demonitor'), [['demonitor', s.pid, ['srv', 'b@h'], r2]])

  const r3 = p.monitor(far(3))
  remote.take('monitor')
  rt.exit(s.pid, 'bye')
  t.same(remote.take('demonitor'), [['demonitor', s.pid, far(3), r3]], 'monitors of a dead watcher are removed remotely')
})

t.test('remote watchers: monitorFrom, DOWN through Remote.down, demonitorFrom', async t => {
  const { rt, remote } = setup()
  const a = rt.spawn(proc => proc.receive(() => false))
  const b = rt.spawn(proc => proc.receive(() => false))
  rt.register('bee', b)
  const dead = rt.spawn(() => {})
  await tick()
  const ref1 = new Ref('b@h', 1, 1)
  const ref2 = new Ref('b@h', 2, 1)
  const ref3 = new Ref('b@h', 3, 1)
  const ref4 = new Ref('b@h', 4, 1)
  const ref5 = new Ref('b@h', 5, 1)
  rt.monitorFrom(far(1), a, ref1)
  rt.monitorFrom(far(1), 'bee', ref2)
  rt.monitorFrom(far(1), dead, ref3)
  rt.monitorFrom(far(1), 'nobody', ref4)
  rt.monitorFrom(far(1), a, ref5)
  t.same(remote.take('down'), [
    ['down', far(1), ref3, dead, 'noproc'],
    ['down', far(1), ref4, 'nobody', 'noproc'],
  ])
  rt.demonitorFrom(far(2), ref5) // another watcher: ignored
  rt.demonitorFrom(far(1), ref5)
  rt.exit(a, 'boom')
  rt.exit(b, 'bang')
  t.same(remote.take('down'), [
    ['down', far(1), ref1, a, 'boom'],
    ['down', far(1), ref2, 'bee', 'bang'],
  ])
})

t.test("nodeDown: 'noconnection' through links and monitors; monitors held there dropped", async t => {
  const { rt, remote } = setup()
  const trapper = sink(rt, true)
  const plain = rt.spawn(proc => proc.receive(() => false))
  const target = rt.spawn(proc => proc.receive(() => false))
  await tick()
  const p = trapper.proc()
  p.link(far(1))
  p.link(far(2, 'c@h'))
  const ref = p.monitor(far(3))
  const refC = p.monitor(far(3, 'c@h'))
  rt.linkFrom(far(4), plain)
  rt.monitorFrom(far(5), target, new Ref('b@h', 1, 1))
  rt.monitorFrom(far(6, 'c@h'), target, new Ref('c@h', 1, 1))
  const downWatch = sink(rt)
  await tick()
  const plainRef = downWatch.proc().monitor(plain)
  remote.calls = []

  rt.nodeDown('b@h')
  rt.nodeDown('a@h') // our own name: ignored
  await tick()
  t.same(trapper.msgs, [
    ['DOWN', ref, 'process', far(3), 'noconnection'],
    ['EXIT', far(1), 'noconnection'],
  ])
  t.same(downWatch.msgs, [['DOWN', plainRef, 'process', plain, 'noconnection']], 'a non-trapping linked process dies')
  rt.exit(target, 'later')
  t.same(remote.take('down'), [['down', far(6, 'c@h'), new Ref('c@h', 1, 1), target, 'later']], "b@h's monitor was dropped")
  t.same(remote.calls, [], 'nothing sent to the lost node')
  // Links and monitors to c@h are untouched.
  rt.nodeDown('c@h')
  await tick()
  t.same(trapper.msgs.slice(2), [
    ['DOWN', refC, 'process', far(3, 'c@h'), 'noconnection'],
    ['EXIT', far(2, 'c@h'), 'noconnection'],
  ])
})

t.test('monitorNode: counted, ensureConnected, fires once per true on nodeDown', async t => {
  const { rt, remote } = setup()
  const s = sink(rt)
  await tick()
  const p = s.proc()
  p.monitorNode('b@h', true)
  p.monitorNode('b@h', true)
  p.monitorNode('b@h', true)
  p.monitorNode('b@h', false)
  p.monitorNode('c@h', true)
  p.monitorNode('c@h', false)
  p.monitorNode('c@h', false) // more false than true: no-op
  p.monitorNode('a@h', true) // own node: never fires
  t.same(remote.take('ensureConnected'), [
    ['ensureConnected', 'b@h'],
    ['ensureConnected', 'b@h'],
    ['ensureConnected', 'b@h'],
    ['ensureConnected', 'c@h'],
  ])
  rt.nodeDown('c@h')
  rt.nodeDown('b@h')
  rt.nodeDown('b@h') // fired already: monitors are gone
  await tick()
  t.same(s.msgs, [
    ['nodedown', 'b@h'],
    ['nodedown', 'b@h'],
  ])
  t.throws(() => p.monitorNode('', true), { code: 'ERR_BAD_ARGUMENT' })

  // A connection that cannot be set up: the kernel calls nodeDown from ensureConnected.
  remote.onEnsure = node => rt.nodeDown(node)
  p.monitorNode('x@h', true)
  await tick()
  t.same(s.msgs.at(-1), ['nodedown', 'x@h'])

  // Node monitors of a dead process are forgotten.
  remote.onEnsure = undefined
  const q = rt.spawn(proc => {
    proc.monitorNode('d@h', true)
  })
  await tick()
  t.notOk(rt.isAlive(q))
  rt.nodeDown('d@h')
})

t.test("without a Remote: sends dropped, links/monitors 'noconnection', nodedown at once", async t => {
  const rt = new Runtime({ node: 'a@h', creation: 1 })
  const s = sink(rt, true)
  await tick()
  const p = s.proc()
  p.send(far(1), 'dropped')
  p.send(['srv', 'b@h'], 'dropped')
  p.link(far(1))
  const ref = p.monitor(far(2))
  const ref2 = p.monitor(['srv', 'b@h'])
  p.monitorNode('b@h', true)
  p.exit(far(3), 'nowhere') // dropped
  await tick()
  t.same(s.msgs, [
    ['EXIT', far(1), 'noconnection'],
    ['DOWN', ref, 'process', far(2), 'noconnection'],
    ['DOWN', ref2, 'process', ['srv', 'b@h'], 'noconnection'],
    ['nodedown', 'b@h'],
  ])
  await t.rejects(p.spawn('b@h', 'm', 'f', []), { name: 'SpawnError', code: 'ERR_SPAWN_FAILED' })
  await t.rejects(rt.spawnOn('b@h', 'm', 'f', []), { code: 'ERR_SPAWN_FAILED' })
})

t.test('modules: defineModule, spawnModule, local spawn/4, unknown code', async t => {
  const { rt } = setup()
  const s = sink(rt)
  rt.defineModule('m', {
    hello: (proc: Proc, to: Pid, word: string) => proc.send(to, [word, proc.node]),
  })
  rt.spawnModule('m', 'hello', [s.pid, 'hi'])
  const pid = await rt.spawnOn('a@h', 'm', 'hello', [s.pid, 'there'])
  t.type(pid, Pid)
  await tick()
  t.same(s.msgs, [
    ['hi', 'a@h'],
    ['there', 'a@h'],
  ])
  t.throws(() => rt.spawnModule('nope', 'f', []), { name: 'SpawnError', code: 'ERR_SPAWN_UNKNOWN_MODULE' })
  t.throws(() => rt.spawnModule('m', 'nope', []), SpawnError)
  t.throws(() => rt.spawnModule('m', 'toString', []), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, 'only own functions')
  t.throws(() => rt.spawnModule('m', 'hello', 'x' as never), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => rt.defineModule('', {}), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => rt.defineModule('x', null as never), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(rt.spawnOn('a@h', 'nope', 'f', []), { code: 'ERR_SPAWN_UNKNOWN_MODULE' })
  await t.rejects(rt.spawnOn(42 as never, 'm', 'f', []), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => rt.spawn('x' as never), { code: 'ERR_BAD_ARGUMENT' })

  // From a process: spawn/4 and spawnLink/4 on the local node.
  const tr = sink(rt, true)
  await tick()
  const child = await tr.proc().spawnLink('a@h', 'm', 'hello', [s.pid, 'linked'])
  await tick()
  t.same(tr.msgs, [['EXIT', child, 'normal']])
  const c2 = await tr.proc().spawn('a@h', 'm', 'hello', [s.pid, 'plain'])
  await tick()
  t.same(tr.msgs.length, 1, 'no link for spawn/4')
  t.type(c2, Pid)

  // spawnModule with linkTo a remote pid (a remote spawn_link request): our side records the link.
  const remote = (rt as unknown as { system: { remote: FakeRemote } }).system.remote
  const linked = rt.spawnModule('m', 'hello', [s.pid, 'remote-linked'], { linkTo: far(7) })
  await tick()
  t.same(remote.take('exit'), [['exit', linked, far(7), 'normal', true]])
})

t.test('remote spawn and spawnLink go through Remote.spawn; the link is recorded on reply', async t => {
  const { rt, remote } = setup()
  const tr = sink(rt, true)
  await tick()
  const p = tr.proc()
  const pid = await p.spawn('b@h', 'm', 'f', [1])
  t.same(remote.take('spawn'), [['spawn', tr.pid, 'b@h', 'm', 'f', [1], {}]])
  await rt.spawnOn('b@h', 'm', 'f', [])
  t.same(remote.take('spawn'), [['spawn', undefined, 'b@h', 'm', 'f', [], {}]])
  const linked = await p.spawnLink('b@h', 'm', 'loop', [])
  t.same(remote.take('spawn'), [['spawn', tr.pid, 'b@h', 'm', 'loop', [], { link: true }]])
  rt.exitFrom(pid, tr.pid, 'not linked', true) // spawn/4 did not link
  rt.exitFrom(linked, tr.pid, 'linked died', true)
  await tick()
  t.same(tr.msgs, [['EXIT', linked, 'linked died']])

  remote.spawnResults.push(new SpawnError('ERR_SPAWN_UNKNOWN_MODULE', 'no module'))
  await t.rejects(p.spawnLink('b@h', 'x', 'y', []), { code: 'ERR_SPAWN_UNKNOWN_MODULE' })
})

t.test('spawnLink: a link exit that overtakes the spawn reply is applied on reply', async t => {
  const { rt, remote } = setup()
  const tr = sink(rt, true)
  await tick()
  const child = far(200)
  remote.spawnResults.push(child)
  const promise = tr.proc().spawnLink('b@h', 'm', 'f', [])
  // The kernel dispatches the reply and then, in the same chunk, the child's exit.
  rt.exitFrom(child, tr.pid, 'died young', true)
  t.same(await promise, child)
  await tick()
  t.same(tr.msgs, [['EXIT', child, 'died young']])
})

t.test('spawnLink: reply after the caller died, or from a node already gone', async t => {
  const { rt, remote } = setup()
  let resolveSpawn!: (pid: Pid) => void
  remote.spawn = (from, node, mod, fun, args, opts) => {
    remote.calls.push(['spawn', from, node, mod, fun, args, opts])
    return new Promise<Pid>(resolve => (resolveSpawn = resolve))
  }
  let caller!: Proc
  const callerPid = rt.spawn(async proc => {
    caller = proc
    await proc.spawnLink('b@h', 'm', 'f', [])
  })
  await tick()
  rt.exit(callerPid, 'gone')
  resolveSpawn(far(300))
  await tick()
  t.same(remote.take('exit'), [['exit', callerPid, far(300), 'gone', true]], 'the new process learns we died')
  void caller

  // Reply for a node whose connection is already down: noconnection at once.
  const tr = sink(rt, true)
  await tick()
  const pr = tr.proc().spawnLink('z@h', 'm', 'f', [])
  resolveSpawn(far(301, 'z@h'))
  await pr
  await tick()
  t.same(tr.msgs, [['EXIT', far(301, 'z@h'), 'noconnection']])
})

t.test('shutdown tells remote links and watchers', async t => {
  const { rt, remote } = setup()
  const a = rt.spawn(proc => proc.receive(() => false))
  await tick()
  rt.linkFrom(far(1), a)
  const ref = new Ref('b@h', 1, 1)
  rt.monitorFrom(far(2), a, ref)
  rt.shutdown()
  t.same(remote.take('exit'), [['exit', a, far(1), 'shutdown', true]])
  t.same(remote.take('down'), [['down', far(2), ref, a, 'shutdown']])
  t.equal(rt.processCount, 0)
  rt.setRemote(undefined)
  rt.send(far(1), 'nowhere')
})

t.test('a Remote that throws while a process exits does not stop the exit', async t => {
  const remote = new FakeRemote()
  const warned: unknown[] = []
  const noop = (): void => {}
  const logger = { trace: noop, debug: noop, info: noop, error: noop, warn: (o: unknown) => void warned.push(o) }
  const rt = new Runtime({ node: 'a@h', creation: 1, remote, logger })
  const fail = (): never => {
    throw new Error('cannot encode reason')
  }
  remote.exit = fail
  remote.down = fail
  const a = rt.spawn(proc => proc.receive(() => false))
  rt.register('a', a)
  const s = sink(rt)
  await tick()
  rt.linkFrom(far(1), a)
  rt.monitorFrom(far(2), a, new Ref('b@h', 1, 1))
  const ref = s.proc().monitor(a)
  rt.exit(a, 'boom')
  await tick()
  t.same(s.msgs, [['DOWN', ref, 'process', a, 'boom']], 'local monitors still fire')
  t.equal(rt.whereis('a'), undefined)
  t.equal(warned.length, 2)
  t.type(s.proc().makeRef(), Ref)
  t.match(String(s.proc()), /^Proc<a@h\.\d+\.0>$/)
})
