import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Packr } from 'msgpackr'
import fc from 'fast-check'
import { IN_SLOT, createCodec, type Codec, type TripleSlot } from '../lib/terms/codec.js'
import { EXT, MAX_TERM_DEPTH } from '../lib/terms/ext-codes.js'
import { CodecError, NetkernelError } from '../lib/errors.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'

const fast = createCodec('netkernel')
const lite = createCodec('msgpack-lite')
const codecs: Codec[] = [fast, lite]
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const x = (n: number, byte = '78'): string => byte.repeat(n)

// [label, value, expected bytes (hex, or a prefix of them ending in '...'), decoded value if not the value]
type Row = [string, unknown, string, unknown?]
const rows: Row[] = [
  ['nil', null, 'c0'],
  ['undefined as nil', undefined, 'c0', null],
  ['false', false, 'c2'],
  ['true', true, 'c3'],
  ['0', 0, '00'],
  ['-0 as 0', -0, '00', 0],
  ['127', 127, '7f'],
  ['128', 128, 'cc80'],
  ['255', 255, 'ccff'],
  ['256', 256, 'cd0100'],
  ['65535', 65535, 'cdffff'],
  ['65536', 65536, 'ce00010000'],
  ['2^31', 2 ** 31, 'ce80000000'],
  ['2^32-1', 2 ** 32 - 1, 'ceffffffff'],
  ['2^32 (float 64)', 2 ** 32, 'cb41f0000000000000'],
  ['2^53 (float 64)', 2 ** 53, 'cb4340000000000000'],
  ['-1', -1, 'ff'],
  ['-32', -32, 'e0'],
  ['-33', -33, 'd0df'],
  ['-128', -128, 'd080'],
  ['-129', -129, 'd1ff7f'],
  ['-32768', -32768, 'd18000'],
  ['-32769', -32769, 'd2ffff7fff'],
  ['-2^31', -(2 ** 31), 'd280000000'],
  ['-2^31-1 (float 64)', -(2 ** 31) - 1, 'cbc1e0000000200000'],
  ['-(2^53) (float 64)', -(2 ** 53), 'cbc340000000000000'],
  ['0.5', 0.5, 'cb3fe0000000000000'],
  ['-1.25', -1.25, 'cbbff4000000000000'],
  ['NaN', NaN, 'cb7ff8000000000000'],
  ['Infinity', Infinity, 'cb7ff0000000000000'],
  ['-Infinity', -Infinity, 'cbfff0000000000000'],
  ['empty string', '', 'a0'],
  ['non-ASCII string', 'héllo😀', 'aa 68c3a96c6c6f f09f9880'],
  ['lone surrogate (as U+FFFD)', 'a\ud800b', 'a5 61efbfbd62', 'a\ufffdb'],
  ['str 31', 'x'.repeat(31), 'bf' + x(31)],
  ['str 32', 'x'.repeat(32), 'd920' + x(32)],
  ['str 255', 'x'.repeat(255), 'd9ff' + x(255)],
  ['str 256', 'x'.repeat(256), 'da0100' + x(256)],
  ['str 65535', 'x'.repeat(65535), 'daffff...'],
  ['str 65536', 'x'.repeat(65536), 'db00010000...'],
  ['16 two-byte chars = 32 bytes (str 8)', 'é'.repeat(16), 'd920' + x(16, 'c3a9')],
  ['128 two-byte chars = 256 bytes (str 16)', 'é'.repeat(128), 'da0100' + x(128, 'c3a9')],
  ['8 emoji = 32 bytes (str 8)', '😀'.repeat(8), 'd920' + x(8, 'f09f9880')],
  ['Buffer 0', Buffer.alloc(0), 'c400'],
  ['Buffer 255 (bin 8)', Buffer.alloc(255, 1), 'c4ff' + x(255, '01')],
  ['Buffer 256', Buffer.alloc(256, 1), 'c50100...'],
  ['Buffer 65536', Buffer.alloc(65536, 1), 'c600010000...'],
  ['Uint8Array (as Buffer)', new Uint8Array([1, 2, 3]), 'c403010203', Buffer.from([1, 2, 3])],
  ['nested arrays', [1, [2, [3, []]]], '9201 9202 9203 90'],
  ['array 15', Array(15).fill(0), '9f' + x(15, '00')],
  ['array 16', Array(16).fill(0), 'dc0010' + x(16, '00')],
  ['array 65536', Array(65536).fill(0), 'dd00010000...'],
  // eslint-disable-next-line no-sparse-arrays -- the hole is the case under test
  ['array with a hole (as nil)', [1, , 2], '9301c002', [1, null, 2]],
  ['object', { a: 1, b: 'x', c: [null] }, '83 a16101 a162a178 a16391c0'],
  ['object with undefined (as nil)', { a: undefined }, '81a161c0', { a: null }],
  ['object of 16 keys', Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), 'de0010...'],
  ['object with integer-like keys', { 2: 'b', 1: 'a' }, '82 a131a161 a132a162'],
  ['bigint 0n', 0n, 'd40600'],
  ['bigint -1n', -1n, 'd406ff'],
  ['bigint 127n', 127n, 'd4067f'],
  ['bigint 128n', 128n, 'd5060080'],
  ['bigint -128n', -128n, 'd40680'],
  ['bigint -129n', -129n, 'd506ff7f'],
  ['bigint 2^16 (ext 8, 3 bytes)', 2n ** 16n, 'c70306010000'],
  ['bigint 2^30 (fixext 4)', 2n ** 30n, 'd60640000000'],
  ['bigint 2^62 (fixext 8)', 2n ** 62n, 'd7064000000000000000'],
  ['bigint 2^126 (fixext 16)', 2n ** 126n, 'd80640' + x(15, '00')],
  ['bigint 2^100', 2n ** 100n, 'c70d0610' + x(12, '00')],
  ['bigint -(2^100)', -(2n ** 100n), 'c70d06f0' + x(12, '00')],
  ['bigint huge (ext 16)', 7n ** 1000n, 'c8...'],
  ['Pid', new Pid('bar@vm', 42, 0, 7), 'c70b01 94 a662617240766d 2a 00 07'],
  ['Pid body of 8 (fixext 8)', new Pid('a@b', 1, 2, 3), 'd701 94a3614062010203'],
  ['Pid body of 16 (fixext 16)', new Pid('abcdefghijk', 1, 2, 3), 'd801 94ab6162636465666768696a6b010203'],
  ['Pid body of 255 (ext 8)', new Pid(x(249, 'a'), 1, 2, 3), 'c7ff01 94d9f9...'],
  ['Pid body of 256 (ext 16)', new Pid(x(250, 'a'), 1, 2, 3), 'c8010001 94d9fa...'],
  ['Pid with 32-bit fields', new Pid('n@h', 2 ** 32 - 1, 65536, 2 ** 31), 'c71401 94a36e4068 ceffffffff ce00010000 ce80000000'],
  ['Ref', new Ref('foo@vm', 3, 1), 'c70a02 93 a6666f6f40766d 03 01'],
  ['empty Map', new Map(), 'd40580'],
  [
    'Map with non-string keys',
    new Map<unknown, unknown>([
      [1, 'a'],
      [new Pid('n@h', 1, 0, 2), new Map([['k', 2n]])],
    ]),
    'c71705 82 01a161 d70194a36e4068010002 c70605 81a16bd40602',
  ],
  ['Map of 16 entries (map 16 payload)', new Map(Array.from({ length: 16 }, (_, i) => [i, i])), 'c72305 de0010 0000 0101...'],
  ['Map over 65535 bytes (ext 32)', new Map([['big', 'x'.repeat(70000)]]), 'c90001117a05 81a3626967db00011170...'],
  ['Error', new TypeError('t'), 'c70d07 92 a9547970654572726f72 a174'],
  ['Error with a code', Object.assign(new Error('boom'), { code: 'E' }), 'c70e07 93 a54572726f72 a4626f6f6d a145'],
  ['send frame', [1, new Pid('a@b', 1, 2, 3), { msg: 'hi' }], '93 01 d70194a3614062010203 81a36d7367a26869'],
]

/** [got, want] as hex; `want` ending in '...' compares a prefix. */
function bytesVsWant(got: Buffer, want: string): [string, string] {
  const whole = hex(want.replace(/\.\.\.$/, '')).toString('hex')
  return [want.endsWith('...') ? got.subarray(0, whole.length / 2).toString('hex') : got.toString('hex'), whole]
}

t.test('both codecs write the same, canonical bytes for every term kind, and read them back', async t => {
  for (const [label, value, want, decoded = value] of rows) {
    const a = fast.encode(value)
    const b = lite.encode(value)
    t.equal(...bytesVsWant(a, want), `${label}: netkernel bytes`)
    t.ok(a.equals(b), `${label}: msgpack-lite writes the same bytes`)
    for (const reader of codecs) {
      const got = reader.decode(a)
      if (decoded instanceof Error) {
        t.match(got, { name: decoded.name, message: decoded.message }, `${label}: ${reader.name} reads an Error`)
        continue
      }
      t.strictSame(got, decoded, `${label}: ${reader.name} reads it back`)
    }
  }
})

t.test('the standard types match the msgpackr library byte for byte (oracle)', async t => {
  const oracle = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true })
  const standard = rows.filter(([label, v]) => !/surrogate|bigint|Pid|Ref|Map|frame/.test(label) && !(v instanceof Error))
  t.ok(standard.length >= 50, `${standard.length} standard rows compared`)
  for (const [label, value] of standard) {
    t.ok(fast.encode(value).equals(oracle.pack(value)), `${label}: same bytes as msgpackr`)
  }
})

t.test('encodeFrame: one fresh buffer, 4-byte big-endian body length, then the body', async t => {
  for (const codec of codecs) {
    const value = [1, new Pid('a@b', 1, 2, 3), 'x'.repeat(300)]
    const frame = codec.encodeFrame(value)
    t.equal(frame.readUInt32BE(0), frame.length - 4, `${codec.name}: prefix is the body length`)
    t.ok(frame.subarray(4).equals(codec.encode(value)), `${codec.name}: body is encode(value)`)
    const copy = Buffer.from(frame)
    codec.encodeFrame({ other: 'term', n: [1, 2, 3] })
    codec.encode('overwrite the scratch buffer')
    t.ok(frame.equals(copy), `${codec.name}: a later encode does not touch an earlier frame`)
    t.strictSame(codec.encodeFrame(null), hex('00000001c0'), `${codec.name}: frame of nil`)
  }
})

t.test('Pid, Ref, Map, Error and bigint round trip with their types', async t => {
  for (const w of codecs) {
    for (const r of codecs) {
      const how = `${w.name} -> ${r.name}`
      const pid = r.decode(w.encode(new Pid('bar@vm', 42, 3, 7)))
      t.ok(pid instanceof Pid && pid.equals(new Pid('bar@vm', 42, 3, 7)), `${how}: Pid`)
      const ref = r.decode(w.encode(new Ref('foo@vm', 9, 2)))
      t.ok(ref instanceof Ref && ref.equals(new Ref('foo@vm', 9, 2)), `${how}: Ref`)
      const key = new Pid('k@h', 1, 0, 1)
      const map = r.decode(
        w.encode(
          new Map<unknown, unknown>([
            [key, 1],
            [2, new Map([[3, 4]])],
            ['s', { p: [] }],
          ]),
        ),
      ) as Map<unknown, unknown>
      t.ok(map instanceof Map, `${how}: a Map stays a Map`)
      t.strictSame([...map.keys()], [key, 2, 's'], `${how}: Map keys keep their types and order`)
      t.ok(map.get(2) instanceof Map, `${how}: nested Map`)
      t.equal(Object.getPrototypeOf(map.get('s')), Object.prototype, `${how}: a plain object stays a plain object`)
      for (const n of [0n, 1n, -1n, 255n, -256n, 2n ** 64n, -(2n ** 64n) - 1n, 3n ** 300n, -(3n ** 300n)]) {
        t.equal(r.decode(w.encode(n)), n, `${how}: bigint ${n > 10n ** 20n || n < -(10n ** 20n) ? 'huge' : n}`)
      }
      const coded = Object.assign(new NetkernelError('ERR_NOPROC', 'no such process <a@b.1.0>'), { extra: 1 })
      const e1 = r.decode(w.encode(coded)) as Error & { code?: unknown }
      t.ok(e1 instanceof Error, `${how}: an Error decodes as an Error`)
      t.strictSame(
        [e1.name, e1.message, e1.code],
        ['NetkernelError', 'no such process <a@b.1.0>', 'ERR_NOPROC'],
        `${how}: name, message, code`,
      )
      const e2 = r.decode(w.encode(new TypeError('bad'))) as Error
      t.strictSame([e2.name, e2.message, 'code' in e2], ['TypeError', 'bad', false], `${how}: no code, no code field`)
      const e3 = r.decode(w.encode({ reason: Object.assign(new Error('x'), { code: -2 }) })) as { reason: Error & { code: number } }
      t.equal(e3.reason.code, -2, `${how}: a numeric code, inside an exit reason`)
    }
  }
})

t.test('the same pid bytes decode to the same Pid; any other pid to its own', async t => {
  const c = createCodec()
  const p = new Pid('bar@vm', 42, 3, 7)
  const first = c.decode(c.encode([1, p, 'x'])) as [number, Pid, string]
  const again = c.decode(c.encode([1, p, 'y'])) as [number, Pid, string]
  t.ok(first[1].equals(p))
  t.equal(again[1], first[1], 'a stream of sends to one process: one Pid object')
  // Same length, one byte apart: each field, and the node name.
  for (const other of [
    new Pid('bar@vm', 43, 3, 7),
    new Pid('bar@vm', 42, 4, 7),
    new Pid('bar@vm', 42, 3, 8),
    new Pid('baz@vm', 42, 3, 7),
  ]) {
    const got = c.decode(c.encode([1, other])) as [number, Pid]
    t.ok(got[1].equals(other), `then ${other.toString()}/${other.creation}: that pid`)
    t.ok(!got[1].equals(p))
  }
  const long = new Pid(`${'n'.repeat(200)}@vm`, 1, 0, 1)
  t.ok((c.decode(c.encode(long)) as Pid).equals(long), 'a pid too long to keep decodes')
  t.ok((c.decode(c.encode(long)) as Pid).equals(long), 'and again')
  t.ok((c.decode(c.encode(p)) as Pid).equals(p))
})

t.test('a request names two pids: both are kept, each parsed and encoded once', async t => {
  const c = createCodec()
  const to = new Pid('bar@vm', 42, 3, 7)
  const from = new Pid('foo@vm', 9, 0, 7)
  const request = (n: number): Buffer => c.encode([2, to, [from, n]])
  const fresh = (v: unknown): string => createCodec().encode(v).toString('hex')
  const a = c.decode(request(1)) as [number, Pid, [Pid, number]]
  const b = c.decode(request(2)) as [number, Pid, [Pid, number]]
  t.ok(a[1].equals(to) && a[2][0].equals(from))
  t.equal(b[1], a[1], 'the recipient: one Pid object')
  t.equal(b[2][0], a[2][0], 'the sender too (it does not push the recipient out)')
  t.equal(request(3).toString('hex'), fresh([2, to, [from, 3]]), 'kept bytes are the bytes encoded')
  // A third pid takes the place of the one used less recently: the recipient's (the sender was
  // read after it); the next request's recipient then takes the sender's place, and so on.
  const third = new Pid('baz@vm', 1, 0, 7)
  t.ok((c.decode(c.encode(third)) as Pid).equals(third))
  const after = c.decode(request(4)) as [number, Pid, [Pid, number]]
  t.not(after[1], a[1], 'the recipient was let go: parsed again')
  t.ok(after[1].equals(to) && after[2][0].equals(from))
  const next = c.decode(request(5)) as [number, Pid, [Pid, number]]
  t.equal(next[1], after[1], 'then both are kept again')
  t.equal(next[2][0], after[2][0])
  // Used more recently than the other, an entry stays: A, B, A, C keeps A.
  const d = createCodec()
  const [pa, pb, pc] = [to, from, third].map(p => d.encode(p))
  const first = d.decode(pa!)
  d.decode(pb!)
  t.equal(d.decode(pa!), first)
  d.decode(pc!)
  t.equal(d.decode(pa!), first, "C took B's place")
})

t.test('pid caches: any sequence of pids encodes and decodes as without them', async t => {
  const pool = [
    new Pid('bar@vm', 42, 3, 7),
    new Pid('bar@vm', 43, 3, 7),
    new Pid('bar@vm', 42, 3, 8),
    new Pid('baz@vm', 42, 3, 7),
    new Pid(`${'n'.repeat(200)}@vm`, 1, 0, 1),
    new Pid(`${'m'.repeat(60)}@ip-10-0-0-1.eu-west-1.compute.internal`, 1, 0, 1),
    new Pid('a@b', 0, 0, 0),
  ]
  // Equal pids as other objects too: the encoder keeps by identity, the decoder by bytes.
  const copies = pool.map(p => new Pid(p.node, p.id, p.serial, p.creation))
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(pool.length - 1), fc.nat(pool.length - 1), fc.boolean()), { maxLength: 40 }), steps => {
      const w = createCodec()
      const r = createCodec()
      for (const [i, j, copy] of steps) {
        const value = [2, (copy ? copies : pool)[i]!, [pool[j]!, i]]
        const bytes = w.encode(value)
        if (!bytes.equals(createCodec().encode(value))) return false
        const got = r.decode(bytes) as [number, Pid, [Pid, number]]
        if (!got[1].equals(pool[i]!) || !got[2][0].equals(pool[j]!)) return false
      }
      return true
    }),
    { numRuns: 300 },
  )
  t.pass('300 sequences')
})

t.test('plain objects: own enumerable keys, "__proto__" stays data, null-prototype objects encode', async t => {
  const bytes = hex('82 a9 5f5f70726f746f5f5f 81a170c3 a161 01') // {"__proto__": {p: true}, a: 1}
  for (const codec of codecs) {
    const o = codec.decode(bytes) as Record<string, unknown>
    t.equal(Object.getPrototypeOf(o), Object.prototype, `${codec.name}: prototype untouched`)
    t.strictSame(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, { p: true }, `${codec.name}: __proto__ is an own property`)
    t.strictSame(codec.decode(codec.encode(Object.assign(Object.create(null), { z: 1 }))), { z: 1 }, `${codec.name}: null prototype`)
    t.strictSame(
      codec.decode(hex('83 01a161 c3a162 c0a163')),
      { 1: 'a', true: 'b', null: 'c' },
      `${codec.name}: scalar keys become strings`,
    )
  }
})

t.test('values that are not terms throw CodecError ERR_ENCODE', async t => {
  const cyclic: unknown[] = []
  cyclic.push(cyclic)
  let deep: unknown = 0
  for (let i = 0; i < MAX_TERM_DEPTH + 1; i++) deep = [deep]
  class Point {
    x = 1
  }
  const bad: [string, unknown][] = [
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['function in an object', { f: function named() {} }],
    ['Date', new Date(0)],
    ['Set', new Set([1])],
    ['class instance', new Point()],
    ['Float64Array', new Float64Array(1)],
    ['cyclic array', cyclic],
    ['nesting deeper than the limit', deep],
    ['malformed Pid', new Pid('a@b', -1, 0, 0)],
    ['malformed Ref', new Ref('a@b', 1.5, 0)],
    ['Map holding a function', new Map([[1, Math.max]])],
  ]
  for (const codec of codecs) {
    for (const [label, value] of bad) {
      t.throws(() => codec.encode(value), { name: 'CodecError', code: 'ERR_ENCODE' }, `${codec.name}: ${label}`)
      t.throws(() => codec.encodeFrame(value), CodecError, `${codec.name}: ${label} (frame)`)
    }
    t.ok(codec.encode('still works').equals(hex('ab7374696c6c20776f726b73')), `${codec.name}: usable after errors`)
    const throwing = {
      get boom(): unknown {
        throw new RangeError('getter')
      },
    }
    t.throws(() => codec.encode(throwing), { code: 'ERR_ENCODE', cause: { message: 'getter' } }, `${codec.name}: a throwing getter`)
  }
})

let deep = ''
for (let i = 0; i < MAX_TERM_DEPTH + 1; i++) deep += '91'
/** [label, hex] of bytes that are no term. */
const MALFORMED: [string, string][] = [
  ['empty input', ''],
  ['invalid type byte 0xc1', 'c1'],
  ['0xc1 inside an array', '9201c1'],
  ['trailing garbage', 'c0c0'],
  ['trailing garbage after a map', '81a161 01 ff'],
  ['truncated str 8', 'd905616263'],
  ['truncated uint 32', 'ce0001'],
  ['truncated float 64', 'cb3fe0'],
  ['array count beyond the input', 'ddffffffff00'],
  ['map count beyond the input', 'dfffffffff00'],
  ['bin length beyond the input', 'c6ffffffff'],
  ['ext length beyond the input', 'c9ffffffff01'],
  ['nesting deeper than the limit', deep + '00'],
  ['array as a plain map key', '81 9100 01'],
  ['Pid payload not an array of 4', 'c70401 93a0 0000'],
  ['Pid payload with a negative id', 'c70601 94a161 ff 0000'],
  ['Pid payload with a string id', 'c70701 94a161 a131 0000'],
  ['Pid payload with garbage after it', 'c70701 94a161010203 00'],
  ['Ref payload with a float', 'c70d02 93a161 cb3fe0000000000000 00'],
  ['Map payload not a map', 'd40590'],
  ['empty BigInt payload', 'c70006'],
  ['Error payload of one field', 'c70307 91a161'],
  ['Error payload with a non-string message', 'c70407 92a16101'],
  ['Error payload with an array code', 'c70607 93a161a16290'],
]

t.test('malformed input throws CodecError ERR_DECODE', async t => {
  for (const codec of codecs) {
    for (const [label, bytes] of MALFORMED) {
      t.throws(() => codec.decode(hex(bytes)), { name: 'CodecError', code: 'ERR_DECODE' }, `${codec.name}: ${label}`)
    }
    t.throws(() => codec.decode('c0' as unknown as Uint8Array), { code: 'ERR_DECODE' }, `${codec.name}: not bytes`)
    // Every truncation of a valid term, at every byte.
    const whole = codec.encode([1, new Pid('a@b', 1, 2, 3), { m: new Map([[1n, new Error('e')]]), s: 'x'.repeat(40) }])
    let all = true
    for (let i = 0; i < whole.length; i++) {
      try {
        codec.decode(whole.subarray(0, i))
        all = false
      } catch (e) {
        if (!(e instanceof CodecError) || e.code !== 'ERR_DECODE') all = false
      }
    }
    t.ok(all, `${codec.name}: each of the ${whole.length} truncations throws ERR_DECODE`)
  }
})

t.test('decodeRange: what decode gives for the view, read in place, nothing outside the range', async t => {
  // Bytes before the range are invalid on their own; bytes after it would complete a truncated term.
  const before = hex('c1c1c1')
  const after = hex(x(64, 'c0'))
  const embed = (bytes: Buffer): [Buffer, number, number] => [
    Buffer.concat([before, bytes, after]),
    before.length,
    before.length + bytes.length,
  ]
  for (const codec of codecs) {
    for (const [label, value, , decoded = value] of rows) {
      const [buf, start, end] = embed(fast.encode(value))
      const got = codec.decodeRange(buf, start, end)
      if (decoded instanceof Error) t.match(got, { name: decoded.name, message: decoded.message }, `${codec.name}: ${label}`)
      else t.strictSame(got, decoded, `${codec.name}: ${label}`)
    }
    const [buf, start, end] = embed(fast.encode(['bin', Buffer.from('abcdef')]))
    const got = codec.decodeRange(buf, start, end) as [string, Buffer]
    buf.fill(0)
    t.equal(got[1].toString(), 'abcdef', `${codec.name}: a binary is a copy, not a view of the buffer`)
    // Every length around the decoder's switch from a loop to a native copy (32 bytes).
    let copies = true
    for (let n = 0; n <= 70; n++) {
      const bin = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff))
      const [b2, s2, e2] = embed(fast.encode(['bin', bin]))
      const got2 = codec.decodeRange(b2, s2, e2) as [string, Buffer]
      b2.fill(0)
      if (!got2[1].equals(bin)) copies = false
    }
    t.ok(copies, `${codec.name}: binaries of 0 to 70 bytes: each a copy of its own bytes`)
    for (const [label, bytes] of MALFORMED) {
      let want: unknown
      try {
        codec.decode(hex(bytes))
      } catch (e) {
        want = e
      }
      t.throws(
        () => codec.decodeRange(...embed(hex(bytes))),
        { name: 'CodecError', code: 'ERR_DECODE', message: (want as Error).message },
        `${codec.name}: ${label}, with decode's message`,
      )
    }
    const whole = codec.encode([1, new Pid('a@b', 1, 2, 3), { m: new Map([[1n, new Error('e')]]), s: 'x'.repeat(40) }])
    const [wbuf, wstart] = embed(whole)
    let all = true
    for (let i = 0; i < whole.length; i++) {
      try {
        codec.decodeRange(wbuf, wstart, wstart + i)
        all = false
      } catch (e) {
        if (!(e instanceof CodecError) || e.code !== 'ERR_DECODE') all = false
      }
    }
    t.ok(all, `${codec.name}: each of the ${whole.length} truncations throws ERR_DECODE though the rest of the term follows`)
  }
})

t.test('decodeRange with a slot: [tag, a, b] without its array, or exactly what it gives without one', async t => {
  const slot: TripleSlot = { tag: 7, a: undefined, b: undefined }
  const pid = new Pid('a@b', 1, 2, 3)
  const inRange = (bytes: Buffer, codec: Codec = fast): unknown =>
    codec.decodeRange(Buffer.concat([hex('c1'), bytes, hex('c0')]), 1, 1 + bytes.length, slot)
  for (const [label, value] of rows) {
    const bytes = fast.encode([7, pid, value])
    slot.a = slot.b = 'stale'
    t.equal(inRange(bytes), IN_SLOT, `${label}: in the slot`)
    t.strictSame([slot.a, slot.b], (fast.decode(bytes) as unknown[]).slice(1), `${label}: the elements decode would give`)
  }
  // Anything else comes back as without a slot, the slot untouched.
  const others: [string, unknown][] = [
    ['another tag', [8, pid, 'm']],
    ['two elements', [7, pid]],
    ['four elements', [7, pid, 'm', 'n']],
    ['the tag as a string', ['7', pid, 'm']],
    ['a map', { 7: 1 }],
    ['a scalar', 7],
  ]
  for (const [label, value] of others) {
    slot.a = slot.b = 'untouched'
    t.strictSame(inRange(fast.encode(value)), fast.decode(fast.encode(value)), label)
    t.strictSame([slot.a, slot.b], ['untouched', 'untouched'], `${label}: slot untouched`)
  }
  const wide = hex('93 cc07 01 02') // the tag as a uint 8: the same term, returned as the array
  t.strictSame(inRange(wide), [7, 1, 2], 'a tag not written as one byte: the array')
  t.strictSame(inRange(fast.encode([7, pid, 'm']), lite), [7, pid, 'm'], 'msgpack-lite: the array')

  // Errors: decode's, message for message, for bad elements, truncations and nesting.
  const same = (bytes: Buffer, label: string): void => {
    let want: unknown = 'no error'
    try {
      fast.decode(bytes)
    } catch (e) {
      want = (e as Error).message
    }
    let got: unknown = 'no error'
    try {
      inRange(bytes)
    } catch (e) {
      got = (e as CodecError).code === 'ERR_DECODE' || (e as CodecError).code === 'ERR_UNKNOWN_EXTENSION' ? (e as Error).message : e
    }
    t.equal(got, want, label)
  }
  for (const [label, bytes] of MALFORMED) {
    same(Buffer.concat([hex('9307'), hex(bytes), hex('c0')]), `as the second element: ${label}`)
    same(Buffer.concat([hex('9307c0'), hex(bytes)]), `as the third element: ${label}`)
  }
  same(hex('9307'), 'no elements')
  same(hex('9307c1'), 'room for fewer than three elements (checked before reading them)')
  same(hex('9307c0c0c0'), 'garbage after the array')
  const whole = fast.encode([7, pid, { m: new Map([[1n, new Error('e')]]), s: 'x'.repeat(40) }])
  for (let i = 0; i < whole.length; i++) same(whole.subarray(0, i), `truncated to ${i} bytes`)
  for (const depth of [MAX_TERM_DEPTH - 2, MAX_TERM_DEPTH - 1, MAX_TERM_DEPTH]) {
    let nested = '00'
    for (let i = 0; i < depth; i++) nested = '91' + nested
    same(hex('9307c0' + nested), `a message nested ${depth} deep inside the frame`)
  }
})

t.test('unknown extension types throw ERR_UNKNOWN_EXTENSION', async t => {
  const cases: [string, string][] = [
    ['99', 'd46300'],
    ['0', 'd40000'],
    ['13 (the first code after the Erlang terms)', 'd40d00'],
    ['-1 (timestamp)', 'd6ff00000000'],
    ['127', 'c7017f00'],
    ['-128', 'd48000'],
    ["msgpackr's record definition 0x72", 'd47240'],
    ["msgpackr's Error 0x65", 'd46500'],
    ['inside an array', '9201d46300'],
    ['inside a Map', 'c70505 8101d46300'],
  ]
  for (const codec of codecs) {
    for (const [label, bytes] of cases) {
      t.throws(() => codec.decode(hex(bytes)), { name: 'CodecError', code: 'ERR_UNKNOWN_EXTENSION' }, `${codec.name}: ${label}`)
    }
    t.throws(() => codec.decode(hex('d46300')), { message: /type 99 is not defined/ }, `${codec.name}: says not defined`)
  }
  t.equal(EXT.ATOM, 3)
  t.equal(EXT.TUPLE, 4)
})

t.test('foreign but valid MessagePack decodes the same in both codecs', async t => {
  const cases: [string, string, unknown][] = [
    ['uint 64 small (number)', 'cf0000000000000005', 5],
    ['uint 64 2^53-1 (number)', 'cf001fffffffffffff', 2 ** 53 - 1],
    ['uint 64 2^64-1 (bigint)', 'cfffffffffffffffff', 2n ** 64n - 1n],
    ['int 64 -1 (number)', 'd3ffffffffffffffff', -1],
    ['int 64 -(2^53) (bigint)', 'd3ffe0000000000000', -(2n ** 53n)],
    ['float 32', 'ca3fc00000', 1.5],
    ['str 8 for a short string', 'd903616263', 'abc'],
    ['map 16 of one entry', 'de0001a16101', { a: 1 }],
    ['array 32 of one item', 'dd0000000107', [7]],
    ['invalid UTF-8 (as U+FFFD)', 'a2c328', '\ufffd('],
  ]
  for (const codec of codecs) {
    for (const [label, bytes, value] of cases) t.strictSame(codec.decode(hex(bytes)), value, `${codec.name}: ${label}`)
    t.strictSame(
      codec.decode(new Uint8Array([0x92, 0x01, 0xc4, 0x01, 0x09])),
      [1, Buffer.from([9])],
      `${codec.name}: reads a Uint8Array, bin as Buffer`,
    )
  }
})

t.test('random and mutated bytes only ever throw CodecError', async t => {
  let seed = 12345
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const valid = fast.encode([
    1,
    new Pid('a@b', 1, 2, 3),
    { m: new Map([['k', [1n, new Ref('r@h', 1, 2)]]]), e: new Error('x'), b: Buffer.alloc(3) },
  ])
  for (const codec of codecs) {
    let others = 0
    for (let i = 0; i < 3000; i++) {
      const bytes = i % 2 === 0 ? Buffer.from(Array.from({ length: 1 + random(24) }, () => random(256))) : Buffer.from(valid)
      if (i % 2 === 1) for (let k = 0; k < 1 + random(3); k++) bytes[random(bytes.length)] = random(256)
      try {
        codec.decode(bytes)
      } catch (e) {
        if (!(e instanceof CodecError)) others++
      }
    }
    t.equal(others, 0, `${codec.name}: no other exception type in 3000 inputs`)
  }
})

t.test('codec instances are independent (one per node)', async t => {
  const a = createCodec()
  const b = createCodec()
  t.equal(a.name, 'netkernel', 'netkernel is the default')
  t.equal(createCodec('msgpackr').name, 'netkernel', "'msgpackr' is an alias of 'netkernel'")
  const big = a.encode({ s: 'x'.repeat(100_000) })
  const small = b.encode({ s: 'y' })
  t.ok(a.decode(big) && (b.decode(small) as { s: string }).s === 'y', 'interleaved use')
  t.equal((a.decode(big) as { s: string }).s.length, 100_000)
  let inner: Buffer | undefined
  const reentrant = {
    get v(): number {
      inner = a.encode([2])
      return 1
    },
  }
  t.strictSame(a.decode(a.encode(reentrant)), { v: 1 }, 'an encode re-entered from a getter does not corrupt the outer one')
  t.strictSame(inner, hex('9102'))
  t.throws(() => createCodec('json' as 'netkernel'), { code: 'ERR_BAD_ARGUMENT' }, 'unknown codec name')
})

t.test("msgpack-lite is loaded only once a 'msgpack-lite' codec is made", async t => {
  // In a fresh process: a node on the default codec does not carry the library's heap.
  const code = `
    import Module from 'node:module'
    const loaded = () => Object.keys(Module._cache).some(k => k.includes('/msgpack-lite/'))
    const { startNode } = await import('./lib/index.js')
    const { createCodec } = await import('./lib/terms/codec.js')
    const n = await startNode({ name: 'lazy', epmd: false, cookie: 'c' })
    const atStart = loaded()
    createCodec('netkernel')
    const afterDefault = loaded()
    const lite = createCodec('msgpack-lite')
    const back = lite.decode(lite.encode({ a: [1, 'x'] }))
    console.log(JSON.stringify({ atStart, afterDefault, afterLite: loaded(), back }))
    await n.stop()
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout.trim().split('\n').pop()!), { atStart: false, afterDefault: false, afterLite: true, back: { a: [1, 'x'] } })
})
