// Ordering of node events and messages (issue 4): 'nodeup' for a node comes before the first
// message from it is delivered, 'nodedown' (the event, and monitorNode's message) after the
// last one. Each event handler puts a marker in the same mailbox the messages go to, so the
// mailbox order is the delivery order.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { waitUntil } from './fixtures/mesh-helpers.js'

/** A registered process on `node` that records every message; node events become markers. */
function sink(node: Node, watch: string): { pid: Pid; got: unknown[] } {
  const got: unknown[] = []
  const pid = node.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      got.push(m)
      // Once the node is up, also watch it with monitor_node: its message must come last too.
      if (Array.isArray(m) && m[0] === 'nodeup' && m[1] === watch) proc.monitorNode(watch, true)
    }
  })
  node.register('sink', pid)
  node.on('nodeup', n => node.send(pid, ['nodeup', n]))
  node.on('nodedown', (n, info) => node.send(pid, ['nodedown', n, info.reason]))
  return { pid, got }
}

const isMsg = (m: unknown): boolean => Array.isArray(m) && m[0] === 'm'

function checkOrder(t: Test, got: unknown[], peer: string, n: number, reason: string): void {
  t.same(got[0], ['nodeup', peer], 'the nodeup marker is first, before any message from the node')
  const msgs = got.filter(isMsg)
  t.equal(msgs.length, n, `all ${n} messages arrived`)
  t.ok(
    msgs.every((m, i) => (m as unknown[])[1] === i),
    'in order',
  )
  let lastMsg = got.length - 1
  while (lastMsg >= 0 && !isMsg(got[lastMsg])) lastMsg--
  t.same(
    got.slice(lastMsg + 1),
    [
      ['nodedown', peer],
      ['nodedown', peer, reason],
    ],
    `after the last message: monitorNode's ['nodedown', node], then the nodedown event (${reason})`,
  )
}

t.test('the peer dials by sending, then stops: nodeup first, nodedown last', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x' })
  const y = await testNode(t, epmd, { name: 'y' })
  const { got } = sink(x, y.name)
  const n = 200
  y.spawn(async proc => {
    for (let i = 0; i < n / 2; i++) proc.send(['sink', x.name], ['m', i]) // queued while connecting
    await waitUntil(() => y.nodes().includes(x.name), 'y connected to x')
    for (let i = n / 2; i < n; i++) proc.send(['sink', x.name], ['m', i])
    void y.stop() // at once: the queued batch must still leave before the connection closes
  })
  await waitUntil(() => got.filter(m => Array.isArray(m) && m[0] === 'nodedown').length === 2, 'both nodedown markers')
  checkOrder(t, got, y.name, n, 'connection_closed')
})

t.test('the peer disconnects right after sending: nodedown after its last message', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x' })
  const y = await testNode(t, epmd, { name: 'y' })
  const { got } = sink(x, y.name)
  const n = 500
  t.equal(await y.connect(x.name), true)
  await waitUntil(() => got.length >= 1, 'x saw nodeup')
  for (let i = 0; i < n; i++) y.send(['sink', x.name], ['m', i])
  t.equal(y.disconnect(x.name), true, 'disconnect in the same tick as the sends')
  await waitUntil(() => got.filter(m => Array.isArray(m) && m[0] === 'nodedown').length === 2, 'both nodedown markers')
  checkOrder(t, got, y.name, n, 'connection_closed')
})

t.test('this node dials: the reply arrives after nodeup', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x' })
  const y = await testNode(t, epmd, { name: 'y' })
  const { pid, got } = sink(x, y.name)
  y.register(
    'echo',
    y.spawn(async proc => {
      for (;;) {
        const [m, from] = (await proc.receive()) as [unknown, Pid]
        proc.send(from, m)
      }
    }),
  )
  for (let i = 0; i < 3; i++) x.send(['echo', y.name], [['m', i], pid])
  await waitUntil(() => got.filter(isMsg).length === 3, 'three replies')
  t.same(
    got,
    [
      ['nodeup', y.name],
      ['m', 0],
      ['m', 1],
      ['m', 2],
    ],
    'nodeup, then the replies',
  )
  y.disconnect(x.name)
  await waitUntil(() => got.length === 6, 'both nodedown markers')
  t.same(
    got.slice(4),
    [
      ['nodedown', y.name],
      ['nodedown', y.name, 'connection_closed'],
    ],
    'then nodedown',
  )
})
