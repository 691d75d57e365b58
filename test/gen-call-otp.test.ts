// gen_server calls and casts between a netkernel node (erlang: true) and a REAL erl node, both
// ways. JavaScript calls an Erlang gen_server (compiled from source with erlc): the reply, a
// cast before a call, an unknown name ('noproc'), a server that crashes during the call (its
// reason), no reply in time (ERR_CALL_TIMEOUT, and gen_server:reply's late answer dropped),
// the erl node killed during a call ('noconnection'). Erlang calls a JavaScript process that
// answers with proc.reply: gen_server:call and cast, send_request/wait_response (OTP 24+'s
// `[alias | Ref]` tags), a call from inside a gen_server, and a call to a name nobody has.
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Node } from '../lib/node.js'
import { CallError, type NetkernelError } from '../lib/errors.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { asCall, asCast } from '../lib/process/gen-call.js'
import { erlangSkip, need, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode, type Erl } from './fixtures/erl.js'
import { inProcess } from './fixtures/cluster.js'

const skip = erlangSkip('epmd', 'erl')
const run = promisify(execFile)

const rejection = (p: Promise<unknown>): Promise<any> =>
  p.then(
    v => new Error(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  )

/** A counter gen_server, registered as `counter`. */
const COUNTER = `
-module(nk_counter).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2]).
start() -> gen_server:start({local, counter}, ?MODULE, 0, []).
init(N) -> {ok, N}.
handle_call({add, K}, _From, N) -> {reply, N + K, N + K};
handle_call(get, _From, N) -> {reply, N, N};
handle_call({late, Ms}, From, N) ->
    spawn(fun() -> timer:sleep(Ms), gen_server:reply(From, late) end),
    {noreply, N};
handle_call({late, Ms, Then}, {Caller, _} = From, N) ->
    spawn(fun() -> timer:sleep(Ms), gen_server:reply(From, late), Caller ! Then end),
    {noreply, N};
handle_call(crash, _From, _N) -> exit(boom);
handle_call({call, Dest, Req}, _From, N) -> {reply, gen_server:call(Dest, Req), N}.
handle_cast({set, K}, _N) -> {noreply, K}.
`

async function setup(t: Test): Promise<{ js: Node; erl: Erl }> {
  const dir = mkdtempSync(join(tmpdir(), 'nk-gencall-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'nk_counter.erl'), COUNTER)
  await run(need('erlc'), ['-o', dir, join(dir, 'nk_counter.erl')], { timeout: 30_000 })
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const js = await startErlangNode(t, epmd.port, { name: `jsg${process.pid}`, cookie: 'gen-cookie' })
  const erl = await startErl(t, { name: `eg${process.pid}`, epmdPort: epmd.port, cookie: 'gen-cookie', args: ['-pa', dir] })
  await erl.eval(`JS = '${js.name}'.`)
  t.match(await erl.eval(`nk_counter:start().`), /^\{ok,<[\d.]+>\}$/)
  return { js, erl }
}

t.test('JavaScript calls an Erlang gen_server', { skip }, async t => {
  const { js, erl } = await setup(t)
  const counter: [string, string] = ['counter', erl.node]
  t.equal(await js.call(counter, tuple(atom('add'), 40)), 40, 'node.call: the reply')
  t.equal(await inProcess(js, proc => proc.call(counter, tuple(atom('add'), 2))), 42, 'proc.call')
  js.cast(counter, tuple(atom('set'), 7))
  t.equal(await js.call(counter, atom('get')), 7, 'a cast, then a call')

  const nobody = (await rejection(js.call(['nobody', erl.node], atom('get')))) as CallError
  t.ok(nobody instanceof CallError, 'a name nobody has on erl')
  t.equal(nobody.reason, 'noproc')

  const crash = (await rejection(js.call(counter, atom('crash')))) as CallError
  t.equal(crash.reason, 'boom', 'the server crashed during the call: its exit reason')
  t.match(await erl.eval(`nk_counter:start().`), /^\{ok,/, 'restarted')

  await inProcess(js, async proc => {
    const e = (await rejection(proc.call(counter, tuple(atom('late'), 300, 'after'), { timeout: 100 }))) as NetkernelError
    t.equal(e.code, 'ERR_CALL_TIMEOUT', 'no reply within 100 ms')
    t.match(e.message, /no reply within 100 ms/)
    // gen_server:reply answers 200 ms later, and the same process then sends 'after'.
    t.same(await proc.receive(undefined, { timeout: 5000 }), Buffer.from('after'), 'the late reply was dropped')
  })
  t.equal(await js.call(counter, atom('get')), 0, 'the server still answers')

  const pending = rejection(js.call(counter, tuple(atom('late'), 60_000), { timeout: 30_000 }))
  await new Promise(r => setTimeout(r, 100))
  await erl.kill()
  const lost = (await pending) as CallError
  t.ok(lost instanceof CallError, 'erl was killed during the call')
  t.equal(lost.reason, 'noconnection')
})

t.test('Erlang calls a JavaScript process', { skip }, async t => {
  const { js, erl } = await setup(t)
  let total = 0
  js.spawn(async proc => {
    proc.register('calc')
    for (;;) {
      const m = await proc.receive()
      const call = asCall(m)
      if (call !== undefined) {
        const req = call.request
        if (Array.isArray(req) && req[0] === atom('add')) proc.reply(call.from, (total += req[1] as number))
        else proc.reply(call.from, tuple(atom('error'), atom('unknown')))
        continue
      }
      const cast = asCast(m)
      if (cast !== undefined) total = (cast.request as unknown[])[1] as number
    }
  })
  t.equal(await erl.eval(`gen_server:call({calc, JS}, {add, 40}).`), '40', 'gen_server:call')
  t.equal(await erl.eval(`gen_server:cast({calc, JS}, {set, 1}), gen_server:call({calc, JS}, {add, 1}).`), '2', 'cast, then call')
  t.equal(
    await erl.eval(`R = gen_server:send_request({calc, JS}, {add, 3}), gen_server:wait_response(R, 5000).`),
    '{reply,5}',
    'send_request / wait_response',
  )
  t.equal(await erl.eval(`gen_server:call({calc, JS}, other).`), '{error,unknown}')
  t.equal(await erl.eval(`gen_server:call(counter, {call, {calc, JS}, {add, 10}}).`), '15', 'from inside a gen_server')
  t.match(
    await erl.eval(`catch gen_server:call({nobody, JS}, x).`),
    /^\{'EXIT',\{noproc,\{gen_server,call,/,
    'a name nobody has here: noproc',
  )
  t.equal(total, 15, 'every add reached the one process')
})

// OTP 24+ gen:call waits through an alias and deactivates it when it gives up, so a reply that
// comes later is dropped; the reply must go to the alias (ALIAS_SEND), not to the caller's pid,
// where it would stay in the caller's mailbox.
t.test("a late reply to Erlang's gen_server:call is dropped, as OTP drops its own", { skip }, async t => {
  const { js, erl } = await setup(t)
  js.spawn(async proc => {
    proc.register('slow')
    for (;;) {
      const call = asCall(await proc.receive())
      if (call === undefined) continue
      const [delay, value] = call.request as [number, unknown]
      if (delay > 0) await new Promise(r => setTimeout(r, delay))
      proc.reply(call.from, value)
    }
  })
  t.equal(await erl.eval(`gen_server:call({slow, JS}, {0, on_time}).`), 'on_time', 'a reply in time arrives')
  t.match(
    await erl.eval(`catch gen_server:call({slow, JS}, {300, late}, 100).`),
    /^\{'EXIT',\{timeout,/,
    'the caller gives up after 100 ms',
  )
  t.equal(await erl.eval(`gen_server:call({slow, JS}, {600, after_it}).`), 'after_it', 'a later call, waiting past the late reply')
  t.equal(await erl.eval(`element(2, process_info(self(), message_queue_len)).`), '0', "the late reply is not in the caller's mailbox")
})
