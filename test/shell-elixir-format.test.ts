// The shell's --elixir printing (lib/cli/elixir-format.ts): terms as Elixir's inspect/1
// prints them, checked against a table and, where Elixir is installed, against a real Elixir
// node: the same JavaScript values sent over the distribution to it, inspected there, and
// compared with formatElixir's text — a fixed set of awkward terms, then terms fast-check makes.
import t from 'tap'
import fc from 'fast-check'
import { Buffer } from 'node:buffer'
import { atom, type Atom } from '../lib/terms/atom.js'
import { tuple, type Tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm } from '../lib/terms/otp-terms.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { ProcessExit } from '../lib/process/runtime.js'
import { NetkernelError } from '../lib/errors.js'
import { elixirAtom, formatElixir, type ElixirFormatOptions } from '../lib/cli/elixir-format.js'
import { OK, exFormat, formatTerm, shellFormat } from '../lib/cli/shell-format.js'
import { startRealEpmd } from './fixtures/epmd-real.js'
import { startErlangNode } from './fixtures/erl.js'
import { elixirSkip, startElixir } from './fixtures/elixir.js'
import { inProcess } from './fixtures/cluster.js'

const pid = new Pid('e@vm', 42, 0, 1)
const kw = (...pairs: [string, unknown][]): Tuple[] => pairs.map(([k, v]) => tuple(atom(k), v))

t.test('formatElixir: a table of terms as Elixir prints them', async t => {
  const cases: [unknown, string, ElixirFormatOptions?][] = [
    [atom('ok'), ':ok'],
    [atom('nil'), 'nil'],
    [true, 'true'],
    [null, ':undefined'],
    [undefined, ':undefined'],
    [atom('hello world'), ':"hello world"'],
    [atom('js@vm'), ':js@vm'],
    [atom('Elixir.MyApp.Counter'), 'MyApp.Counter'],
    [atom('Foo'), ':Foo'],
    [atom('Foo.Bar'), ':"Foo.Bar"'],
    [atom('+'), ':+'],
    [atom('::'), ':"::"'],
    [atom('ok?'), ':ok?'],
    [atom('a"b'), ':"a\\"b"'],
    [tuple(atom('hi'), pid), '{:hi, #PID<e@vm.42.0>}'],
    [tuple(), '{}'],
    [[1, 2, 3], '[1, 2, 3]'],
    [[], '[]'],
    [[104, 105], '~c"hi"'],
    [[104, 105], "'hi'", { charlists: 'quotes' }],
    [[39, 10], "'\\'\\n'", { charlists: 'quotes' }],
    [[1000, 1], '[1000, 1]'],
    [new ImproperList([1, 2], 3), '[1, 2 | 3]'],
    [kw(['a', 1], ['b', 'x']), '[a: 1, b: "x"]'],
    [kw(['hello world', 1]), '["hello world": 1]'],
    ['héllo', '"héllo"'],
    ['', '""'],
    ['a"b\\c\n#{x}', '"a\\"b\\\\c\\n\\#{x}"'],
    [Buffer.from([1, 2, 3]), '<<1, 2, 3>>'],
    [Buffer.from([0xc3, 0x28]), '<<195, 40>>'],
    [new BitBinary(Buffer.from([1, 0x20]), 4), '<<1, 2::size(4)>>'],
    [42, '42'],
    [-0, '0'],
    [123456789012345678901234567890n, '123456789012345678901234567890'],
    [1.5, '1.5'],
    [1e-7, '1.0e-7'],
    [{ b: 1, a: 2 }, '%{"a" => 2, "b" => 1}'],
    [
      new Map<unknown, unknown>([
        [atom('b'), 1],
        [atom('a'), 2],
      ]),
      '%{a: 2, b: 1}',
    ],
    [
      new Map<unknown, unknown>([
        [atom('a'), 1],
        [1, 2],
      ]),
      '%{1 => 2, :a => 1}',
    ],
    [
      new Map<unknown, unknown>([
        [atom('__struct__'), atom('Elixir.MyApp.Point')],
        [atom('x'), 1],
      ]),
      '%MyApp.Point{x: 1}',
    ],
    [new Map(), '%{}'],
    [new Ref('e@vm', 1, 0, [1, 2, 3]), '#Reference<e@vm.1.2.3>'],
    [Array.from({ length: 60 }, (_, i) => i + 1000), `[${Array.from({ length: 50 }, (_, i) => i + 1000).join(', ')}, ...]`],
    [new OpaqueTerm(113, Buffer.from([119, 5, ...Buffer.from('lists'), 119, 3, ...Buffer.from('map'), 97, 2])), '&:lists.map/2'],
  ]
  for (const [v, want, opts] of cases) t.equal(formatElixir(v, { fallback: formatTerm, ...opts }), want, want)
  // Large input prints bounded: a string's first 4096 characters, a map's first 50 keys.
  t.equal(formatElixir(Buffer.alloc(10_000_000, 0x61)), `"${'a'.repeat(4096)}" <> ...`, 'a 10 MB binary: its first 4096 characters')
  t.equal(
    formatElixir(Buffer.concat([Buffer.alloc(5000, 0x61), Buffer.from([0xff])])),
    `"${'a'.repeat(4096)}" <> ...`,
    'what follows them is not read',
  )
  const big = new Map(Array.from({ length: 200_000 }, (_, i) => [i, i] as [number, number]))
  t.equal(
    formatElixir(big),
    `%{${Array.from({ length: 50 }, (_, i) => `${i} => ${i}`).join(', ')}, ...}`,
    'a map of 200,000 keys: 50 of them',
  )
  t.equal(formatElixir(new Error('x'), { fallback: formatTerm }), 'Error: x', 'what is no term goes to the fallback')
  t.equal(elixirAtom('Elixir'), 'Elixir')
})

t.test('shellFormat: --elixir prints reasons as atoms and exceptions as iex does', async t => {
  const ex = shellFormat('elixir')
  t.equal(ex, exFormat)
  t.equal(ex.term(tuple(atom('ok'), 'x')), '{:ok, "x"}')
  t.equal(ex.term(OK), ':ok', "what shell functions return for Erlang's ok")
  t.equal(ex.reason('normal'), ':normal', 'a string reason is the atom it travels as')
  t.equal(ex.exception(new ProcessExit(pid, tuple(atom('badarg'), 1))), '** (exit) {:badarg, 1}')
  t.equal(ex.exception(new NetkernelError('ERR_NOPROC', 'no such process')), '** (NetkernelError) ERR_NOPROC: no such process')
  t.equal(ex.exception(atom('oops')), '** (throw) :oops')
})

// ---- against a real Elixir ------------------------------------------------------------------

/** Atoms whose spelling in Elixir depends on the rules: operators, module names, quoting, Unicode. */
const ATOMS = [
  ...['ok', 'nil', 'true', 'false', 'undefined', 'EXIT', 'Elixir', 'Elixir.Foo', 'Elixir.Foo.Bar', 'Elixir.foo', 'Foo', 'Foo.Bar'],
  ...['foo?', 'foo!', 'foo?!', 'a@b', 'a@b.c', 'js@vm', '_', '_x', 'x1', '1x', 'héllo', 'Ñu', 'ü', '', ' ', 'a b', 'a-b'],
  ...['+', '-', '*', '/', '++', '<>', '..', '...', '..//', '::', '|>', '\\\\', '=', '==', '===', '!', '^', '&', '@', '.', '%'],
  ...['%{}', '{}', '<<>>', '->', '<-', '|', '&&', '||', '<~>', '~~~', 'not', 'and', 'in', 'when', 'do', 'end', 'fn'],
  ...['a"b', "a'b", 'a\\b', 'a\nb', 'a#{b}', '#', 'tab\there', '\u0000', '\u007f', 'a\u00a0b', '\u{1F600}', '?', 'a?b'],
  // Unicode: letters of one script (or Latin with Han and kana) bare, others quoted
  ...['αβ', 'привет', '日本', 'مرحبا', 'ひらがな', '한국', 'Ϊ', 'ō', 'Ḋ', '日本ok', 'okα', 'ñ', 'ß', 'ẞ', 'Éa', 'Aé', 'ĸ', 'ÿ', '_日'],
  ...['ﯴ', 'Ｋ', 'ʨ', 'ǅ', 'Ⅹ', 'ª', 'ᵃ', 'a١', 'a²', 'ĳ', 'ﬁ', 'e\u0301', 'ʰ', 'Ѩ', 'ɐ', 'ſ', 'ŉ', 'Ŀ', '×', 'Ωa', 'Яa', 'a\u200db'],
]

/** Awkward terms beside the generated ones. */
const FIXED: unknown[] = [
  ...ATOMS.map(a => atom(a)),
  ...ATOMS.map(a => [tuple(atom(a), 1)]), // each as a keyword key
  ...ATOMS.map(a => new Map([[atom(a), 1]])), // and as a map key
  [104, 105],
  [39, 34, 35, 123, 10, 7, 127],
  [0],
  [233],
  [35, 123],
  'a"b\\c\n\t\r\u0007\u001b\u007f#{x}#',
  'é\u00a0\u{1F600}',
  '\u0000',
  '\u0085',
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xc3, 0x28]),
  'x'.repeat(5000),
  Buffer.concat([Buffer.alloc(5000, 0x61), Buffer.from([0xff])]),
  Buffer.from([0xe0, 0x80, 0x80]), // overlong
  Buffer.from([0xed, 0xa0, 0x80]), // a surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
  Buffer.from([0xe2, 0x82]), // cut short
  Array.from({ length: 60 }, (_, i) => i),
  Array.from({ length: 60 }, (_, i) => i + 1000),
  Array.from({ length: 3 }, () => Array.from({ length: 30 }, (_, i) => i + 200)),
  tuple(...Array.from({ length: 55 }, (_, i) => i)),
  new Map(Array.from({ length: 30 }, (_, i) => [i, i] as [number, number])),
  Buffer.alloc(60, 1),
  new BitBinary(Buffer.from([1, 0xa0]), 3),
  new BitBinary(Buffer.from([0x80]), 1),
  new ImproperList([1, 2], 3),
  new ImproperList(
    Array.from({ length: 52 }, (_, i) => i),
    atom('t'),
  ),
  kw(['a', 1], ['b', [kw(['c', 2])]]),
  [tuple(atom('Elixir.Foo'), 1)],
  [tuple(atom('a'), 1), 2],
  { a: 1, 'b c': [1, 2] },
  new Map<unknown, unknown>([
    [atom('a'), 1],
    ['b', 2],
  ]),
  new Map<unknown, unknown>([
    [atom('__struct__'), atom('Elixir.NkTest.Point')],
    [atom('x'), 1],
    [atom('y'), 'two'],
  ]),
  0.1,
  1e21 + 0.5,
  -1.5e-300,
  2 ** 53 + 0.5,
  2n ** 64n,
  -(2n ** 70n),
  new OpaqueTerm(113, Buffer.from([119, 5, ...Buffer.from('lists'), 119, 3, ...Buffer.from('map'), 97, 2])),
  new OpaqueTerm(113, Buffer.from([119, 11, ...Buffer.from('Elixir.Enum'), 119, 3, ...Buffer.from('map'), 97, 2])),
  new OpaqueTerm(113, Buffer.from([119, 6, ...Buffer.from('erlang'), 119, 1, ...Buffer.from('+'), 97, 2])),
]

/** Terms fast-check makes: atoms, numbers, strings, binaries, bitstrings, lists, tuples, maps. */
function terms(): fc.Arbitrary<unknown> {
  // Letters at the edges of the ranges elixir-format takes as identifier letters, and
  // neighbours outside them that Elixir quotes too (elsewhere, see the next test).
  const edges = [0xbf, 0xc0, 0xd6, 0xd7, 0xf7, 0x131, 0x132, 0x17e, 0x17f, 0x180, 0x1e00, 0x1e99, 0x1e9a, 0x1ef9, 0x1efa, 0x385, 0x386]
  const more = [0x3ce, 0x3cf, 0x400, 0x45f, 0x460, 0x531, 0x586, 0x587, 0x5d0, 0x5ea, 0x620, 0x640, 0x64a, 0x10d0, 0x10fa, 0x10fb]
  const cjk = [0x3041, 0x3096, 0x30a1, 0x30fa, 0x30fb, 0x30fc, 0x3105, 0x312f, 0x4e00, 0x9fff, 0xac00, 0xd7a3]
  const ascii = [0x61, 0x5a, 0x5f, 0x40, 0x31, 0x3f, 0x21]
  const chars = [...edges, ...more, ...cjk, ...ascii].map(c => String.fromCodePoint(c))
  const atomArb = fc.oneof(
    fc.constantFrom(...ATOMS),
    fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 4 }).map(cs => cs.join('')),
    fc.string({ maxLength: 12 }),
    fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_@]{0,8}[?!]?$/),
  )
  const { term } = fc.letrec(tie => ({
    term: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atomArb.map(a => atom(a)),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter(x => !Number.isInteger(x)),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.uint8Array({ maxLength: 12 }).map(b => Buffer.from(b)),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 7 })).map(([b, bits]) => {
        const bytes = Buffer.from(b)
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) & ((0xff << (8 - bits)) & 0xff)
        return new BitBinary(bytes, bits)
      }),
      fc.array(fc.integer({ min: 0, max: 130 }), { maxLength: 8 }),
      fc.array(tie('term'), { maxLength: 5 }),
      fc.array(tie('term'), { maxLength: 4 }).map(xs => tuple(...xs)),
      fc
        .tuple(fc.array(tie('term'), { minLength: 1, maxLength: 3 }), tie('term'))
        .map(([xs, tl]) => new ImproperList(xs, Array.isArray(tl) || tl instanceof ImproperList ? atom('tail') : tl)),
      fc.array(fc.tuple(atomArb, tie('term')), { maxLength: 4 }).map(ps => ps.map(([k, v]) => tuple(atom(k), v))),
      // (keys that are one Erlang term, [1] and [1], would make a map Erlang refuses to decode)
      fc.uniqueArray(fc.tuple(tie('term'), tie('term')), { maxLength: 5, selector: ([k]) => formatElixir(k) }).map(ps => new Map(ps)),
      fc.array(fc.tuple(atomArb, tie('term')), { maxLength: 5 }).map(ps => new Map(ps.map(([k, v]) => [atom(k), v]))),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('term'), { maxKeys: 4 }),
    ),
  }))
  return term
}

t.test('formatElixir agrees with a real Elixir node', { skip: elixirSkip() }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const js = await startErlangNode(t, epmd.port, { name: `jsfmt${process.pid}`, cookie: 'fmt-cookie' })
  const ex = await startElixir(t, { name: `exfmt${process.pid}`, epmdPort: epmd.port, cookie: 'fmt-cookie' })
  const version = (await ex.eval('System.version()')).replace(/"/g, '')
  const charlists: ElixirFormatOptions['charlists'] = /^1\.(\d|1[0-4])\./.test(version) ? 'quotes' : 'sigil'
  t.comment(`Elixir ${version}: charlists as ${charlists}`)
  await ex.eval(`defmodule NkTest.Point do
  defstruct [:x, :y]
end
serve = fn serve ->
  receive do
    {from, ts} ->
      send(from, {:inspected, Enum.map(ts, &inspect/1)})
      serve.(serve)
  end
end
Process.register(spawn(fn -> serve.(serve) end), :inspector)`)

  /** What Elixir's inspect/1 makes of each term, as it arrives there. */
  const inspect = (batch: unknown[]): Promise<string[]> =>
    inProcess(js, async proc => {
      proc.send(['inspector', ex.node], tuple(proc.self, batch))
      const m = (await proc.receive(undefined, { timeout: 20_000 })) as Tuple
      t.equal((m[0] as Atom).name, 'inspected')
      return (m[1] as Buffer[]).map(b => Buffer.from(b).toString('utf8'))
    })

  const check = async (label: string, batch: unknown[]): Promise<number> => {
    const got = await inspect(batch)
    t.equal(got.length, batch.length, `${label}: one answer a term`)
    let bad = 0
    batch.forEach((v, i) => {
      const mine = formatElixir(v, { charlists })
      if (mine !== got[i] && bad++ < 20) t.equal(mine, got[i], `${label} #${i}: ${formatTerm(v).slice(0, 80)}`)
    })
    return bad
  }
  t.equal(await check('fixed', FIXED), 0, `${FIXED.length} awkward terms print as Elixir prints them`)
  const generated = fc.sample(terms(), { numRuns: 400, seed: 4242 })
  t.equal(await check('generated', generated), 0, `${generated.length} generated terms print as Elixir prints them`)

  // Any Unicode: elixir-format writes an atom bare only where Elixir does (else what it
  // prints would not read back); it may quote one Elixir writes bare (Elixir's identifier
  // rules are Unicode's tables, of which elixir-format keeps a subset), never the reverse.
  const names = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }), { numRuns: 1500, seed: 4243 })
  const atoms = [...new Set(names)].filter(n => Buffer.byteLength(n) <= 255).map(n => atom(n))
  const got = await inspect(atoms)
  let bareWrong = 0
  let quotedOnlyHere = 0
  atoms.forEach((a, i) => {
    const mine = formatElixir(a)
    if (mine === got[i]) return
    if (mine.startsWith(':"') && !got[i]!.startsWith(':"')) quotedOnlyHere++
    else if (bareWrong++ < 20) t.equal(mine, got[i], `atom ${JSON.stringify(a.name)}`)
  })
  t.equal(bareWrong, 0, `${atoms.length} Unicode atoms: none bare here that Elixir quotes, quoting alike`)
  t.comment(`${quotedOnlyHere} of them quoted here where Elixir writes them bare`)
})
