// Bounded fragment reassembly: an authenticated peer that floods a node with crafted fragment
// frames (tiny pieces, many streams, a stream longer than maxMessageSize) loses its
// connection with a typed error naming it, before the node's memory grows; the node keeps
// running and another connected node keeps exchanging messages with it.
import t, { type Test } from 'tap'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import type { Node } from '../lib/node.js'
import { rawStream, sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { FRAGMENT_MARK, MAX_OPEN_STREAMS } from '../lib/kernel/fragments.js'
import { CHUNK } from '../lib/kernel/outbox.js'

v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** `count` fragment frames of `size` payload bytes each, on stream ids `id(i)`, none last. */
function fragments(count: number, size: number, id: (i: number) => number): Buffer {
  const frame = 4 + 6 + size
  const out = Buffer.alloc(count * frame)
  for (let i = 0; i < count; i++) {
    const at = i * frame
    out.writeUInt32BE(6 + size, at)
    out[at + 4] = FRAGMENT_MARK
    out[at + 5] = 0
    out.writeUInt32BE(id(i), at + 6)
  }
  return out
}

type DownInfo = { reason: string; error?: Error }

/** The victim's nodedown for the attacker. */
function droppedBy(victim: Node, attacker: Node): Promise<[string, DownInfo]> {
  return nextEvent<[string, DownInfo]>(victim, 'nodedown', name => name === attacker.name)
}

async function cluster(t: Test, victimOpts: { maxMessageSize?: number } = {}) {
  const epmd = await testEpmd(t)
  const victim = await testNode(t, epmd, { name: 'victim', connectAll: false, ...victimOpts })
  const bystander = await testNode(t, epmd, { name: 'bystander', connectAll: false })
  const attacker = await testNode(t, epmd, { name: 'attacker', connectAll: false })
  t.ok(await bystander.connect(victim.name))
  t.ok(await attacker.connect(victim.name))
  await waitFor(() => victim.nodes().includes(attacker.name), 5000, 'the victim to have the connection up')
  const got = sink(victim, 'inbox')
  return { victim, bystander, attacker, got }
}

/** The bystander still reaches the victim, both ways round. */
async function stillServes(t: Test, victim: Node, bystander: Node, got: unknown[]): Promise<void> {
  const back = sink(bystander, 'echo')
  bystander.send(['inbox', victim.name], 'after the attack')
  victim.send(['echo', bystander.name], 'reply')
  await waitFor(() => got.includes('after the attack') && back.includes('reply'), 5000, 'messages after the attack')
  t.ok(victim.nodes().includes(bystander.name), 'the other connection is untouched and exchanges messages')
}

t.test('a million tiny fragments: dropped with ERR_LIMIT long before memory grows', async t => {
  const { victim, bystander, attacker, got } = await cluster(t)
  const flood = fragments(1_000_000, 1, i => i % 50) // 11 MB on the wire, 50 streams
  gc()
  const base = process.memoryUsage().heapUsed
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  }, 2)
  const down = droppedBy(victim, attacker)
  const s = rawStream(attacker, victim)
  s.on('error', () => {})
  for (let at = 0; at < flood.length; at += 110_000) s.write(flood.subarray(at, at + 110_000))
  const [, info] = await down
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  t.match(info.error, { code: 'ERR_LIMIT', message: new RegExp(`${attacker.name} sent more than \\d+ fragment pieces in flight`) })
  t.ok(peak < 50 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MB at most`)
  t.notOk(victim.nodes().includes(attacker.name), 'the attacker is disconnected')
  await stillServes(t, victim, bystander, got)
})

t.test('one stream of too many pieces, too many open streams: ERR_LIMIT', async t => {
  const { victim, bystander, attacker, got } = await cluster(t)
  let down = droppedBy(victim, attacker)
  rawStream(attacker, victim).write(fragments(5000, 1, () => 7))
  let [, info] = await down
  t.match(info.error, { code: 'ERR_LIMIT', message: new RegExp(`${attacker.name} sent a fragment stream of more than 1025 pieces`) })

  await waitFor(() => attacker.nodes().length === 0, 5000, 'the attacker to see its connection gone')
  t.ok(await attacker.connect(victim.name), 'the attacker may connect again')
  await waitFor(() => victim.nodes().includes(attacker.name), 5000, 'the victim to have the connection up')
  down = droppedBy(victim, attacker)
  rawStream(attacker, victim).write(fragments(MAX_OPEN_STREAMS + 1, 1, i => i + 1))
  ;[, info] = await down
  t.match(info.error, {
    code: 'ERR_LIMIT',
    message: new RegExp(`${attacker.name} sent more than ${MAX_OPEN_STREAMS} fragment streams open`),
  })
  await stillServes(t, victim, bystander, got)
})

t.test('a fragmented message growing past maxMessageSize: ERR_MESSAGE_TOO_LARGE', async t => {
  const max = 1024 * 1024
  const { victim, bystander, attacker, got } = await cluster(t, { maxMessageSize: max })
  const down = droppedBy(victim, attacker)
  // Full-sized pieces, as a real sender cuts them, one stream, never last.
  rawStream(attacker, victim).write(fragments(max / CHUNK + 1, CHUNK, () => 3))
  const [, info] = await down
  t.match(info.error, {
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: new RegExp(
      `${attacker.name} sent a fragmented message of at least ${max + CHUNK} bytes, over maxMessageSize \\(${max} bytes\\)`,
    ),
  })
  await stillServes(t, victim, bystander, got)
})

t.test('legitimate large messages still pass: many at once, to many destinations', async t => {
  const { victim, bystander, got } = await cluster(t)
  const sinks = Array.from({ length: 12 }, (_, i) => sink(victim, `big${i}`))
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < sinks.length; i++) bystander.send([`big${i}`, victim.name], Buffer.alloc(CHUNK * 5 + i, i))
  }
  await waitFor(() => sinks.every(s => s.length === 2), 15_000, 'every large message')
  t.ok(
    sinks.every((s, i) => s.every(m => Buffer.isBuffer(m) && m.length === CHUNK * 5 + i && m[0] === i)),
    '24 large messages arrived whole, 12 streams wanting to go at once',
  )
  t.ok(victim.nodes().includes(bystander.name))
  t.same(got, [])
})
