// maxMessageSize: a sender refuses a larger message at send() (nothing queued, the process
// keeps running); a receiver drops a peer whose frame, or fragmented message, announces
// more — before buffering it — with a typed error naming the peer.
import t from 'tap'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import { kernelOf, rawStream, sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../lib/node-options.js'
import { startNode } from '../lib/node.js'
import { CODEC_NAMES, createCodec } from '../lib/terms/codec.js'
import type { FrameBatch } from '../lib/terms/frame-batch.js'

const MiB = 1024 * 1024
type DownInfo = { reason: string; error?: Error }

t.test('the default is 64 MiB; a bad value is refused at start', async t => {
  t.equal(DEFAULT_MAX_MESSAGE_SIZE, 64 * MiB)
  for (const bad of [0, -1, 1.5, 2 ** 32, NaN]) {
    await t.rejects(startNode({ name: 'bad', cookie: 'c', epmd: false, maxMessageSize: bad }), {
      code: 'ERR_BAD_ARGUMENT',
      message: /maxMessageSize/,
    })
  }
})

for (const codec of CODEC_NAMES) {
  t.test(`${codec}: send() of a message over maxMessageSize throws ERR_MESSAGE_TOO_LARGE and queues nothing`, async t => {
    const epmd = await testEpmd(t)
    const receiver = await testNode(t, epmd, { name: 'receiver', connectAll: false })
    const sender = await testNode(t, epmd, { name: 'sender', connectAll: false, maxMessageSize: MiB, codec })
    const got = sink(receiver, 'inbox')
    t.ok(await sender.connect(receiver.name))
    const dest: [string, string] = ['inbox', receiver.name]
    sender.send(dest, Buffer.alloc(MiB - 100)) // fits, with its envelope
    t.throws(() => sender.send(dest, Buffer.alloc(MiB)), {
      code: 'ERR_MESSAGE_TOO_LARGE',
      message: new RegExp(`cannot send to ${receiver.name}: a message of \\d+ bytes or more exceeds maxMessageSize \\(${MiB} bytes\\)`),
    })
    const conn = kernelOf(sender).up.get(receiver.name)!
    sender.send(dest, 'small, after')
    await waitFor(() => got.length === 2, 10_000, 'the messages that fit')
    t.equal((got[0] as Buffer).length, MiB - 100, 'the message that fits arrived')
    t.equal(got[1], 'small, after', 'the connection carries on: nothing of the refused message was queued')
    t.ok(conn.isUp && conn.outbox.idle)

    // Not connected yet: refused the same way, and no connection is started for it.
    const other = await testNode(t, epmd, { name: 'other', connectAll: false })
    t.throws(() => sender.send(['inbox', other.name], Buffer.alloc(2 * MiB)), {
      code: 'ERR_MESSAGE_TOO_LARGE',
      message: new RegExp(`cannot send to ${other.name}`),
    })
    t.notOk(sender.nodes('connected').includes(other.name))
  })
}

t.test('netkernel stops encoding as soon as the output passes the bound', async t => {
  const codec = createCodec('netkernel', { maxFrameBody: MiB })
  const huge = new Array<Buffer>(10_000).fill(Buffer.alloc(MiB)) // 10 GB encoded
  const batch: FrameBatch = { buf: Buffer.allocUnsafe(16384), len: 0 }
  codec.encodeFrameInto('before', batch)
  const len = batch.len
  const t0 = performance.now()
  t.throws(() => codec.encodeFrameInto(huge, batch), { code: 'ERR_MESSAGE_TOO_LARGE' })
  const ms = performance.now() - t0
  t.ok(ms < 500, `refused after ${ms.toFixed(1)} ms, not after 10 GB`)
  t.equal(batch.len, len, 'the batch is as it was')
  t.ok(batch.buf.length <= 4 * MiB, `and does not keep a grown buffer (${batch.buf.length} bytes)`)
  t.throws(() => codec.encodeFrame(huge), { code: 'ERR_MESSAGE_TOO_LARGE' })
  t.equal((codec.decode(codec.encode(Buffer.alloc(2 * MiB))) as Buffer).length, 2 * MiB, 'encode() (not a frame) has no such bound')
})

t.test('a receiver with a smaller limit drops the peer: fragmented message, or a frame prefix', async t => {
  const epmd = await testEpmd(t)
  const receiver = await testNode(t, epmd, { name: 'receiver', connectAll: false, maxMessageSize: MiB })
  const sender = await testNode(t, epmd, { name: 'sender', connectAll: false, maxMessageSize: 8 * MiB })
  const got = sink(receiver, 'inbox')
  t.ok(await sender.connect(receiver.name))
  sender.send(['inbox', receiver.name], Buffer.alloc(MiB / 2, 1))
  await waitFor(() => got.length === 1, 10_000, 'a message under both limits')

  let down = nextEvent<[string, DownInfo]>(receiver, 'nodedown', name => name === sender.name)
  // Queued, not refused (send() may say busy: 2 MiB is the default highWater).
  t.doesNotThrow(() => sender.send(['inbox', receiver.name], Buffer.alloc(2 * MiB, 2)), 'the sender (limit 8 MiB) sends 2 MiB')
  let [, info] = await down
  t.match(info.error, {
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: new RegExp(`${sender.name} announced a fragmented message of \\d+ bytes, over maxMessageSize \\(${MiB} bytes\\)`),
  })
  t.equal(got.length, 1, 'nothing of it was delivered')

  await waitFor(() => sender.nodes().length === 0, 5000, 'the sender to see the connection gone')
  t.ok(await sender.connect(receiver.name), 'the sender may connect again')
  await waitFor(() => receiver.nodes().includes(sender.name), 5000, 'the receiver to have the connection up')
  down = nextEvent<[string, DownInfo]>(receiver, 'nodedown', name => name === sender.name)
  const prefix = Buffer.alloc(8)
  prefix.writeUInt32BE(MiB + 1, 0) // a whole frame of MiB + 1 bytes announced; 4 of them sent
  rawStream(sender, receiver).write(prefix)
  ;[, info] = await down
  t.match(info.error, {
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: new RegExp(`${sender.name} announced a frame over maxMessageSize \\(${MiB} bytes\\).*frame of ${MiB + 1} bytes`),
  })
  t.pass('dropped on the length prefix, before its body arrived')

  await waitFor(() => sender.nodes().length === 0, 5000, 'the sender to see the connection gone')
  t.ok(await sender.connect(receiver.name))
  sender.send(['inbox', receiver.name], 'still friends')
  await waitFor(() => got.length === 2, 10_000, 'a message after the drops')
  t.equal(got[1], 'still friends')
})
