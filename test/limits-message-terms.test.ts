// maxMessageTerms: what a received message may decode into. A message's size alone does not
// bound the heap its decoding takes (64 MiB of empty arrays is 67 million objects, and took a
// node down with V8's heap limit): a peer whose message holds more terms than the receiver
// allows is disconnected with ERR_MESSAGE_TOO_LARGE naming it, refused as soon as a container
// announces more than are left; the node keeps running and its other peers lose nothing.
import t from 'tap'
import { testEpmd, testNode, nextEvent } from './fixtures/cluster.js'
import { kernelOf, rawStream, sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { MAX_MESSAGE_TERMS } from '../lib/node-options.js'
import { startNode } from '../lib/node.js'
import { CODEC_NAMES, createCodec } from '../lib/terms/codec.js'
import { Tuple } from '../lib/terms/tuple.js'
import { checkDepth } from '../lib/terms/depth-scan.js'

type DownInfo = { reason: string; error?: Error }

t.test('the default is 4,000,000; a bad value is refused at start', async t => {
  t.equal(MAX_MESSAGE_TERMS, 4_000_000)
  for (const bad of [0, -1, 1.5, 2 ** 32, NaN]) {
    await t.rejects(startNode({ name: 'bad', cookie: 'c', epmd: false, maxMessageTerms: bad }), {
      code: 'ERR_BAD_ARGUMENT',
      message: /maxMessageTerms/,
    })
  }
})

for (const name of CODEC_NAMES) {
  t.test(`${name}: a message of up to maxTerms terms decodes; one more is ERR_MESSAGE_TOO_LARGE`, async t => {
    const codec = createCodec(name, { maxTerms: 10 })
    const refuse = { code: 'ERR_MESSAGE_TOO_LARGE', message: /more than 10 terms \(maxMessageTerms\)/ }
    // An array and its elements are terms: 1 + 9.
    t.same(codec.decode(codec.encode(new Array(9).fill(0))), new Array(9).fill(0), 'an array of 9 and itself')
    t.throws(() => codec.decode(codec.encode(new Array(10).fill(0))), refuse, 'an array of 10 and itself')
    // Nested: no container over the budget, the total is.
    t.same(
      codec.decode(
        codec.encode([
          [0, 0],
          [0, 0],
          [0, 0],
        ]),
      ),
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      '10 terms in four arrays',
    )
    t.throws(
      () =>
        codec.decode(
          codec.encode([
            [0, 0],
            [0, 0],
            [0, 0, 0],
          ]),
        ),
      refuse,
      '11 terms in four arrays',
    )
    // Keys and values of plain objects and Maps, tuple elements, empty containers.
    t.throws(() => codec.decode(codec.encode({ a: 1, b: 2, c: 3, d: 4, e: 5 })), refuse, 'five keys and values')
    t.throws(
      () =>
        codec.decode(
          codec.encode(
            new Map([
              [1, 2],
              [3, 4],
              [5, 6],
              [7, 8],
              [9, 10],
            ]),
          ),
        ),
      refuse,
      'a Map',
    )
    t.throws(() => codec.decode(codec.encode(new Tuple(...new Array<number>(10).fill(0)))), refuse, 'a tuple')
    t.throws(() => codec.decode(codec.encode(new Array(10).fill([]))), refuse, 'empty arrays count')
    // The budget is per message.
    for (let i = 0; i < 3; i++)
      t.same((codec.decode(codec.encode(new Array(9).fill(0))) as unknown[]).length, 9, `message ${i + 1} of 9 terms`)
  })
}

t.test('a container announcing more terms than are left is refused before it is made', async t => {
  // An array32 announcing 100 million elements, followed by that many one-byte zeros (100 MB):
  // the decoders refuse it on its header, without reading (or allocating for) its elements.
  const n = 100_000_000
  const bytes = Buffer.alloc(5 + n)
  bytes[0] = 0xdd
  bytes.writeUInt32BE(n, 1)
  for (const name of CODEC_NAMES) {
    const codec = createCodec(name)
    const t0 = performance.now()
    t.throws(() => codec.decode(bytes), { code: 'ERR_MESSAGE_TOO_LARGE', message: /more than 4000000 terms/ }, name)
    t.ok(performance.now() - t0 < 1000, `${name}: refused on the header, in ${(performance.now() - t0).toFixed(1)} ms`)
  }
  // The scan msgpack-lite runs first counts the same way.
  t.throws(() => checkDepth(bytes, 10), { code: 'ERR_MESSAGE_TOO_LARGE' })
  t.doesNotThrow(() => checkDepth(Buffer.from([0x92, 0x90, 0x90]), 3), '[[], []] is 3 terms')
  t.throws(() => checkDepth(Buffer.from([0x92, 0x90, 0x90]), 2), { code: 'ERR_MESSAGE_TOO_LARGE' })
})

for (const name of CODEC_NAMES) {
  t.test(`${name}: a peer whose message holds more terms than the default is dropped; other peers carry on`, async t => {
    const epmd = await testEpmd(t)
    const receiver = await testNode(t, epmd, { name: 'receiver', connectAll: false, codec: name })
    const sender = await testNode(t, epmd, { name: 'sender', connectAll: false })
    const honest = await testNode(t, epmd, { name: 'honest', connectAll: false })
    const got = sink(receiver, 'inbox')
    t.ok(await sender.connect(receiver.name))
    t.ok(await honest.connect(receiver.name))

    // Two shapes, each a few MB on the wire: one flat array of 4,000,001 zeros (refused on its
    // header), and 300,000 arrays of 15 zeros (4.8 million terms: refused part-way through).
    const flat = new Array<number>(MAX_MESSAGE_TERMS + 1).fill(0)
    const nested = Array.from({ length: 300_000 }, () => new Array<number>(15).fill(0))
    for (const [what, msg] of [
      ['one array', flat],
      ['many small arrays', nested],
    ] as const) {
      const down = nextEvent<[string, DownInfo]>(receiver, 'nodedown', n => n === sender.name)
      // (heard before sending: under a loaded test run the sender took more than 5 s once)
      const senderDown = nextEvent<[string, DownInfo]>(sender, 'nodedown', n => n === receiver.name, 30_000)
      sender.send(['inbox', receiver.name], msg)
      const [, info] = await down
      t.match(
        info.error,
        { code: 'ERR_MESSAGE_TOO_LARGE', message: new RegExp(`${sender.name} sent a message too large: .*more than 4000000 terms`) },
        `${what}: dropped with an error naming the sender`,
      )
      honest.send(['inbox', receiver.name], `after ${what}`)
      await waitFor(() => got.includes(`after ${what}`), 10_000, 'the honest peer to get through')
      t.ok(receiver.nodes().includes(honest.name), 'the honest peer stays connected')
      await senderDown // the sender sees the connection gone
      t.ok(await sender.connect(receiver.name), 'the sender may connect again')
    }
    // Up to the bound is fine: an array of 3,999,990 elements (the frame's envelope, [SEND, to,
    // msg], is a few terms more).
    sender.send(['inbox', receiver.name], new Array<number>(MAX_MESSAGE_TERMS - 10).fill(7))
    await waitFor(() => got.some(m => Array.isArray(m)), 30_000, 'the largest message allowed')
    t.equal((got.find(m => Array.isArray(m)) as number[]).length, MAX_MESSAGE_TERMS - 10)
    t.same(
      got.filter(m => !Array.isArray(m)),
      ['after one array', 'after many small arrays'],
      'nothing of the refused messages was delivered',
    )
  })
}

t.test('a malformed frame from an authenticated peer drops it with an error naming it', async t => {
  const epmd = await testEpmd(t)
  const receiver = await testNode(t, epmd, { name: 'receiver', connectAll: false })
  const sender = await testNode(t, epmd, { name: 'sender', connectAll: false })
  t.ok(await sender.connect(receiver.name))
  await waitFor(() => receiver.nodes().includes(sender.name), 5000, 'the receiver to have the connection up')
  const down = nextEvent<[string, DownInfo]>(receiver, 'nodedown', n => n === sender.name)
  // A frame of 2 bytes: an array announcing 3 elements, and one of them.
  rawStream(sender, receiver).write(Buffer.from([0, 0, 0, 2, 0x93, 0x01]))
  const [, info] = await down
  t.match(info.error, {
    code: 'ERR_DECODE',
    message: new RegExp(`^${sender.name} sent a malformed message: truncated term.*: connection dropped$`),
  })
  t.ok(kernelOf(receiver), 'the receiver runs on')
})
