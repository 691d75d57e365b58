// Links and monitors across nodes over real connections (issue 4): an exit at one end reaches
// the other (trapped: an EXIT message; not trapped: death with the same reason; 'normal'
// ignored), an Error reason crosses the wire as an Error, losing the connection gives
// 'noconnection' to every link and monitor across it on both sides, and a pid or name that
// does not exist gives 'noproc'.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Proc, Runtime } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import type { Ref } from '../lib/terms/ref.js'
import { testEpmd, testNode, full, inProcess, nextEvent } from './fixtures/cluster.js'
import { waitUntil } from './fixtures/mesh-helpers.js'

/** Code the tests spawn on the far node: wait for ['exit', reason] / ['throw', message]. */
const sig = {
  /** Optionally trap exits; report every message to `to`; on ['exit', R] exit with R; on ['throw', M] throw. */
  obey: async (proc: Proc, to: Pid | null, trap: boolean) => {
    proc.trapExit(trap)
    for (;;) {
      const m = await proc.receive()
      if (to !== null) proc.send(to, ['saw', proc.self, m])
      if (Array.isArray(m) && m[0] === 'exit') proc.exit(m[1])
      if (Array.isArray(m) && m[0] === 'throw') {
        const e = new Error(String(m[1])) as Error & { code?: string }
        e.name = 'KaputError'
        e.code = 'E_KAPUT'
        throw e
      }
      if (Array.isArray(m) && m[0] === 'link') proc.link(m[1] as Pid)
    }
  },
  /** Register under `name`, then obey. */
  named: async (proc: Proc, name: string) => {
    proc.register(name)
    await sig.obey(proc, null, false)
  },
}

async function pair(t: Test): Promise<[Node, Node]> {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x', modules: { sig } })
  const y = await testNode(t, epmd, { name: 'y', modules: { sig } })
  return [x, y]
}

const isA =
  (tag: string) =>
  (m: unknown): boolean =>
    Array.isArray(m) && m[0] === tag

/** Monitor `pid` from a fresh local process; resolves with the exit reason. */
function deathOf(node: Node, pid: Pid): Promise<unknown> {
  return inProcess(node, async proc => {
    proc.monitor(pid)
    const d = (await proc.receive(isA('DOWN'), { timeout: 10_000 })) as unknown[]
    return d[4]
  })
}

t.test('links: an exit at either end reaches the other', async t => {
  const [x, y] = await pair(t)
  await inProcess(x, async proc => {
    proc.trapExit(true)
    // Remote exits with a reason: trapped here as an EXIT message.
    const q = await proc.spawn(y.name, 'sig', 'obey', [null, false])
    proc.link(q)
    proc.send(q, ['exit', 'boom'])
    t.same(await proc.receive(isA('EXIT'), { timeout: 5000 }), ['EXIT', q, 'boom'], "remote exit 'boom' → ['EXIT', Q, 'boom']")

    // A term reason survives the trip.
    const q2 = await proc.spawnLink(y.name, 'sig', 'obey', [null, false])
    proc.send(q2, ['exit', ['shutdown', { why: 'test' }, 42]])
    t.same(
      await proc.receive(isA('EXIT'), { timeout: 5000 }),
      ['EXIT', q2, ['shutdown', { why: 'test' }, 42]],
      'a term reason arrives intact',
    )

    // An Error thrown there arrives as an Error.
    const q3 = await proc.spawnLink(y.name, 'sig', 'obey', [null, false])
    proc.send(q3, ['throw', 'kaput'])
    const [, from, reason] = (await proc.receive(isA('EXIT'), { timeout: 5000 })) as [string, Pid, Error & { code?: string }]
    t.ok(from.equals(q3))
    t.type(reason, Error, 'an Error reason crosses the wire as an Error')
    t.match(reason, { name: 'KaputError', message: 'kaput', code: 'E_KAPUT' }, 'with its name, message and code')

    // After unlink, an exit no longer arrives.
    const q4 = await proc.spawnLink(y.name, 'sig', 'obey', [null, false])
    proc.unlink(q4)
    proc.send(q4, ['exit', 'unseen'])
    await t.rejects(proc.receive(isA('EXIT'), { timeout: 300 }), { code: 'ERR_RECEIVE_TIMEOUT' }, 'unlinked: no EXIT')
  })

  // Not trapping: a remote 'boom' kills the local process with 'boom'; 'normal' does not.
  const q5 = await x.spawn(y.name, 'sig', 'obey', [null, false])
  const victim = x.spawn(async proc => {
    proc.link(q5)
    await proc.receive(m => m === 'never')
  })
  const victimDeath = deathOf(x, victim)
  await new Promise(r => setTimeout(r, 50))
  x.send(q5, ['exit', 'boom'])
  t.equal(await victimDeath, 'boom', 'a non-trapping linked process dies with the remote reason')

  const q6 = await x.spawn(y.name, 'sig', 'obey', [null, false])
  const survivor = x.spawn(async proc => {
    proc.link(q6)
    const [, from] = (await proc.receive(isA('ping'))) as [string, Pid]
    proc.send(from, 'pong')
  })
  await new Promise(r => setTimeout(r, 50))
  x.send(q6, ['exit', 'normal'])
  await new Promise(r => setTimeout(r, 100))
  t.equal(
    await inProcess(x, async proc => {
      proc.send(survivor, ['ping', proc.self])
      return proc.receive(undefined, { timeout: 5000 })
    }),
    'pong',
    "a remote 'normal' exit leaves a non-trapping linked process alive",
  )

  // The other direction: a local exit reaches a trapping process there.
  const seen = await inProcess(x, async proc => {
    const q = await proc.spawn(y.name, 'sig', 'obey', [proc.self, true])
    const p = proc.spawn(async me => {
      me.link(q)
      await me.receive(m => m === 'go')
      me.exit(['bye', 7])
    })
    await new Promise(r => setTimeout(r, 50))
    proc.send(p, 'go')
    const m = (await proc.receive(isA('saw'), { timeout: 5000 })) as unknown[]
    return [p, m[2]]
  })
  t.same(seen[1], ['EXIT', seen[0], ['bye', 7]], "the trapping remote process got ['EXIT', P, ['bye', 7]]")

  // exit/2 across nodes: 'kill' cannot be trapped.
  const q7 = await x.spawn(y.name, 'sig', 'obey', [null, true])
  const q7death = deathOf(x, q7)
  await inProcess(x, async proc => {
    proc.exit(q7, 'kill')
  })
  t.equal(await q7death, 'killed', "exit(Pid, 'kill') across nodes: the trapping target dies 'killed'")
})

t.test("monitors: DOWN with the reason, by pid and by [name, node]; 'noproc' for what does not exist", async t => {
  const [x, y] = await pair(t)
  await inProcess(x, async proc => {
    const q = await proc.spawn(y.name, 'sig', 'obey', [null, false])
    const ref = proc.monitor(q)
    proc.send(q, ['exit', 'boom'])
    t.same(await proc.receive(isA('DOWN'), { timeout: 5000 }), ['DOWN', ref, 'process', q, 'boom'], 'DOWN by pid with the reason')

    await proc.spawn(y.name, 'sig', 'named', ['svc'])
    await waitUntil(() => y.whereis('svc') !== undefined, 'svc registered')
    const nref = proc.monitor(['svc', y.name])
    proc.send(['svc', y.name], ['throw', 'kaput'])
    const d = (await proc.receive(isA('DOWN'), { timeout: 5000 })) as [string, Ref, string, unknown, Error]
    t.same(d.slice(0, 4), ['DOWN', nref, 'process', ['svc', y.name]], "DOWN by name names ['svc', node]")
    t.type(d[4], Error, 'an Error reason arrives as an Error')
    t.match(d[4], { name: 'KaputError', message: 'kaput', code: 'E_KAPUT' })

    const dead = await proc.spawn(y.name, 'sig', 'obey', [null, false])
    const dref = proc.monitor(dead)
    proc.send(dead, ['exit', 'normal'])
    await proc.receive(isA('DOWN'), { timeout: 5000 })
    const r1 = proc.monitor(dead)
    t.same(await proc.receive(isA('DOWN'), { timeout: 5000 }), ['DOWN', r1, 'process', dead, 'noproc'], "a pid that has exited: 'noproc'")
    t.not(r1, dref)
    const r2 = proc.monitor(['nobody_here', y.name])
    t.same(
      await proc.receive(isA('DOWN'), { timeout: 5000 }),
      ['DOWN', r2, 'process', ['nobody_here', y.name], 'noproc'],
      "a name nobody registered: 'noproc'",
    )

    // demonitor: no DOWN afterwards.
    const q2 = await proc.spawn(y.name, 'sig', 'obey', [null, false])
    const r3 = proc.monitor(q2)
    t.equal(proc.demonitor(r3), true)
    proc.send(q2, ['exit', 'boom'])
    await t.rejects(proc.receive(isA('DOWN'), { timeout: 300 }), { code: 'ERR_RECEIVE_TIMEOUT' }, 'demonitored: no DOWN')

    // Link to a pid that has exited: 'noproc'.
    proc.trapExit(true)
    proc.link(dead)
    t.same(await proc.receive(isA('EXIT'), { timeout: 5000 }), ['EXIT', dead, 'noproc'], "link to an exited remote pid: EXIT 'noproc'")
  })
})

t.test("losing the connection: 'noconnection' to every link and monitor across it, on both sides", async t => {
  const [x, y] = await pair(t)
  const onX: unknown[] = []
  const onY: unknown[] = []
  // On y: two trapping processes reporting to a collector on y; one non-trapping.
  const yCollector = y.spawn(async proc => {
    for (;;) onY.push(await proc.receive())
  })
  const yPids: Pid[] = []
  for (let i = 0; i < 2; i++) yPids.push(await y.spawn(y.name, 'sig', 'obey', [yCollector, true]))
  const yPlain = await y.spawn(y.name, 'sig', 'obey', [null, false])
  y.register('plain', yPlain)

  // On x: three trapping processes each linked to something on y, one non-trapping linked
  // one, and a watcher monitoring by pid and by name.
  const ready: Promise<unknown>[] = []
  for (let i = 0; i < 3; i++) {
    ready.push(
      new Promise(resolve =>
        x.spawn(async proc => {
          proc.trapExit(true)
          const target = i < 2 ? yPids[i]! : yPlain
          proc.link(target)
          if (i < 2) proc.send(target, ['link', proc.self]) // linked from both ends: still one link
          resolve(target)
          onX.push(['trapper', i, await proc.receive(isA('EXIT'))])
        }),
      ),
    )
  }
  const plainX = x.spawn(async proc => {
    proc.link(yPlain)
    await proc.receive(m => m === 'never')
  })
  const plainDeath = deathOf(x, plainX)
  const watcher = inProcess(x, async proc => {
    const r1 = proc.monitor(yPlain)
    const r2 = proc.monitor(['plain', y.name])
    const downs = [await proc.receive(isA('DOWN'), { timeout: 10_000 }), await proc.receive(isA('DOWN'), { timeout: 10_000 })]
    return { r1, r2, downs }
  })
  const targets = (await Promise.all(ready)) as Pid[]
  // The first link set up x's connection to y: disconnect only once it is up and the links
  // have reached y (t0-y0, t1-y1, t2-plain, plainX-plain), and y's trappers have linked
  // back. A fixed 100 ms pause lost that race under load: a disconnect while the connection
  // is still being set up returns false and does nothing, so nothing went down and the
  // first receive waiting for a 'noconnection' timed out.
  const yRuntime = (y as unknown as { runtime: Runtime }).runtime
  const sawLink = (m: unknown): boolean => Array.isArray(m) && m[0] === 'saw' && isA('link')(m[2])
  await waitUntil(
    () => yRuntime.linksWith(x.name) === 4 && onY.filter(sawLink).length === 2,
    'the links from x have reached y, and y linked back',
  )
  const yPlainDeath = deathOf(y, yPlain)

  const down = nextEvent(y, 'nodedown', n => n === x.name)
  t.equal(x.disconnect(y.name), true, 'x was connected to y')
  await down
  await waitUntil(() => onX.length === 3, 'the three trapping processes on x got their EXIT')
  for (let i = 0; i < 3; i++) {
    t.same(
      onX.find(e => (e as unknown[])[1] === i),
      ['trapper', i, ['EXIT', targets[i], 'noconnection']],
      `x trapper ${i}: ['EXIT', Pid, 'noconnection']`,
    )
  }
  t.equal(await plainDeath, 'noconnection', "x: the non-trapping linked process died with 'noconnection'")
  const { r1, r2, downs } = await watcher
  t.same(
    downs.find(d => r1.equals((d as unknown[])[1])),
    ['DOWN', r1, 'process', yPlain, 'noconnection'],
    "x: monitor by pid: DOWN 'noconnection'",
  )
  t.same(
    downs.find(d => r2.equals((d as unknown[])[1])),
    ['DOWN', r2, 'process', ['plain', y.name], 'noconnection'],
    "x: monitor by name: DOWN 'noconnection'",
  )

  // On y: the two trapping processes linked from x got 'noconnection' too; the plain one died.
  await waitUntil(
    () => onY.filter(m => Array.isArray(m) && Array.isArray(m[2]) && m[2][0] === 'EXIT').length === 2,
    "y's trapping processes got their EXIT",
  )
  const exits = onY.filter(m => Array.isArray(m) && Array.isArray(m[2]) && m[2][0] === 'EXIT') as [string, Pid, unknown[]][]
  for (let i = 0; i < 2; i++) {
    const e = exits.find(m => m[1].equals(yPids[i]!))
    t.ok(
      e !== undefined && e[2][2] === 'noconnection' && (e[2][1] as Pid).node === x.name,
      `y trapper ${i}: ['EXIT', <x pid>, 'noconnection']`,
    )
  }
  t.equal(await yPlainDeath, 'noconnection', "y: the non-trapping process linked from x died with 'noconnection'")
})

t.test("links and monitors towards a node that cannot be reached: 'noconnection'", async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x', setupTimeout: 2000 })
  const ghost = full('ghost')
  const { Pid } = await import('../lib/terms/pid.js')
  const far = new Pid(ghost, 1, 0, 5)
  const got = await inProcess(x, async proc => {
    proc.trapExit(true)
    proc.link(far)
    const r1 = proc.monitor(far)
    const r2 = proc.monitor(['svc', ghost])
    const out = []
    for (let i = 0; i < 3; i++) out.push(await proc.receive(undefined, { timeout: 5000 }))
    return { r1, r2, out }
  })
  t.same(got.out.find(isA('EXIT')), ['EXIT', far, 'noconnection'], "link: ['EXIT', Pid, 'noconnection']")
  t.same(
    got.out.find(m => got.r1.equals((m as unknown[])[1])),
    ['DOWN', got.r1, 'process', far, 'noconnection'],
    "monitor by pid: 'noconnection'",
  )
  t.same(
    got.out.find(m => got.r2.equals((m as unknown[])[1])),
    ['DOWN', got.r2, 'process', ['svc', ghost], 'noconnection'],
    "monitor by name: 'noconnection'",
  )
})
