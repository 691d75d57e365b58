// The ETF codec on deep terms, the terms budget and big integers: the iterative reader and
// writer (below ITER_DEPTH levels) against the recursive ones on random terms of any depth
// (values, bytes and errors alike), the iolist a fold builds, tail-chained lists in linear
// time, cycles refused, maxTerms counted and refused before a container is allocated, and
// big integers of 1 MiB both ways. (Speed: bench/README, not here.)
import t from 'tap'
import fc from 'fast-check'
import { EtfDecoder, EtfEncoder } from '../lib/terms/etf/index.js'
import { atom } from '../lib/terms/atom.js'
import { Tuple, tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm } from '../lib/terms/otp-terms.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { CodecError, NetkernelError } from '../lib/errors.js'
import { MAX_MESSAGE_TERMS } from '../lib/terms/ext-codes.js'
import { createCodec } from '../lib/terms/codec.js'

const enc = new EtfEncoder()
const dec = new EtfDecoder()
/** Everything by the iterative reader and writer, from the top. */
const iterDec = new EtfDecoder({ iterDepth: 0 })
const iterEnc = new EtfEncoder({ iterDepth: 0 })
/** Everything by recursion (only for depths the stack holds). */
const recDec = new EtfDecoder({ iterDepth: Infinity })

/** Structural equality that tells the term classes apart, without recursion (terms may be deep). */
function same(a0: unknown, b0: unknown): boolean {
  const todo: [unknown, unknown][] = [[a0, b0]]
  while (todo.length > 0) {
    const [a, b] = todo.pop()!
    if (a === b) continue
    if (typeof a !== typeof b) return false
    if (typeof a === 'number') {
      if (Number.isNaN(a) && Number.isNaN(b)) continue
      return false
    }
    if (typeof a !== 'object' || a === null || b === null) return false
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
    if (Buffer.isBuffer(a)) {
      if (!a.equals(b as Buffer)) return false
    } else if (Array.isArray(a)) {
      const c = b as unknown[]
      if (a.length !== c.length) return false
      for (let i = 0; i < a.length; i++) todo.push([a[i], c[i]])
    } else if (a instanceof Map) {
      const x = [...a]
      const y = [...(b as Map<unknown, unknown>)]
      if (x.length !== y.length) return false
      for (let i = 0; i < x.length; i++) todo.push([x[i]![0], y[i]![0]], [x[i]![1], y[i]![1]])
    } else if (a instanceof ImproperList) {
      todo.push([a.items, (b as ImproperList).items], [a.tail, (b as ImproperList).tail])
    } else if (a instanceof BitBinary) {
      if (a.bits !== (b as BitBinary).bits || !a.bytes.equals((b as BitBinary).bytes)) return false
    } else if (a instanceof OpaqueTerm) {
      if (a.tag !== (b as OpaqueTerm).tag || !a.bytes.equals((b as OpaqueTerm).bytes)) return false
    } else if (a instanceof Pid || a instanceof Ref) {
      if (!a.equals(b)) return false
    } else return false // atoms are interned: equal ones were ===
  }
  return true
}

/** The outcome of a decode: its value's bytes, or its error's class, code and message. */
function outcome(d: EtfDecoder, bytes: Buffer): string {
  try {
    return 'ok ' + enc.encode(d.decode(bytes)).toString('hex')
  } catch (e) {
    return `${(e as Error).constructor.name} ${(e as NetkernelError).code} ${(e as Error).message}`
  }
}

/** A NEW_FUN_EXT (as OpaqueTerm bytes) whose one free variable is `free` (ETF without 131). */
function funWith(free: Buffer): OpaqueTerm {
  const mod = Buffer.from([119, 1, 109]) // 'm'
  const head = Buffer.alloc(4 + 1 + 16 + 4 + 4)
  head[4] = 1 // arity
  head.writeUInt32BE(1, 25) // NumFree
  const pid = Buffer.from([88, 119, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])
  const body = Buffer.concat([head, mod, Buffer.from([97, 0, 97, 0]), pid, free])
  body.writeUInt32BE(body.length, 0)
  return new OpaqueTerm(112, body)
}

const leaf = fc.oneof(
  fc.integer(),
  fc.nat(255),
  fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }).map(n => (n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n ? Number(n) : n)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter(x => !Number.isInteger(x)),
  fc.string({ maxLength: 6 }).map(s => atom(s === 'true' || s === 'false' ? 'x' : s)),
  fc.boolean(),
  fc.uint8Array({ maxLength: 8 }).map(u => Buffer.from(u)),
  fc.constant([]),
  fc.array(fc.nat(255), { minLength: 1, maxLength: 4 }),
  fc.constant(new Pid('a@b', 1, 0, 1)),
)
const shallow = fc.letrec<{ term: unknown }>(tie => ({
  term: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('term'), { maxLength: 3 }),
    fc.array(tie('term'), { maxLength: 3 }).map(a => Tuple.from(a)),
    fc
      .tuple(
        fc.array(tie('term'), { minLength: 1, maxLength: 2 }),
        leaf.filter(x => !Array.isArray(x)),
      )
      .map(([items, tail]) => new ImproperList(items, tail)),
    fc.array(fc.tuple(leaf, tie('term')), { maxLength: 2 }).map(kv => new Map(kv)),
  ),
})).term

/**
 * How the next level wraps the term below: in a list, tuple, improper list (as an item, or as
 * the tail: not canonical when the term below is a list, which decodes flattened), map (key or
 * value), object; and now and then a fun (as its free variable).
 */
const KINDS = ['list', 'tuple', 'items', 'key', 'value', 'object', 'list', 'tuple']

/** A term up to `maxDepth` levels deep along one spine of random containers, with shallow siblings. */
const deepTerm = (maxDepth: number, canonical = true) =>
  fc
    .tuple(
      shallow,
      fc.array(fc.tuple(fc.constantFrom(...(canonical ? KINDS : [...KINDS, 'tail', 'tail'])), shallow, fc.nat(2)), {
        maxLength: maxDepth,
      }),
      fc.array(fc.nat(maxDepth), { maxLength: 2 }),
    )
    .map(([core, levels, funAt]) => {
      let v = core
      levels.forEach(([kind, sib, at], i) => {
        if (funAt.includes(i)) v = funWith(enc.encode(v).subarray(1))
        const two = at === 0 ? [v, sib] : at === 1 ? [sib, v] : [v]
        switch (kind) {
          case 'list':
            v = two
            break
          case 'tuple':
            v = Tuple.from(two)
            break
          case 'items':
            v = new ImproperList(two, atom('t'))
            break
          case 'tail':
            v = new ImproperList([sib], v)
            break
          case 'key':
            v = new Map([[v, sib]])
            break
          case 'value':
            v = new Map([[sib, v]])
            break
          default:
            v = { k: sib, v }
        }
      })
      return v
    })

t.test('iterative == recursive: the same bytes written, the same values and errors read', async t => {
  let n = 0
  fc.assert(
    fc.property(deepTerm(600, false), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }), fc.nat(), (v, flips, cut) => {
      n++
      const bytes = enc.encode(v)
      if (!iterEnc.encode(v).equals(bytes)) return false
      const back = dec.decode(bytes)
      if (!same(iterDec.decode(bytes), back) || !same(recDec.decode(bytes), back)) return false
      // A decoded term (lists through tails flattened, objects as Maps) is the normal form: identity.
      const norm = enc.encode(back)
      if (!enc.encode(dec.decode(norm)).equals(norm) || !same(iterDec.decode(norm), back)) return false
      // Damaged copies: every reader gives the same value or the same error.
      const bad = Buffer.from(bytes.subarray(0, 1 + (cut % bytes.length)))
      for (const [at, b] of flips) bad[1 + (at % Math.max(1, bad.length - 1))] = b
      bad[0] = 131
      const r = outcome(recDec, bad)
      return outcome(iterDec, bad) === r && outcome(dec, bad) === r
    }),
    { numRuns: 400, seed: 20251204 },
  )
  t.ok(n >= 400, `${n} terms up to 600 levels, and a damaged copy of each`)
})

t.test('encode then decode is the identity at any depth', async t => {
  fc.assert(
    fc.property(deepTerm(5000), v => {
      const bytes = enc.encode(v)
      return enc.encode(dec.decode(bytes)).equals(bytes)
    }),
    { numRuns: 40, seed: 7 },
  )
  // 100,000 levels of each kind of container.
  for (const kind of ['list', 'tuple', 'map', 'improper tail', 'improper item']) {
    let v: unknown = 1
    for (let i = 0; i < 100_000; i++) {
      v =
        kind === 'list'
          ? [v, 2]
          : kind === 'tuple'
            ? tuple(v)
            : kind === 'map'
              ? new Map([[1, v]])
              : kind === 'improper tail'
                ? new ImproperList([i], v)
                : new ImproperList([v], 0)
    }
    const bytes = enc.encode(v)
    const back = dec.decode(bytes)
    if (kind === 'improper tail') {
      // Lists chained through their tails decode as one: [99999, 99998, ... 0 | 1].
      const l = back as ImproperList
      t.ok(l instanceof ImproperList && l.items.length === 100_000 && l.items[0] === 99_999 && l.items[99_999] === 0 && l.tail === 1, kind)
    } else t.ok(same(back, v) && enc.encode(back).equals(bytes), `${kind}: 100,000 levels`)
  }
})

t.test("the fold's iolist: 100,000 levels in the head", async t => {
  // lists:foldl(fun(I, A) -> [A, integer_to_binary(I), $\n] end, [], lists:seq(1, N))
  let io: unknown = []
  for (let i = 1; i <= 100_000; i++) io = [io, Buffer.from(String(i)), 10]
  const bytes = enc.encode(io)
  const back = dec.decode(bytes)
  t.ok(same(back, io), 'decoded equal')
  t.ok(enc.encode(back).equals(bytes), 're-encoded byte for byte')
  // Flattened, it is the text.
  const parts: Buffer[] = []
  const todo: unknown[] = [back]
  while (todo.length > 0) {
    const x = todo.pop()
    if (Buffer.isBuffer(x)) parts.push(x)
    else if (typeof x === 'number') parts.push(Buffer.from([x]))
    else for (let i = (x as unknown[]).length - 1; i >= 0; i--) todo.push((x as unknown[])[i])
  }
  const text = Buffer.concat(parts).toString()
  t.equal(text.length, text.split('\n').length - 1 + text.replace(/\n/g, '').length)
  t.ok(text.startsWith('1\n2\n3\n') && text.endsWith('99999\n100000\n'))
  // maxDepth still limits when asked for.
  t.throws(() => new EtfDecoder({ maxDepth: 1000 }).decode(bytes), { code: 'ERR_DECODE', message: /deeper than 1000/ })
  // The native wire keeps its 1,000 levels: such a term cannot be forwarded to a netkernel node.
  for (const name of ['netkernel', 'msgpack-lite'] as const) {
    let err: unknown
    try {
      createCodec(name).encode(back)
    } catch (e) {
      err = e
    }
    t.ok(err instanceof CodecError && err.code === 'ERR_ENCODE' && /deeper than 1000/.test(err.message), `${name}: ${String(err)}`)
  }
})

t.test('a chain of a million lists through their tails decodes in linear time', async t => {
  // LIST_EXT 1 [i | LIST_EXT 1 [i | ... NIL]]: term_to_binary never writes it, a peer may.
  const N = 1_000_000
  const cell = Buffer.from([108, 0, 0, 0, 1, 97, 7])
  const bytes = Buffer.concat([Buffer.from([131]), Buffer.alloc(cell.length * N, cell), Buffer.from([106])])
  const t0 = Date.now()
  const v = dec.decode(bytes) as number[]
  t.ok(Array.isArray(v) && v.length === N && v[0] === 7 && v[N - 1] === 7, `a flat list of ${N} (${Date.now() - t0} ms)`)
  // And with an improper end, and through the tail into other containers.
  const improper = Buffer.concat([Buffer.from([131]), Buffer.alloc(cell.length * 1000, cell), Buffer.from([97, 9])])
  const w = dec.decode(improper) as ImproperList
  t.ok(w instanceof ImproperList && w.items.length === 1000 && w.tail === 9)
  t.ok(same(recDec.decode(improper), w), 'as the recursive reader')
})

t.test('a cycle is refused with ERR_ENCODE, a shared subterm is not', async t => {
  const a: unknown[] = [1]
  a.push(a)
  const m = new Map<unknown, unknown>()
  m.set('self', [tuple(m)])
  const o: Record<string, unknown> = {}
  o.o = [o]
  for (const [label, v] of [
    ['array', a],
    ['map', m],
    ['object', o],
  ] as const) {
    for (const e of [enc, iterEnc]) {
      let err: unknown
      try {
        e.encode(v)
      } catch (x) {
        err = x
      }
      t.ok(err instanceof CodecError && err.code === 'ERR_ENCODE' && /cyclic/.test(err.message), `${label}: ${String(err)}`)
    }
  }
  let shared: unknown = [1, 2]
  for (let i = 0; i < 16; i++) shared = [shared, shared] // 2^16 pairs, 17 levels
  t.equal(dec.decode(enc.encode(shared)) instanceof Array, true, 'a DAG encodes (each use written out)')
})

t.test('maxTerms: every term counts; a container is refused from its header', async t => {
  t.equal(MAX_MESSAGE_TERMS, 4_000_000)
  const count = (v: unknown, max: number): boolean => {
    try {
      new EtfDecoder({ maxTerms: max }).decode(enc.encode(v))
      return true
    } catch (e) {
      if ((e as NetkernelError).code !== 'ERR_MESSAGE_TOO_LARGE') throw e
      return false
    }
  }
  // Terms: the tuple, its 3 elements, the list's 2 elements and tail... as decoded.
  const cases: [unknown, number][] = [
    [1, 1],
    [[], 1],
    [tuple(1, 2, 3), 4],
    [[1, 300], 3], // a list of 2 (STRING_EXT is only for bytes)
    [[1, 2], 3], // STRING_EXT: each byte
    [new ImproperList([1, 2], 3), 4],
    [new Map([[atom('a'), [atom('b')]]]), 4],
    [tuple(new Pid('a@b', 1, 2, 3), Buffer.from('x'), 2n ** 80n, 1.5), 5],
    [[[[]]], 3],
  ]
  for (const [v, n] of cases) {
    t.ok(count(v, n), `${JSON.stringify(enc.encode(v).toString('hex'))}: ${n} terms pass`)
    t.notOk(count(v, n - 1), `and ${n - 1} is too few`)
  }
  // A list announcing 10M elements in a 64 MiB message: refused before its array is allocated.
  const big = Buffer.alloc(64 * 1024 * 1024)
  big[0] = 131
  big[1] = 108
  big.writeUInt32BE(10_000_000, 2)
  const heap0 = process.memoryUsage().heapUsed
  t.throws(() => dec.decode(big), {
    constructor: NetkernelError,
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: 'the message decodes into more than 4000000 terms (maxMessageTerms)',
  })
  t.ok(process.memoryUsage().heapUsed - heap0 < 16 * 1024 * 1024, 'no array of 10M allocated')
  // 4M empty tuples: one over the budget with the list itself.
  const tuples = Buffer.alloc(6 + 2 * 4_000_000 + 1)
  tuples.set([131, 108], 0)
  tuples.writeUInt32BE(4_000_000, 2)
  for (let i = 0; i < 4_000_000; i++) tuples.set([104, 0], 6 + 2 * i)
  tuples[tuples.length - 1] = 106
  t.throws(() => dec.decode(tuples), { code: 'ERR_MESSAGE_TOO_LARGE' }, '4M empty tuples and their list')
  t.equal((new EtfDecoder({ maxTerms: 4_000_001 }).decode(tuples) as unknown[]).length, 4_000_000, 'within a budget one larger')
  // Deep terms count too, in the iterative reader as in the recursive one.
  let deep: unknown = []
  for (let i = 0; i < 10_000; i++) deep = tuple(deep)
  t.ok(count(deep, 10_001))
  t.notOk(count(deep, 10_000))
  // decodeAt: a control term's terms count with its payload's.
  const two = Buffer.concat([enc.encode(tuple(1, 2)).subarray(1), enc.encode([1, 300]).subarray(1)])
  const d = new EtfDecoder({ maxTerms: 6 })
  const c = d.decodeAt(two, 0)
  t.equal(c.terms, 3)
  t.equal(d.decodeAt(two, c.end, undefined, false, c.terms).terms, 6)
  t.throws(() => new EtfDecoder({ maxTerms: 5 }).decodeAt(two, c.end, undefined, false, c.terms), { code: 'ERR_MESSAGE_TOO_LARGE' })
  // A compressed term counts what it inflates to.
  const { deflateSync } = await import('node:zlib')
  const raw = enc.encode(new Array(1000).fill(tuple()))
  const z = deflateSync(raw.subarray(1))
  const packed = Buffer.concat([Buffer.from([131, 80, 0, 0, 0, 0]), z])
  packed.writeUInt32BE(raw.length - 1, 2)
  t.equal((new EtfDecoder({ maxTerms: 1001 }).decode(packed) as unknown[]).length, 1000)
  t.throws(() => new EtfDecoder({ maxTerms: 1000 }).decode(packed), { code: 'ERR_MESSAGE_TOO_LARGE' }, 'compressed')
})

t.test('big integers of 1 MiB both ways', async t => {
  const MiB = 1024 * 1024
  const mag = Buffer.alloc(MiB)
  for (let i = 0; i < MiB; i++) mag[i] = (i * 7919 + 13) & 0xff
  mag[MiB - 1] = 0xc3 // the most significant byte (LARGE_BIG_EXT is little-endian)
  let expected = 0n
  for (let i = MiB - 1; i >= MiB - 8; i--) expected = (expected << 8n) | BigInt(mag[i]!)
  for (const sign of [0, 1]) {
    const bytes = Buffer.concat([Buffer.from([131, 111, 0, 16, 0, 0, sign]), mag])
    const v = dec.decode(bytes) as bigint
    t.equal(typeof v, 'bigint')
    t.equal((sign === 1 ? -v : v) >> BigInt(8 * (MiB - 8)), expected, 'the top 8 bytes')
    t.equal((sign === 1 ? -v : v) & 0xffffn, BigInt(mag[0]! | (mag[1]! << 8)), 'the low 2 bytes')
    t.ok(enc.encode(v).equals(bytes), `sign ${sign}: re-encoded byte for byte`)
  }
  // Sizes around the boundaries of the fast paths, both signs.
  for (const bits of [31, 32, 53, 54, 63, 64, 65, 2040, 2048, 2056]) {
    for (const n of [2n ** BigInt(bits) - 1n, 2n ** BigInt(bits), -(2n ** BigInt(bits)), -(2n ** BigInt(bits)) + 1n]) {
      const back = dec.decode(enc.encode(n))
      t.equal(BigInt(back as bigint), n, `${bits} bits: ${n < 0n ? '-' : ''}2^${bits}±`)
    }
  }
  t.throws(() => enc.encode(2n ** BigInt(8 * MiB)), { code: 'ERR_ENCODE', message: /larger than/ }, 'over 1 MiB')
})
