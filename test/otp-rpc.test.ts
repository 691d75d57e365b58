// Remote calls between a netkernel node (erlang: true) and a REAL erl node, both ways:
// net_adm:ping, rpc:call / erpc:call of JS modules with every exception shape erl shows,
// rpc:cast / erpc:cast, rpc:multicall over a JS and an Erlang node, spawn/4 from erl (and
// spawn_monitor of unknown code); from JS node.rpc of erlang:node/0, lists:reverse/1, the
// three exception classes, unknown code, a timeout and a killed erl, node.spawn on erl,
// node.ping, and the io of a called Erlang function.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import { atom, Atom } from '../lib/terms/atom.js'
import { Pid } from '../lib/terms/pid.js'
import { RpcError, SpawnError } from '../lib/errors.js'
import type { Proc } from '../lib/process/runtime.js'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode, type Erl } from './fixtures/erl.js'
import { levelLog } from './fixtures/level-log.js'
import { full, inProcess } from './fixtures/cluster.js'
import { testModules } from './fixtures/peer-modules.js'

const rejection = (p: Promise<unknown>): Promise<any> =>
  p.then(
    v => new Error(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  )

const skip = erlangSkip('epmd', 'erl')

/** A JS module named like Erlang's, so that rpc:multicall can call the same M:F on both kinds of node. */
const erlangLike = {
  node: (proc: Proc) => atom(proc.node),
}

/** Info lines the JS node logs. */
const { lines: logged, logger } = levelLog('info')

async function setup(t: Test): Promise<{ js: Node; erl: Erl; JS: string }> {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const js = await startErlangNode(t, epmd.port, {
    name: `jsr${process.pid}`,
    cookie: 'rpc-cookie',
    modules: { ...testModules, erlang: erlangLike },
    policy: { allowSpawn: (_from, _mod, fun) => fun !== 'denied' },
    logger,
  })
  const erl = await startErl(t, { name: `er${process.pid}`, epmdPort: epmd.port, cookie: 'rpc-cookie' })
  await erl.eval(`JS = '${js.name}'.`)
  return { js, erl, JS: js.name }
}

t.test('erl calls the JS node', { skip }, async t => {
  const { js, erl, JS } = await setup(t)
  t.equal(await erl.eval(`net_adm:ping(JS).`), 'pong', 'net_adm:ping → pong')
  t.equal(await erl.eval(`rpc:call(JS, r, add, [40, 2]).`), '42', 'rpc:call')
  t.equal(await erl.eval(`erpc:call(JS, r, add, [40, 2]).`), '42', 'erpc:call')
  t.equal(await erl.eval(`rpc:call(JS, r, later, [20, <<"x">>], 5000).`), '<<"x">>', 'an async function, with a timeout')
  t.equal(await erl.eval(`[N, P0] = rpc:call(JS, r, whoami, []), {N, node(P0) =:= JS}.`), `{<<"${JS}">>,true}`, 'it ran on the JS node')

  // The three exception classes, as rpc and erpc show them.
  t.equal(await erl.eval(`rpc:call(JS, r, throw_value, [oops]).`), 'oops', 'throw: rpc:call returns the value')
  t.equal(await erl.eval(`catch erpc:call(JS, r, throw_value, [oops]).`), 'oops', 'throw: erpc:call throws it')
  t.equal(await erl.eval(`rpc:call(JS, r, quit, [bye]).`), "{badrpc,{'EXIT',bye}}", 'exit')
  t.equal(await erl.eval(`try erpc:call(JS, r, quit, [bye]) catch C1:R1 -> {C1, R1} end.`), '{exit,{exception,bye}}')
  t.equal(
    await erl.eval(`rpc:call(JS, r, fail, [<<"bad">>]).`),
    `{badrpc,{'EXIT',{{'TypeError',<<"bad">>},[{r,fail,1,[]}]}}}`,
    'error: a JS Error as {Name, Message}',
  )
  t.match(
    await erl.eval(`try erpc:call(JS, r, fail, [<<"bad">>]) catch C2:R2 -> {C2, R2} end.`),
    /^\{error,\{exception,\{'TypeError',<<"bad">>\}/,
  )
  t.equal(await erl.eval(`rpc:call(JS, r, nofun, []).`), "{badrpc,{'EXIT',{undef,[{r,nofun,[],[]}]}}}", 'unknown function: undef')
  t.equal(await erl.eval(`rpc:call(JS, nomod, f, [1]).`), "{badrpc,{'EXIT',{undef,[{nomod,f,[1],[]}]}}}", 'unknown module: undef')

  // Arity: fewer arguments than the function's parameters (after proc) is undef, as for M:F/A
  // that does not exist; more are allowed (defaults, rest parameters).
  t.equal(await erl.eval(`rpc:call(JS, r, echo, []).`), "{badrpc,{'EXIT',{undef,[{r,echo,[],[]}]}}}", 'echo/0: undef')
  t.equal(await erl.eval(`rpc:call(JS, r, add, [1]).`), "{badrpc,{'EXIT',{undef,[{r,add,[1],[]}]}}}", 'add/1: undef')
  t.equal(
    await erl.eval(`try erpc:call(JS, r, add, [1]) catch C12:R12 -> {C12, R12} end.`),
    '{error,{exception,undef,[{r,add,[1],[]}]}}',
    'erpc:call of add/1: error undef',
  )
  t.equal(await erl.eval(`erpc:call(JS, r, echo, [x]).`), 'x', 'echo/1 runs')
  t.equal(await erl.eval(`rpc:call(JS, r, add, [1, 2, 3]).`), '3', 'more arguments than parameters: allowed')
  t.equal(await erl.eval(`rpc:call(JS, r, opt, [1]).`), '11', 'a default parameter need not be given')
  t.equal(await erl.eval(`erpc:call(JS, r, rest, []).`), '0', 'a rest parameter takes none')
  t.equal(
    await erl.eval(
      `{P13, M13} = spawn_monitor(JS, r, add, [1]), receive {'DOWN', M13, process, P13, R13} -> R13 after 5000 -> timeout end.`,
    ),
    '{undef,[{r,add,[1],[]}]}',
    'spawn/4 of add/1: a pid that exits with undef',
  )

  // Casts: the function runs, the caller gets its messages.
  t.equal(await erl.eval(`rpc:cast(JS, r, tell, [self(), 1]).`), 'true')
  t.equal(await erl.eval(`receive [0] -> got after 5000 -> timeout end.`), 'got', 'rpc:cast ran')
  t.equal(await erl.eval(`erpc:cast(JS, r, tell, [self(), 1]).`), 'ok')
  t.equal(await erl.eval(`receive [0] -> got after 5000 -> timeout end.`), 'got', 'erpc:cast ran')

  // multicall over a JS node and erl itself.
  t.equal(await erl.eval(`rpc:multicall([JS, node()], erlang, node, []).`), `{[${JS},${erl.node}],[]}`, 'rpc:multicall')

  // spawn/4 from erl, and unknown code: a pid that exits with undef.
  t.equal(await erl.eval(`P1 = spawn(JS, r, tell, [self(), 1]), {is_pid(P1), node(P1) =:= JS}.`), '{true,true}')
  t.equal(await erl.eval(`receive [0] -> got after 5000 -> timeout end.`), 'got', 'spawn/4 ran')
  t.equal(
    await erl.eval(`{P2, M2} = spawn_monitor(JS, r, nofun, [1]), receive {'DOWN', M2, process, P2, R3} -> R3 after 5000 -> timeout end.`),
    '{undef,[{r,nofun,[1],[]}]}',
    'spawn_monitor of unknown code: DOWN with undef',
  )
  t.equal(
    await erl.eval(
      `process_flag(trap_exit, true), P3 = spawn_link(JS, r, quit, [bye]), receive {'EXIT', P3, R4} -> R4 after 5000 -> timeout end.`,
    ),
    'bye',
    'spawn_link: the exit reason arrives over the link',
  )
  t.equal(
    await erl.eval(`{P4, M4} = spawn_monitor(JS, r, quit, [bye]), receive {'DOWN', M4, process, P4, R5} -> R5 after 5000 -> timeout end.`),
    'bye',
    'spawn_monitor: the DOWN',
  )

  // erl's caller gives up: a timeout there, and the JS side's late answer is dropped by erl.
  t.equal(await erl.eval(`try erpc:call(JS, r, later, [1000, x], 100) catch C4:R9 -> {C4, R9} end.`), '{error,{erpc,timeout}}')
  t.equal(await erl.eval(`receive Stray -> Stray after 1300 -> nothing end.`), 'nothing', 'the late answer reaches no mailbox')

  // The policy: refused calls are {badrpc, notsup}, as from a node without spawn support.
  t.equal(await erl.eval(`rpc:call(JS, r, denied, []).`), '{badrpc,notsup}', 'allowSpawn refuses: {badrpc, notsup}')
  t.equal(await erl.eval(`try erpc:call(JS, r, denied, []) catch C3:R6 -> {C3, R6} end.`), '{error,{erpc,notsup}}')
  t.equal(
    await erl.eval(`try spawn_monitor(JS, r, denied, []) catch error:E10 -> E10 end.`),
    'notsup',
    'spawn_monitor refused: error notsup',
  )
  t.equal(
    await erl.eval(`P11 = spawn_link(JS, r, denied, []), receive {'EXIT', P11, R11} -> R11 after 5000 -> timeout end.`),
    'notsup',
    'spawn_link refused: the link exits notsup',
  )

  // The rex server directly, as older callers and C nodes use it.
  t.equal(await erl.eval(`gen_server:call({rex, JS}, {call, r, add, [1, 2], user}).`), '3', 'rex gen_call')
  t.equal(
    await erl.eval(`{rex, JS} ! {self(), {call, r, add, [2, 3], user}}, receive {rex, R7} -> R7 after 5000 -> timeout end.`),
    '5',
    'rex C-node form',
  )
  t.equal(
    await erl.eval(
      `{rex, JS} ! {self(), features_request}, receive {features_reply, N8, F8} -> {N8 =:= JS, F8} after 5000 -> timeout end.`,
    ),
    '{true,[erpc]}',
    'rex features',
  )
  t.ok(js.nodes('hidden').includes(erl.node) || js.nodes().includes(erl.node), 'erl is connected')
})

t.test('the JS node calls erl', { skip }, async t => {
  const { js, erl } = await setup(t)
  const ERL = erl.node
  t.equal(await js.ping(ERL), 'pong', 'node.ping → pong')
  // The called function's io goes to a group leader on the JS node (else io:format raises terminated).
  t.equal(await js.rpc(ERL, 'io', 'format', ['hello ~s~n', [['world']]]), atom('ok'), 'io:format in the called function')
  t.equal(await js.rpc(ERL, 'io', 'put_chars', ['plain\n']), atom('ok'))
  t.ok(
    logged.some(l => l.includes(`io from ${ERL}: io_lib:format("hello ~s~n"`)),
    'its output reaches the logger',
  )
  t.ok(logged.some(l => l === `io from ${ERL}: plain\n`))
  // A process spawned on erl gets the same group leader: its io reaches the logger and it
  // ends normally (with the spawner as group leader, io would wait for an answer forever).
  const ended = await inProcess(js, async proc => {
    const pid = await proc.spawn(ERL, 'io', 'put_chars', ['spawned\n'])
    const ref = proc.monitor(pid)
    return proc.receive(m => Array.isArray(m) && m[0] === 'DOWN' && ref.equals(m[1]), { timeout: 5000 })
  })
  t.equal((ended as unknown[])[4], 'normal', 'a spawned io:put_chars ends normally')
  t.ok(
    logged.some(l => l === `io from ${ERL}: spawned\n`),
    'and its output reaches the logger',
  )
  t.equal(await js.ping(full('nosuch')), 'pang', 'a node that is not there → pang')
  const n = await js.rpc(ERL, 'erlang', 'node', [])
  t.ok(n instanceof Atom && n.name === ERL, 'erlang:node() → the atom')
  t.same(await js.rpc(ERL, 'lists', 'reverse', [[1, 2, 3]]), [3, 2, 1], 'lists:reverse')
  t.same(await inProcess(js, proc => proc.rpc(ERL, 'lists', 'seq', [1, 3])), [1, 2, 3], 'proc.rpc')

  const e = await rejection(js.rpc(ERL, 'erlang', 'error', [atom('x')]))
  t.type(e, RpcError)
  t.match(e, { code: 'ERR_RPC', kind: 'error', reason: atom('x') }, 'erlang:error(x): kind error, reason x')
  t.ok(Array.isArray(e.remoteStack), 'with the Erlang stack')
  t.match(await rejection(js.rpc(ERL, 'erlang', 'throw', [atom('x')])), { kind: 'throw', reason: atom('x') }, 'throw(x)')
  t.match(await rejection(js.rpc(ERL, 'erlang', 'exit', [atom('x')])), { kind: 'exit', reason: 'x' }, 'exit(x): the reason as a string')
  const u = await rejection(js.rpc(ERL, 'nomod', 'f', []))
  t.type(u, SpawnError)
  t.match(u, { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, 'unknown code: undef')
  t.match(await rejection(js.rpc(ERL, 'timer', 'sleep', [1500], { timeout: 100 })), { code: 'ERR_RPC_TIMEOUT' })

  // node.spawn on erl: erlang:apply(erlang, send, [Pid, Msg]) sends back to a JS process.
  const got = await inProcess(js, async proc => {
    const pid = await proc.spawn(ERL, 'erlang', 'apply', [atom('erlang'), atom('send'), [proc.self, 'hi']])
    t.ok(pid instanceof Pid && pid.node === ERL, 'a pid on erl')
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.same(got, Buffer.from('hi'), 'the spawned function ran on erl')

  await new Promise(r => setTimeout(r, 1600)) // the timed-out call's late answer arrives
  t.equal(js.refusals.total(), 0, 'late answers are not refused')
  t.same(await js.rpc(ERL, 'lists', 'reverse', [[1, 2]]), [2, 1], 'the connection still serves')

  const sleeping = rejection(js.rpc(ERL, 'timer', 'sleep', [30_000]))
  await new Promise(r => setTimeout(r, 200))
  await erl.kill()
  t.match(await sleeping, { code: 'ERR_CONNECTION_CLOSED' }, 'erl killed mid-call: ERR_CONNECTION_CLOSED')
})
