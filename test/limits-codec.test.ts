// Bounded hostile input in both codecs: the depth limit holds inside every extension payload
// (a Pid, Ref or Error payload may not nest at all), and a BigInt payload is capped. Both
// codecs refuse the same bytes with the same CodecError ERR_DECODE, quickly, without running
// out of stack.
import t from 'tap'
import { createCodec, CODEC_NAMES } from '../lib/terms/codec.js'
import { EXT, MAX_BIGINT_BYTES, MAX_TERM_DEPTH, extHeaderSize, writeExtHeader } from '../lib/terms/ext-codes.js'
import { CodecError } from '../lib/errors.js'
import { Pid } from '../lib/terms/pid.js'

const codecs = CODEC_NAMES.map(name => createCodec(name))

const b = (...bytes: number[]): Buffer => Buffer.from(bytes)
const STR_A = b(0xa1, 0x61)

/** One level: an extension of `type` whose payload is pre + inner + post. */
interface Wrap {
  type: number
  pre: Buffer
  post: Buffer
}

/** `levels` levels of `w` around the string "a", built in linear time (headers from the inside out). */
function nested(levels: number, w: Wrap): Buffer {
  const heads: Buffer[] = []
  let size = STR_A.length
  for (let i = 0; i < levels; i++) {
    const body = w.pre.length + size + w.post.length
    const h = Buffer.alloc(extHeaderSize(body))
    writeExtHeader(h, 0, body, w.type)
    heads.push(Buffer.concat([h, w.pre]))
    size = h.length + body
  }
  return Buffer.concat([...heads.reverse(), STR_A, ...new Array<Buffer>(levels).fill(w.post)])
}

/** Decode with every codec: the same outcome (value or error code + message) from each, and how long the slowest took. */
function decodeAll(bytes: Buffer): { outcomes: string[]; errors: unknown[]; ms: number } {
  const outcomes: string[] = []
  const errors: unknown[] = []
  let ms = 0
  for (const codec of codecs) {
    const t0 = performance.now()
    try {
      codec.decode(bytes)
      outcomes.push('ok')
    } catch (err) {
      errors.push(err)
      outcomes.push(`${(err as CodecError).code}: ${(err as Error).message}`)
    }
    ms = Math.max(ms, performance.now() - t0)
  }
  return { outcomes, errors, ms }
}

const FIELD = /a field is an array, map or extension/
const DEEP = /term nested deeper than 1000 levels/
const wraps: [string, Wrap, RegExp][] = [
  ['Pid in the node field of a Pid', { type: EXT.PID, pre: b(0x94), post: b(1, 2, 3) }, FIELD],
  ['Pid in the id field of a Pid', { type: EXT.PID, pre: b(0x94, 0xa1, 0x61), post: b(2, 3) }, FIELD],
  ['Ref in the creation field of a Ref', { type: EXT.REF, pre: b(0x93, 0xa1, 0x61, 1), post: b() }, FIELD],
  ['Error in the message field of an Error', { type: EXT.ERROR, pre: b(0x92, 0xa1, 0x61), post: b() }, FIELD],
  [
    'Error as the whole payload of an Error',
    { type: EXT.ERROR, pre: b(), post: b() },
    /malformed Error payload: expected \[name, message\]/,
  ],
  ['Map in a value of a Map', { type: EXT.MAP, pre: b(0x81, 0x01), post: b() }, DEEP],
  ['Map in a key of a Map', { type: EXT.MAP, pre: b(0x81), post: b(0x01) }, DEEP],
  ['Pid in an array in a Pid', { type: EXT.PID, pre: b(0x94, 0x91), post: b(1, 2, 3) }, FIELD],
]

t.test('nested extension payloads: refused by both codecs alike, fast, never by running out of stack', async t => {
  for (const [label, wrap, message] of wraps) {
    for (const levels of message === DEEP ? [MAX_TERM_DEPTH + 1, 100_000] : [2, MAX_TERM_DEPTH + 1, 100_000]) {
      const { outcomes, errors, ms } = decodeAll(nested(levels, wrap))
      t.equal(outcomes[0], outcomes[1], `${label} x ${levels}: the same outcome from both codecs (${outcomes[0]})`)
      for (const err of errors) {
        t.type(err, CodecError)
        t.match(err, { code: 'ERR_DECODE', message }, `${label} x ${levels}`)
        t.notOk((err as Error).cause instanceof RangeError, 'not a caught stack overflow')
      }
      t.equal(errors.length, 2, 'both refused')
      t.ok(ms < 500, `${label} x ${levels}: refused in ${ms.toFixed(1)} ms`)
    }
  }
})

t.test('a Pid, Ref or Error payload is one level deep, like the array it is', async t => {
  const pid = createCodec().encode(new Pid('a@b', 1, 2, 3))
  const inArrays = (n: number): Buffer => Buffer.concat([Buffer.alloc(n, 0x91), pid])
  const fits = decodeAll(inArrays(MAX_TERM_DEPTH - 1))
  t.same(fits.outcomes, ['ok', 'ok'], `a Pid inside ${MAX_TERM_DEPTH - 1} arrays decodes`)
  const deep = decodeAll(inArrays(MAX_TERM_DEPTH))
  t.equal(deep.outcomes[0], deep.outcomes[1])
  t.match(
    deep.outcomes[0],
    /^ERR_DECODE: term nested deeper than 1000 levels/,
    `inside ${MAX_TERM_DEPTH} arrays it is level ${MAX_TERM_DEPTH + 1}`,
  )
})

t.test(`BigInt payloads are capped at ${MAX_BIGINT_BYTES} bytes`, async t => {
  const huge = 200 * 1024 * 1024
  const header = b(0xc9, 0, 0, 0, 0, EXT.BIGINT)
  header.writeUInt32BE(huge, 1)
  const bytes = Buffer.concat([header, Buffer.alloc(huge, 0x11)])
  const { outcomes, errors, ms } = decodeAll(bytes)
  t.equal(outcomes[0], outcomes[1], 'the same error from both codecs')
  for (const err of errors)
    t.match(err, { name: 'CodecError', code: 'ERR_DECODE', message: /BigInt payload of 209715200 bytes is larger than 1048576 bytes/ })
  t.equal(errors.length, 2)
  t.ok(ms < 100, `a 200 MiB bigint refused in ${ms.toFixed(1)} ms`)

  // The largest allowed: 2^(8 * cap - 2) takes exactly cap bytes (its sign bit stays clear).
  const largest = 1n << BigInt(8 * MAX_BIGINT_BYTES - 2)
  for (const codec of codecs) {
    const enc = codec.encode(largest)
    t.equal(codec.decode(enc), largest, `${codec.name}: a bigint of ${MAX_BIGINT_BYTES} bytes round-trips`)
    t.throws(
      () => codec.encode(largest << 8n),
      { name: 'CodecError', code: 'ERR_ENCODE', message: /larger than 1048576 bytes/ },
      `${codec.name}: one byte more does not encode`,
    )
    t.equal(codec.decode(codec.encode(-123n)), -123n, `${codec.name}: small bigints unchanged`)
  }
  const over = Buffer.concat([b(0xc9, 0, 0x10, 0, 1, EXT.BIGINT), Buffer.alloc(MAX_BIGINT_BYTES + 1, 0x7f)])
  const one = decodeAll(over)
  t.equal(one.outcomes[0], one.outcomes[1])
  t.match(one.outcomes[0], /^ERR_DECODE: BigInt payload of 1048577 bytes/, 'one byte over the cap is refused on decode')
})
