// `netkernel shell --elixir`: --erlang with values printed as iex prints them. As its own OS
// process, its input a pipe; then beside a real Elixir node, whose terms the shell's flush()
// must print exactly as Elixir's own inspect/1 does.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { full, testEpmd } from './fixtures/cluster.js'
import { startCli, shellDriver } from './fixtures/cli-process.js'
import { startRealEpmd } from './fixtures/epmd-real.js'
import { elixirSkip, startElixir } from './fixtures/elixir.js'

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function home(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-shell-ex-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('--help documents --elixir', async t => {
  const sh = startCli(t, ['shell', '--help'])
  t.equal(await sh.exited(), 0)
  t.match(sh.stdout(), /--elixir\s+the same, with values printed as iex prints them/)
})

t.test('--elixir: results print as iex prints them; the node speaks Erlang', async t => {
  const epmd = await testEpmd(t)
  const sh = startCli(t, ['shell', '--sname', 'exfmt', '--elixir', '--cookie', 'c', '--epmd-port', String(epmd.port), '--history', ''], {
    env: { HOME: home(t) },
  })
  const d = shellDriver(sh)
  await sh.waitFor('stdout', /Erlang\/OTP distribution too, values as iex prints them/)
  await d.line(
    "tuple(atom('hi'), 'text', [1, 2.5], new ImproperList([atom('a')], atom('b')))",
    /> \{:hi, "text", \[1, 2\.5\], \[:a \| :b\]\}\n/,
  )
  await d.line('node()', new RegExp(`> :${esc(full('exfmt'))}\\n`))
  await d.line("new Map([[atom('b'), 1], [atom('a'), Buffer.from([1, 2])]])", /> %\{a: <<1, 2>>, b: 1\}\n/)
  await d.line("[tuple(atom('verbose'), true), tuple(atom('Elixir.MyApp'), null)]", /> \[\{:verbose, true\}, \{MyApp, :undefined\}\]\n/)
  await d.line("send(self(), [tuple(atom('verbose'), true)]); flush()", /> Shell got \[verbose: true\]\n:ok\n/)
  await d.line('[104, 105]', /> ~c"hi"\n/)
  await d.line("exit(self(), 'kill')", /\*\* \(exit\) :killed\n/)
  await sh.waitFor('stdout', /exited \(:killed\); self\(\) is now </)
  sh.child.stdin.end()
  t.equal(await sh.exited(), 0)
  t.notMatch(sh.stderr(), /\S/, 'nothing on stderr')
})

t.test('beside a real Elixir node, flush() prints what it sent as Elixir inspects it', { skip: elixirSkip() }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop()) // after the nodes: teardowns run in reverse order
  const name = `exsh${process.pid}`
  const sh = startCli(
    t,
    ['shell', '--sname', name, '--elixir', '--cookie', 'ex-cookie', '--epmd-port', String(epmd.port), '--history', ''],
    {
      env: { HOME: home(t) },
    },
  )
  const d = shellDriver(sh)
  await sh.waitFor('stdout', /values as iex prints them/)
  await d.line("register(atom('inbox'), self())", /> true\n/)
  const ex = await startElixir(t, { name: `exsrc${process.pid}`, epmdPort: epmd.port, cookie: 'ex-cookie' })
  await ex.eval(`defmodule MyApp.User do
  defstruct [:name, roles: []]
end
:ok`)
  await ex.eval(`term = {%MyApp.User{name: "José", roles: [:admin]}, [verbose: true, depth: 2], %{"k" => [1, 2], 1.5 => nil}, <<1, 2::size(3)>>, :"hello world", String.to_atom("${full(name)}")}
:ok`)
  const expected = (await ex.eval('inspect(term)')).slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\')
  t.match(expected, /^\{%MyApp\.User\{name: "José", roles: \[:admin\]\}/, 'Elixir inspects its term')
  await ex.eval(`send({:inbox, :"${full(name)}"}, term)`)
  const m = await d.flushUntil(/Shell got (.*)\n/)
  t.equal(m[1], expected, "the shell prints Elixir's term as Elixir's inspect/1 does")
  await d.line('node()', new RegExp(`> :${esc(full(name))}\\n`))
  sh.child.stdin.end()
  t.equal(await sh.exited(), 0)
})
