// The shell's --erlang printing (lib/cli/erl-format.ts): terms as erl prints them, checked
// against a table and, where erl is installed, against erl itself (`~0tp`) for the same terms.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../lib/terms/otp-terms.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { ProcessExit } from '../lib/process/runtime.js'
import { NetkernelError } from '../lib/errors.js'
import { compareTerms, erlFloat, formatErl } from '../lib/cli/erl-format.js'
import { OK, erlFormat, formatTerm, jsFormat, shellFormat } from '../lib/cli/shell-format.js'
import { erlangSkip, need } from './fixtures/epmd-real.js'

const run = promisify(execFile)
const pid = new Pid('e@vm', 42, 0, 1)

t.test('formatErl: a table of terms as erl prints them', async t => {
  const cases: [unknown, string][] = [
    [atom('ok'), 'ok'],
    [atom('EXIT'), "'EXIT'"],
    [atom('hello world'), "'hello world'"],
    [atom('e@vm'), 'e@vm'],
    [atom('receive'), "'receive'"],
    [atom("it's"), "'it\\'s'"],
    [true, 'true'],
    [false, 'false'],
    [null, 'undefined'],
    [undefined, 'undefined'],
    [tuple(atom('hi'), pid), '{hi,<e@vm.42.0>}'],
    [tuple(), '{}'],
    [[1, 2, 3], '[1,2,3]'],
    [[], '[]'],
    [[tuple(atom('a'), 1), [atom('b')]], '[{a,1},[b]]'],
    [new ImproperList([atom('a')], atom('b')), '[a|b]'],
    [new ImproperList([1, 2], 3), '[1,2|3]'],
    [[104, 105], '"hi"'],
    [[104, 10, 34], '"h\\n\\""'],
    [[1, 2], '[1,2]'],
    [[1000], '[1000]'],
    ['hi', '<<"hi">>'],
    ['', '<<>>'],
    ['héllo', '<<"héllo"/utf8>>'],
    ['a"b\\c\n', '<<"a\\"b\\\\c\\n">>'],
    [Buffer.from('hi'), '<<"hi">>'],
    [Buffer.from([1, 2, 3]), '<<1,2,3>>'],
    [new Uint8Array([200]), '<<"È">>'],
    [Buffer.from([0xc3, 0x28]), '<<"Ã(">>'], // not UTF-8, printable as latin-1: erl shows the latin-1 text
    [Buffer.from([0xc3, 0x01]), '<<195,1>>'],
    [new BitBinary(Buffer.from([1, 0x20]), 4), '<<1,2:4>>'],
    [new BitBinary(Buffer.from([97, 98, 0xc0]), 2), '<<97,98,3:2>>'],
    [42, '42'],
    [-7, '-7'],
    [-0, '0'],
    [2 ** 53 + 2, '9007199254740994'],
    [1e21, '1000000000000000000000'],
    [123456789012345678901234567890n, '123456789012345678901234567890'],
    [1.5, '1.5'],
    [0.1, '0.1'],
    [-2.5e-7, '-2.5e-7'],
    [
      new Map<unknown, unknown>([
        [atom('b'), 1],
        [atom('a'), 2],
      ]),
      '#{a => 2,b => 1}',
    ],
    [
      new Map<unknown, unknown>([
        ['k', []],
        [tuple(atom('t')), atom('y')],
        [atom('a'), 2],
        [1, atom('x')],
      ]),
      '#{1 => x,a => 2,{t} => y,<<"k">> => []}',
    ],
    [{ b: 1, a: [1.5] }, '#{<<"a">> => [1.5],<<"b">> => 1}'],
    [new Map(), '#{}'],
    [new Ref('e@vm', 1, 1, [1, 2, 3]), '#Ref<e@vm.1.2.3>'],
    [new Port('e@vm', 5n, 1), '#Port<e@vm.5>'],
    [OK, 'ok'],
  ]
  for (const [v, want] of cases) t.equal(formatErl(v, formatTerm), want, want)
  const cyclic: unknown[] = [1]
  cyclic.push(cyclic)
  t.equal(formatErl(cyclic), '[1,...]', 'a cycle is cut')
  t.match(formatErl(Array.from({ length: 150 }, (_, i) => i + 1000)), /,1099,\.\.\.\]$/, 'long lists are cut')
  t.equal(formatErl(new NetkernelError('ERR_NOPROC', 'gone'), formatTerm), 'NetkernelError ERR_NOPROC: gone', 'no term: the fallback')
})

t.test('funs kept as ETF bytes print as erl prints them', async t => {
  const exp = new OpaqueTerm(113, Buffer.from([119, 5, ...Buffer.from('lists'), 119, 3, ...Buffer.from('map'), 97, 2]))
  t.equal(formatErl(exp), 'fun lists:map/2')
  const head = Buffer.alloc(29) // Size, Arity, Uniq, Index, NumFree
  const local = new OpaqueTerm(112, Buffer.concat([head, Buffer.from([119, 8, ...Buffer.from('erl_eval'), 97, 44, 98, 0, 0, 1, 0])]))
  t.equal(formatErl(local), '#Fun<erl_eval.44.256>')
  t.equal(formatErl(new OpaqueTerm(112, Buffer.from([1, 2]))), '#Fun<...>', 'truncated bytes: no guess')
})

t.test("erlFloat: erl's shortest notation", async t => {
  const cases: [number, string][] = [
    [100, '100.0'],
    [1e6, '1.0e6'],
    [123456789, '123456789.0'],
    [1e-5, '1.0e-5'],
    [0.0001, '0.0001'],
    [0.00012, '1.2e-4'],
    [0.5, '0.5'],
    [1.2345678901234568e16, '1.2345678901234568e16'],
    [2 ** 53, '9.007199254740992e15'],
    [1234567890123456, '1234567890123456.0'],
    [2.5e10, '2.5e10'],
    [5e-324, '5.0e-324'],
    [-1.5, '-1.5'],
    [0, '0.0'],
    [-0, '-0.0'],
  ]
  for (const [x, want] of cases) t.equal(erlFloat(x), want, `${x} → ${want}`)
})

t.test('compareTerms: number < atom < ref < fun < port < pid < tuple < map < [] < list < binary', async t => {
  const ordered = [
    1,
    atom('a'),
    new Ref('e@vm', 1, 1),
    new OpaqueTerm(113, Buffer.alloc(1)),
    new Port('e@vm', 1n, 1),
    pid,
    tuple(1),
    new Map(),
    [],
    [1],
    'bin',
  ]
  for (let i = 1; i < ordered.length; i++)
    t.ok(compareTerms(ordered[i - 1], ordered[i]) < 0, `${formatErl(ordered[i - 1])} < ${formatErl(ordered[i])}`)
  t.ok(compareTerms(tuple(9), tuple(1, 1)) < 0, 'tuples: size first')
  t.ok(compareTerms('ab', 'b') < 0, 'binaries: bytewise')
  t.ok(compareTerms(2, 10n) < 0, 'numbers and bigints together')
})

t.test('shellFormat: --erlang prints exit reasons as atoms, plain mode as before', async t => {
  t.equal(shellFormat(true), erlFormat)
  t.equal(shellFormat(false), jsFormat)
  t.equal(erlFormat.exception(new ProcessExit(pid, 'killed')), '** exception exit: killed')
  t.equal(erlFormat.exception(new ProcessExit(pid, tuple(atom('badarg'), 1))), '** exception exit: {badarg,1}')
  t.equal(erlFormat.exception(tuple(atom('oops'))), '** exception throw: {oops}')
  t.equal(erlFormat.exception(new NetkernelError('ERR_NOPROC', 'gone')), '** exception error: ERR_NOPROC: gone')
  t.equal(erlFormat.reason('normal'), 'normal')
  t.equal(erlFormat.term(tuple(atom('hi'), 'x')), '{hi,<<"x">>}')
  // Without --erlang, Erlang's own terms still print as erl writes them; strings stay 'quoted'.
  t.equal(jsFormat.term(tuple('hi', atom('ok'), 1)), "{'hi', ok, 1}")
  t.equal(jsFormat.term([atom('EXIT'), new ImproperList([1], 2)]), "['EXIT', [1 | 2]]")
  t.equal(jsFormat.term(new BitBinary(Buffer.from([1, 0x20]), 4)), '<<1,2:4>>')
  t.equal(jsFormat.exception(new ProcessExit(pid, 'killed')), "** exception exit: 'killed'")
})

// The same terms built in erl and printed with ~0tp, against formatErl of the JavaScript values
// they decode to (the README's term table).
t.test('formatErl agrees with erl itself', { skip: erlangSkip('erl') }, async t => {
  const floats: number[] = [100, 1e6, 0.1, 0.0001, 1.2e-4, 2 ** 53, 2 ** 53 - 2, 1e22, 5e-324, 1.7976931348623157e308, 3.14159]
  let seed = 12345
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  for (let i = 0; i < 200; i++) {
    const x = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20)
    if (!Number.isInteger(x)) floats.push(x)
  }
  for (let i = 0; i < 40; i++) floats.push(Math.round(rnd() * 10 ** Math.floor(rnd() * 22)) + 0.5)
  const erlText = (x: number): string => {
    const [m, e] = x.toExponential().split('e') as [string, string]
    return `${m.includes('.') ? m : `${m}.0`}e${Number(e)}`
  }
  const terms: [string, unknown][] = [
    ['{hi, [1,2|3], <<"hi">>}', tuple(atom('hi'), new ImproperList([1, 2], 3), Buffer.from('hi'))],
    ['<<"héllo"/utf8>>', 'héllo'],
    ['<<1,2,3>>', Buffer.from([1, 2, 3])],
    ['<<200>>', Buffer.from([200])],
    ['<<195,1>>', Buffer.from([195, 1])],
    ['<<1,2:4>>', new BitBinary(Buffer.from([1, 0x20]), 4)],
    ['"abc"', [97, 98, 99]],
    ['"a\\n\\"b\\\\"', [97, 10, 34, 98, 92]],
    ['[1000, 1]', [1000, 1]],
    [
      "['EXIT', 'hello world', 'receive', ok, e@vm, '']",
      [atom('EXIT'), atom('hello world'), atom('receive'), atom('ok'), atom('e@vm'), atom('')],
    ],
    [
      '#{b => 1, a => 2, 1 => x, <<"k">> => [], {t} => y, [z] => 1.5}',
      new Map<unknown, unknown>([
        [atom('b'), 1],
        [atom('a'), 2],
        [1, atom('x')],
        ['k', []],
        [tuple(atom('t')), atom('y')],
        [[atom('z')], 1.5],
      ]),
    ],
    ['#{<<"b">> => 1, <<"a">> => 2}', { b: 1, a: 2 }],
    // map-key order: every integer before every float
    [
      '#{1.5 => a, 2 => b, -1.5 => c, {1.5} => d, {2} => e}',
      new Map<unknown, unknown>([
        [1.5, atom('a')],
        [2, atom('b')],
        [-1.5, atom('c')],
        [tuple(1.5), atom('d')],
        [tuple(2), atom('e')],
      ]),
    ],
    ['{true, false, undefined, [], {}, <<>>}', tuple(true, false, undefined, [], tuple(), Buffer.alloc(0))],
    ['123456789012345678901234567890', 123456789012345678901234567890n],
    ['-9007199254740993', -9007199254740993n],
    ['[a|b]', new ImproperList([atom('a')], atom('b'))],
    ['fun lists:map/2', new OpaqueTerm(113, Buffer.from([119, 5, ...Buffer.from('lists'), 119, 3, ...Buffer.from('map'), 97, 2]))],
  ]
  const exprs = [...floats.map(erlText), ...terms.map(([e]) => e)]
  const script = `[io:format("~0tp~n", [X]) || X <- [${exprs.join(', ')}]], halt().`
  const { stdout } = await run(need('erl'), ['-noshell', '-start_epmd', 'false', '+pc', 'latin1', '-eval', script], {
    timeout: 30_000,
    encoding: 'latin1', // -noshell's standard output writes each character as one latin-1 byte
  })
  const lines = stdout.trimEnd().split('\n')
  t.equal(lines.length, exprs.length, 'erl printed one line per term')
  let bad = 0
  floats.forEach((x, i) => {
    if (erlFloat(x) !== lines[i]) {
      bad++
      t.equal(erlFloat(x), lines[i], `float ${x}`)
    }
  })
  t.equal(bad, 0, `${floats.length} floats print as erl prints them`)
  terms.forEach(([expr, v], i) => t.equal(formatErl(v), lines[floats.length + i], expr))
})
