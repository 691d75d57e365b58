// The diagnostics channels (lib/diagnostics.ts): every node of the process publishes its
// nodeup, nodedown and connection errors there, in the documented shapes, so one subscriber
// observes them all without a reference to any node.
import t from 'tap'
import diagnosticsChannel from 'node:diagnostics_channel'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { CONNECTION_ERROR_CHANNEL, NODEDOWN_CHANNEL, NODEUP_CHANNEL } from '../lib/diagnostics.js'

type Msg = Record<string, unknown>

function listen(t: { teardown(fn: () => unknown): void }, name: string): Msg[] {
  const got: Msg[] = []
  const on = (m: unknown): void => {
    got.push(m as Msg)
  }
  diagnosticsChannel.subscribe(name, on)
  t.teardown(() => diagnosticsChannel.unsubscribe(name, on))
  return got
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 10))
  }
}

t.test('nodeup and nodedown on both ends', async t => {
  const up = listen(t, NODEUP_CHANNEL)
  const down = listen(t, NODEDOWN_CHANNEL)
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo' })
  t.ok(await foo.connect(bar.name))
  await until('two nodeups', () => up.length === 2)
  const byNode = (ms: Msg[], n: string): Msg | undefined => ms.find(m => m.node === n)
  t.same(byNode(up, foo.name), { node: foo.name, peer: bar.name, type: 'visible', transport: 'tcp' })
  t.same(byNode(up, bar.name), { node: bar.name, peer: foo.name, type: 'visible', transport: 'tcp' })

  foo.disconnect(bar.name)
  await until('two nodedowns', () => down.length === 2)
  t.same(byNode(down, foo.name), { node: foo.name, peer: bar.name, reason: 'disconnect', type: 'visible' })
  t.same(byNode(down, bar.name), { node: bar.name, peer: foo.name, reason: 'connection_closed', type: 'visible' })
})

t.test('a wrong cookie: connection-error on both ends, then nodedown for the dialler', async t => {
  const errors = listen(t, CONNECTION_ERROR_CHANNEL)
  const down = listen(t, NODEDOWN_CHANNEL)
  const up = listen(t, NODEUP_CHANNEL)
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar', cookie: 'the-right-one' })
  const foo = await testNode(t, epmd, { name: 'foo', cookie: 'a-wrong-one' })
  t.equal(await foo.connect(bar.name), false)
  await until('both connection errors', () => errors.length === 2)
  const out = errors.find(m => m.node === foo.name)
  const inbound = errors.find(m => m.node === bar.name)
  t.match(out, {
    node: foo.name,
    peer: bar.name,
    direction: 'out',
    address: new RegExp(`:${bar.address?.port}$`),
    code: 'ERR_AUTH_FAILED',
    message: String,
  })
  t.match(inbound, { node: bar.name, direction: 'in', address: '127.0.0.1', code: 'ERR_AUTH_FAILED', message: String })
  t.same(Object.keys(out as Msg).sort(), ['address', 'code', 'direction', 'message', 'node', 'peer'])
  t.same(down, [{ node: foo.name, peer: bar.name, reason: 'connection_setup_failed', type: 'visible' }])
  t.same(up, [], 'no nodeup')
})

t.test('no subscriber: nothing is published, the events still reach the node', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo' })
  t.equal(diagnosticsChannel.channel(NODEUP_CHANNEL).hasSubscribers, false)
  const seen = new Promise(resolve => foo.once('nodeup', resolve))
  t.ok(await foo.connect(bar.name))
  t.equal(await seen, bar.name)
})
