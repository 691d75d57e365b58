// Simultaneous connect (issue 4): two nodes dial each other in the same tick. As in OTP the
// greater name's dial wins and the other is dropped: exactly one connection survives, and
// each side sees exactly one nodeup per round. 20 rounds, with a disconnect in between.
import t from 'tap'
import type { Socket } from 'node:net'
import type { Node } from '../lib/node.js'
import type { Connection } from '../lib/kernel/connection.js'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { recordEvents, waitUntil, sleep, kernelOf, kernelTables } from './fixtures/mesh-helpers.js'

function socketOf(a: Node, b: Node): Socket | undefined {
  return (kernelOf(a).up.get(b.name) as Connection | undefined)?.conn.stream as Socket | undefined
}

t.test('20 rounds of connect on both sides in the same tick: one connection, one nodeup each', async t => {
  const epmd = await testEpmd(t)
  const yin = await testNode(t, epmd, { name: 'yin' })
  const yang = await testNode(t, epmd, { name: 'yang' })
  const logY = recordEvents(yin)
  const logG = recordEvents(yang)
  const rounds = 20
  let oneSocket = 0
  let bothTrue = 0
  for (let r = 1; r <= rounds; r++) {
    const [x, y] = await Promise.all([yin.connect(yang.name), yang.connect(yin.name)])
    if (x && y) bothTrue++
    await waitUntil(() => yin.nodes().length === 1 && yang.nodes().length === 1, `round ${r}: both sides up`)
    await sleep(20) // a second connection, if any, would come up now
    const a = socketOf(yin, yang),
      b = socketOf(yang, yin)
    if (a !== undefined && b !== undefined && a.localPort === b.remotePort && a.remotePort === b.localPort) oneSocket++
    if (logY.upsOf(yang.name) !== r || logG.upsOf(yin.name) !== r) {
      t.fail(`round ${r}: nodeups ${logY.upsOf(yang.name)} on yin, ${logG.upsOf(yin.name)} on yang`)
      break
    }
    // Disconnect from alternating sides, and wait until both have let go.
    ;(r % 2 === 0 ? yin : yang).disconnect(r % 2 === 0 ? yang.name : yin.name)
    await waitUntil(() => logY.downsOf(yang.name).length === r && logG.downsOf(yin.name).length === r, `round ${r}: both sides down`)
  }
  t.equal(bothTrue, rounds, 'connect() returned true on both sides in every round')
  t.equal(oneSocket, rounds, 'in every round both sides held the two ends of one TCP connection')
  t.equal(logY.upsOf(yang.name), rounds, 'yin saw exactly one nodeup per round')
  t.equal(logG.upsOf(yin.name), rounds, 'yang saw exactly one nodeup per round')
  t.equal(logY.downs.length, rounds, 'and one nodedown per round')
  t.equal(logG.downs.length, rounds)
  // (The failure limiter may hold an entry for 127.0.0.1: a losing dial that is abandoned
  // mid-handshake counts as a failed handshake there. It expires; it is not a connection.)
  t.match(kernelTables(yin), { up: 0, pending: 0 }, 'yin: nothing left in the node table')
  t.match(kernelTables(yang), { up: 0, pending: 0 }, 'yang: nothing left in the node table')
})

t.test('three nodes all dialling each other at once: a triangle, one nodeup per pair', async t => {
  const epmd = await testEpmd(t)
  const nodes = await Promise.all(['p', 'q', 'r'].map(name => testNode(t, epmd, { name })))
  const logs = nodes.map(recordEvents)
  const results = await Promise.all(nodes.flatMap(a => nodes.filter(b => b !== a).map(b => a.connect(b.name))))
  t.ok(results.every(Boolean), 'all six connects say true')
  await waitUntil(() => nodes.every(n => n.nodes().length === 2), 'a full triangle')
  await sleep(200)
  nodes.forEach((n, i) => {
    for (const o of nodes) if (o !== n) t.equal(logs[i]!.upsOf(o.name), 1, `${n.name}: one nodeup for ${o.name}`)
    t.same(logs[i]!.downs, [], `${n.name}: no nodedown`)
  })
})
