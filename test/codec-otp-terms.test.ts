// The Erlang/OTP bridge's terms on netkernel's own wire (MessagePack ext codes 3, 4, 8-12):
// Atom, Tuple, ImproperList, BitBinary, Port, OpaqueTerm and many-word Refs cross between the
// two codecs unchanged, with the same bytes.
import t from 'tap'
import { createCodec, type Codec } from '../lib/terms/codec.js'
import { EXT } from '../lib/terms/ext-codes.js'
import { atom, isAtom } from '../lib/terms/atom.js'
import { Tuple, isTuple, tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../lib/terms/otp-terms.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { inProcess, testEpmd, testNode } from './fixtures/cluster.js'

const fast = createCodec('netkernel')
const lite = createCodec('msgpack-lite')
const codecs: Codec[] = [fast, lite]
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// [label, value, expected bytes (hex)]
const rows: [string, unknown, string][] = [
  ['atom ok', atom('ok'), 'c70303 a26f6b'],
  ['atom empty', atom(''), 'd403 a0'],
  ["atom 'EXIT'", atom('EXIT'), 'c70503 a445584954'],
  ['atom é (UTF-8)', atom('é'), 'c70303 a2c3a9'],
  ['empty tuple', tuple(), 'd404 90'],
  ['tuple {ok, 1}', tuple(atom('ok'), 1), 'd704 92 c70303a26f6b 01'],
  ['tuple of 16 (array 16)', Tuple.from(new Array(16).fill(0)), 'c71304 dc0010' + '00'.repeat(16)],
  ['improper [1 | 2]', new ImproperList([1], 2), 'd608 92 9101 02'],
  [
    'improper [alias | Ref]',
    new ImproperList([atom('alias')], new Ref('a@b', 1, 2, [1, 2, 3])),
    'c71708 92 91c70603a5616c696173 c7090c95a361406202010203',
  ],
  ['bit binary', new BitBinary(Buffer.from([0xff, 0x80]), 1), 'c70609 92 c402ff80 01'],
  ['port', new Port('a@b', 5n, 7), 'd70a 94 a3614062 00 05 07'],
  ['port with a 64-bit id', new Port('a@b', (1n << 40n) + 3n, 7), 'c70a0a 94 a3614062 cd0100 03 07'],
  ['opaque export', new OpaqueTerm(113, Buffer.from([119, 1, 109])), 'c7070b 92 71 c40377016d'],
  ['ref of 3 words', new Ref('a@b', 1, 2, [1, 2, 3]), 'c7090c 95 a3614062 02 01 02 03'],
]

t.test('ext codes', async t => {
  t.equal(EXT.ATOM, 3)
  t.equal(EXT.TUPLE, 4)
  t.equal(EXT.IMPROPER_LIST, 8)
  t.equal(EXT.BIT_BINARY, 9)
  t.equal(EXT.PORT, 10)
  t.equal(EXT.OPAQUE, 11)
  t.equal(EXT.OTP_REF, 12)
})

t.test('both codecs write the same bytes and read them back', async t => {
  for (const [label, value, expected] of rows) {
    const a = fast.encode(value)
    const b = lite.encode(value)
    t.equal(a.toString('hex'), b.toString('hex'), `${label}: same bytes in both codecs`)
    t.equal(a.toString('hex'), hex(expected).toString('hex'), `${label}: bytes`)
    for (const w of codecs) {
      for (const r of codecs) {
        const back = r.decode(w.encode(value))
        t.same(back, value, `${label}: ${w.name} -> ${r.name}`)
        t.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(value), `${label}: same class ${w.name} -> ${r.name}`)
      }
    }
  }
})

t.test('atoms stay interned atoms, tuples stay tuples, nested anywhere', async t => {
  const value = { k: [tuple(atom('ok'), new Map([[atom('a'), tuple()]]))] }
  for (const w of codecs) {
    for (const r of codecs) {
      const back = r.decode(w.encode(value)) as { k: [Tuple] }
      const tup = back.k[0]
      t.ok(isTuple(tup) && !isTuple(back.k), `${w.name} -> ${r.name}: tuple vs list`)
      t.equal(tup[0], atom('ok'), 'the same interned atom')
      const m = tup[1] as Map<unknown, unknown>
      t.ok(isAtom([...m.keys()][0]) && isTuple(m.get(atom('a'))), 'atom key, tuple value')
    }
  }
})

t.test('a one-word Ref is still ext 2; a Pid is unchanged', async t => {
  t.equal(fast.encode(new Ref('a@b', 3, 1))[2], EXT.REF)
  t.same(fast.decode(fast.encode(new Pid('a@b', 1, 2, 3))), new Pid('a@b', 1, 2, 3))
})

t.test('malformed payloads are ERR_DECODE in both codecs', async t => {
  const cases: [string, string][] = [
    ['atom payload not a str', 'd40300'],
    ['atom of 256 characters', 'c80103 03 da0100' + '61'.repeat(256)],
    ['tuple payload not an array', 'd40400'],
    ['improper list without items', 'c70308 92 9001'],
    ['improper list items not an array', 'd50892 01'],
    ['bit binary of 9 bits', 'c70609 92 c402ff80 09'],
    ['bit binary with a nested field', 'c70509 92 c401ff 90'],
    ['port with a str id', 'c70a0a 94 a3614062 a100 05 07'],
    ['opaque with tag 1', 'c7060b 92 01 c40200 00'],
    ['ref of 1 word as code 12', 'c7080c 93 a3614062 02 01'],
    ['ref of 6 words', 'c70d0c 98 a3614062 02 010203040506'],
  ]
  for (const codec of codecs) {
    for (const [label, bytes] of cases) {
      t.throws(() => codec.decode(hex(bytes)), { name: 'CodecError', code: 'ERR_DECODE' }, `${codec.name}: ${label}`)
    }
  }
})

t.test('deep tuples hit the depth limit in both codecs', async t => {
  let v: unknown = 1
  for (let i = 0; i < 1001; i++) v = tuple(v)
  for (const codec of codecs) t.throws(() => codec.encode(v), { code: 'ERR_ENCODE' }, `${codec.name}: encode`)
  // 1001 nested tuples, written by hand: ext 32 headers around fixarray 1.
  let bytes = Buffer.from([1])
  for (let i = 0; i < 1001; i++) {
    const head = Buffer.from([0xc9, 0, 0, 0, 0, 4, 0x91])
    head.writeUInt32BE(bytes.length + 1, 1)
    bytes = Buffer.concat([head, bytes])
  }
  t.ok(isTuple(fast.decode(bytes.subarray(7 * 2))), 'the same bytes 999 deep decode')
  for (const codec of codecs) t.throws(() => codec.decode(bytes), { code: 'ERR_DECODE' }, `${codec.name}: decode`)
})

t.test('OTP terms cross a real netkernel connection unchanged, both ways between the two codecs', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: `otpa${process.pid}`, codec: 'netkernel' })
  const b = await testNode(t, epmd, { name: `otpb${process.pid}`, codec: 'msgpack-lite' })
  const msg = tuple(
    atom('$gen_call'),
    tuple(new Pid(a.name, 1, 0, 1), new ImproperList([atom('alias')], new Ref('e@vm', 1, 7, [1, 2, 3]))),
    [
      new BitBinary(Buffer.from([0xa0]), 3),
      new Port('e@vm', 9n, 7),
      new OpaqueTerm(113, Buffer.from('77016d77016661 02'.replace(' ', ''), 'hex')),
    ],
  )
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const got = new Promise<unknown>(resolve => {
      const pid = to.spawn(async proc => resolve(await proc.receive()))
      void inProcess(from, async proc => proc.send(pid, msg))
    })
    const back = (await got) as Tuple
    t.same(back, msg, `${from.name} -> ${to.name}: the same term`)
    t.ok(isTuple(back) && isTuple(back[1]) && back[0] === atom('$gen_call'), 'tuples stay tuples, atoms stay the interned atoms')
    t.ok((back[1] as Tuple)[1] instanceof ImproperList, 'the improper list too')
  }
})
