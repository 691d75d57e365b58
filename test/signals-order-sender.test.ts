// A process's signals leave in the order it sent them, whatever each is addressed to: a
// message to a pid does not overtake a large one sent before to the same process by its
// registered name (or the other way), and an exit signal does not overtake the message before
// it. The outbox once ordered frames per destination key (the pid's id, or the name), so the
// two addresses of one process were two queues. And drain() resolves with a highWater below the
// socket's own 16 KiB mark, whose 'drain' never comes for smaller writes.
import t from 'tap'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'
import { module } from '../lib/index.js'

/** A process registered as `name` on `node` that records every message (trapping exits). */
function recorder(node: Node, name: string): { pid: Pid; got: unknown[] } {
  const got: unknown[] = []
  const pid = node.spawn(async proc => {
    proc.trapExit(true)
    for (;;) got.push(await proc.receive())
  })
  node.register(name, pid)
  return { pid, got }
}

const label = (m: unknown): unknown => (Array.isArray(m) ? m[0] : m)

t.test('by name and by pid to one process: the order sent', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', connectAll: false })
  const b = await testNode(t, epmd, { name: 'b', connectAll: false })
  const r = recorder(b, 'r0')
  t.ok(await a.connect(b.name))
  const big = (n: number): Buffer => Buffer.alloc(n, 7)
  const order = ['big-by-name', 'small-by-pid', 'big-by-pid', 'small-by-name', 'small-by-pid-2']
  a.spawn(async proc => {
    proc.send(['r0', b.name], ['big-by-name', big(300_000)])
    proc.send(r.pid, ['small-by-pid'])
    proc.send(r.pid, ['big-by-pid', big(200_000)])
    proc.send(['r0', b.name], ['small-by-name'])
    proc.send(r.pid, ['small-by-pid-2'])
    await proc.receive(undefined, { timeout: 30_000 }).catch(() => {})
  })
  await waitFor(() => r.got.length === order.length, 15_000, 'all five messages')
  t.same(r.got.map(label), order, 'in the order sent')
  t.equal(((r.got[0] as unknown[])[1] as Buffer).length, 300_000)
})

t.test('a large message by name, then exit: the EXIT comes after the message', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', connectAll: false })
  const b = await testNode(t, epmd, { name: 'b', connectAll: false })
  const r = recorder(b, 'r0')
  t.ok(await a.connect(b.name))
  const sender = a.spawn(async proc => {
    proc.link(r.pid)
    proc.send(['r0', b.name], ['big', Buffer.alloc(400_000)])
    proc.exit('done')
  })
  await waitFor(() => r.got.length === 2, 15_000, 'the message and the exit signal')
  t.same(r.got.map(label), ['big', 'EXIT'], 'the message, then its sender’s exit')
  t.ok((r.got[1] as Pid[])[1]!.equals(sender), 'the EXIT is from the sender')
  t.equal((r.got[1] as unknown[])[2], 'done')
})

t.test('other processes’ small messages still pass a large one', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', connectAll: false })
  const b = await testNode(t, epmd, { name: 'b', connectAll: false })
  const r = recorder(b, 'r0')
  t.ok(await a.connect(b.name))
  // One process sends 8 MB, another a small message right after: the small one, of another
  // sender, is not held behind it.
  a.spawn(async proc => {
    proc.send(['r0', b.name], ['big', Buffer.alloc(8 * 1024 * 1024)])
  })
  a.spawn(async proc => {
    proc.send(['r0', b.name], ['small'])
  })
  await waitFor(() => r.got.length === 2, 30_000, 'both messages')
  t.same(r.got.map(label), ['small', 'big'], 'the small message of the other process arrives first')
})

t.test('drain() resolves with a highWater smaller than the socket’s own 16 KiB', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', connectAll: false, highWater: 8192 })
  const b = await testNode(t, epmd, { name: 'b', connectAll: false })
  const r = recorder(b, 'r0')
  t.ok(await a.connect(b.name))
  // b's event loop is held for a while: the kernel's buffers fill, a's batches stay queued.
  let drains = 0
  const done = new Promise<void>((resolve, reject) => {
    a.spawn(async proc => {
      try {
        for (let i = 0; i < 5000; i++) {
          if (!proc.send(['r0', b.name], Buffer.alloc(5000, i & 0xff))) {
            await proc.drain(['r0', b.name], { signal: AbortSignal.timeout(20_000) })
            drains++
          }
        }
        resolve()
      } catch (err) {
        reject(err as Error)
      }
    })
  })
  const until = Date.now() + 1500
  while (Date.now() < until); // b (the same process) reads nothing for 1.5 s
  await done
  t.ok(drains > 0, `the sender waited for drain ${drains} times, and each wait ended`)
  await waitFor(() => r.got.length === 5000, 30_000, 'every message')
  t.ok(
    r.got.every((m, i) => (m as Buffer)[0] === (i & 0xff)),
    'all of them, in order',
  )
})

t.test('an rpc call and a spawn come after the large message their process sent before', async t => {
  const epmd = await testEpmd(t)
  const got: unknown[] = []
  // `seen` runs on b: how many messages the recorder had when the call or spawn arrived.
  const probe = module({
    seen: () => got.length,
    report: (proc, to: Pid) => void proc.send(to, got.length),
  })
  const a = await testNode(t, epmd, { name: 'a', connectAll: false })
  const b = await testNode(t, epmd, { name: 'b', connectAll: false, modules: { probe } })
  b.register(
    'r0',
    b.spawn(async proc => {
      for (;;) got.push(await proc.receive())
    }),
  )
  t.ok(await a.connect(b.name))
  const [atCall, atSpawn] = await new Promise<[unknown, unknown]>((resolve, reject) => {
    a.spawn(async proc => {
      try {
        proc.send(['r0', b.name], Buffer.alloc(2_000_000, 1))
        const atCall = await proc.rpc(b.name, 'probe', 'seen', [])
        proc.send(['r0', b.name], Buffer.alloc(2_000_000, 2))
        await proc.spawn(b.name, 'probe', 'report', [proc.self])
        resolve([atCall, await proc.receive(undefined, { timeout: 10_000 })])
      } catch (err) {
        reject(err as Error)
      }
    })
  })
  t.equal(atCall, 1, 'the rpc ran after the 2 MB message was delivered')
  t.equal(atSpawn, 2, 'the spawned process ran after the second one was')
})
