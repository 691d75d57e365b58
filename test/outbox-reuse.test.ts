// The outbox reuses the buffer of a large frame, or of a batch of small ones, once the socket
// has written it (so a stream of messages does not allocate a fresh backing store per message
// or per write), and never sooner: every message arrives with its own bytes even while the
// receiver holds the socket back.
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { Duplex } from 'node:stream'
import { Outbox } from '../lib/kernel/outbox.js'
import { Reassembly, FRAGMENT_MARK, PIECE } from '../lib/kernel/fragments.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { createCodec } from '../lib/terms/codec.js'

const turn = (): Promise<void> => new Promise(r => setImmediate(r))

/** A connected pair of loopback sockets, closed at the end of the test. */
async function socketPair(t: Test): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  const [peer] = await accepted
  t.teardown(() => {
    client.destroy()
    peer.destroy()
  })
  return [client, peer]
}

/** Decodes a byte stream of frames (fragments joined) into the values sent. */
function decodeAll(bytes: Buffer, max: number): unknown[] {
  const codec = createCodec()
  const out: unknown[] = []
  const re = new Reassembly('peer@test', max)
  const take = (whole: Buffer | undefined): void => {
    if (whole !== undefined) out.push(codec.decode(whole))
  }
  new FrameDecoder({ maxFrameSize: max }).push(bytes, body => take(body[0] === FRAGMENT_MARK ? re.push(body) : Buffer.from(body)))
  return out
}

/**
 * A stream that takes chunks but completes no write until released: what it wrote is what a
 * chunk holds when its write completes (a copy is kept then; the chunk may change after).
 */
function heldStream(): { stream: Duplex; chunks: Buffer[]; release: () => Promise<void> } {
  const chunks: Buffer[] = []
  const held: (() => void)[] = []
  let hold = true
  const stream = new Duplex({
    read() {},
    highWaterMark: 64 << 20,
    write(chunk: Buffer, _enc, cb) {
      const complete = (): void => {
        chunks.push(Buffer.from(chunk))
        cb()
      }
      if (hold) held.push(complete)
      else complete()
    },
  })
  const release = async (): Promise<void> => {
    hold = false
    while (held.length > 0) {
      held.shift()!()
      await turn()
    }
  }
  return { stream, chunks, release }
}

t.test("a large frame's buffer is not reused before the stream has written it, nor on a non-socket stream", async t => {
  // The outbox hands a whole 1 MB frame over while the bytes still sit in the stream's queue.
  const { stream, chunks, release } = heldStream()
  const size = 1 << 20
  const out = new Outbox(stream, createCodec(), 64 * size, () => {}, Infinity)
  out.send(Buffer.alloc(size, 0xa1), 7)
  while (!out.idle) await turn()
  out.send(Buffer.alloc(size, 0xb2), 7) // must not be encoded over the first
  while (!out.idle) await turn()
  await release()
  while (!out.idle || stream.writableLength > 0) await turn()
  out.send(Buffer.alloc(size, 0xc3), 7) // now it may reuse a written buffer
  while (!out.idle || stream.writableLength > 0) await turn()
  const got = decodeAll(Buffer.concat(chunks), 4 * size) as Buffer[]
  t.equal(got.length, 3)
  t.ok(got[0]!.length === size && got[0]!.every(x => x === 0xa1), 'the first message kept its bytes')
  t.ok(got[1]!.length === size && got[1]!.every(x => x === 0xb2), 'the second too')
  t.ok(got[2]!.length === size && got[2]!.every(x => x === 0xc3), 'the third too')
  // A Duplex other than a socket may pass our buffers on by reference: nothing is reused.
  t.equal(out.spareBytesHeld, 0, 'no spare kept for a non-socket stream')
  out.close()
})

t.test('a stream whose transport says it copies (copiesWrites): buffers reused once its writes complete, never sooner', async t => {
  // As above, but the stream copies each chunk before its write's callback (an SSH channel
  // packs it into SSH packets), and the outbox is told so.
  const { stream, chunks, release } = heldStream()
  const size = 1 << 20
  const out = new Outbox(stream, createCodec(), 64 * size, () => {}, Infinity, undefined, undefined, true)
  const batches = new Set<ArrayBufferLike>()
  const small = async (from: number): Promise<void> => {
    for (let i = from; i < from + 5; i++) {
      out.send(['small', i, 'y'.repeat(3000)])
      batches.add((out as unknown as { batch: { buf: Buffer } }).batch.buf.buffer)
      await turn()
    }
  }
  await small(0)
  out.send(Buffer.alloc(size, 0xa1), 7)
  while (!out.idle) await turn()
  out.send(Buffer.alloc(size, 0xb2), 7) // must not be encoded over the first: its write has not completed
  while (!out.idle) await turn()
  t.equal(out.spareBytesHeld, 0, 'no spare while every write is still held')
  await release()
  while (!out.idle || stream.writableLength > 0) await turn()
  t.ok(out.spareBytesHeld > 0, 'a written buffer was kept for the next large frame')
  out.send(Buffer.alloc(size, 0xc3), 7) // now it reuses a written buffer
  while (!out.idle || stream.writableLength > 0) await turn()
  await small(5)
  while (!out.idle || stream.writableLength > 0) await turn()
  const got = decodeAll(Buffer.concat(chunks), 4 * size) as unknown[]
  t.equal(got.length, 13)
  t.same(
    got.filter(m => !Buffer.isBuffer(m)),
    Array.from({ length: 10 }, (_, i) => ['small', i, 'y'.repeat(3000)]),
    'the small messages kept their bytes',
  )
  const large = got.filter(m => Buffer.isBuffer(m))
  for (const [i, fill] of [0xa1, 0xb2, 0xc3].entries()) {
    t.ok(large[i]!.length === size && large[i]!.every(x => x === fill), `large message ${i} kept its bytes`)
  }
  t.ok(batches.size < 10, `batch buffers reused once written (${batches.size} distinct for 10 batches)`)
  out.close()
})

t.test('large frames to one destination: each arrives intact, their buffers are reused', async t => {
  const codec = createCodec()
  const [client, peer] = await socketPair(t)

  const n = 12
  const size = 1 << 20
  const got: Buffer[] = []
  const done = new Promise<void>(resolve => {
    const dec = new FrameDecoder({ maxFrameSize: 4 * size })
    const re = new Reassembly('peer@test', 4 * size)
    const take = (whole: Buffer | undefined): void => {
      if (whole === undefined) return
      got.push(codec.decode(whole) as Buffer)
      if (got.length === n) resolve()
    }
    peer.on('data', (chunk: Buffer) =>
      dec.push(
        chunk,
        body => take(body[0] === FRAGMENT_MARK ? re.push(body) : Buffer.from(body)),
        (parts, total) => take(re.pushParts(parts, total)),
      ),
    )
  })
  peer.pause() // the socket's queue fills: buffers in it must not be reused yet

  const out = new Outbox(client, codec, 64 * size, () => {}, Infinity)
  // Each message is sent on its own turn, as a process streaming them would.
  for (let i = 0; i < n; i++) {
    out.send(Buffer.alloc(size, i + 1), 7)
    await new Promise(r => setImmediate(r))
    if (i === 3) setTimeout(() => peer.resume(), 50)
  }
  await done
  t.equal(got.length, n)
  for (let i = 0; i < n; i++) t.ok(got[i]!.length === size && got[i]!.every(x => x === i + 1), `message ${i} intact`)
  t.ok(out.spareBytesHeld > 0, 'a written buffer was kept for the next large frame')
  out.close()
})

t.test('small frames on a socket: the batch buffer written at once takes the next batch, bytes intact', async t => {
  const codec = createCodec()
  const [client, peer] = await socketPair(t)
  const n = 300
  const got: unknown[] = []
  const done = new Promise<void>(resolve => {
    const dec = new FrameDecoder()
    peer.on('data', (chunk: Buffer) =>
      dec.push(chunk, body => {
        got.push(codec.decode(body))
        if (got.length === n) resolve()
      }),
    )
  })
  const out = new Outbox(client, codec)
  const batches = new Set<Buffer>()
  for (let i = 0; i < n; i++) {
    out.send(['msg', i, 'x'.repeat(i % 50)])
    batches.add((out as unknown as { batch: { buf: Buffer } }).batch.buf)
    await turn() // one batch per turn
  }
  await done
  t.same(
    got,
    Array.from({ length: n }, (_, i) => ['msg', i, 'x'.repeat(i % 50)]),
    'every frame arrived as sent',
  )
  t.ok(batches.size < n / 10, `batch buffers reused (${batches.size} distinct for ${n} batches)`)
  out.close()
})

t.test('a sender that honours backpressure streams large frames through a bounded set of buffers, let go once idle', async t => {
  const codec = createCodec()
  const [client, peer] = await socketPair(t)
  const n = 40
  const size = 1 << 20
  const highWater = 8 * size
  // Every large fragment body the outbox writes lies in the buffer its frame was encoded into.
  const buffers = new Set<ArrayBufferLike>()
  const write = client.write.bind(client) as (chunk: Buffer, cb?: () => void) => boolean
  ;(client as unknown as { write: typeof write }).write = (chunk, cb) => {
    if (chunk.length === PIECE) buffers.add(chunk.buffer) // (a full fragment's body)
    return write(chunk, cb)
  }
  let got = 0
  let intact = true
  const done = new Promise<void>(resolve => {
    const dec = new FrameDecoder({ maxFrameSize: 4 * size })
    const re = new Reassembly('peer@test', 4 * size)
    const take = (whole: Buffer | undefined): void => {
      if (whole === undefined) return
      const m = codec.decode(whole) as Buffer
      if (m.length !== size || m[0] !== (got % 250) + 1 || m[size - 1] !== (got % 250) + 1) intact = false
      if (++got === n) resolve()
    }
    peer.on('data', (chunk: Buffer) =>
      dec.push(
        chunk,
        body => take(body[0] === FRAGMENT_MARK ? re.push(body) : Buffer.from(body)),
        (parts, total) => take(re.pushParts(parts, total)),
      ),
    )
  })
  // The receiver holds the socket back until the sender has to wait, then reads until the
  // queue has drained: the queue fills up to highWater again and again, whatever the pace of
  // a loaded machine (a reader in timed spurts sometimes kept up, and the sender never waited).
  peer.pause()
  const out = new Outbox(client, codec, highWater, () => {}, Infinity)
  let waits = 0
  for (let i = 0; i < n; i++) {
    if (!out.send(Buffer.alloc(size, (i % 250) + 1), 7)) {
      waits++
      peer.resume()
      await out.whenDrained()
      peer.pause()
    }
    await turn()
  }
  peer.resume()
  await done
  t.ok(waits >= 3, `the sender waited for the queue to drain ${waits} times`)
  t.ok(intact, `${n} messages of 1 MB arrived intact`)
  t.ok(
    // highWater's worth, and a few more: frames being encoded while written ones wait for their
    // write callbacks (9 on a quiet machine, 11 with two test suites at once on two cores;
    // without reuse, one per frame: 40).
    buffers.size <= highWater / size + 4,
    `${n} large frames went through ${buffers.size} buffers (at most highWater's worth, ${highWater / size}, and four)`,
  )
  t.ok(
    out.spareBytesHeld > 0 && out.spareBytesHeld <= highWater + size + 16,
    `spares held: ${out.spareBytesHeld} bytes, within highWater and one frame`,
  )
  out.trimSpares()
  t.ok(out.spareBytesHeld > 0, 'kept through an interval with large frames in it')
  out.trimSpares()
  t.equal(out.spareBytesHeld, 0, 'let go after an interval without one')
  out.close()
})

t.test('batches of small frames while the receiver holds the socket back: buffers reused once written, never sooner', async t => {
  const codec = createCodec()
  const [client, peer] = await socketPair(t)
  const turns = 100
  const perTurn = 4000 // ~300 KB of frames per turn
  const highWater = 2 << 20 // the sender waits for the queue to drain (so batches come in several sizes)
  // Every batch the outbox writes, and how many of its writes were in the socket's queue at once.
  const buffers = new Set<ArrayBufferLike>()
  let inFlight = 0
  let maxInFlight = 0
  let writes = 0
  const write = client.write.bind(client) as (chunk: Buffer, cb?: () => void) => boolean
  ;(client as unknown as { write: typeof write }).write = (chunk, cb) => {
    buffers.add(chunk.buffer)
    writes++
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    return write(chunk, () => {
      inFlight--
      cb?.()
    })
  }
  const total = turns * perTurn
  let got = 0
  let intact = true
  const done = new Promise<void>(resolve => {
    const dec = new FrameDecoder()
    peer.on('data', (chunk: Buffer) =>
      dec.push(chunk, body => {
        const m = codec.decode(body) as [number, Buffer]
        if (m[0] !== got || m[1].length !== 64 || m[1][0] !== got % 251 || m[1][63] !== got % 251) intact = false
        if (++got === total) resolve()
      }),
    )
  })
  // The receiver reads in spurts, so writes complete late, and several batches are in the socket's queue at once.
  peer.pause()
  const spurts = setInterval(() => (peer.isPaused() ? peer.resume() : peer.pause()), 10)
  t.teardown(() => clearInterval(spurts))
  const out = new Outbox(client, codec, highWater)
  for (let i = 0, k = 0; i < turns; i++) {
    for (let j = 0; j < perTurn; j++, k++) if (!out.send([k, Buffer.alloc(64, k % 251)])) await out.whenDrained()
    await turn()
  }
  await done
  clearInterval(spurts)
  t.ok(maxInFlight >= 4, `up to ${maxInFlight} batches were in the socket's queue at once`)
  t.ok(intact, `${total} frames arrived intact and in order`)
  t.ok(
    buffers.size <= 2 * (maxInFlight + 2) && buffers.size < writes / 4,
    `${writes} batches went through ${buffers.size} buffers (at most twice those in the queue at once, and a quarter of the batches)`,
  )
  t.ok(
    out.freeBatchBytes > 0 && out.freeBatchBytes <= 2 * highWater + (1 << 20),
    `free batch buffers held: ${out.freeBatchBytes} bytes, within twice highWater and one buffer`,
  )
  out.trimSpares()
  t.ok(out.freeBatchBytes > 0, 'kept through an interval with batches in it')
  out.trimSpares()
  t.equal(out.freeBatchBytes, 0, 'let go after an interval without one')
  out.close()
})
