// The OTP side of remote calls without an erl: the OTP dispatcher (net_kernel's is_auth, the
// rex server, spawn requests for erpc and for the node's modules) and the erpc client, driven
// with the OtpMessages and native frames the OTP wire hands over and a connection that records
// what is sent back. test/otp-rpc.test.ts runs the same against a real erl.
import t from 'tap'
import { Runtime } from '../lib/process/runtime.js'
import { silentLogger } from '../lib/logger.js'
import { systemClock } from '../lib/clock.js'
import { Refusals } from '../lib/kernel/refusals.js'
import { RpcRequests } from '../lib/kernel/rpc-requests.js'
import { createPermit } from '../lib/kernel/dispatch.js'
import { ErpcClient } from '../lib/kernel/otp/erpc-client.js'
import { createOtpDispatcher, type OtpConn } from '../lib/kernel/otp/otp-dispatch.js'
import { OtpMessage } from '../lib/kernel/otp/otp-message.js'
import { groupLeader } from '../lib/kernel/otp/group-leader.js'
import { outcomeResult, type RpcOutcome } from '../lib/process/rpc.js'
import { DEMONITOR, MONITOR, REG_SEND, SEND } from '../lib/kernel/frames.js'
import { atom, type Atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import type { KernelPolicy } from '../lib/kernel/net-kernel.js'
import { RpcError, SpawnError } from '../lib/errors.js'
import { testModules } from './fixtures/peer-modules.js'
import { waitUntil } from './fixtures/mesh-helpers.js'
import { levelLog } from './fixtures/level-log.js'

const JS = 'js@h'
const ERL = 'e@h'
const a = atom

class FakeConn implements OtpConn {
  readonly sent: unknown[] = []
  constructor(readonly peer: string) {}
  send(value: unknown): boolean {
    this.sent.push(value)
    return true
  }
  /** Sent OtpMessages of operation `op`. */
  ops(op: number): OtpMessage[] {
    return this.sent.filter((m): m is OtpMessage => m instanceof OtpMessage && m.op === op)
  }
  /** Native SEND frames sent to `to`: their messages. */
  sendsTo(to: Pid): unknown[] {
    return this.sent.filter(f => Array.isArray(f) && f[0] === SEND && to.equals(f[1])).map(f => (f as unknown[])[2])
  }
}

function setup(policy: KernelPolicy = {}) {
  const runtime = new Runtime({ node: JS, creation: 3, logger: silentLogger })
  runtime.defineModule('r', testModules.r!)
  // Timers that keep the test process alive (the system clock's are unref'd: a node's sockets keep it up).
  const rpcs = new RpcRequests({
    ...systemClock,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
  })
  const refusals = new Refusals(JS, silentLogger)
  const erpc = new ErpcClient({ localName: () => JS, creation: () => 3, rpcs })
  const dispatch = createOtpDispatcher({
    localName: () => JS,
    runtime,
    policy,
    permit: createPermit(policy, refusals),
    refusals,
    logger: silentLogger,
    erpc,
  })
  const conn = new FakeConn(ERL)
  return { runtime, rpcs, refusals, erpc, dispatch, conn }
}

const erlPid = (id: number): Pid => new Pid(ERL, id, 0, 9)
const erlRef = (id: number): Ref => new Ref(ERL, id, 9, [id, 1, 2])
const spawnRequest = (reqId: Ref, from: Pid, m: string, f: string, args: unknown[], opts: unknown[]): OtpMessage =>
  new OtpMessage(tuple(29, reqId, from, from, tuple(a(m), a(f), args.length), opts), args, true)

t.test('net_kernel: is_auth is answered yes, the [alias | Ref] tag copied verbatim', async t => {
  const { dispatch, conn, runtime } = setup()
  const caller = erlPid(80)
  const tag = new ImproperList([a('alias')], erlRef(5))
  const call = tuple(a('$gen_call'), tuple(caller, tag), tuple(a('is_auth'), a(ERL)))
  t.equal(dispatch(conn, [REG_SEND, caller, 'net_kernel', call]), true, 'taken by the service')
  const [reply] = conn.sendsTo(caller) as Tuple[]
  t.ok(reply instanceof Tuple && reply.length === 2)
  t.equal(reply![0], tag, 'the tag, the very object')
  t.equal(reply![1], a('yes'), 'yes (an atom, not true)')

  // gen:call monitors net_kernel first: the monitor is taken, no DOWN 'noproc' (which would make ping pang).
  t.equal(dispatch(conn, [MONITOR, caller, 'net_kernel', erlRef(8)]), true, 'a monitor of net_kernel is the service’s')
  t.equal(dispatch(conn, [DEMONITOR, caller, 'net_kernel', erlRef(8)]), true, 'and so is its demonitor')
  t.equal(conn.sent.length, 1, 'nothing is answered to them')

  const other = erlPid(81)
  const forged = tuple(a('$gen_call'), tuple(new Pid('third@h', 1, 0, 1), tag), tuple(a('is_auth'), a(ERL)))
  dispatch(conn, [REG_SEND, other, 'net_kernel', forged])
  t.equal(conn.sent.length, 1, 'a gen_call for a third node’s pid is not answered')

  // A local process registered as net_kernel takes its messages itself.
  const pid = runtime.spawn(async proc => void (await proc.receive()))
  runtime.register('net_kernel', pid)
  t.equal(dispatch(conn, [REG_SEND, caller, 'net_kernel', call]), false, 'the native dispatcher delivers it')
  t.equal(dispatch(conn, [REG_SEND, caller, 'other', call]), false, 'other names are not the services’')
  t.equal(dispatch(conn, [MONITOR, caller, 'net_kernel', erlRef(9)]), false, 'nor monitors of a registered net_kernel')
})

t.test('rex: features_request, gen_call call/block_call, the C-node form, gen_cast', async t => {
  const { dispatch, conn, runtime } = setup()
  const from = erlPid(90)
  dispatch(conn, [REG_SEND, from, 'rex', tuple(from, a('features_request'))])
  t.same(conn.sendsTo(from), [tuple(a('features_reply'), a(JS), [a('erpc')])], 'features_reply with erpc')

  const tag = new ImproperList([a('alias')], erlRef(6))
  const call = (i: number, m: string, f: string, args: unknown[], kind = 'call') =>
    tuple(a('$gen_call'), tuple(erlPid(i), tag), tuple(a(kind), a(m), a(f), args, erlPid(1)))
  const answer = async (i: number): Promise<unknown> => {
    await waitUntil(() => conn.sendsTo(erlPid(i)).length > 0, `an answer to ${i}`)
    return (conn.sendsTo(erlPid(i))[0] as Tuple)[1]
  }
  dispatch(conn, [REG_SEND, erlPid(100), 'rex', call(100, 'r', 'add', [40, 2])])
  t.equal(await answer(100), 42, 'call: {Tag, 42}')
  dispatch(conn, [REG_SEND, erlPid(101), 'rex', call(101, 'r', 'add', [1, 2], 'block_call')])
  t.equal(await answer(101), 3, 'block_call')
  dispatch(conn, [REG_SEND, erlPid(102), 'rex', call(102, 'r', 'throw_value', [a('oops')])])
  t.equal(await answer(102), a('oops'), 'a thrown value is the result, as rpc:call returns it')
  dispatch(conn, [REG_SEND, erlPid(103), 'rex', call(103, 'r', 'quit', ['bye'])])
  t.same(await answer(103), tuple(a('badrpc'), tuple(a('EXIT'), a('bye'))), "exit: {badrpc, {'EXIT', bye}}")
  dispatch(conn, [REG_SEND, erlPid(104), 'rex', call(104, 'r', 'fail', ['bad'])])
  t.same(
    await answer(104),
    tuple(a('badrpc'), tuple(a('EXIT'), tuple(tuple(a('TypeError'), 'bad'), [tuple(a('r'), a('fail'), 1, [])]))),
    "error: {badrpc, {'EXIT', {{'TypeError', <<\"bad\">>}, [{r, fail, 1, []}]}}}",
  )
  dispatch(conn, [REG_SEND, erlPid(105), 'rex', call(105, 'r', 'nofun', [1])])
  t.same(
    await answer(105),
    tuple(a('badrpc'), tuple(a('EXIT'), tuple(a('undef'), [tuple(a('r'), a('nofun'), [1], [])]))),
    "unknown function: {badrpc, {'EXIT', {undef, [{r, nofun, [1], []}]}}}",
  )
  const c = erlPid(106)
  dispatch(conn, [REG_SEND, c, 'rex', tuple(c, tuple(a('call'), a('r'), a('add'), [2, 3], erlPid(1)))])
  await waitUntil(() => conn.sendsTo(c).length > 0, 'the C-node answer')
  t.same(conn.sendsTo(c), [tuple(a('rex'), 5)], '{From, {call, …}}: From ! {rex, 5}')

  const got: unknown[] = []
  const sink = runtime.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
  dispatch(conn, [REG_SEND, c, 'rex', tuple(a('$gen_cast'), tuple(a('cast'), a('r'), a('tell'), [sink, 2], erlPid(1)))])
  await waitUntil(() => got.length === 2, 'the cast ran')
  t.same(got, [[0], [1]], 'gen_cast: the function ran')
})

t.test('spawn request erpc:execute_call/4: SPAWN_REPLY, then the answer as the DOWN', async t => {
  const { dispatch, conn } = setup()
  const caller = erlPid(50)
  const cases: [string, unknown[], (ref: Ref) => unknown][] = [
    ['add', [40, 2], ref => tuple(ref, a('return'), 42)],
    ['later', [5, 'x'], ref => tuple(ref, a('return'), 'x')],
    ['throw_value', [a('boom')], ref => tuple(ref, a('throw'), a('boom'))],
    ['quit', ['bye'], ref => tuple(ref, a('exit'), a('bye'))],
    ['fail', ['bad'], ref => tuple(ref, a('error'), tuple(a('TypeError'), 'bad'), [tuple(a('r'), a('fail'), 1, [])])],
    ['nofun', [7], ref => tuple(ref, a('error'), a('undef'), [tuple(a('r'), a('nofun'), [7], [])])],
  ]
  let n = 0
  for (const [fun, args, expected] of cases) {
    const reqId = erlRef(1000 + n)
    const ref = erlRef(2000 + n++)
    dispatch(conn, spawnRequest(reqId, caller, 'erpc', 'execute_call', [ref, a('r'), a(fun), args], [a('monitor')]))
    await waitUntil(() => conn.ops(28).some(m => reqId.equals(m.control[3])), `the DOWN of r:${fun}`)
    const reply = conn.ops(31).find(m => reqId.equals(m.control[1]))!
    t.equal(reply.control[2], caller, `${fun}: the reply goes to the caller`)
    t.equal(reply.control[3], 2, 'flags: monitor')
    const pid = reply.control[4] as Pid
    t.ok(pid instanceof Pid && pid.node === JS, 'a pid of this node')
    const down = conn.ops(28).find(m => reqId.equals(m.control[3]))!
    t.same([...down.control], [28, pid, caller, reqId], '{28, Pid, Caller, ReqId}')
    t.same(down.payload, expected(ref), `${fun}: the answer`)
    t.ok(conn.sent.indexOf(reply) < conn.sent.indexOf(down), 'reply before DOWN')
  }
})

t.test('spawn request erpc:execute_cast/3, and spawns of the node’s modules', async t => {
  const { dispatch, conn, runtime } = setup()
  const caller = erlPid(60)
  const got: unknown[] = []
  const sink = runtime.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
  dispatch(conn, spawnRequest(erlRef(1), caller, 'erpc', 'execute_cast', [a('r'), a('tell'), [sink, 1]], []))
  await waitUntil(() => got.length === 1, 'the cast ran')
  t.ok(conn.ops(31)[0]!.control[4] instanceof Pid, 'answered with the pid')
  t.equal(conn.ops(28).length, 0, 'and nothing more')

  // spawn(N, r, quit, [bye]) with a monitor: the DOWN carries the exit reason as an atom.
  dispatch(conn, spawnRequest(erlRef(2), caller, 'r', 'quit', ['bye'], [a('monitor')]))
  await waitUntil(() => conn.ops(28).length === 1, 'the DOWN')
  const r2 = conn.ops(31).find(m => erlRef(2).equals(m.control[1]))!
  t.equal(r2.control[3], 2)
  t.same(conn.ops(28)[0]!.payload, a('bye'))
  t.equal(conn.ops(28)[0]!.control[1], r2.control[4], 'from the spawned pid')

  // Unknown code: a pid all the same, which exits with {undef, [{M, F, A, []}]}.
  dispatch(conn, spawnRequest(erlRef(3), caller, 'r', 'nofun', [1, 2], [a('monitor'), a('link')]))
  await waitUntil(() => conn.ops(28).length === 2, 'the undef DOWN')
  const r3 = conn.ops(31).find(m => erlRef(3).equals(m.control[1]))!
  t.equal(r3.control[3], 3, 'flags: link and monitor')
  t.ok(r3.control[4] instanceof Pid)
  t.same(conn.ops(28)[1]!.payload, tuple(a('undef'), [tuple(a('r'), a('nofun'), [1, 2], [])]))

  // A plain spawn: a pid, no flags, no DOWN.
  dispatch(conn, spawnRequest(erlRef(4), caller, 'r', 'add', [1, 2], []))
  await waitUntil(() => conn.ops(31).length === 4, 'the reply')
  t.equal(conn.ops(31)[3]!.control[3], 0)
  await new Promise(r => setTimeout(r, 20))
  t.equal(conn.ops(28).length, 2, 'no DOWN without a monitor')
})

t.test('spawn requests: policy refusals answer notsup; malformed ones are counted', async t => {
  const seen: string[] = []
  const { dispatch, conn, refusals } = setup({
    allowSignal: (_from, op, _detail) => {
      seen.push(op)
      return op !== 'spawn'
    },
    allowSpawn: (_from, _m, fun) => fun !== 'whoami',
  })
  const caller = erlPid(70)
  dispatch(conn, spawnRequest(erlRef(1), caller, 'r', 'add', [1, 2], []))
  dispatch(conn, spawnRequest(erlRef(2), caller, 'erpc', 'execute_call', [erlRef(9), a('r'), a('whoami'), []], [a('monitor')]))
  await waitUntil(() => conn.ops(31).length === 2, 'both answered')
  t.same(
    conn.ops(31).map(m => m.control[4]),
    [a('notsup'), a('notsup')],
    'allowSignal op spawn, allowSpawn for a call: notsup',
  )
  t.same(seen, ['spawn', 'rpc'], 'the ops the firewall saw')
  t.same(refusals.counts().get(ERL), { spawn: 1, rpc: 1 })

  dispatch(conn, spawnRequest(erlRef(3), new Pid('third@h', 1, 0, 1), 'r', 'add', [1, 2], []))
  dispatch(conn, new OtpMessage(tuple(29, erlRef(4), caller, caller, tuple(a('r'), a('add'), 3), []), [1, 2], true))
  t.equal(conn.ops(31).length, 3, 'the wrong arity is answered (badarg); a third node’s pid is not')
  t.equal(conn.ops(31)[2]!.control[4], a('badarg'))
  t.equal(refusals.counts().get(ERL)?.protocol, 2, 'both counted as protocol refusals')

  // Hostile shapes: no crash, an answer where there is someone to answer.
  dispatch(conn, new OtpMessage(tuple(29, erlRef(5), caller, caller, a('notatuple'), []), [], true))
  dispatch(conn, new OtpMessage(tuple(29, erlRef(6), caller, caller, tuple(a('r'), a('add'), 0), a('notalist')), [], true))
  dispatch(conn, new OtpMessage(tuple(29, erlRef(7), caller, caller, tuple(a('r'), a('add'), 0), []), a('notalist'), true))
  dispatch(conn, new OtpMessage(tuple(29, 'notaref', caller, caller, tuple(a('r'), a('add'), 0), []), [], true))
  t.equal(refusals.counts().get(ERL)?.protocol, 6, 'each malformed request counted')
  t.same(
    conn
      .ops(31)
      .slice(3)
      .map(m => m.control[4]),
    [a('badarg'), a('badarg'), a('badarg')],
    'answered badarg when it names a requester',
  )
  dispatch(conn, spawnRequest(erlRef(8), caller, 'erpc', 'execute_call', [erlRef(9), 'r', a('add'), [1, 2]], [a('monitor')]))
  dispatch(conn, spawnRequest(erlRef(10), caller, 'erpc', 'execute_call', [erlRef(9), a('r'), a('add'), a('x')], [a('monitor')]))
  await waitUntil(() => conn.ops(31).length === 8, 'the erpc requests answered')
  t.same(
    conn
      .ops(31)
      .slice(6)
      .map(m => m.control[4]),
    [a('badarg'), a('badarg')],
    'erpc with a module that is not an atom, or arguments that are not a list: badarg',
  )
  const rex = erlPid(71)
  dispatch(conn, [REG_SEND, rex, 'rex', tuple(a('$gen_call'), tuple(rex, 't'), tuple(a('call'), 'r', a('add'), [1], rex))])
  await waitUntil(() => conn.sendsTo(rex).length > 0, 'the rex answer')
  t.same(conn.sendsTo(rex), [tuple('t', tuple(a('badrpc'), tuple(a('EXIT'), tuple(a('badarg'), []))))], 'rex: a module that is not an atom')
  dispatch(conn, [REG_SEND, rex, 'rex', 'garbage'])
  dispatch(conn, [REG_SEND, rex, 'net_kernel', tuple(a('$gen_call'), 'nottuple', 1)])
  t.equal(conn.sendsTo(rex).length, 1, 'garbage to the services is dropped')
})

t.test('erpc client: the request, each kind of answer, undef, a refused spawn, a late answer', async t => {
  const { dispatch, conn, rpcs, erpc, refusals } = setup()
  const claimed = new Set<string>()
  const call = (fun: string, args: unknown[], opts = {}) => {
    const id = rpcs.nextId()
    const outcome = rpcs.open(ERL, id, `m:${fun}/${args.length} on ${ERL}`, opts)
    erpc.call(conn, claimed, id, undefined, 'm', fun, args, outcome)
    const req = conn.ops(29).at(-1)!
    return { outcome, req, result: outcome.then(o => outcomeResult(o, fun)) }
  }
  const answer = (req: OtpMessage, reason: (ref: unknown) => unknown): void => {
    const reqId = req.control[1] as Ref
    const ref = (req.payload as unknown[])[0]
    const pid = erlPid(500)
    t.equal(dispatch(conn, new OtpMessage(tuple(31, reqId, req.control[2], 2, pid))), true)
    t.equal(dispatch(conn, new OtpMessage(tuple(28, pid, req.control[2], reqId), reason(ref), true)), true)
  }

  const c1 = call('reverse', [[1, 2, 3]])
  const [, reqId, from, gl, mfa, opts] = c1.req.control
  t.ok(reqId instanceof Ref && reqId.node === JS && reqId.ids.length === 3, 'ReqId: a three-word ref of this node')
  t.ok(from instanceof Pid && from.node === JS && gl === from, 'From and GL: this node’s pid')
  t.same(mfa, tuple(a('erpc'), a('execute_call'), 4))
  t.same(opts, [a('monitor')])
  const [ref, m, f, args] = c1.req.payload as [Ref, Atom, Atom, unknown[]]
  t.ok(ref instanceof Ref && m === a('m') && f === a('reverse'), '[Ref, m, reverse, Args]: names as atoms')
  t.same(args, [[1, 2, 3]])
  t.ok(claimed.has((reqId as Ref).key), 'the ReqId is claimed on the wire')
  answer(c1.req, r => tuple(r, a('return'), [3, 2, 1]))
  t.same(await c1.result, [3, 2, 1], 'return')
  t.notOk(claimed.has((reqId as Ref).key), 'and unclaimed once answered')

  const c2 = call('t', [])
  answer(c2.req, r => tuple(r, a('throw'), a('x')))
  t.match(await c2.result.catch((e: unknown) => e), { kind: 'throw', reason: a('x') })
  const c3 = call('e', [])
  answer(c3.req, r => tuple(r, a('exit'), a('bye')))
  t.match(await c3.result.catch((e: unknown) => e), { kind: 'exit', reason: 'bye' }, 'an atom exit reason arrives as a string')
  const c4 = call('er', [])
  const stack = [tuple(a('m'), a('er'), 0, [])]
  answer(c4.req, r => tuple(r, a('error'), a('badarith'), stack))
  const e4 = await c4.result.catch((e: unknown) => e)
  t.type(e4, RpcError)
  t.match(e4, { code: 'ERR_RPC', kind: 'error', reason: a('badarith') })
  t.same((e4 as RpcError).remoteStack, stack, 'the Erlang stack comes along')
  const c5 = call('nofun', [1])
  answer(c5.req, r => tuple(r, a('error'), a('undef'), [tuple(a('m'), a('nofun'), [1], [])]))
  const e5 = await c5.result.catch((e: unknown) => e)
  t.type(e5, SpawnError)
  t.match(e5, { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, 'undef of the called function: ERR_SPAWN_UNKNOWN_FUNCTION')
  const c6 = call('k', [])
  answer(c6.req, () => a('killed'))
  t.match(await c6.result.catch((e: unknown) => e), { kind: 'exit', reason: 'killed' }, 'killed: no answer, kind exit')
  const c7 = call('n', [])
  dispatch(conn, new OtpMessage(tuple(31, c7.req.control[1], c7.req.control[2], 0, a('notsup'))))
  t.match(await c7.result.catch((e: unknown) => e), { code: 'ERR_RPC', kind: 'badrpc' }, 'a spawn refused: badrpc')

  const c8 = call('slow', [], { timeout: 10 })
  t.match(await c8.result.catch((e: unknown) => e), { code: 'ERR_RPC_TIMEOUT' })
  const key = (c8.req.control[1] as Ref).key
  t.ok(claimed.has(key), 'a call given up on stays claimed until its answer')
  answer(c8.req, r => tuple(r, a('return'), 1))
  t.notOk(claimed.has(key), 'then it is dropped quietly')
  t.equal(erpc.size, 0)

  t.equal(refusals.total(), 0, 'no refusals so far')
  t.equal(dispatch(conn, new OtpMessage(tuple(31, erlRef(77), erlPid(1), 0, erlPid(2)))), true)
  t.same(refusals.counts().get(ERL), { protocol: 1 }, 'a reply to no call of ours is a protocol refusal')
})

t.test('erpc client: the node lost fails the call', async t => {
  const { conn, rpcs, erpc } = setup()
  const claimed = new Set<string>()
  const id = rpcs.nextId()
  const outcome: Promise<RpcOutcome> = rpcs.open(ERL, id, 'm:f/0', {})
  erpc.call(conn, claimed, id, undefined, 'm', 'f', [], outcome)
  rpcs.failNode(ERL)
  erpc.failNode(ERL)
  t.match(await outcome.catch((e: unknown) => e), { code: 'ERR_CONNECTION_CLOSED' })
  t.equal(erpc.size, 0)
})

t.test('the group leader of erpc calls: output answered ok and logged, input refused', async t => {
  const { lines, logger } = levelLog('info')
  const runtime = new Runtime({ node: JS, creation: 3, logger: silentLogger })
  const gl = runtime.spawn(groupLeader(logger))
  const replies: unknown[] = []
  const me = runtime.spawn(async proc => {
    for (;;) replies.push(await proc.receive())
  })
  const ask = async (req: unknown): Promise<unknown> => {
    const n = replies.length
    runtime.send(gl, tuple(a('io_request'), me, a(`r${n}`), req))
    await waitUntil(() => replies.length > n, 'the io_reply')
    const r = replies[n] as Tuple
    t.equal(r[0], a('io_reply'))
    t.equal(r[1], a(`r${n}`), 'ReplyAs echoed')
    return r[2]
  }
  t.equal(await ask(tuple(a('put_chars'), a('unicode'), Buffer.from('bin\n'))), a('ok'))
  t.equal(await ask(tuple(a('put_chars'), a('unicode'), [104, [105, Buffer.from('!')]])), a('ok'), 'an iolist of code points and binaries')
  t.equal(await ask(tuple(a('put_chars'), a('unicode'), a('io_lib'), a('format'), [[104, 126, 110], []])), a('ok'))
  t.equal(await ask(tuple(a('put_chars'), a('unicode'), a('io_lib'), a('format'), ['~p~n', [1]])), a('ok'))
  t.equal(await ask(tuple(a('requests'), [tuple(a('put_chars'), a('unicode'), 'x'), tuple(a('setopts'), [])])), a('ok'))
  t.same(await ask(a('getopts')), [])
  t.same(await ask(tuple(a('get_line'), a('unicode'), 'prompt> ')), tuple(a('error'), a('enotsup')), 'input: enotsup')
  t.same(await ask(tuple(a('whatever'))), tuple(a('error'), a('request')))
  t.same(lines, [
    `io from ${JS}: bin\n`,
    `io from ${JS}: hi!`,
    `io from ${JS}: h\n`,
    `io from ${JS}: io_lib:format("~p~n", [1])`,
    `io from ${JS}: x`,
  ])
})
