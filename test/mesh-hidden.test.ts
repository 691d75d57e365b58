// Hidden nodes (erl -hidden, issue 4). As in OTP: a connection is hidden when either end is a
// hidden node; it shows in nodes('hidden') on both ends and never in nodes(); it is not
// gossiped and makes no transitive connections, whichever side dialled.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { recordEvents, waitUntil, sleep, sorted } from './fixtures/mesh-helpers.js'

/** Exact visible and hidden lists of one node. */
function lists(n: Node): { visible: string[]; hidden: string[]; connected: string[] } {
  return { visible: sorted(n.nodes()), hidden: sorted(n.nodes('hidden')), connected: sorted(n.nodes('connected')) }
}

function expectLists(t: Test, n: Node, visible: Node[], hidden: Node[], when: string): void {
  const v = sorted(visible.map(x => x.name)),
    h = sorted(hidden.map(x => x.name))
  t.same(
    lists(n),
    { visible: v, hidden: h, connected: sorted([...v, ...h]) },
    `${when}: ${n.name} sees visible [${v.join(', ')}], hidden [${h.join(', ')}]`,
  )
}

t.test('a hidden node a connects to visible b and c: b and c stay apart; exact lists everywhere', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', hidden: true })
  const b = await testNode(t, epmd, { name: 'b' })
  const c = await testNode(t, epmd, { name: 'c' })
  const logs = new Map([a, b, c].map(n => [n, recordEvents(n)]))

  t.equal(await a.connect(b.name), true, 'a connects to b')
  t.equal(await a.connect(c.name), true, 'a connects to c')
  await waitUntil(() => b.nodes('hidden').length === 1 && c.nodes('hidden').length === 1, 'b and c see a')
  await sleep(300) // a mesh, if one formed, would show by now
  expectLists(t, a, [], [b, c], 'a/b/c')
  expectLists(t, b, [], [a], 'a/b/c')
  expectLists(t, c, [], [a], 'a/b/c')
  for (const [n, log] of logs) {
    t.ok(
      log.ups.every(e => e.info.type === 'hidden'),
      `${n.name}: every nodeup says type 'hidden'`,
    )
    t.same(log.downs, [], `${n.name}: no nodedown`)
  }

  // Messages work across hidden connections like any other.
  const echo = b.spawn(async proc => {
    const [m, from] = (await proc.receive()) as [string, Pid]
    proc.send(from, [m, proc.node])
  })
  b.register('echo', echo)
  const reply = await inProcess(a, async proc => {
    proc.send(['echo', b.name], ['ping', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(reply, ['ping', b.name], 'a message round trip over a hidden connection')

  // Now b and c meet (visible): still nothing transitive for a.
  t.equal(await b.connect(c.name), true, 'b connects to c')
  await waitUntil(() => c.nodes().length === 1, 'c sees b')
  await sleep(300)
  expectLists(t, a, [], [b, c], 'after b–c')
  expectLists(t, b, [c], [a], 'after b–c')
  expectLists(t, c, [b], [a], 'after b–c')
})

t.test('visible b–c mesh; hidden a dials b, visible d dials hidden a: nothing spreads', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', hidden: true })
  const b = await testNode(t, epmd, { name: 'b' })
  const c = await testNode(t, epmd, { name: 'c' })
  const d = await testNode(t, epmd, { name: 'd' })
  const e = await testNode(t, epmd, { name: 'e', hidden: true })
  t.equal(await b.connect(c.name), true, 'b connects to c (visible)')
  t.equal(await a.connect(b.name), true, 'hidden a connects to b')
  t.equal(await d.connect(a.name), true, 'visible d connects to hidden a')
  t.equal(await a.connect(e.name), true, 'hidden a connects to hidden e')
  await waitUntil(
    () => b.nodes('hidden').length === 1 && a.nodes('hidden').length === 3 && e.nodes('hidden').length === 1,
    'every connection up on both ends',
  )
  await sleep(300)
  expectLists(t, a, [], [b, d, e], 'hidden a')
  expectLists(t, b, [c], [a], 'b')
  expectLists(t, c, [b], [], 'c (never hears of a)')
  expectLists(t, d, [], [a], 'd (a dialled by a visible node is still hidden, and d learns nothing through it)')
  expectLists(t, e, [], [a], 'hidden e')

  // A visible connection d–c spreads among visible nodes only.
  t.equal(await d.connect(c.name), true, 'd connects to c (visible)')
  await waitUntil(() => b.nodes().length === 2 && d.nodes().length === 2, 'the visible mesh b, c, d forms')
  await sleep(300)
  expectLists(t, a, [], [b, d, e], 'after d–c')
  expectLists(t, b, [c, d], [a], 'after d–c')
  expectLists(t, c, [b, d], [], 'after d–c')
  expectLists(t, d, [b, c], [a], 'after d–c')
  expectLists(t, e, [], [a], 'after d–c')
})
