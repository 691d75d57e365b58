// The ETF codec against a real erl: terms written by OTP's term_to_binary are decoded in
// JavaScript, re-encoded, and erl checks the bytes (against term_to_binary with
// {minor_version, 2}, which writes atoms as UTF-8 as this encoder does) and binary_to_term
// equality. First a corpus of ~60 chosen terms, then 10,000 random terms
// made by a generator written in Erlang, 500 per round trip.
//
// Documented lossiness (etf-encoder.ts): a float with an integral value (1.0, -0.0, 0.0,
// 1.0e300) decodes to a JavaScript number that is an integer, and re-encodes as the integer:
// equal to the original under ==, not =:=. Funs (NEW_FUN_EXT, EXPORT_EXT) are kept as their
// bytes, so they re-encode as term_to_binary wrote them (its default atom tags).
import t, { type Test } from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, type Erl } from './fixtures/erl.js'
import { EtfDecoder, EtfEncoder } from '../lib/terms/etf/index.js'
import { Atom, atom } from '../lib/terms/atom.js'
import { Tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../lib/terms/otp-terms.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'

const enc = new EtfEncoder()
const dec = new EtfDecoder()

/** The binary erl printed as <<"...">> (base64 text). */
function binaryText(printed: string): string {
  const m = /^<<"([A-Za-z0-9+/=,]*)">>$/.exec(printed)
  if (m === null) throw new Error(`not a printed binary: ${printed.slice(0, 200)}`)
  return m[1]!
}

// [Erlang expression, what JS must decode it to (checked when given), lossy float]
type Entry = [string, ((v: unknown) => boolean)?, 'lossy float'?]
const isAtomNamed = (name: string) => (v: unknown) => v === atom(name)
const corpus: Entry[] = [
  ['ok', isAtomNamed('ok')],
  ["'hello world'", isAtomNamed('hello world')],
  // Non-ASCII as code points: the erl driver reads its stdin as latin1 bytes.
  ['list_to_atom([233, 116, 233])', isAtomNamed('été')],
  ['list_to_atom([16#65E5, 16#672C, 16#8A9E])', isAtomNamed('日本語')],
  ["''", isAtomNamed('')],
  ['list_to_atom(lists:duplicate(255, $x))', isAtomNamed('x'.repeat(255))],
  ['list_to_atom(lists:duplicate(255, 16#65E5))', isAtomNamed('日'.repeat(255))],
  ['true', v => v === true],
  ['false', v => v === false],
  ['undefined', isAtomNamed('undefined')],
  ['nil', isAtomNamed('nil')],
  ['0', v => v === 0],
  ['255', v => v === 255],
  ['256', v => v === 256],
  ['-1', v => v === -1],
  ['2147483647', v => v === 2147483647],
  ['2147483648', v => v === 2147483648],
  ['-2147483648', v => v === -2147483648],
  ['-2147483649', v => v === -2147483649],
  ['4294967296', v => v === 4294967296],
  ['9007199254740991', v => v === 9007199254740991],
  ['-9007199254740991', v => v === -9007199254740991],
  ['9007199254740992', v => v === 9007199254740992n],
  ['9007199254740993', v => v === 9007199254740993n],
  ['-9007199254740993', v => v === -9007199254740993n],
  ['1 bsl 64', v => v === 2n ** 64n],
  ['1 bsl 200', v => v === 2n ** 200n],
  ['-(1 bsl 200)', v => v === -(2n ** 200n)],
  ['1 bsl 2100', v => v === 2n ** 2100n],
  ['1.5', v => v === 1.5],
  ['-0.1', v => v === -0.1],
  ['1.0e-300', v => v === 1e-300],
  ['1.0', v => v === 1, 'lossy float'],
  ['-0.0', v => Object.is(v, -0), 'lossy float'],
  ['0.0', v => v === 0, 'lossy float'],
  ['1.0e300', v => v === 1e300, 'lossy float'],
  ['<<>>', v => Buffer.isBuffer(v) && v.length === 0],
  ['<<1, 2, 3>>', v => Buffer.isBuffer(v) && v.equals(Buffer.from([1, 2, 3]))],
  ['unicode:characters_to_binary([104, 233, 108, 108, 111])', v => Buffer.isBuffer(v) && v.toString() === 'héllo'],
  ['<<1:3>>', v => v instanceof BitBinary && v.bits === 3 && v.bytes[0] === 0x20],
  ['<<255, 7:5>>', v => v instanceof BitBinary && v.bits === 5 && v.bytes.equals(Buffer.from([255, 0x38]))],
  ['"hello"', v => Array.isArray(v) && String.fromCharCode(...(v as number[])) === 'hello'],
  ['[]', v => Array.isArray(v) && v.length === 0],
  ['[1000, 2000]', v => Array.isArray(v) && v[0] === 1000],
  ['[16#65E5, 16#672C]', v => Array.isArray(v) && v[0] === 0x65e5],
  ['[1, 2 | 3]', v => v instanceof ImproperList && v.items.length === 2 && v.tail === 3],
  ['[a | <<"b">>]', v => v instanceof ImproperList && Buffer.isBuffer(v.tail)],
  ['[alias | make_ref()]', v => v instanceof ImproperList && v.items[0] === atom('alias') && v.tail instanceof Ref],
  ['{}', v => v instanceof Tuple && v.length === 0],
  ['list_to_tuple(lists:seq(1, 300))', v => v instanceof Tuple && v.length === 300 && v[299] === 300],
  ['{ok, [1], #{}}', v => v instanceof Tuple && v[2] instanceof Map],
  ['#{a => 1, b => 2}', v => v instanceof Map && v.get(atom('a')) === 1],
  ['#{<<"k">> => v, "k" => w}', v => v instanceof Map && v.size === 2],
  ['#{{1, 2} => x, [1] => y, 1.5 => z}', v => v instanceof Map && v.size === 3],
  ['maps:from_list([{N, N * N} || N <- lists:seq(1, 40)])', v => v instanceof Map && v.size === 40 && v.get(7) === 49],
  ['self()', v => v instanceof Pid],
  ['make_ref()', v => v instanceof Ref && v.ids.length === 3],
  ['erlang:alias()', v => v instanceof Ref],
  ['hd(erlang:ports())', v => v instanceof Port],
  ['F1', v => v instanceof OpaqueTerm && v.tag === 112],
  ['F2', v => v instanceof OpaqueTerm && v.tag === 112],
  ['fun lists:map/2', v => v instanceof OpaqueTerm && v.tag === 113],
  ['{self(), [make_ref(), #{x => {1.5, <<"b">>}}], \'EXIT\'}', v => v instanceof Tuple && v[2] === atom('EXIT')],
]

async function roundTrip(erl: Erl, t: Test): Promise<void> {
  // Funs first, while the bindings (which an erl_eval fun captures) are few.
  await erl.eval('F1 = fun() -> ok end.')
  await erl.eval('F2 = fun(X) -> {X, F1} end.')
  await erl.eval(`Terms = [${corpus.map(c => c[0]).join(', ')}].`)
  t.equal(await erl.eval('length(Terms).'), String(corpus.length))
  const encoded = binaryText(await erl.eval('iolist_to_binary(lists:join(",", [base64:encode(term_to_binary(T)) || T <- Terms])).')).split(
    ',',
  )
  const compressed = binaryText(
    await erl.eval('iolist_to_binary(lists:join(",", [base64:encode(term_to_binary(T, [compressed])) || T <- Terms])).'),
  ).split(',')
  t.equal(encoded.length, corpus.length)
  const back: string[] = []
  for (let i = 0; i < corpus.length; i++) {
    const [expr, check] = corpus[i]!
    const value = dec.decode(Buffer.from(encoded[i]!, 'base64'))
    if (check !== undefined) t.ok(check(value), `${expr}: decodes as expected`)
    const z = dec.decode(Buffer.from(compressed[i]!, 'base64'))
    t.equal(enc.encode(z).toString('hex'), enc.encode(value).toString('hex'), `${expr}: the compressed form decodes the same`)
    back.push(enc.encode(value).toString('base64'))
  }
  const pid = dec.decode(Buffer.from(encoded[corpus.findIndex(c => c[0] === 'self()')]!, 'base64')) as Pid
  t.equal(pid.node, erl.node, 'a pid names the erl node')
  // erl: which term_to_binary form the bytes equal (2: {minor_version, 2}, 1: default, 0: none), =:=, ==.
  await erl.eval(`Re = [base64:decode(B) || B <- [${back.map(b => `<<"${b}">>`).join(', ')}]].`)
  const verdicts = await erl.eval(
    '[{case R =:= term_to_binary(T, [{minor_version, 2}]) of true -> 2; false -> case R =:= term_to_binary(T) of true -> 1; false -> 0 end end, ' +
      'binary_to_term(R) =:= T, binary_to_term(R) == T} || {T, R} <- lists:zip(Terms, Re)].',
  )
  const rows = [...verdicts.matchAll(/\{(\d),(true|false),(true|false)\}/g)]
  t.equal(rows.length, corpus.length, 'a verdict per term')
  for (let i = 0; i < corpus.length; i++) {
    const [expr, , lossy] = corpus[i]!
    const [, form, strict, loose] = rows[i]!
    const isFun = expr === 'F1' || expr === 'F2' || expr.startsWith('fun ')
    if (lossy !== undefined) {
      t.equal(strict, 'false', `${expr}: lossy, as documented (an integral float comes back as an integer)`)
      t.equal(loose, 'true', `${expr}: == the original`)
    } else {
      t.equal(form, isFun ? '1' : '2', `${expr}: byte for byte ${isFun ? '(the fun as erl wrote it)' : '(term_to_binary minor_version 2)'}`)
      t.equal(strict, 'true', `${expr}: binary_to_term =:= the original`)
    }
  }
}

// Random terms in Erlang: every kind of term, nested up to 4 deep, reproducible (seeded). Floats
// are kept below 2^52 and made non-integral: an integral float is lossy by design (see above).
const GENERATOR = [
  'Chars = "abcxyz_@ " ++ [197, 233, 16#416, 16#65E5, 16#672C, 16#1F600],',
  'Leaf = fun() -> case rand:uniform(15) of',
  '  1 -> rand:uniform(256) - 1;',
  '  2 -> rand:uniform(1 bsl 32) - (1 bsl 31);',
  '  3 -> rand:uniform(1 bsl 64) - (1 bsl 63);',
  '  4 -> rand:uniform(1 bsl 300) * (3 - 2 * rand:uniform(2));',
  '  5 -> F = (rand:uniform() - 0.5) * math:pow(10, rand:uniform(30) - 18), case F == round(F) of true -> F + 0.25; false -> F end;',
  '  6 -> list_to_atom([lists:nth(rand:uniform(length(Chars)), Chars) || _ <- lists:seq(1, rand:uniform(8) - 1)]);',
  '  7 -> rand:bytes(rand:uniform(20) - 1);',
  '  8 -> N = rand:uniform(7), <<(rand:uniform(1 bsl N) - 1):N, (rand:bytes(rand:uniform(3) - 1))/binary>>;',
  '  9 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(10))];',
  '  10 -> [rand:uniform(16#D7FF) || _ <- lists:seq(1, rand:uniform(5))];',
  '  11 -> self();',
  '  12 -> make_ref();',
  '  13 -> hd(erlang:ports());',
  '  14 -> rand:uniform(1 bsl 60) - (1 bsl 59);',
  '  15 -> lists:nth(rand:uniform(5), [true, false, undefined, [], {}])',
  'end end,',
  'Gen = fun Gen(0) -> Leaf(); Gen(D) -> case rand:uniform(7) of',
  '  1 -> [Gen(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)];',
  '  2 -> list_to_tuple([Gen(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)]);',
  '  3 -> maps:from_list([{Gen(D - 1), Gen(D - 1)} || _ <- lists:seq(1, rand:uniform(4) - 1)]);',
  '  4 -> [Gen(D - 1) | Leaf()];',
  '  _ -> Leaf()',
  'end end,',
  'rand:seed(exsss, {13, 17, 19}),',
  'ok.',
].join(' ')

t.test('terms written by erl decode, re-encode byte for byte, and read back equal in erl', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const erl = await startErl(t, { name: `etf${process.pid}`, epmdPort: epmd.port })
  await t.test('the corpus', async t => roundTrip(erl, t))

  await t.test('10,000 random terms from an Erlang generator', async t => {
    t.equal(await erl.eval(GENERATOR), 'ok')
    const batches = 20
    const per = 500
    let kinds = new Set<string>()
    for (let b = 0; b < batches; b++) {
      const bytes = Buffer.from(
        binaryText(await erl.eval(`B${b} = [Gen(4) || _ <- lists:seq(1, ${per})], base64:encode(term_to_binary(B${b})).`, 30_000)),
        'base64',
      )
      const value = dec.decode(bytes) as unknown[]
      if (b === 0) kinds = kindsOf(value)
      const re = enc.encode(value).toString('base64')
      const verdict = await erl.eval(
        `R${b} = base64:decode(<<"${re}">>), Bad${b} = [{T, U} || {T, U} <- lists:zip(B${b}, binary_to_term(R${b})), T =/= U], ` +
          `{R${b} =:= term_to_binary(B${b}, [{minor_version, 2}]), binary_to_term(R${b}) =:= B${b}, length(Bad${b})}.`,
        30_000,
      )
      const ok = verdict === '{true,true,0}'
      t.ok(ok, `batch ${b + 1}: ${per} terms byte for byte and =:= (${verdict})`)
      if (!ok) t.comment(await erl.eval(`lists:flatten(io_lib:format("~P", [hd(Bad${b} ++ [none]), 40])).`))
    }
    for (const k of [
      'Atom',
      'Tuple',
      'Array',
      'ImproperList',
      'Map',
      'Buffer',
      'BitBinary',
      'Pid',
      'Ref',
      'Port',
      'bigint',
      'float',
      'integer',
      'boolean',
    ]) {
      t.ok(kinds.has(k), `the random terms include ${k}`)
    }
  })
})

function kindsOf(v: unknown, into = new Set<string>()): Set<string> {
  if (typeof v === 'number') into.add(Number.isInteger(v) ? 'integer' : 'float')
  else if (typeof v !== 'object' || v === null) into.add(typeof v)
  else if (v instanceof Atom) into.add('Atom')
  else if (Buffer.isBuffer(v)) into.add('Buffer')
  else if (v instanceof ImproperList) {
    into.add('ImproperList')
    for (const x of v.items) kindsOf(x, into)
  } else if (v instanceof Map) {
    into.add('Map')
    for (const [k, x] of v) kindsOf(x, kindsOf(k, into))
  } else if (Array.isArray(v)) {
    into.add(v instanceof Tuple ? 'Tuple' : 'Array')
    for (const x of v) kindsOf(x, into)
  } else into.add((v as object).constructor.name)
  return into
}
