// Bounded fragment reassembly: an authenticated peer that sends crafted fragment frames (many
// streams, streams larger than maxMessageSize, pieces that do not fit their stream) loses its
// connection with a typed error naming it, before the node's memory grows; a flood of tiny
// pieces costs no memory; the node keeps running and another connected node keeps exchanging
// messages with it.
import t, { type Test } from 'tap'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import type { Node } from '../lib/node.js'
import { rawStream, sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { ACTIVE_STREAMS, MAX_OPEN_STREAMS, fragmentHeader } from '../lib/kernel/fragments.js'
import { CHUNK } from '../lib/kernel/outbox.js'
import { createCodec } from '../lib/terms/codec.js'
import { SEND } from '../lib/kernel/frames.js'

v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/**
 * `count` fragment frames of `size` payload bytes each, on stream ids `id(i)`; piece i is a
 * first piece announcing `first(i)` bytes when that is a number, and last when `last(i)`.
 */
function fragments(
  count: number,
  size: number,
  id: (i: number) => number,
  first: (i: number) => number | undefined = () => undefined,
  last: (i: number) => boolean = () => false,
): Buffer {
  const frames: Buffer[] = []
  for (let i = 0; i < count; i++) frames.push(fragmentHeader(id(i), size, last(i), first(i)), Buffer.alloc(size, i & 0xff))
  return Buffer.concat(frames)
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

t.test('a million tiny pieces: no memory growth, and the message arrives whole', async t => {
  const { victim, bystander, attacker, got } = await cluster(t)
  // A real SEND frame's body — a 999,000-byte buffer to the victim's 'inbox' — sent as one
  // stream of one-byte pieces: about a million of them, 11 MB on the wire.
  const to = victim.whereis('inbox')
  const body = Buffer.from(createCodec().encode([SEND, to, Buffer.alloc(999_000, 7)]))
  const n = body.length
  const frames: Buffer[] = []
  for (let i = 0; i < n; i++) frames.push(fragmentHeader(9, 1, i === n - 1, i === 0 ? n : undefined), body.subarray(i, i + 1))
  const flood = Buffer.concat(frames)
  gc()
  const base = process.memoryUsage().heapUsed
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  }, 2)
  const s = rawStream(attacker, victim)
  for (let at = 0; at < flood.length; at += 110_000) s.write(flood.subarray(at, at + 110_000))
  await waitFor(() => got.length === 1, 30_000, 'the message')
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  const m = got[0] as Buffer
  t.ok(Buffer.isBuffer(m) && m.length === 999_000 && m.every(b => b === 7), 'it arrived whole')
  t.ok(peak < 50 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MB at most`)
  t.ok(victim.nodes().includes(attacker.name), 'tiny pieces are legal: the connection stays up')
  got.length = 0
  await stillServes(t, victim, bystander, got)
})

t.test('streams announcing more than 4 × maxMessageSize, too many open streams: ERR_LIMIT', async t => {
  const max = 1024 * 1024
  const { victim, bystander, attacker, got } = await cluster(t, { maxMessageSize: max })
  let down = droppedBy(victim, attacker)
  rawStream(attacker, victim).write(
    fragments(
      ACTIVE_STREAMS + 1,
      1,
      i => i + 1,
      () => max,
    ),
  )
  let [, info] = await down
  t.match(info.error, {
    code: 'ERR_LIMIT',
    message: new RegExp(`${attacker.name} sent more than ${ACTIVE_STREAMS * max} fragment bytes in flight`),
  })

  await waitFor(() => attacker.nodes().length === 0, 5000, 'the attacker to see its connection gone')
  t.ok(await attacker.connect(victim.name), 'the attacker may connect again')
  await waitFor(() => victim.nodes().includes(attacker.name), 5000, 'the victim to have the connection up')
  down = droppedBy(victim, attacker)
  rawStream(attacker, victim).write(
    fragments(
      MAX_OPEN_STREAMS + 1,
      1,
      i => i + 1,
      () => 16,
    ),
  )
  ;[, info] = await down
  t.match(info.error, {
    code: 'ERR_LIMIT',
    message: new RegExp(`${attacker.name} sent more than ${MAX_OPEN_STREAMS} fragment streams open`),
  })
  await stillServes(t, victim, bystander, got)
})

t.test('a fragmented message announcing more than maxMessageSize: ERR_MESSAGE_TOO_LARGE at its first piece', async t => {
  const max = 1024 * 1024
  const { victim, bystander, attacker, got } = await cluster(t, { maxMessageSize: max })
  const down = droppedBy(victim, attacker)
  // Only the first piece's header goes: the refusal does not wait for the bytes.
  rawStream(attacker, victim).write(fragmentHeader(3, CHUNK, false, max + 1))
  const [, info] = await down
  t.match(info.error, {
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: new RegExp(`${attacker.name} announced a fragmented message of ${max + 1} bytes, over maxMessageSize \\(${max} bytes\\)`),
  })
  await stillServes(t, victim, bystander, got)
})

for (const [what, bytes, why] of [
  [
    'a piece of a stream no first piece opened',
    () => fragments(1, 100, () => 5),
    /a piece of fragment stream 5, which no first piece opened/,
  ],
  [
    'a second first piece for an open stream',
    () =>
      fragments(
        2,
        100,
        () => 5,
        () => 1000,
      ),
    /a first piece for fragment stream 5, already open/,
  ],
  [
    'bytes past the announced size',
    () =>
      fragments(
        2,
        600,
        () => 5,
        i => (i === 0 ? 1000 : undefined),
      ),
    /more bytes on fragment stream 5 than its first piece announced \(1000\)/,
  ],
  [
    'a last piece short of the announced size',
    () =>
      fragments(
        2,
        100,
        () => 5,
        i => (i === 0 ? 1000 : undefined),
        i => i === 1,
      ),
    /fragment stream 5 ending at 200 of its announced 1000 bytes/,
  ],
  [
    'a stream complete without its last piece',
    () =>
      fragments(
        2,
        500,
        () => 5,
        i => (i === 0 ? 1000 : undefined),
      ),
    /fragment stream 5 complete without its last piece/,
  ],
] as const) {
  t.test(`${what}: ERR_DECODE naming the peer`, async t => {
    const { victim, bystander, attacker, got } = await cluster(t)
    const down = droppedBy(victim, attacker)
    rawStream(attacker, victim).write(bytes())
    const [, info] = await down
    t.match(info.error, { code: 'ERR_DECODE', message: new RegExp(`${attacker.name} sent ${why.source}`) })
    await stillServes(t, victim, bystander, got)
  })
}

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
