// Codec throughput for the hot path: a send frame [1, pid, payload] with a ~100-byte payload.
//   encode: codec.encodeFrame(frame)                     -> frames/s
//   decode: FrameDecoder.push(64 KiB chunks) + codec.decode(body) per frame -> frames/s
// For each codec, and msgpack-lite as a ratio of netkernel's own. Then the External Term Format
// codec (lib/terms/etf, what the Erlang/OTP bridge writes) on the same value: the frame is
// 4-byte length + 131 + the term (the object a map with binary keys, strings binaries), and its
// ratio to netkernel's own. A last row runs the msgpackr library itself (useRecords: false) on
// the same frame with the pid as a plain array, for calibration.
//
// Run: npx tsx bench/codec.ts [seconds per measurement, default 1]
import { Packr } from 'msgpackr'
import { createCodec, type CodecKind, CODEC_NAMES } from '../lib/terms/codec.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { Pid } from '../lib/terms/pid.js'
import { EtfDecoder, EtfEncoder } from '../lib/terms/etf/index.js'
import type { FrameBatch } from '../lib/terms/frame-batch.js'

const SECONDS = Number(process.argv[2] ?? 1)
const CHUNK = 64 * 1024

const pid = new Pid('bench@localhost', 4711, 0, 1700000000)
const payloads: Record<string, unknown> = {
  object: { kind: 'order', seq: 123456, items: ['apple', 'banana', 'cherry'], total: 42.5, note: 'ship it to the usual address' },
  string: 'x'.repeat(100),
}

interface Result {
  encode: number
  decode: number
}

/** Runs fn(batch) repeatedly for about SECONDS; returns operations per second. */
function rate(batch: number, fn: () => void): number {
  for (let i = 0; i < 3; i++) fn() // warm up
  let ops = 0
  const start = process.hrtime.bigint()
  const limit = BigInt(Math.round(SECONDS * 1e9))
  let elapsed = 0n
  while (elapsed < limit) {
    fn()
    ops += batch
    elapsed = process.hrtime.bigint() - start
  }
  return (ops * 1e9) / Number(elapsed)
}

function chunksOf(frames: Buffer[]): Buffer[] {
  const stream = Buffer.concat(frames)
  const chunks: Buffer[] = []
  for (let off = 0; off < stream.length; off += CHUNK) chunks.push(stream.subarray(off, off + CHUNK))
  return chunks
}

function measure(encodeFrame: (v: unknown) => Buffer, decode: (b: Buffer) => unknown, value: unknown): Result {
  const batch = 10_000
  const encode = rate(batch, () => {
    for (let i = 0; i < batch; i++) encodeFrame(value)
  })
  const chunks = chunksOf(Array.from({ length: batch }, () => encodeFrame(value)))
  const framer = new FrameDecoder()
  let sink: unknown
  const onFrame = (body: Buffer): void => {
    sink = decode(body)
  }
  const decodeRate = rate(batch, () => {
    for (const chunk of chunks) framer.push(chunk, onFrame)
  })
  if (sink === undefined) throw new Error('nothing decoded')
  return { encode, decode: decodeRate }
}

const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US').padStart(10)} /s`

console.log(`node ${process.version}, ${SECONDS}s per measurement, frames of [1, pid, payload]`)
for (const [kind, payload] of Object.entries(payloads)) {
  const frame = [1, pid, payload]
  const results = new Map<CodecKind, Result>()
  const size = createCodec().encodeFrame(frame).length
  console.log(`\npayload: ${kind} (${createCodec().encode(payload).length} bytes encoded; frame ${size} bytes)`)
  for (const name of CODEC_NAMES) {
    const codec = createCodec(name)
    const r = measure(
      v => codec.encodeFrame(v),
      b => codec.decode(b),
      frame,
    )
    results.set(name, r)
    console.log(`  ${name.padEnd(26)} encode ${fmt(r.encode)}   decode ${fmt(r.decode)}`)
  }
  const fast = results.get('netkernel')!
  const lite = results.get('msgpack-lite')!
  console.log(
    `  ${'msgpack-lite / netkernel'.padEnd(26)} encode ${(lite.encode / fast.encode).toFixed(2).padStart(12)}   decode ${(lite.decode / fast.decode).toFixed(2).padStart(12)}`,
  )
  // The ETF codec: a frame built as the native encodeFrame builds its own (one scratch, one copy out).
  const etfEnc = new EtfEncoder()
  const etfDec = new EtfDecoder()
  const scratch: FrameBatch = { buf: Buffer.allocUnsafe(16384), len: 0 }
  const etfFrame = (v: unknown): Buffer => {
    scratch.len = 5
    scratch.buf[4] = 131
    etfEnc.encodeInto(v, scratch)
    scratch.buf.writeUInt32BE(scratch.len - 4, 0)
    const out = Buffer.allocUnsafe(scratch.len)
    scratch.buf.copy(out, 0, 0, scratch.len)
    return out
  }
  const etf = measure(etfFrame, b => etfDec.decode(b), frame)
  console.log(`  ${`etf (frame ${etfFrame(frame).length} bytes)`.padEnd(26)} encode ${fmt(etf.encode)}   decode ${fmt(etf.decode)}`)
  console.log(
    `  ${'etf / netkernel'.padEnd(26)} encode ${(etf.encode / fast.encode).toFixed(2).padStart(12)}   decode ${(etf.decode / fast.decode).toFixed(2).padStart(12)}`,
  )
  // Calibration: the msgpackr library, no extension types, prefix added by hand.
  const packr = new Packr({ useRecords: false, variableMapSize: true })
  const plain = [1, [pid.node, pid.id, pid.serial, pid.creation], payload]
  const r = measure(
    v => {
      const body = packr.pack(v)
      const out = Buffer.allocUnsafe(body.length + 4)
      out.writeUInt32BE(body.length, 0)
      out.set(body, 4)
      return out
    },
    b => packr.unpack(b),
    plain,
  )
  console.log(`  ${'(msgpackr library, ref.)'.padEnd(26)} encode ${fmt(r.encode)}   decode ${fmt(r.decode)}`)
}
