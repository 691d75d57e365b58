// Encoding straight into a connection's batch buffer, and decoding a joined frame with views.
import t from 'tap'
import { createCodec, CODEC_NAMES } from '../lib/terms/codec.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { Pid } from '../lib/terms/pid.js'
import type { FrameBatch } from '../lib/terms/frame-batch.js'

const frames = (b: FrameBatch): unknown[] => {
  const codec = createCodec()
  const out: unknown[] = []
  new FrameDecoder().push(b.buf.subarray(0, b.len), body => out.push(codec.decode(body)))
  return out
}

for (const name of CODEC_NAMES) {
  t.test(`${name}: encodeFrameInto appends frames, growing the buffer, byte-identical to encodeFrame`, async t => {
    const codec = createCodec(name)
    const batch: FrameBatch = { buf: Buffer.allocUnsafe(16), len: 0 }
    const pid = new Pid('bar@vm', 7, 0, 3)
    const values = [[1, pid, 'x'.repeat(100)], { a: 1 }, Buffer.alloc(100_000, 9), [1, pid, 'again']]
    for (const v of values) codec.encodeFrameInto(v, batch)
    t.same(frames(batch), values, 'every frame decodes back, in order')
    t.same(batch.buf.subarray(0, batch.len), Buffer.concat(values.map(v => codec.encodeFrame(v))), 'same bytes as encodeFrame')
    const before = batch.len
    t.throws(() => codec.encodeFrameInto([1, () => 0], batch), { code: 'ERR_ENCODE' })
    t.equal(batch.len, before, 'a failed encode leaves the batch as it was')
    codec.encodeFrameInto('after', batch)
    t.same(frames(batch).at(-1), 'after', 'and the batch stays usable')
  })
}

t.test('decode(owned): large binaries are views of the joined buffer, small ones copies', async t => {
  const codec = createCodec()
  const big = Buffer.alloc(4096, 1)
  const small = Buffer.alloc(16, 2)
  const bytes = codec.encode([big, small])
  const [b1, s1] = codec.decode(bytes, true) as [Buffer, Buffer]
  t.same(b1, big)
  t.equal(b1.buffer, bytes.buffer, 'the large binary is a view')
  t.not(s1.buffer, bytes.buffer, 'the small one is a copy')
  const [b2] = codec.decode(bytes) as [Buffer]
  t.not(b2.buffer, bytes.buffer, 'without owned, binaries are always copies')
})
