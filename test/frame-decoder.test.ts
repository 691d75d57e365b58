import t from 'tap'
import { FrameDecoder, DEFAULT_MAX_FRAME_SIZE, MAX_PARTS, PARTS_MIN } from '../lib/terms/frame-decoder.js'
import { createCodec, CODEC_NAMES } from '../lib/terms/codec.js'
import { CodecError } from '../lib/errors.js'
import { Pid } from '../lib/terms/pid.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** Pushes each chunk; returns the bodies received, as hex. */
function feed(decoder: FrameDecoder, chunks: Buffer[]): string[] {
  const out: string[] = []
  for (const chunk of chunks) decoder.push(chunk, body => out.push(body.toString('hex')))
  return out
}

// Three frames: "abc", a tick, "hello".
const STREAM = hex('00000003 616263  00000000  00000005 68656c6c6f')
const FRAMES = ['616263', '', '68656c6c6f']

t.test('one frame in one chunk is passed as a view of the chunk, not a copy', async t => {
  const chunk = hex('00000003 616263')
  const bodies: Buffer[] = []
  new FrameDecoder().push(chunk, body => bodies.push(body))
  t.equal(bodies.length, 1)
  t.equal(bodies[0]!.toString(), 'abc')
  t.equal(bodies[0]!.buffer, chunk.buffer, 'same memory')
  t.equal(bodies[0]!.byteOffset, chunk.byteOffset + 4, 'right after the prefix')
})

t.test('many frames in one chunk, in order, ticks included', async t => {
  const d = new FrameDecoder()
  t.strictSame(feed(d, [STREAM]), FRAMES)
  t.equal(d.pending, 0)
  const many = Buffer.concat(Array.from({ length: 1000 }, (_, i) => hex(`00000002 ${(i & 0xffff).toString(16).padStart(4, '0')}`)))
  const got = feed(d, [many])
  t.equal(got.length, 1000)
  t.equal(got[999], (999).toString(16).padStart(4, '0'))
})

t.test('onRange: a body wholly in the chunk comes as the chunk and its bounds; ticks and split bodies as before', async t => {
  const d = new FrameDecoder()
  const got: string[] = []
  let wrongChunk = 0
  const push = (chunk: Buffer): void =>
    d.push(
      chunk,
      body => got.push(`frame ${body.toString('hex')}`),
      undefined,
      undefined,
      (buf, start, end) => {
        if (buf !== chunk) wrongChunk++
        got.push(`range ${start}-${end} ${buf.toString('hex', start, end)}`)
      },
    )
  // "abc" and a tick in the first chunk, "hello" split across two.
  push(hex('00000003 616263  00000000  00000005 6865'))
  push(hex('6c6c6f  00000001 21'))
  t.strictSame(got, ['range 4-7 616263', 'frame ', 'frame 68656c6c6f', 'range 7-8 21'])
  t.equal(wrongChunk, 0, 'each range is in the chunk given to push()')
  t.equal(d.pending, 0)
})

t.test('length: a read into a larger buffer is its first length bytes, whatever lies past them', async t => {
  const d = new FrameDecoder()
  const got: string[] = []
  const heads: string[] = []
  const buf = Buffer.alloc(64 * 1024)
  // Each read lands at the buffer's start, with bytes from an earlier read (0xee) past it.
  const read = (bytes: Buffer): void => {
    buf.fill(0xee)
    bytes.copy(buf)
    d.push(
      buf,
      body => got.push(`frame ${body.toString('hex')}`),
      undefined,
      (head, size) => {
        heads.push(`${head.toString('hex')}/${size}`)
        return false
      },
      (b, start, end) => got.push(`range ${b.toString('hex', start, end)}`),
      bytes.length,
    )
  }
  read(hex('00000003 616263  00000000  00000005 6865'))
  read(hex('6c6c6f  0000'))
  read(hex('0001 21'))
  t.strictSame(got, ['range 616263', 'frame ', 'frame 68656c6c6f', 'range 21'])
  t.equal(d.pending, 0)
  // A large body split across reads: takeover is offered only the bytes read.
  const size = PARTS_MIN + 10
  read(Buffer.concat([hex(size.toString(16).padStart(8, '0')), Buffer.from('xyz')]))
  t.strictSame(heads, [`78797a/${size}`], 'the head holds the three bytes read, not the buffer past them')
  t.equal(d.pending, 4 + 3)
})

t.test('zero-length frames are ticks: an empty body each', async t => {
  const bodies: Buffer[] = []
  new FrameDecoder().push(hex('00000000 00000000 00000000'), b => bodies.push(b))
  t.equal(bodies.length, 3)
  t.ok(bodies.every(b => Buffer.isBuffer(b) && b.length === 0))
})

t.test('one byte at a time', async t => {
  const d = new FrameDecoder()
  const out: string[] = []
  const pendings: number[] = []
  for (const byte of STREAM) {
    d.push(Buffer.from([byte]), body => out.push(body.toString('hex')))
    pendings.push(d.pending)
  }
  t.strictSame(out, FRAMES)
  t.strictSame(pendings, [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0], 'pending counts prefix and body bytes')
})

t.test('every split point (two chunks) and every pair of split points (three chunks)', async t => {
  let ok = true
  for (let i = 0; i <= STREAM.length; i++) {
    if (feed(new FrameDecoder(), [STREAM.subarray(0, i), STREAM.subarray(i)]).join() !== FRAMES.join()) ok = false
    for (let j = i; j <= STREAM.length; j++) {
      const parts = [STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)]
      if (feed(new FrameDecoder(), parts).join() !== FRAMES.join()) ok = false
    }
  }
  t.ok(ok, `all ${((STREAM.length + 1) * (STREAM.length + 2)) / 2} splits give the same frames`)
})

t.test('a length prefix split across chunks', async t => {
  const d = new FrameDecoder()
  t.strictSame(feed(d, [hex('00'), hex('00'), hex('00')]), [])
  t.equal(d.pending, 3)
  t.strictSame(feed(d, [hex('03 6162'), hex('63 0000')]), ['616263'])
  t.equal(d.pending, 2)
  t.strictSame(feed(d, [hex('0000')]), [''])
})

t.test('a frame spanning chunks is assembled once at its length, without Buffer.concat', async t => {
  const size = 16 * 1024 * 1024
  const body = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4096) body[i] = i & 0xff
  const stream = Buffer.concat([hex(size.toString(16).padStart(8, '0')), body])
  const concat = Buffer.concat
  Buffer.concat = () => {
    throw new Error('Buffer.concat called')
  }
  try {
    const d = new FrameDecoder()
    const got: Buffer[] = []
    const start = Date.now()
    for (let off = 0; off < stream.length; off += 4096) {
      d.push(stream.subarray(off, off + 4096), b => got.push(b))
      if (got.length === 0 && d.pending !== Math.min(off + 4096, stream.length)) t.fail(`pending at ${off}`)
    }
    const ms = Date.now() - start
    t.equal(got.length, 1)
    t.ok(got[0]!.equals(body), '16 MiB body intact')
    t.equal(got[0]!.byteLength, got[0]!.buffer.byteLength, 'a buffer of exactly the body length')
    t.ok(ms < 2000, `4097 chunks of 4 KiB in ${ms} ms (linear; quadratic copying takes many seconds)`)
  } finally {
    Buffer.concat = concat
  }
})

t.test('a body assembled across chunks does not change when the chunks are reused', async t => {
  const chunk1 = hex('00000004 6162')
  const chunk2 = hex('6364')
  const d = new FrameDecoder()
  let body: Buffer | undefined
  d.push(chunk1, b => (body = b))
  d.push(chunk2, b => (body = b))
  chunk1.fill(0)
  chunk2.fill(0)
  t.equal(body?.toString(), 'abcd')
})

t.test('an oversize prefix throws ERR_FRAME_TOO_LARGE before allocating', async t => {
  const d = new FrameDecoder({ maxFrameSize: 10 })
  t.strictSame(feed(d, [hex('0000000a'), Buffer.alloc(10, 1)]), ['01'.repeat(10)], 'exactly the maximum is accepted')
  const seen: string[] = []
  const allocUnsafe = Buffer.allocUnsafe
  let allocations = 0
  Buffer.allocUnsafe = (size: number) => {
    allocations++
    return allocUnsafe(size)
  }
  try {
    d.push(hex('0000'), () => {})
    t.throws(() => d.push(hex('000b 01020304 00000001 41'), b => seen.push(b.toString())), {
      name: 'CodecError',
      code: 'ERR_FRAME_TOO_LARGE',
      message: /11 bytes.*maximum frame size of 10 bytes/,
    })
  } finally {
    Buffer.allocUnsafe = allocUnsafe
  }
  t.equal(allocations, 0, 'nothing allocated for the oversize frame (its body split across chunks)')
  t.strictSame(seen, [], 'nothing delivered from the oversize frame or after it')
  const d2 = new FrameDecoder({ maxFrameSize: 10 })
  t.throws(() => d2.push(hex('00000001 41  0000000b'), b => seen.push(b.toString())), { code: 'ERR_FRAME_TOO_LARGE' })
  t.strictSame(seen, ['A'], 'frames before the bad prefix in the same chunk were delivered')
  const big = new FrameDecoder()
  t.equal(big.maxFrameSize, DEFAULT_MAX_FRAME_SIZE)
  big.push(hex('ff'), () => {})
  big.push(hex('ff ff'), () => {})
  t.throws(
    () => big.push(hex('ff'), () => {}),
    { code: 'ERR_FRAME_TOO_LARGE', message: /4294967295 bytes/ },
    'a 4 GiB prefix split over chunks throws on its last byte',
  )
})

t.test('after a throw the decoder is failed until reset()', async t => {
  const d = new FrameDecoder({ maxFrameSize: 4 })
  d.push(hex('0000'), () => {})
  let first: unknown
  try {
    d.push(hex('0005 00'), () => {})
  } catch (e) {
    first = e
  }
  t.ok(first instanceof CodecError)
  t.ok(d.failed)
  t.equal(d.pending, 0)
  const calls: Buffer[] = []
  t.throws(() => d.push(hex('00000001 41'), b => calls.push(b)), first as Error, 'later pushes throw the same error')
  t.equal(calls.length, 0, 'and deliver nothing')
  d.reset()
  t.notOk(d.failed)
  t.strictSame(feed(d, [hex('00000001 41')]), ['41'], 'usable again after reset()')
})

t.test('an exception from onFrame fails the decoder too (its place in the stream is lost)', async t => {
  const d = new FrameDecoder()
  const boom = new Error('handler failed')
  t.throws(
    () =>
      d.push(STREAM, () => {
        throw boom
      }),
    boom,
  )
  t.ok(d.failed)
  t.throws(() => d.push(STREAM, () => {}), boom)
  d.reset()
  t.strictSame(feed(d, [STREAM]), FRAMES)
})

t.test('reset() discards a partial frame', async t => {
  const d = new FrameDecoder()
  d.push(hex('00000005 6162'), () => {})
  t.equal(d.pending, 6)
  d.reset()
  t.equal(d.pending, 0)
  t.strictSame(feed(d, [hex('00000001 7a')]), ['7a'])
})

t.test('maxFrameSize: validated, and settable for the prefixes that follow', async t => {
  for (const bad of [-1, 1.5, NaN, 2 ** 32]) {
    t.throws(() => new FrameDecoder({ maxFrameSize: bad }), { code: 'ERR_BAD_ARGUMENT' }, `constructor refuses ${bad}`)
  }
  const d = new FrameDecoder({ maxFrameSize: 2 })
  t.throws(
    () => {
      d.maxFrameSize = -5
    },
    { code: 'ERR_BAD_ARGUMENT' },
  )
  t.equal(d.maxFrameSize, 2)
  d.push(hex('00000002 6162 0000'), () => {})
  d.maxFrameSize = 1000 // e.g. raised once the handshake is over
  t.strictSame(feed(d, [hex('0003 616263')]), ['616263'])
  t.equal(new FrameDecoder({ maxFrameSize: 0 }).maxFrameSize, 0, 'ticks only')
})

t.test('codec frames go through the decoder and decode, for both codecs', async t => {
  for (const name of CODEC_NAMES) {
    const codec = createCodec(name)
    const values = [[1, new Pid('a@b', 1, 0, 1), { text: 'x'.repeat(5000) }], null, [2, 'reg', new Map([[1, 2n]])]]
    const stream = Buffer.concat([...values.map(v => codec.encodeFrame(v)), hex('00000000')])
    const got: unknown[] = []
    const d = new FrameDecoder()
    for (let off = 0; off < stream.length; off += 777) {
      d.push(stream.subarray(off, off + 777), body => got.push(body.length === 0 ? 'tick' : codec.decode(body)))
    }
    t.strictSame(got, [...values, 'tick'], name)
  }
})

t.test('onParts: a large body split across chunks comes as views of them, no copy', async t => {
  const body = Buffer.alloc(PARTS_MIN * 3)
  for (let i = 0; i < body.length; i++) body[i] = i & 0xff
  const stream = Buffer.concat([Buffer.from([0, 0, 0xc0, 0]), body, hex('00000002 6869')])
  // Three chunks: the prefix and the start, the middle, the end and a small frame.
  const chunks = [stream.subarray(0, 20_000), stream.subarray(20_000, 40_000), stream.subarray(40_000)].map(c => Buffer.from(c))
  const small: string[] = []
  const got: { parts: readonly Buffer[]; size: number }[] = []
  const d = new FrameDecoder()
  for (const c of chunks)
    d.push(
      c,
      b => small.push(b.toString()),
      (parts, size) => got.push({ parts, size }),
    )
  t.equal(got.length, 1)
  t.equal(got[0]!.size, body.length)
  t.same(
    got[0]!.parts.map(p => p.buffer),
    chunks.map(c => c.buffer),
    'each part a view of its chunk',
  )
  t.ok(Buffer.concat(got[0]!.parts as Buffer[]).equals(body), 'the parts, in order, are the body')
  t.same(small, ['hi'], 'the frame after it as usual')
  t.equal(d.pending, 0)
})

t.test('onParts: a small split body, or one dribbled in many pieces, is assembled as before', async t => {
  const small = Buffer.concat([hex('00000400'), Buffer.alloc(1024, 7)])
  const bodies: Buffer[] = []
  const parts: number[] = []
  const d = new FrameDecoder()
  d.push(
    small.subarray(0, 500),
    b => bodies.push(b),
    p => parts.push(p.length),
  )
  d.push(
    small.subarray(500),
    b => bodies.push(b),
    p => parts.push(p.length),
  )
  t.equal(bodies.length, 1, 'under PARTS_MIN: one assembled body')
  // A large body in many small chunks: at most MAX_PARTS views, then one assembled buffer.
  const big = Buffer.concat([Buffer.from([0, 1, 0, 0]), Buffer.alloc(65536, 9)])
  for (let off = 0; off < big.length; off += 1000)
    d.push(
      big.subarray(off, off + 1000),
      b => bodies.push(b),
      p => parts.push(p.length),
    )
  t.equal(bodies.length, 2, 'past MAX_PARTS pieces: assembled')
  t.same(parts, [], 'no parts delivered')
  t.equal(bodies[1]!.length, 65536)
  t.ok(bodies[1]!.every(x => x === 9))
  t.ok(MAX_PARTS >= 2)
})
