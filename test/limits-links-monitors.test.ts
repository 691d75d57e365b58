// One authenticated peer's links and monitors on this node are bounded (limits.linksPerPeer,
// limits.monitorsPerPeer): the LINK or MONITOR that would go over the bound drops that peer's
// connection with ERR_LIMIT, logged with its name; the node keeps running and its other
// connections lose nothing. Links and monitors released the normal ways (unlink, demonitor,
// DOWN, an exit through the link, either process's exit) free their place, so a long-lived
// connection with churn never reaches the bound. Real sockets on loopback, a hand-made peer.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Proc, Runtime } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import { DEMONITOR, DOWN, EXIT, LINK, MONITOR, SEND, UNLINK } from '../lib/kernel/frames.js'
import { DEFAULT_LIMITS } from '../lib/kernel/limits.js'
import { testEpmd, testNode, inProcess, nextEvent } from './fixtures/cluster.js'
import { rawPeer, warnLog, type RawPeer } from './fixtures/raw-peer.js'
import { waitUntil } from './fixtures/mesh-helpers.js'

const runtimeOf = (n: Node): Runtime => (n as unknown as { runtime: Runtime }).runtime

/** A local process that collects what it receives. */
function sink(node: Node): { pid: Pid; got: unknown[] } {
  const got: unknown[] = []
  const pid = node.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
  return { pid, got }
}

/** Write `frames`, then a marker behind them; resolves once the marker arrived (so the frames were handled). */
async function handled(node: Node, rogue: RawPeer, frames: unknown[][]): Promise<void> {
  const s = sink(node)
  for (const f of frames) rogue.send(f)
  rogue.send([SEND, s.pid, 'marker'])
  await waitUntil(() => s.got.includes('marker'), 'the marker behind the frames')
  node.exit(s.pid, 'kill')
}

/** A process that lives until told 'die' (then exits with 'bye'). */
function victim(node: Node): Pid {
  return node.spawn(async (proc: Proc) => {
    await proc.receive(m => m === 'die')
    proc.exit('bye')
  })
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

async function setup(t: Test, limits: { linksPerPeer: number; monitorsPerPeer: number }) {
  const epmd = await testEpmd(t)
  const { warns, logger } = warnLog()
  const a = await testNode(t, epmd, { name: 'a', logger, limits })
  const b = await testNode(t, epmd, { name: 'b' })
  t.equal(await a.connect(b.name), true)
  const svc = victim(a)
  a.register('svc', svc)
  const rogue = await rawPeer(t, a)
  return { a, b, svc, rogue, warns }
}

/** The node keeps running and its other connection loses nothing: a round trip to b. */
async function stillServes(t: Test, a: Node, b: Node): Promise<void> {
  t.ok(a.nodes().includes(b.name), 'a is still connected to b')
  const echo = b.spawn(async proc => {
    const m = (await proc.receive()) as [string, Pid]
    proc.send(m[1], m[0])
  })
  const got = await inProcess(a, async proc => {
    proc.send(echo, ['still here', proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.equal(got, 'still here', 'messages still flow between a and b')
}

t.test('defaults: 2^20 links and monitors per peer', async t => {
  t.equal(DEFAULT_LIMITS.linksPerPeer, 1 << 20)
  t.equal(DEFAULT_LIMITS.monitorsPerPeer, 1 << 20)
})

t.test('monitors: the one past limits.monitorsPerPeer drops that connection with ERR_LIMIT', async t => {
  const limit = 300
  const { a, b, svc, rogue, warns } = await setup(t, { linksPerPeer: limit, monitorsPerPeer: limit })
  const w = rogue.pid(1)
  // Half by name, half by pid: both are monitors the peer holds here.
  await handled(
    a,
    rogue,
    range(limit).map(i => [MONITOR, w, i % 2 === 0 ? 'svc' : svc, rogue.ref(1000 + i)]),
  )
  t.equal(runtimeOf(a).monitorsHeldBy(rogue.name), limit, 'the peer holds exactly the bound')
  t.ok(rogue.up, 'at the bound the connection stays up')

  const down = nextEvent<[string, { error?: { code?: string; message?: string } }]>(a, 'nodedown', n => n === rogue.name)
  rogue.send([MONITOR, w, 'svc', rogue.ref(5000)])
  const [, info] = await down
  t.equal(info.error?.code, 'ERR_LIMIT', "nodedown's error is ERR_LIMIT")
  t.match(info.error?.message, rogue.name, 'naming the peer')
  t.match(info.error?.message, 'limits.monitorsPerPeer')
  await waitUntil(() => !rogue.up, 'the peer sees its connection closed', 5000)
  t.ok(
    warns.some(x => x.msg.includes(rogue.name) && x.msg.includes('monitors')),
    'logged as a warning naming the peer',
  )
  t.equal(runtimeOf(a).monitorsHeldBy(rogue.name), 0, "the peer's monitors went with its connection")
  t.ok(runtimeOf(a).isAlive(svc), 'the monitored process lives on')
  await stillServes(t, a, b)

  // The peer may come back and start again.
  const again = await rawPeer(t, a)
  await handled(a, again, [[MONITOR, again.pid(1), 'svc', again.ref(1)]])
  t.equal(runtimeOf(a).monitorsHeldBy(again.name), 1)
  t.ok(again.up)
})

t.test('links: the one past limits.linksPerPeer drops that connection with ERR_LIMIT', async t => {
  const limit = 300
  const { a, b, svc, rogue, warns } = await setup(t, { linksPerPeer: limit, monitorsPerPeer: limit })
  // Made-up pids of the peer's own node, each linking to the live process.
  await handled(
    a,
    rogue,
    range(limit).map(i => [LINK, rogue.pid(100 + i), svc]),
  )
  t.equal(runtimeOf(a).linksWith(rogue.name), limit, 'the peer holds exactly the bound')
  // A LINK repeated for a pair that is linked takes no place.
  await handled(a, rogue, [[LINK, rogue.pid(100), svc]])
  t.equal(runtimeOf(a).linksWith(rogue.name), limit)
  t.ok(rogue.up, 'at the bound the connection stays up')

  const down = nextEvent<[string, { error?: { code?: string; message?: string } }]>(a, 'nodedown', n => n === rogue.name)
  rogue.send([LINK, rogue.pid(99_999), svc])
  const [, info] = await down
  t.equal(info.error?.code, 'ERR_LIMIT', "nodedown's error is ERR_LIMIT")
  t.match(info.error?.message, rogue.name, 'naming the peer')
  t.match(info.error?.message, 'limits.linksPerPeer')
  await waitUntil(() => !rogue.up, 'the peer sees its connection closed', 5000)
  t.ok(
    warns.some(x => x.msg.includes(rogue.name) && x.msg.includes('links')),
    'logged as a warning naming the peer',
  )
  t.equal(runtimeOf(a).linksWith(rogue.name), 0, "the peer's links went with its connection")
  // The links delivered noconnection to svc, which does not trap exits: as in Erlang, it died.
  t.notOk(runtimeOf(a).isAlive(svc), 'svc got noconnection through its links')
  await stillServes(t, a, b)
})

t.test('a long-lived connection with churn never reaches the bound: released links and monitors free their place', async t => {
  const limit = 50
  const { a, b, svc, rogue } = await setup(t, { linksPerPeer: limit, monitorsPerPeer: limit })
  const rt = runtimeOf(a)
  const w = rogue.pid(1)
  let ref = 1
  const rounds = 6
  for (let round = 0; round < rounds; round++) {
    // Monitors, then demonitors.
    const refs = range(limit).map(() => rogue.ref(ref++))
    await handled(
      a,
      rogue,
      refs.map(r => [MONITOR, w, 'svc', r]),
    )
    t.equal(rt.monitorsHeldBy(rogue.name), limit)
    await handled(
      a,
      rogue,
      refs.map(r => [DEMONITOR, w, 'svc', r]),
    )
    t.equal(rt.monitorsHeldBy(rogue.name), 0, 'demonitor frees the place')

    // Monitors released by the target's exit (the DOWN goes to the peer).
    const v = victim(a)
    const vrefs = range(limit).map(() => rogue.ref(ref++))
    await handled(
      a,
      rogue,
      vrefs.map(r => [MONITOR, w, v, r]),
    )
    t.equal(rt.monitorsHeldBy(rogue.name), limit)
    a.send(v, 'die')
    const last = vrefs[limit - 1]!
    await rogue.next(f => f[0] === DOWN && last.equals(f[2]))
    t.equal(rt.monitorsHeldBy(rogue.name), 0, "the target's exit (DOWN) frees the place")

    // Monitors of a process that does not exist take no place (DOWN noproc at once).
    const nrefs = range(limit).map(() => rogue.ref(ref++))
    await handled(
      a,
      rogue,
      nrefs.map(r => [MONITOR, w, v, r]),
    )
    t.equal(rt.monitorsHeldBy(rogue.name), 0, 'a monitor of a dead process takes no place')

    // Links, then unlinks.
    const pids = range(limit, 10_000 + round * 1000).map(i => rogue.pid(i))
    await handled(
      a,
      rogue,
      pids.map(p => [LINK, p, svc]),
    )
    t.equal(rt.linksWith(rogue.name), limit)
    await handled(
      a,
      rogue,
      pids.map(p => [UNLINK, p, svc]),
    )
    t.equal(rt.linksWith(rogue.name), 0, 'unlink frees the place')

    // Links released by the peer's processes' exits (an EXIT through each link).
    await handled(
      a,
      rogue,
      pids.map(p => [LINK, p, svc]),
    )
    t.equal(rt.linksWith(rogue.name), limit)
    await handled(
      a,
      rogue,
      pids.map(p => [EXIT, p, svc, 'normal']),
    )
    t.equal(rt.linksWith(rogue.name), 0, "the linked peer process's exit frees the place")

    // Links released by the local process's exit (an EXIT to each linked peer process).
    const lv = victim(a)
    await handled(
      a,
      rogue,
      pids.map(p => [LINK, p, lv]),
    )
    t.equal(rt.linksWith(rogue.name), limit)
    a.send(lv, 'die')
    const lastPid = pids[limit - 1]!
    await rogue.next(f => f[0] === EXIT && lastPid.equals(f[2]) && f.length > 1)
    t.equal(rt.linksWith(rogue.name), 0, "the local process's exit frees the place")

    // A local process's own link to the peer counts too, and unlink frees it.
    await inProcess(a, async proc => {
      proc.link(rogue.pid(7))
      t.equal(rt.linksWith(rogue.name), 1, "a local process's link to a peer process counts")
      proc.unlink(rogue.pid(7))
    })
    t.equal(rt.linksWith(rogue.name), 0)
  }
  t.ok(rogue.up, `after ${rounds * limit * 6} links and monitors, ${limit} at most at once, the connection is up`)
  t.ok(rt.isAlive(svc), 'svc lives on')
  await stillServes(t, a, b)
})
