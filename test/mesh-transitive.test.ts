// The transitive mesh (issue 4): with connectAll (the default) a connection between two
// groups of visible nodes makes every node connect to every other, one connection per pair;
// with connectAll: false only the connections asked for exist. Also nodes/1, connect and
// disconnect with OTP's nodedown reasons.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Connection } from '../lib/kernel/connection.js'
import type { Socket } from 'node:net'
import { testEpmd, testNode, full, inProcess, nextEvent } from './fixtures/cluster.js'
import { recordEvents, waitUntil, sleep, sorted, kernelOf, kernelTables, type EventLog } from './fixtures/mesh-helpers.js'

/** The socket under the connection `a` holds to `b`. */
function socketOf(a: Node, b: Node): Socket | undefined {
  const c = kernelOf(a).up.get(b.name) as Connection | undefined
  return c?.conn.stream as Socket | undefined
}

/** dog–cat and mouse–flea, then a process on dog sends to a registered process on mouse. */
async function twoGroups(t: Test, connectAll: boolean): Promise<{ nodes: Node[]; logs: Map<Node, EventLog> }> {
  const epmd = await testEpmd(t)
  const [dog, cat, mouse, flea] = (await Promise.all(
    ['dog', 'cat', 'mouse', 'flea'].map(name => testNode(t, epmd, { name, connectAll })),
  )) as [Node, Node, Node, Node]
  const logs = new Map([dog, cat, mouse, flea].map(n => [n, recordEvents(n)]))
  t.equal(await dog.connect(cat.name), true, 'dog connects to cat')
  t.equal(await mouse.connect(flea.name), true, 'mouse connects to flea')
  await waitUntil(() => cat.nodes().length === 1 && flea.nodes().length === 1, 'both pairs up on both sides')
  t.same(sorted(dog.nodes()), [cat.name], 'before: dog knows cat only')
  t.same(sorted(mouse.nodes()), [flea.name], 'before: mouse knows flea only')

  const inbox = mouse.spawn(async proc => {
    const [, from] = (await proc.receive()) as [string, import('../lib/terms/pid.js').Pid]
    proc.send(from, ['got it', proc.node])
  })
  mouse.register('inbox', inbox)
  const reply = await inProcess(dog, async proc => {
    proc.send(['inbox', mouse.name], ['hello', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(reply, ['got it', mouse.name], 'the registered process on mouse got the message from dog and answered')
  return { nodes: [dog, cat, mouse, flea], logs }
}

t.test('connectAll (default): dog–cat + mouse–flea + one message dog→mouse = a full mesh of four', async t => {
  const { nodes, logs } = await twoGroups(t, true)
  await waitUntil(() => nodes.every(n => n.nodes().length === 3), 'every node connected to the three others')
  await sleep(300) // let any late duplicate attempt show itself
  for (const n of nodes) {
    const others = nodes.filter(o => o !== n)
    t.same(sorted(n.nodes()), sorted(others.map(o => o.name)), `${n.name}: nodes() is the three others`)
    t.same(n.nodes('hidden'), [], `${n.name}: no hidden node`)
    const log = logs.get(n)!
    for (const o of others) t.equal(log.upsOf(o.name), 1, `${n.name} saw exactly one nodeup for ${o.name}`)
    t.same(log.downs, [], `${n.name} saw no nodedown`)
    // (A limiter entry is a setup that failed other than as a lost race: the failures say which.)
    t.same(
      kernelTables(n),
      { up: 3, pending: 0, limiter: 0 },
      `${n.name}: three connections, nothing pending; failures: ${JSON.stringify(log.failures)}`,
    )
  }
  // One connection per pair: both ends of each pair hold the two ends of the same socket.
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]!,
        b = nodes[j]!
      const sa = socketOf(a, b),
        sb = socketOf(b, a)
      t.ok(
        sa !== undefined && sb !== undefined && sa.localPort === sb.remotePort && sa.remotePort === sb.localPort,
        `${a.name} and ${b.name} share one TCP connection`,
      )
    }
  }
})

t.test('connectAll: false keeps the mesh partial', async t => {
  const { nodes, logs } = await twoGroups(t, false)
  const [dog, cat, mouse, flea] = nodes as [Node, Node, Node, Node]
  await sleep(500) // time enough for a mesh to form, if one would
  t.same(sorted(dog.nodes()), sorted([cat.name, mouse.name]), 'dog: cat and mouse (the one it used)')
  t.same(sorted(cat.nodes()), [dog.name], 'cat: dog only')
  t.same(sorted(mouse.nodes()), sorted([flea.name, dog.name]), 'mouse: flea and dog')
  t.same(sorted(flea.nodes()), [mouse.name], 'flea: mouse only')
  t.equal(logs.get(cat)!.ups.length, 1, 'cat saw one nodeup in all')
  t.equal(logs.get(flea)!.ups.length, 1, 'flea saw one nodeup in all')
})

t.test('nodes(kind), connect true/false, disconnect reasons on both sides', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'ant' })
  const b = await testNode(t, epmd, { name: 'bee' })
  const h = await testNode(t, epmd, { name: 'hornet', hidden: true })
  t.same(a.nodes(), [], 'a fresh node is connected to nothing')
  t.same(a.nodes('connected'), [])
  t.equal(await a.connect(a.name), true, 'connect to itself: true')
  t.equal(await a.connect(full('nobody')), false, 'connect to a node nobody runs: false')
  t.equal(await a.connect(b.name), true, 'connect to a running node: true')
  t.equal(await a.connect(b.name), true, 'connect again: true, nothing new')
  t.equal(await h.connect(a.name), true, 'a hidden node connects: true')
  // connect() resolves when the dialling side is up; the accepting side follows a moment later.
  await waitUntil(() => a.nodes('connected').length === 2, 'ant sees both peers')
  t.same(a.nodes(), [b.name], "nodes() = nodes('visible')")
  t.same(a.nodes('visible'), [b.name])
  t.same(a.nodes('hidden'), [h.name])
  t.same(sorted(a.nodes('connected')), sorted([b.name, h.name]))

  const localDown = nextEvent<[string, { reason: string; type: string }]>(a, 'nodedown', n => n === b.name)
  const peerDown = nextEvent<[string, { reason: string; type: string }]>(b, 'nodedown', n => n === a.name)
  t.equal(a.disconnect(b.name), true, 'disconnect of a connected node: true')
  t.same((await localDown)[1], { reason: 'disconnect', type: 'visible' }, "locally: nodedown 'disconnect'")
  t.same((await peerDown)[1], { reason: 'connection_closed', type: 'visible' }, "on the peer: nodedown 'connection_closed'")
  t.equal(a.disconnect(b.name), false, 'disconnect of a node not connected: false')
  t.same(a.nodes(), [])
  t.same(b.nodes(), [])

  const hDown = nextEvent<[string, { reason: string; type: string }]>(h, 'nodedown', n => n === a.name)
  t.equal(a.disconnect(h.name), true)
  t.same((await hDown)[1], { reason: 'connection_closed', type: 'hidden' }, 'the hidden peer sees connection_closed, type hidden')
  t.same(a.nodes('connected'), [])
  t.equal(await b.connect(a.name), true, 'after a disconnect the nodes connect again')
  await waitUntil(() => a.nodes().length === 1, 'ant sees bee again')
  t.same(a.nodes(), [b.name])
})
