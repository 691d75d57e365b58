// The seed's examples, end to end: nodes bar and baz are separate OS processes; foo is this
// test's node. All register with a port mapper the test starts on a free port.
import t from 'tap'
import { Pid } from '../lib/terms/pid.js'
import { startPeer } from './fixtures/peers.js'
import { testEpmd, testNode, full, inProcess } from './fixtures/cluster.js'

t.test('the seed over TCP with separate OS processes', async t => {
  const epmd = await testEpmd(t)
  const [bar, baz] = await Promise.all([
    startPeer(t, { name: 'bar', cookie: 'test-cookie', epmdPort: epmd.port }),
    startPeer(t, { name: 'baz', cookie: 'test-cookie', epmdPort: epmd.port }),
  ])
  t.equal(bar.name, full('bar'), 'a short name takes the short hostname')
  const foo = await testNode(t, epmd, { name: 'foo' })

  await t.test("1. spawn(bar, s, send_node, [Self]): the mailbox receives bar's name", async t => {
    const got = await inProcess(foo, async proc => {
      const pid = await proc.spawn(bar.name, 's', 'send_node', [proc.self])
      t.ok(pid instanceof Pid, 'spawn returns a Pid')
      t.equal(pid.node, bar.name, 'the pid lives on bar')
      return proc.receive(undefined, { timeout: 10_000 })
    })
    t.equal(got, bar.name)
  })

  await t.test('2. the echo server: [hi, self] to [server, bar] comes back as hi', async t => {
    const got = await inProcess(foo, async proc => {
      await proc.spawn(bar.name, 's', 'server', [])
      proc.send(['server', bar.name], ['hi', proc.self])
      return proc.receive(undefined, { timeout: 10_000 })
    })
    t.equal(got, 'hi')
    t.same(foo.nodes().sort(), [bar.name], 'foo is connected to bar only')
  })

  await t.test('3. the frequency server on bar serves clients on foo and baz', async t => {
    const reports = await inProcess(foo, async proc => {
      await proc.spawn(bar.name, 'frequency', 'init', [[10, 11, 12, 13]])
      // The server registers itself; ask it once so both clients start after it is up.
      proc.send(['frequency', bar.name], ['request', proc.self, 'allocate'])
      const first = await proc.receive(m => Array.isArray(m) && m[0] === 'reply', { timeout: 10_000 })
      t.same(first, ['reply', ['ok', 10]])
      proc.send(['frequency', bar.name], ['request', proc.self, ['deallocate', 10]])
      await proc.receive(m => Array.isArray(m) && m[0] === 'reply', { timeout: 10_000 })
      await proc.spawn(foo.name, 'frequency', 'client', [bar.name, 2, proc.self])
      await proc.spawn(baz.name, 'frequency', 'client', [bar.name, 3, proc.self])
      const out: unknown[] = []
      for (let i = 0; i < 2; i++) out.push(await proc.receive(m => Array.isArray(m) && m[0] === 'client_done', { timeout: 10_000 }))
      return out as [string, string, unknown[]][]
    })
    const byNode = Object.fromEntries(reports.map(([, node, got]) => [node, got as unknown[]]))
    t.same(Object.keys(byNode).sort(), [foo.name, baz.name].sort(), 'one client on foo, one on baz')
    for (const [node, got] of Object.entries(byNode)) {
      const ok = got.filter(r => Array.isArray(r) && r[0] === 'ok').map(r => (r as [string, number])[1])
      t.equal(new Set(ok).size, ok.length, `the client on ${node} never held one frequency twice`)
      t.ok(
        ok.every(f => f >= 10 && f <= 13),
        `the client on ${node} got frequencies from the pool`,
      )
      t.ok(
        got.every(r => Array.isArray(r) && (r[0] === 'ok' || (r[0] === 'error' && r[1] === 'no_frequency'))),
        'each reply is {ok, F} or {error, no_frequency}',
      )
    }
    t.equal(byNode[foo.name]?.length, 2)
    t.equal(byNode[baz.name]?.length, 3)
    // Both clients freed what they got: the whole pool is free again, and no more.
    const again = await inProcess(foo, async proc => {
      const out: unknown[] = []
      for (let i = 0; i < 5; i++) {
        proc.send(['frequency', bar.name], ['request', proc.self, 'allocate'])
        out.push(((await proc.receive(m => Array.isArray(m) && m[0] === 'reply', { timeout: 10_000 })) as unknown[])[1])
      }
      return out
    })
    t.same(
      again.slice(0, 4).map(r => (r as unknown[])[0]),
      ['ok', 'ok', 'ok', 'ok'],
      'all four frequencies are free again',
    )
    t.same(again[4], ['error', 'no_frequency'], 'and the fifth request is refused')
    t.ok(foo.nodes().includes(baz.name), 'spawning on baz connected foo to baz')
  })

  await t.test('4. 100,000 messages from one process to a remote one arrive complete and in order', async t => {
    const n = 100_000
    const [, count, inOrder] = await inProcess(foo, async proc => {
      const counter = await proc.spawn(bar.name, 't', 'count', [n, proc.self])
      const payload = 'x'.repeat(90)
      for (let i = 0; i < n; i++) {
        proc.send(counter, [i, payload])
        if (i % 10_000 === 0) await new Promise(r => setImmediate(r))
      }
      return proc.receive(m => Array.isArray(m) && m[0] === 'counted', { timeout: 60_000 }) as Promise<[string, number, number]>
    })
    t.equal(count, n, 'all arrived')
    t.equal(inOrder, n, 'each arrived right after its predecessor')
  })

  await t.test('a node that stops is seen going down by its peers', async t => {
    const down = new Promise<[string, { reason: string }]>(resolve => foo.once('nodedown', (n, i) => resolve([n, i])))
    await baz.stop()
    const [name, info] = await down
    t.equal(name, baz.name)
    t.equal(info.reason, 'connection_closed')
    t.notOk(foo.nodes().includes(baz.name))
  })
})
