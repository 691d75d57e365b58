// A message leaves when it is sent: the outbox writes a batch at once when a message (an
// urgent frame) is queued, with the frames queued before it, unless it already did since its
// last flush or the stream still holds unwritten bytes; everything else waits for the end of
// the turn and leaves in one write. Checked on the outbox with a stream that records its
// writes, and through two nodes: a remote send has reached the socket before the sending
// process's next statement, a link has not.
import t from 'tap'
import { Duplex } from 'node:stream'
import { Buffer } from 'node:buffer'
import { Outbox } from '../lib/kernel/outbox.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { createCodec } from '../lib/terms/codec.js'
import { inProcess, testEpmd, testNode } from './fixtures/cluster.js'
import type { NodeStats } from '../lib/node.js'

/** A stream that keeps each write's bytes, as the outbox handed them over, in order. */
function recorder(): { stream: Duplex; writes: Buffer[] } {
  const writes: Buffer[] = []
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      writes.push(Buffer.from(chunk))
      cb()
    },
  })
  return { stream, writes }
}

/** The values framed in one write. */
function values(bytes: Buffer): unknown[] {
  const codec = createCodec()
  const out: unknown[] = []
  new FrameDecoder({ maxFrameSize: 1 << 20 }).push(bytes, body => out.push(codec.decode(Buffer.from(body))))
  return out
}

const endOfTurn = (): Promise<void> => new Promise(r => setImmediate(r))

t.test('an urgent frame is written at once, with what was queued before it', async t => {
  const { stream, writes } = recorder()
  const out = new Outbox(stream, createCodec())
  out.send(['monitor', 1])
  t.equal(writes.length, 0, 'a frame that is not urgent waits for the end of the turn')
  out.send(['request', 2], undefined, true)
  t.equal(writes.length, 1, 'the urgent one went before send() returned')
  t.same(values(writes[0]!), [
    ['monitor', 1],
    ['request', 2],
  ])
  t.equal(out.bytesOut, writes[0]!.length)
  await endOfTurn()
  t.equal(writes.length, 1, 'the flush at the end of the turn found nothing left')
})

t.test('after one early write, the frames of the same turn leave together at its end', async t => {
  const { stream, writes } = recorder()
  const out = new Outbox(stream, createCodec())
  out.send('a', undefined, true)
  out.send('b', undefined, true)
  out.send('c')
  out.send('d', undefined, true)
  t.equal(writes.length, 1, 'one early write before the flush')
  await endOfTurn()
  t.same(writes.map(values), [['a'], ['b', 'c', 'd']])

  // The flush ended the turn's early write: the next message goes at once again.
  out.send('e', undefined, true)
  t.equal(writes.length, 3)
  t.same(values(writes[2]!), ['e'])
  await endOfTurn()
  t.equal(writes.length, 3)
  t.equal(
    out.bytesOut,
    writes.reduce((n, w) => n + w.length, 0),
  )
})

t.test('while the stream still holds bytes, a message waits for the end of the turn', async t => {
  // It would only queue behind them: one write at the end of the turn, as before, instead of
  // a write per turn more while a busy connection streams small messages.
  const writes: Buffer[] = []
  const held: (() => void)[] = []
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      writes.push(Buffer.from(chunk))
      held.push(cb)
    },
  })
  const out = new Outbox(stream, createCodec())
  out.send('first', undefined, true)
  t.equal(writes.length, 1)
  await endOfTurn()
  t.ok(stream.writableLength > 0, 'the first write has not completed')
  out.send('second', undefined, true)
  out.send('third', undefined, true)
  t.equal(stream.writableLength, writes[0]!.length, 'nothing more was handed over')
  await endOfTurn()
  for (const cb of held.splice(0)) cb()
  await endOfTurn()
  for (const cb of held.splice(0)) cb()
  t.same(writes.map(values), [['first'], ['second', 'third']])
  out.close()
})

t.test('a message queued behind a large one of its sender still waits behind it', async t => {
  const { stream, writes } = recorder()
  const out = new Outbox(stream, createCodec())
  const big = Buffer.alloc(300_000, 7)
  out.send(big, 1)
  out.send('after', 1, true)
  out.send('other', 2, true)
  // Only the other sender's message is in the batch: it leaves now; 'after' is in the large
  // frame's tail, and the large frame's fragments go at the flush.
  t.equal(writes.length, 1)
  t.same(values(writes[0]!), ['other'])
  out.close()
})

t.test('through two nodes: a remote send reaches the socket before the next statement, a link does not', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo' })
  t.ok(await foo.connect(bar.name))
  const sink = bar.spawn(async proc => {
    for (;;) await proc.receive()
  })
  const out = (s: NodeStats): number => s.connections.find(c => c.peer === bar.name)!.bytesOut
  const seen = await inProcess(foo, async proc => {
    // A new connection carries the nodes' own messages first (pg, global): one of them may
    // have been this turn's early write. The flush after it has run by the next turn.
    await endOfTurn()
    const before = out(foo.stats())
    proc.send(sink, 'hello')
    const afterSend = out(foo.stats())
    proc.link(sink)
    const afterLink = out(foo.stats())
    await endOfTurn()
    return { before, afterSend, afterLink, later: out(foo.stats()) }
  })
  t.ok(seen.afterSend > seen.before, `the message was handed to the socket at once (${seen.before} → ${seen.afterSend} bytes)`)
  t.equal(seen.afterLink, seen.afterSend, 'the link waited for the end of the turn')
  t.ok(seen.later > seen.afterLink, 'and then left')
})
