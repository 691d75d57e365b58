// One peer's processes on this node are bounded (limits.processesPerPeer): the processes its
// spawn requests and rpc calls started, counted while they live. Past the bound the one
// request is refused — a spawn with SpawnError ERR_SPAWN_FAILED, an rpc call with ERR_LIMIT,
// both naming the limit — and the connection stays; another peer is not affected. Every way a
// process can end frees its place exactly: each round fills the bound through one way of
// starting processes, checks the next request is refused, ends them all one way, and the next
// round can start exactly the bound again. Real nodes on loopback. The Erlang/OTP wire's side
// is limits-otp-processes.test.ts.
import t, { type Test } from 'tap'
import diagnostics_channel from 'node:diagnostics_channel'
import type { Node } from '../lib/node.js'
import type { Runtime } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import { DEFAULT_LIMITS } from '../lib/kernel/limits.js'
import { RpcError } from '../lib/errors.js'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import { warnLog } from './fixtures/raw-peer.js'
import { waitUntil } from './fixtures/mesh-helpers.js'
import { waitingModule } from './fixtures/waiting-module.js'

const runtimeOf = (n: Node): Runtime => (n as unknown as { runtime: Runtime }).runtime

/** A process on `node` that collects the pids the waiting processes report. */
function collector(node: Node): { pid: Pid; got: Pid[] } {
  const got: Pid[] = []
  const pid = node.spawn(async proc => {
    for (;;) got.push((await proc.receive()) as Pid)
  })
  return { pid, got }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

async function setup(t: Test, limit: number) {
  const epmd = await testEpmd(t)
  const { warns, logger } = warnLog()
  const a = await testNode(t, epmd, { name: 'a', logger, limits: { processesPerPeer: limit } })
  // What the peers start on `a`: a process that tells `to` its pid, then ends as told.
  a.defineModule('w', waitingModule)
  const b = await testNode(t, epmd, { name: 'b' })
  const c = await testNode(t, epmd, { name: 'c' })
  const limitWarns = (peer: string): number => warns.filter(x => x.msg.includes(peer) && x.msg.includes('limits.processesPerPeer')).length
  return { a, b, c, rt: runtimeOf(a), limitWarns }
}

t.test('default: 2^18 processes per peer', async t => {
  t.equal(DEFAULT_LIMITS.processesPerPeer, 1 << 18)
})

t.test('the spawn or call past limits.processesPerPeer is refused, typed; other peers are not', async t => {
  const limit = 5
  const { a, b, c, rt, limitWarns } = await setup(t, limit)
  const published: Array<Record<string, unknown>> = []
  const onRefused = (m: unknown): void => void published.push(m as Record<string, unknown>)
  diagnostics_channel.subscribe('netkernel:refused', onRefused)
  t.teardown(() => void diagnostics_channel.unsubscribe('netkernel:refused', onRefused))
  const col = collector(b)
  const pids = await Promise.all(range(limit).map(() => b.spawn(a.name, 'w', 'wait', [col.pid])))
  t.equal(rt.processesFor(b.name), limit, 'the peer has exactly the bound running')

  await t.rejects(
    b.spawn(a.name, 'w', 'wait', [col.pid]),
    {
      name: 'SpawnError',
      code: 'ERR_SPAWN_FAILED',
      message: new RegExp(`${b.name} has ${limit} processes running on ${a.name} \\(limits\\.processesPerPeer\\)`),
    },
    'the spawn past the bound is refused',
  )
  await t.rejects(
    b.rpc(a.name, 'r', 'add', [1, 2]),
    { name: 'NetkernelError', code: 'ERR_LIMIT', message: /limits\.processesPerPeer/ },
    'so is an rpc call',
  )
  t.equal(rt.processesFor(b.name), limit, 'refused requests start nothing')
  t.ok(b.nodes().includes(a.name), 'the connection stays')
  // Refusals like policy's: counted per peer and op, logged (the 1st, 2nd, 4th... of each op), published.
  t.same(a.stats().refused[b.name], { spawn: 1, rpc: 1 }, 'counted against b, by op (stats, netkernel top)')
  t.equal(limitWarns(b.name), 2, 'each logged, naming the peer')
  t.match(
    published.filter(m => m.peer === b.name),
    [
      { node: a.name, op: 'spawn', code: 'ERR_LIMIT', detail: { module: 'w', function: 'wait' } },
      { node: a.name, op: 'rpc', code: 'ERR_LIMIT', detail: { module: 'r', function: 'add' } },
    ],
    "published on 'netkernel:refused' with code ERR_LIMIT",
  )

  // Another peer: its own bound.
  t.equal(await c.rpc(a.name, 'r', 'add', [1, 2]), 3, 'another peer may call')
  const cCol = collector(c)
  const cPids = await Promise.all(range(limit).map(() => c.spawn(a.name, 'w', 'wait', [cCol.pid])))
  t.equal(rt.processesFor(c.name), limit, 'and spawn up to its own bound')
  await t.rejects(c.spawn(a.name, 'w', 'wait', [cCol.pid]), { code: 'ERR_SPAWN_FAILED' })
  t.same(a.stats().refused[c.name], { spawn: 1 })
  t.equal(limitWarns(c.name), 1)
  t.same(a.stats().refused[b.name], { spawn: 1, rpc: 1 }, "b's counts are its own")

  // Room again: a call fits; once the bound is reached again, refused again.
  a.send(pids[0]!, 'return')
  await waitUntil(() => rt.processesFor(b.name) === limit - 1, 'the place freed')
  t.equal(await b.rpc(a.name, 'r', 'add', [2, 3]), 5, 'a call fits once a place is free')
  pids[0] = await b.spawn(a.name, 'w', 'wait', [col.pid])
  await t.rejects(b.rpc(a.name, 'r', 'add', [1, 2]), { code: 'ERR_LIMIT' })
  t.same(a.stats().refused[b.name], { spawn: 1, rpc: 2 })
  t.equal(limitWarns(b.name), 3, 'the 2nd refusal of a kind is logged too (then the 4th, the 8th...)')

  for (const pid of [...pids, ...cPids]) a.exit(pid, 'kill')
  await waitUntil(() => rt.processesFor(b.name) === 0 && rt.processesFor(c.name) === 0, 'all gone')
})

t.test('every way a process ends frees its place, exactly', async t => {
  const limit = 5
  const { a, b, rt } = await setup(t, limit)
  const col = collector(b)

  /** Processes started one way, to be ended one way; `calls`: the rpc calls that started them. */
  interface Started {
    pids: Pid[]
    calls?: Promise<unknown>[]
    parent?: Pid
  }
  const take = async (n: number): Promise<Pid[]> => {
    await waitUntil(() => col.got.length >= n, `${n} processes reported`)
    return col.got.splice(0, n)
  }
  const bySpawn = async (): Promise<Started> => ({
    pids: await Promise.all(range(limit).map(() => b.spawn(a.name, 'w', 'wait', [col.pid]))),
  })
  const byRpc = async (): Promise<Started> => {
    col.got.length = 0 // (what the spawned ones reported)
    const calls = range(limit).map(() => b.rpc(a.name, 'w', 'wait', [col.pid]))
    for (const call of calls) call.catch(() => {}) // (examined below)
    return { pids: await take(limit), calls }
  }
  /** spawn_link from one process of b, which then waits to be told to die. */
  const bySpawnLink = async (): Promise<Started> => {
    let ready!: (pids: Pid[]) => void
    const linked = new Promise<Pid[]>(resolve => (ready = resolve))
    const parent = b.spawn(async proc => {
      const pids: Pid[] = []
      for (let i = 0; i < limit; i++) pids.push(await proc.spawnLink(a.name, 'w', 'wait', [col.pid]))
      ready(pids)
      await proc.receive(m => m === 'die')
      proc.exit('boom')
    })
    return { pids: await linked, parent }
  }
  const told = (how: string) => async (s: Started) => {
    for (const pid of s.pids) a.send(pid, how)
  }

  const ways: { name: string; start: () => Promise<Started>; end: (s: Started) => Promise<void>; calls?: object }[] = [
    { name: 'a spawned process returns', start: bySpawn, end: told('return') },
    { name: 'it throws an Error', start: bySpawn, end: told('error') },
    { name: 'it throws a value', start: bySpawn, end: told('throw') },
    { name: 'it calls proc.exit', start: bySpawn, end: told('exit') },
    {
      name: 'an exit signal from the peer ends it',
      start: bySpawn,
      end: async s => {
        for (const pid of s.pids) b.exit(pid, 'stop')
      },
    },
    {
      name: 'it is killed here',
      start: bySpawn,
      end: async s => {
        for (const pid of s.pids) a.exit(pid, 'kill')
      },
    },
    { name: 'an rpc call returns', start: byRpc, end: told('return'), calls: { kind: 'fulfilled', value: 'returned' } },
    { name: 'an rpc call throws', start: byRpc, end: told('error'), calls: { kind: 'rejected', reason: { kind: 'error' } } },
    {
      name: 'an rpc call is killed',
      start: byRpc,
      end: async s => {
        for (const pid of s.pids) a.exit(pid, 'kill')
      },
      calls: { kind: 'rejected', reason: { kind: 'exit', reason: 'killed' } },
    },
    { name: 'the linked requester exits', start: bySpawnLink, end: async s => void b.send(s.parent!, 'die') },
    {
      name: "the peer's nodedown ends its linked processes",
      start: bySpawnLink,
      end: async () => {
        const down = nextEvent(a, 'nodedown', n => n === b.name)
        t.ok(b.disconnect(a.name), 'b disconnects')
        await down
      },
    },
  ]

  for (const way of ways) {
    const s = await way.start()
    t.equal(rt.processesFor(b.name), limit, `${way.name}: exactly the bound started`)
    await t.rejects(b.spawn(a.name, 'w', 'wait', [col.pid]), { code: 'ERR_SPAWN_FAILED' }, 'then a spawn is refused')
    await t.rejects(b.rpc(a.name, 'r', 'add', [1, 2]), { code: 'ERR_LIMIT' }, 'and a call')
    await way.end(s)
    await waitUntil(() => s.pids.every(pid => !rt.isAlive(pid)), `${way.name}: the processes ended`)
    t.equal(rt.processesFor(b.name), 0, `${way.name}: every place is free`)
    if (s.calls !== undefined) {
      for (const r of await Promise.allSettled(s.calls)) {
        if (r.status === 'fulfilled') t.same({ kind: 'fulfilled', value: r.value }, way.calls)
        else {
          t.type(r.reason, RpcError)
          t.match({ kind: 'rejected', reason: r.reason }, way.calls)
        }
      }
    }
  }
  // After them all: exactly the bound once more, and not one more.
  const last = await bySpawn()
  t.equal(rt.processesFor(b.name), limit)
  await t.rejects(b.spawn(a.name, 'w', 'wait', [col.pid]), { code: 'ERR_SPAWN_FAILED' })
  for (const pid of last.pids) a.exit(pid, 'kill')
  await waitUntil(() => rt.processesFor(b.name) === 0, 'the last ones gone')
})
