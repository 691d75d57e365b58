// The trust boundary for signals: after authentication a peer speaks only for processes of
// its own node. A DOWN for a monitor of a process on a third node, a MONITOR that reuses a
// ref it did not make (or one of its own still in use), links, exits, unlinks and demonitors
// claiming a third node's process, a spawn reply naming a third node's pid: each is dropped,
// counted per peer as a protocol refusal, logged and published on 'netkernel:refused' with
// ERR_PROTOCOL, and the connection stays up. Real nodes, a hand-made authenticated peer.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import type { Ref } from '../lib/terms/ref.js'
import {
  ALIAS_SEND,
  DEMONITOR,
  DOWN,
  EXIT,
  EXIT2,
  LINK,
  MONITOR,
  REG_SEND,
  SEND,
  SPAWN_REPLY,
  SPAWN_REQUEST,
  UNLINK,
} from '../lib/kernel/frames.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { rawPeer, refusedLog, warnLog, type RawPeer } from './fixtures/raw-peer.js'
import { sleep, waitUntil } from './fixtures/mesh-helpers.js'

const isDown = (m: unknown): boolean => Array.isArray(m) && m[0] === 'DOWN'

/** A process on `node` that waits for 'die' and then exits with `reason`. */
function victim(node: Node, reason: string): Pid {
  return node.spawn(async (proc: Proc) => {
    await proc.receive(m => m === 'die')
    proc.exit(reason)
  })
}

/** A local process that collects what it receives. */
function sink(node: Node): { pid: Pid; got: unknown[] } {
  const got: unknown[] = []
  const pid = node.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
  return { pid, got }
}

/** Write `frame`, then a marker behind it; resolves once the marker arrived (so the frame was handled). */
async function handled(node: Node, rogue: RawPeer, ...frames: unknown[][]): Promise<void> {
  const s = sink(node)
  for (const f of frames) rogue.send(f)
  rogue.send([SEND, s.pid, 'marker'])
  await waitUntil(() => s.got.includes('marker'), 'the marker behind the forged frames')
  node.exit(s.pid, 'kill')
}

async function setup(t: Test): Promise<{ a: Node; b: Node; rogue: RawPeer; warns: { msg: string }[] }> {
  const epmd = await testEpmd(t)
  const { warns, logger } = warnLog()
  const a = await testNode(t, epmd, { name: 'a', logger })
  const b = await testNode(t, epmd, { name: 'b' })
  t.equal(await a.connect(b.name), true)
  const rogue = await rawPeer(t, a)
  return { a, b, rogue, warns }
}

/**
 * A process on `a` monitoring `target` on `b`: it reports its ref, waits for 'go', tells
 * the target to die and returns the first DOWN it gets (or 'none').
 */
function watcher(a: Node, target: Pid): { ref: Promise<Ref>; self: Promise<Pid>; down: Promise<unknown> } {
  let gotRef!: (r: Ref) => void
  let gotSelf!: (p: Pid) => void
  const ref = new Promise<Ref>(r => {
    gotRef = r
  })
  const self = new Promise<Pid>(r => {
    gotSelf = r
  })
  const down = inProcess(a, async proc => {
    gotSelf(proc.self)
    gotRef(proc.monitor(target))
    await proc.receive(m => m === 'go')
    proc.send(target, 'die')
    try {
      return await proc.receive(isDown, { timeout: 3000 })
    } catch {
      return 'none'
    }
  })
  return { ref, self, down }
}

t.test('a DOWN from a node other than the monitored process’s is refused; the real one arrives', async t => {
  const { a, b, rogue, warns } = await setup(t)
  const refused = refusedLog(t)
  const target = victim(b, 'real')
  const w = watcher(a, target)
  const [ref, self] = [await w.ref, await w.self]
  rogue.send([DOWN, self, ref, 'forged'])
  rogue.send([SEND, self, 'go'])
  const down = (await w.down) as unknown[]
  t.same(down, ['DOWN', ref, 'process', target, 'real'], 'the watcher sees only the DOWN from the target’s node')

  t.same(a.refusals.counts().get(rogue.name), { protocol: 1 }, 'counted against the peer that sent it')
  t.match(refused, [{ node: a.name, peer: rogue.name, op: 'down', code: 'ERR_PROTOCOL', detail: { reason: /no monitor/ } }])
  t.match(warns, [{ msg: /down from .*rogue.* refused/ }], 'logged')
  t.ok(rogue.up, 'the connection stays up')
  t.ok(a.nodes('hidden').includes(rogue.name))

  // A DOWN for a monitor that is gone (a demonitor crossing the target's death) is not forgery.
  await handled(a, rogue, [DOWN, self, ref, 'late'])
  t.equal(a.refusals.total(rogue.name), 1, 'a late DOWN for a monitor of ours already gone is ignored, not counted')
})

t.test('a MONITOR reusing a ref the peer did not make is refused; the monitor it would replace still fires', async t => {
  const { a, b, rogue } = await setup(t)
  const refused = refusedLog(t)
  const target = victim(b, 'real')
  const w = watcher(a, target)
  const [ref, self] = [await w.ref, await w.self]
  const local = sink(a)
  rogue.send([MONITOR, rogue.pid(1), local.pid, ref])
  rogue.send([SEND, self, 'go'])
  t.same(await w.down, ['DOWN', ref, 'process', target, 'real'], 'the real DOWN is not lost')
  a.exit(local.pid, 'bye')
  await sleep(100)
  t.notOk(
    rogue.frames.some(f => f[0] === DOWN),
    'the forged monitor never fires',
  )
  t.same(a.refusals.counts().get(rogue.name), { protocol: 1 })
  t.match(refused, [{ peer: rogue.name, op: 'monitor', code: 'ERR_PROTOCOL', detail: { reason: /was not made by/ } }])
})

t.test('a MONITOR with a ref of the peer’s own still in use is refused; the first monitor holds', async t => {
  const { a, rogue } = await setup(t)
  const refused = refusedLog(t)
  const one = victim(a, 'one')
  const two = victim(a, 'two')
  const ref = rogue.ref(1)
  await handled(a, rogue, [MONITOR, rogue.pid(1), one, ref], [MONITOR, rogue.pid(1), two, ref])
  a.send(two, 'die')
  await sleep(50)
  a.send(one, 'die')
  await rogue.next(f => f[0] === DOWN && f[3] === 'one')
  await sleep(100)
  t.same(
    rogue.frames.filter(f => f[0] === DOWN).map(f => f[3]),
    ['one'],
    'only the first monitor fired',
  )
  t.same(a.refusals.counts().get(rogue.name), { protocol: 1 })
  t.match(refused, [{ op: 'monitor', code: 'ERR_PROTOCOL', detail: { reason: /in use/ } }])
})

t.test('links, exits, unlinks, demonitors, sends, alias sends and spawns for a third node’s process are refused', async t => {
  const { a, b, rogue } = await setup(t)
  const refused = refusedLog(t)
  const x = victim(a, 'x')
  const third = b.spawn(async proc => {
    await proc.receive()
  })
  const obs = sink(a)
  await handled(
    a,
    rogue,
    [LINK, third, x],
    [UNLINK, third, x],
    [EXIT, third, x, 'kill'],
    [EXIT2, third, x, 'kill'],
    [MONITOR, third, x, rogue.ref(5)],
    [DEMONITOR, third, x, rogue.ref(5)],
    [REG_SEND, third, 'nobody', 'hi'],
    [SPAWN_REQUEST, 99, third, 't', 'echo', [], true],
    [ALIAS_SEND, third, rogue.ref(6), 'hi'],
  )
  const alive = await inProcess(a, async proc => {
    proc.monitor(x)
    return proc.receive(isDown, { timeout: 200 }).then(
      () => false,
      () => true,
    )
  })
  t.ok(alive, 'no exit signal reached the process')
  t.same(obs.got, [])
  t.same(a.refusals.counts().get(rogue.name), { protocol: 9 }, 'each one counted')
  t.same(
    refused.map(r => r.op),
    ['link', 'unlink', 'exit', 'exit2', 'monitor', 'demonitor', 'reg_send', 'spawn_request', 'alias_send'],
  )
  t.ok(refused.every(r => r.code === 'ERR_PROTOCOL' && r.peer === rogue.name && r.node === a.name))
  t.match(refused[0], { detail: { reason: /linker .* is not a process of .*rogue/ } })
  const reply = await rogue.next(f => f[0] === SPAWN_REPLY && f[1] === 99)
  t.match(reply, [SPAWN_REPLY, 99, false, { code: 'ERR_SPAWN_FAILED' }], 'the spawn request is answered, not left waiting')
  t.ok(rogue.up, 'the connection stays up')
})

t.test('a message whose recipient is not a process of this node is refused and counted; the connection carries on', async t => {
  const { a, b, rogue } = await setup(t)
  const refused = refusedLog(t)
  const onB = sink(b)
  const onA = sink(a)
  // A stream of sends is decoded without its frame array (connection.ts, onSend): the same checks.
  await handled(a, rogue, [SEND, onB.pid, 'to b'], [SEND, 'not a pid', 'to nobody'], [SEND, onA.pid, 'to a'])
  t.same(onA.got, ['to a'], 'the message for a process of this node arrived')
  t.same(onB.got, [], 'nothing was passed on to the third node')
  t.same(a.refusals.counts().get(rogue.name), { protocol: 2 }, 'both counted against the peer that sent them')
  t.match(refused, [
    { op: 'send', code: 'ERR_PROTOCOL', peer: rogue.name, detail: { reason: /recipient .* is not a process of .*a@/ } },
    { op: 'send', code: 'ERR_PROTOCOL', peer: rogue.name, detail: { reason: /recipient is not a pid/ } },
  ])
  t.equal(refused.length, 2)
})

t.test('a spawn reply naming a process of another node is refused: the spawn fails', async t => {
  const { a, b, rogue } = await setup(t)
  const refused = refusedLog(t)
  const elsewhere = b.spawn(async proc => {
    await proc.receive()
  })
  const spawned = a.spawn(rogue.name, 'm', 'f', [])
  const req = await rogue.next(f => f[0] === SPAWN_REQUEST)
  rogue.send([SPAWN_REPLY, req[1], true, elsewhere])
  await t.rejects(spawned, { code: 'ERR_SPAWN_FAILED', message: /no process of that node/ })
  t.match(refused, [{ op: 'spawn_reply', code: 'ERR_PROTOCOL' }])

  const honest = a.spawn(rogue.name, 'm', 'f', [])
  const req2 = await rogue.next(f => f[0] === SPAWN_REQUEST && f[1] !== req[1])
  rogue.send([SPAWN_REPLY, req2[1], true, rogue.pid(3)])
  t.ok((await honest).equals(rogue.pid(3)), 'a reply naming a pid of the peer is accepted')
  t.same(a.refusals.counts().get(rogue.name), { protocol: 1 })
})
