// monitor_node/2 (issue 4): each monitorNode(node, true) adds one monitor that delivers
// ['nodedown', node] once; each false removes one. Monitoring a node that is not connected
// connects to it, and reports nodedown if that fails.
import t from 'tap'
import type { Node } from '../lib/node.js'
import { testEpmd, testNode, full, inProcess, nextEvent } from './fixtures/cluster.js'
import { recordEvents, waitUntil } from './fixtures/mesh-helpers.js'
import { ReceiveTimeoutError } from '../lib/errors.js'

const isNodedown = (m: unknown): boolean => Array.isArray(m) && m[0] === 'nodedown'

/** The node-monitor table of a node's runtime (internal), to check nothing is left in it. */
function nodeMonitorTable(n: Node): Map<string, unknown> {
  return (n as unknown as { runtime: { system: { nodeMonitors: { byNode: Map<string, unknown> } } } }).runtime.system.nodeMonitors.byNode
}

/** Receive every ['nodedown', _] that arrives within `ms`. */
async function drainNodedowns(proc: import('../lib/process/runtime.js').Proc, ms: number): Promise<unknown[]> {
  const out: unknown[] = []
  for (;;) {
    try {
      out.push(await proc.receive(isNodedown, { timeout: ms }))
    } catch (err) {
      if (err instanceof ReceiveTimeoutError) return out
      throw err
    }
  }
}

t.test('three trues and one false: two nodedown messages, once; monitoring connects', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x' })
  const y = await testNode(t, epmd, { name: 'y' })
  const log = recordEvents(x)
  const got = await inProcess(x, async proc => {
    proc.monitorNode(y.name, true)
    proc.monitorNode(y.name, true)
    proc.monitorNode(y.name, true)
    proc.monitorNode(y.name, false)
    await waitUntil(() => y.nodes().includes(x.name), 'monitoring connected x to y')
    t.same(x.nodes(), [y.name], 'monitorNode connected to the node')
    t.equal(log.upsOf(y.name), 1, 'with one connection')
    proc.monitorNode(y.name, true) // already connected: no new connection
    proc.monitorNode(y.name, false)
    y.disconnect(x.name)
    const first = await drainNodedowns(proc, 500)
    // Connect and lose the node again: the monitors fired and are gone.
    t.equal(await x.connect(y.name), true)
    const down = nextEvent(x, 'nodedown', n => n === y.name)
    x.disconnect(y.name)
    await down
    const second = await drainNodedowns(proc, 300)
    return { first, second }
  })
  t.same(
    got.first,
    [
      ['nodedown', y.name],
      ['nodedown', y.name],
    ],
    "two ['nodedown', y]: three trues minus one false",
  )
  t.same(got.second, [], 'none the next time: each monitor delivers once')
  t.equal(nodeMonitorTable(x).size, 0, 'no node monitor left')
})

t.test('true then false: nothing is delivered; false with no monitor is a no-op', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x' })
  const y = await testNode(t, epmd, { name: 'y' })
  t.equal(await x.connect(y.name), true)
  const got = await inProcess(x, async proc => {
    proc.monitorNode(y.name, false)
    proc.monitorNode(y.name, true)
    proc.monitorNode(y.name, false)
    proc.monitorNode(y.name, false)
    const down = nextEvent(x, 'nodedown', n => n === y.name)
    x.disconnect(y.name)
    await down
    return drainNodedowns(proc, 300)
  })
  t.same(got, [], 'no message')
  t.equal(nodeMonitorTable(x).size, 0)
})

t.test('monitoring a node that cannot be reached: nodedown once the attempt fails', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x', setupTimeout: 2000 })
  const ghost = full('ghost')
  const got = await inProcess(x, async proc => {
    proc.monitorNode(ghost, true)
    proc.monitorNode(ghost, true)
    const two = [await proc.receive(isNodedown, { timeout: 5000 }), await proc.receive(isNodedown, { timeout: 5000 })]
    return [...two, ...(await drainNodedowns(proc, 200))]
  })
  t.same(
    got,
    [
      ['nodedown', ghost],
      ['nodedown', ghost],
    ],
    "['nodedown', ghost] for each monitor",
  )
  t.same(x.nodes('connected'), [])
  t.equal(nodeMonitorTable(x).size, 0)
})

t.test('own node: never down; an exiting process drops its node monitors', async t => {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'x' })
  const y = await testNode(t, epmd, { name: 'y' })
  const own = await inProcess(x, async proc => {
    proc.monitorNode(x.name, true)
    return drainNodedowns(proc, 100)
  })
  t.same(own, [], 'monitoring itself delivers nothing')
  await inProcess(x, async proc => {
    proc.monitorNode(y.name, true)
    await waitUntil(() => x.nodes().length === 1, 'connected')
  })
  t.equal(nodeMonitorTable(x).size, 1, 'while the process lives its monitor is there')
  await new Promise(r => setImmediate(r)) // the process ends right after its function returns
  t.equal(nodeMonitorTable(x).size, 0, 'the process exited: its node monitor went with it')
  const down = nextEvent(x, 'nodedown', n => n === y.name)
  x.disconnect(y.name)
  await down
})
