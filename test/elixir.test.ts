// A netkernel node (erlang: true) and a REAL Elixir node (`elixir --sname`, Debian's elixir on
// OTP 25): what the README's "Elixir" section says, run as written there. The iex session
// (Node.connect, send to a registered JS process, :rpc.call of a JS module, the answer in the
// mailbox); the program's side (Elixir's String.upcase over rpc, a GenServer registered with
// `name: MyApp.Counter` called and cast to, an Elixir process registered by name); a JS
// process answering Elixir's GenServer.call; Elixir's terms (strings, charlists, keyword
// lists, maps with atom keys, structs) each way; monitors and Node.monitor both ways; spawn
// and :erpc into JS modules; a GenServer registered in :global and a :pg scope an Elixir app
// starts, as Phoenix.PubSub does; long names; distribution over TLS (inet_tls).
import t, { type Test } from 'tap'
import { Buffer } from 'node:buffer'
import type { Node } from '../lib/node.js'
import { atom, Atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'
import { Pid } from '../lib/terms/pid.js'
import { asCall } from '../lib/process/gen-call.js'
import { module } from '../lib/type-helpers.js'
import { isDown } from '../lib/process/monitors.js'
import type { Proc } from '../lib/process/runtime.js'
import { startRealEpmd, waitFor } from './fixtures/epmd-real.js'
import { startErlangNode, type Erl } from './fixtures/erl.js'
import { elixirSkip, startElixir } from './fixtures/elixir.js'
import { inProcess } from './fixtures/cluster.js'
import { levelLog } from './fixtures/level-log.js'
import { otpTlsPki, sslSkip } from './fixtures/otp-tls-pki.js'
import { tls } from '../transports/tls.js'
import { shortHostname } from '../lib/node-name.js'

const skip = elixirSkip()

/** The README's module: `calc.add` and `calc.hello`. */
const calc = module({
  add: (_proc: Proc, a: number, b: number) => a + b,
  hello: (proc: Proc, to: Pid) => proc.send(to, tuple(atom('hello'), proc.self)),
})

/** A counter GenServer, as an Elixir app writes one. */
const COUNTER = `
defmodule MyApp.Counter do
  use GenServer
  def init(n), do: {:ok, n}
  def handle_call(:get, _from, n), do: {:reply, n, n}
  def handle_call({:add, k}, _from, n), do: {:reply, n + k, n + k}
  def handle_cast({:set, k}, _n), do: {:noreply, k}
end
:ok
`

let serial = 0

/** Info lines the JS nodes log (where the io of Elixir code this node runs there goes). */
const { lines: logged, logger } = levelLog('info')

/**
 * A JS node and an Elixir node on a port mapper of their own, `js` bound in Elixir to the JS
 * node's name. `longNames`: both with --name on 127.0.0.1; `tls`: distribution over TLS
 * (the JS node's tls() transport, the Elixir node's -proto_dist inet_tls).
 */
async function setup(t: Test, o: { longNames?: boolean; tls?: boolean } = {}): Promise<{ js: Node; ex: Erl; jsName: string; n: string }> {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const n = `${process.pid}x${serial++}`
  const host = o.longNames === true ? '127.0.0.1' : shortHostname()
  const pki = o.tls === true ? otpTlsPki(t) : undefined
  const js = await startErlangNode(t, epmd.port, {
    name: `js${n}@${host}`,
    longNames: o.longNames,
    cookie: 'elixir-cookie',
    modules: { calc },
    logger,
    ...(pki === undefined ? {} : { transport: tls(pki.nodeTls(`js${n}@${host}`)) }),
  })
  const ex = await startElixir(t, {
    name: o.longNames === true ? `ex${n}@${host}` : `ex${n}`,
    longNames: o.longNames,
    epmdPort: epmd.port,
    cookie: 'elixir-cookie',
    erlArgs: pki === undefined ? [] : ['-proto_dist inet_tls', `-ssl_dist_optfile ${pki.otpConf(`ex${n}@${host}`)}`],
  })
  await ex.eval(`js = :"${js.name}"`)
  return { js, ex, jsName: js.name, n }
}

/** Spawn a JS process that answers `{hi, From}` with `{pong, self()}`, registered as `server`. */
function pongServer(js: Node): Pid {
  return js.spawn(async proc => {
    proc.register('server')
    for (;;) {
      const m = await proc.receive()
      if (m instanceof Tuple && m[0] === atom('hi') && m[1] instanceof Pid) proc.send(m[1], tuple(atom('pong'), proc.self))
    }
  })
}

/** Spawn a JS process registered as `calc` that adds each call's request to its total. */
function calcServer(js: Node): Pid {
  return js.spawn(async proc => {
    proc.register('calc')
    let total = 0
    for (;;) {
      const call = asCall(await proc.receive())
      if (call === undefined) continue
      const req = call.request
      if (req instanceof Tuple && req[0] === atom('add') && typeof req[1] === 'number') proc.reply(call.from, (total += req[1]))
      else proc.reply(call.from, tuple(atom('error'), atom('badarg')))
    }
  })
}

t.test("the README's iex session", { skip }, async t => {
  const { js, ex, jsName } = await setup(t)
  pongServer(js)
  t.equal(await ex.eval(`Node.connect(js)`), 'true', 'Node.connect(:"js@host")')
  t.equal(await ex.eval(`Node.list()`), `[:${jsName}]`, 'Node.list(): a visible member')
  t.same(js.nodes(), [ex.node], "and the Elixir node in the JS node's nodes()")
  t.match(await ex.eval(`send({:server, js}, {:hi, self()})`), /^\{:hi, #PID<0\.\d+\.0>\}$/, 'send to a registered JS process')
  t.equal(await ex.eval(`:rpc.call(js, :calc, :add, [40, 2])`), '42', ':rpc.call of a JS module')
  t.equal(
    await ex.eval(`receive do {:pong, p} when is_pid(p) -> {:pong, node(p)} after 5000 -> :timeout end`),
    `{:pong, :${jsName}}`,
    "the JS process's answer, from a pid of the JS node",
  )
})

t.test('from a program: rpc, GenServer.call and send toward Elixir', { skip }, async t => {
  const { js, ex } = await setup(t)
  await ex.eval(COUNTER)
  t.match(await ex.eval(`GenServer.start(MyApp.Counter, 5, name: MyApp.Counter)`), /^\{:ok, #PID<0\.\d+\.0>\}$/)

  const up = await js.rpc(ex.node, 'Elixir.String', 'upcase', ['hello'])
  t.ok(Buffer.isBuffer(up), "String.upcase's answer is a binary: a Buffer")
  t.equal((up as Buffer).toString(), 'HELLO')
  // IO.inspect in code this node runs there: its group leader is this node's, which answers
  // and logs the text (else the call would wait on io for ever).
  const seen = await js.rpc(ex.node, 'Elixir.IO', 'inspect', [tuple(atom('seen'), 1)])
  t.same(seen, tuple(atom('seen'), 1), 'IO.inspect over rpc returns its argument')
  t.ok(
    logged.some(l => l === `io from ${ex.node}: {:seen, 1}\n`),
    "and what it printed reaches the JS node's logger",
  )

  const counter: [string, string] = ['Elixir.MyApp.Counter', ex.node]
  t.equal(await js.call(counter, atom('get')), 5, 'GenServer.call({MyApp.Counter, node}, :get)')
  js.cast(counter, tuple(atom('set'), 40))
  t.equal(await js.call(counter, tuple(atom('add'), 2)), 42, 'a cast, then a call')
  t.equal(await ex.eval(`GenServer.call(MyApp.Counter, :get)`), '42', 'Elixir sees the same state')

  await ex.eval(`spawn(fn -> Process.register(self(), :server); receive do {:hi, from} -> send(from, {:hello, "from elixir"}) end end)`)
  await waitFor(async () => (await ex.eval(`is_pid(Process.whereis(:server))`)) === 'true', 5000, ':server registered')
  const answer = await inProcess(js, async proc => {
    proc.send(['server', ex.node], tuple(atom('hi'), proc.self)) // send({:server, :"ex@vm"}, {:hi, pid})
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.ok(answer instanceof Tuple && answer[0] === atom('hello'), 'the Elixir process answered')
  t.equal(((answer as Tuple)[1] as Buffer).toString(), 'from elixir', 'an Elixir string arrives as a Buffer')
})

t.test("Elixir's GenServer.call and cast reach a JS process", { skip }, async t => {
  const { js, ex } = await setup(t)
  calcServer(js)
  t.equal(await ex.eval(`GenServer.call({:calc, js}, {:add, 1})`), '1', 'GenServer.call({:calc, :"js@host"}, {:add, 1})')
  t.equal(await ex.eval(`GenServer.call({:calc, js}, {:add, 41})`), '42', 'state kept between calls')
  t.equal(await ex.eval(`GenServer.call({:calc, js}, :what)`), '{:error, :badarg}')
  // A name nobody has: GenServer.call exits with :noproc, as toward any node.
  t.match(
    await ex.eval(`try do GenServer.call({:nobody, js}, :x, 2000) catch :exit, {r, _} -> r end`),
    /^:noproc$/,
    'noproc for an unknown name',
  )
  // Task.async + GenServer.call from another Elixir process: the reply finds its caller.
  t.equal(await ex.eval(`Task.async(fn -> GenServer.call({:calc, js}, {:add, 8}) end) |> Task.await()`), '50', 'a call from a Task')
})

t.test("Elixir's terms, each way", { skip }, async t => {
  const { js, ex } = await setup(t)
  await ex.eval(`Process.register(self(), :shell)`)
  const got: unknown[] = []
  js.spawn(async proc => {
    proc.register('sink')
    for (;;) got.push(await proc.receive())
  })
  await ex.eval(`send({:sink, js}, %{name: "Ann", age: 3})`)
  await ex.eval(`send({:sink, js}, [mode: :fast, retries: 3])`)
  await ex.eval(`send({:sink, js}, URI.parse("http://example.org/p"))`)
  await ex.eval(`send({:sink, js}, {~c"abc", "héllo", 1.5, 1.0, 2 ** 70, :ok, nil, true})`)
  await waitFor(() => got.length === 4, 5000, 'four messages')

  const map = got[0] as Map<unknown, unknown>
  t.ok(map instanceof Map, "a map with atom keys is a Map: m.get(atom('name'))")
  t.equal((map.get(atom('name')) as Buffer).toString(), 'Ann')
  t.equal(map.get(atom('age')), 3)

  const kw = got[1] as Tuple[]
  t.ok(Array.isArray(kw) && kw.every(e => e instanceof Tuple), 'a keyword list is a list of {atom, value} tuples')
  t.same(
    kw.map(([k, v]) => [(k as Atom).name, v instanceof Atom ? v.name : v]),
    [
      ['mode', 'fast'],
      ['retries', 3],
    ],
  )

  const uri = got[2] as Map<unknown, unknown>
  t.equal(uri.get(atom('__struct__')), atom('Elixir.URI'), 'a struct is a map with a __struct__ key')
  t.equal((uri.get(atom('host')) as Buffer).toString(), 'example.org')
  t.equal(uri.get(atom('port')), 80)

  const [charlist, str, float, wholeFloat, big, ok, nil, yes] = got[3] as Tuple
  t.same(charlist, [97, 98, 99], 'a charlist is a list of character codes')
  t.equal((str as Buffer).toString('utf8'), 'héllo', 'a string is a UTF-8 binary')
  t.equal(float, 1.5)
  t.equal(wholeFloat, 1, '1.0 arrives as 1 (floats are lossy)')
  t.equal(big, 2n ** 70n, 'a big integer is a bigint')
  t.equal(ok, atom('ok'))
  t.equal(nil, atom('nil'), "Elixir's nil is the atom nil, not null")
  t.equal(yes, true, 'true is a boolean')

  // JavaScript → Elixir: matched on the Elixir side, so each assertion is Elixir's own.
  const recv = (pattern: string): Promise<string> => ex.eval(`receive do ${pattern} -> :matched after 5000 -> :timeout end`)
  js.send(['shell', ex.node], 'hello')
  t.equal(await recv(`"hello"`), ':matched', 'a JS string is an Elixir string')
  js.send(['shell', ex.node], { name: 'x' })
  t.equal(await recv(`%{"name" => "x"} = m when map_size(m) == 1`), ':matched', 'a plain object is a map with binary keys')
  js.send(['shell', ex.node], new Map<unknown, unknown>([[atom('name'), 'x']]))
  t.equal(await recv(`%{name: "x"}`), ':matched', "a Map with atom keys is Elixir's %{name: ...}")
  js.send(['shell', ex.node], [tuple(atom('mode'), atom('fast')), tuple(atom('retries'), 3)])
  t.equal(await recv(`[mode: :fast, retries: 3]`), ':matched', 'an array of {atom, value} tuples is a keyword list')
  js.send(['shell', ex.node], got[2])
  t.equal(await recv(`%URI{host: "example.org", path: "/p"}`), ':matched', 'a struct goes back as the struct')
  js.send(['shell', ex.node], tuple(atom('big'), 2n ** 70n, null, atom('nil')))
  t.equal(
    await recv(`{:big, n, :undefined, nil} when n == ${2n ** 70n}`),
    ':matched',
    "a bigint; null is Erlang's :undefined, atom('nil') Elixir's nil",
  )
})

t.test('monitors and Node.monitor, both ways', { skip }, async t => {
  const { js, ex, jsName } = await setup(t)
  await ex.eval(`Process.register(self(), :shell)`)

  // Elixir monitors a JS process, which exits with a reason.
  const worker = js.spawn(async proc => {
    await proc.receive(undefined, { timeout: 10_000 })
    proc.exit('shutdown')
  })
  js.send(['shell', ex.node], tuple(atom('pid'), worker))
  await ex.eval(`w = receive do {:pid, p} -> p after 5000 -> :timeout end`)
  t.equal(await ex.eval(`node(w)`), `:${jsName}`)
  await ex.eval(`ref = Process.monitor(w)`)
  js.send(worker, 'go')
  t.equal(
    await ex.eval(`receive do {:DOWN, ^ref, :process, ^w, r} -> r after 5000 -> :timeout end`),
    ':shutdown',
    "Process.monitor: the JS process's reason",
  )

  // JS monitors an Elixir process, which is killed.
  await ex.eval(`victim = spawn(fn -> receive do _ -> :ok end end)`)
  const down = inProcess(js, async proc => {
    proc.register('watcher')
    const m = await proc.receive(undefined, { timeout: 10_000 })
    if (!(m instanceof Tuple) || !(m[1] instanceof Pid)) return m
    proc.monitor(m[1])
    proc.send(['shell', ex.node], atom('watching'))
    return proc.receive(undefined, { timeout: 10_000 })
  })
  await ex.eval(`send({:watcher, js}, {:victim, victim})`)
  t.equal(await ex.eval(`receive do :watching -> :ok after 5000 -> :timeout end`), ':ok')
  await ex.eval(`Process.exit(victim, :kill)`)
  const msg = (await down) as unknown[]
  t.ok(isDown(msg), "the JS process's monitor delivered a real DOWN")
  t.equal(msg[4], 'killed', "the Elixir process's reason")

  // Node.monitor toward the JS node: nodedown when it stops.
  t.equal(await ex.eval(`Node.monitor(js, true)`), 'true')
  await js.stop()
  t.equal(await ex.eval(`receive do {:nodedown, n} -> n after 10_000 -> :timeout end`), `:${jsName}`, 'Node.monitor: nodedown')
  t.equal(await ex.eval(`Node.list()`), '[]')
})

t.test('Node.spawn and :erpc into JS modules', { skip }, async t => {
  const { ex, jsName } = await setup(t)
  t.match(await ex.eval(`Node.spawn(js, :calc, :hello, [self()])`), /^#PID<\d+\.\d+\.\d+>$/, 'Node.spawn/4: a pid of the JS node')
  t.equal(await ex.eval(`receive do {:hello, p} -> node(p) after 5000 -> :timeout end`), `:${jsName}`, "the spawned function's message")
  t.equal(await ex.eval(`:erpc.call(js, :calc, :add, [1, 2])`), '3', ':erpc.call')
  t.match(await ex.eval(`try do :erpc.call(js, :calc, :nofun, []) catch :error, r -> r end`), /undef/, 'an unknown function: undef')
})

t.test('a GenServer in :global and a :pg scope an Elixir app starts', { skip }, async t => {
  const { js, ex } = await setup(t)
  await ex.eval(COUNTER)
  t.equal(await ex.eval(`Node.connect(js)`), 'true')
  t.match(await ex.eval(`GenServer.start(MyApp.Counter, 7, name: {:global, :counter})`), /^\{:ok, #PID/)
  await js.global.sync()
  await waitFor(() => js.global.whereis('counter') !== undefined, 5000, 'the global name seen')
  const pid = js.global.whereis('counter')!
  t.equal(pid.node, ex.node, "the name stands for the Elixir node's process")
  t.equal(await js.call(pid, atom('get')), 7, "GenServer.call through the global name's pid")

  // And a JS process in :global, called from Elixir by its global name.
  const server = calcServer(js)
  t.equal(await js.global.register('js_calc', server), true)
  await ex.eval(`:global.sync()`)
  t.equal(await ex.eval(`GenServer.call({:global, :js_calc}, {:add, 5})`), '5', 'GenServer.call({:global, :js_calc}, ...)')

  // A scope of the app's own (Phoenix.PubSub starts one named after itself), a tuple group.
  await ex.eval(`{:ok, _} = :pg.start(:chat)`)
  await ex.eval(`member = spawn(fn -> :pg.join(:chat, {:room, "lobby"}, self()); receive do m -> send(:shell, {:got, m}) end end)`)
  await ex.eval(`Process.register(self(), :shell)`)
  js.pg.startScope('chat')
  const lobby = tuple(atom('room'), Buffer.from('lobby'))
  await waitFor(() => js.pg.members(lobby, { scope: 'chat' }).length === 1, 10_000, 'the Elixir member seen')
  const jsMember = js.spawn(async proc => {
    await proc.receive(undefined, { timeout: 20_000 })
  })
  js.pg.join(lobby, jsMember, { scope: 'chat' })
  t.equal(
    await ex.eval(
      `Enum.reduce_while(1..100, 0, fn _, _ -> n = length(:pg.get_members(:chat, {:room, "lobby"})); if n == 2, do: {:halt, n}, else: (Process.sleep(50); {:cont, n}) end)`,
    ),
    '2',
    ':pg.get_members on Elixir lists the JS member too',
  )
  t.equal(js.pg.send(lobby, 'hello', { scope: 'chat' }), 2, 'a group send from JS reaches both')
  t.equal(await ex.eval(`receive do {:got, "hello"} -> :ok after 5000 -> :timeout end`), ':ok', 'the Elixir member got it')
})

t.test('long names, as a release with RELEASE_DISTRIBUTION=name runs', { skip }, async t => {
  const { js, ex, n } = await setup(t, { longNames: true })
  t.equal(ex.node, `ex${n}@127.0.0.1`)
  t.equal(await ex.eval(`Node.connect(:"${js.name}")`), 'true', 'Node.connect to a long-name JS node')
  t.equal(await ex.eval(`:rpc.call(:"${js.name}", :calc, :add, [1, 2])`), '3')
  t.equal(await js.rpc(ex.node, 'Elixir.Kernel', 'node', []), atom(ex.node), "and back: the Elixir node's name")
})

t.test('Elixir code cannot run on the JS node: a fun is refused as OTP refuses an unknown module', { skip }, async t => {
  const { ex, jsName } = await setup(t)
  t.equal(await ex.eval(`:net_kernel.monitor_nodes(true, node_type: :all)`), ':ok')
  t.equal(await ex.eval(`Node.connect(js)`), 'true')
  t.equal(
    await ex.eval(`receive do {:nodeup, n, info} -> {n, info} after 5000 -> :timeout end`),
    `{:${jsName}, [node_type: :visible]}`,
    ':net_kernel.monitor_nodes: nodeup',
  )
  t.match(
    await ex.eval(`try do :erpc.call(js, fn -> 1 end) catch :error, {:exception, r, _} -> r end`),
    /^:undef$/,
    ':erpc.call with a fun raises undef',
  )
  await ex.eval(`p = Node.spawn(js, fn -> :ok end)`)
  t.equal(
    await ex.eval(`ref = Process.monitor(p); receive do {:DOWN, ^ref, _, _, r} -> r after 5000 -> :timeout end`),
    ':noproc',
    'Node.spawn of a fun: a pid already gone',
  )
  t.equal(await ex.eval(`:erpc.multicall([js], :calc, :add, [2, 2])`), '[ok: 4]', 'a module of the JS node, by name')
  t.equal(await ex.eval(`:erlang.disconnect_node(js)`), 'true')
  t.equal(
    await ex.eval(`receive do {:nodedown, n, info} -> {n, info} after 5000 -> :timeout end`),
    `{:${jsName}, [node_type: :visible]}`,
    'and nodedown',
  )
})

t.test('over TLS, as a release with -proto_dist inet_tls in its vm.args', { skip: skip || sslSkip() }, async t => {
  const { js, ex } = await setup(t, { tls: true })
  calcServer(js)
  t.equal(await ex.eval(`Node.connect(:"${js.name}")`), 'true', 'Node.connect over TLS')
  t.equal(await ex.eval(`GenServer.call({:calc, :"${js.name}"}, {:add, 2})`), '2', 'GenServer.call into a JS process')
  t.equal(js.stats().connections.find(c => c.peer === ex.node)?.transport, 'tls', 'the connection is TLS')
  const up = await js.rpc(ex.node, 'Elixir.String', 'upcase', ['tls'])
  t.equal((up as Buffer).toString(), 'TLS', 'and rpc back into Elixir')
})
