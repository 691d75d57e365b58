// limits.processesPerPeer on the Erlang/OTP wire, against a real erl node: the processes its
// spawn requests, erpc and rex calls start on the JS node are counted while they live. Past
// the bound the request is answered system_limit, as a BEAM with a full process table answers
// (erlang:spawn_request gets {spawn_reply, Ref, error, system_limit}, rpc:call returns
// {badrpc, {'EXIT', system_limit}}, erpc:call raises {erpc, system_limit}); the connection
// stays. Each round fills the bound one way and ends the processes one way; the next round
// starts exactly the bound again. The native wire's side is limits-processes.test.ts.
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { warnLog } from './fixtures/raw-peer.js'
import { waitUntil } from './fixtures/mesh-helpers.js'
import { testModules } from './fixtures/peer-modules.js'
import { waitingModule } from './fixtures/waiting-module.js'
import type { Runtime } from '../lib/process/runtime.js'
import type { Node } from '../lib/node.js'

const cookie = 'limits-otp-processes'
const runtimeOf = (n: Node): Runtime => (n as unknown as { runtime: Runtime }).runtime

t.test('processes of an erl peer, bounded: system_limit past limits.processesPerPeer', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const limit = 5
  const { warns, logger } = warnLog()
  const node = await startErlangNode(t, epmd.port, {
    name: `jsp${process.pid}`,
    cookie,
    logger,
    // What erl starts here: a process that tells `to` its pid, then ends as told (an atom).
    modules: { ...testModules, w: waitingModule },
    limits: { processesPerPeer: limit },
  })
  const rt = runtimeOf(node)
  const erl = await startErl(t, { name: `ep${process.pid}`, epmdPort: epmd.port, cookie })
  let n = 0
  // X$ is a variable of this expression only (the shell's bindings outlive each expression).
  const ev = (expr: string, ms?: number): Promise<string> => erl.eval(expr.replace(/([A-Z][A-Za-z0-9_]*)\$/g, `$1_${++n}`), ms)
  await ev(`JS = '${node.name}', Self = self(), ok.`)
  t.equal(await ev(`net_adm:ping(JS).`), 'pong')
  const running = (): number => rt.processesFor(erl.node)
  const limitWarns = (): number => warns.filter(x => x.msg.includes(erl.node) && x.msg.includes('limits.processesPerPeer')).length

  /** Take the pids the new processes report to the shell (put in the process dictionary: ps). */
  const reported = () =>
    ev(`put(ps, [receive P$ when is_pid(P$) -> P$ after 5000 -> error(no_report) end || _ <- lists:seq(1, ${limit})]), ok.`)
  /** `limit` spawn requests from the shell with `opts`, each answered with a pid. */
  const bySpawnRequest = (opts: string) => async () => {
    await ev(
      `Reqs$ = [erlang:spawn_request(JS, w, wait, [Self], ${opts}) || _ <- lists:seq(1, ${limit})], ` +
        `[receive {spawn_reply, R$, ok, _} -> ok after 5000 -> error({no_reply, R$}) end || R$ <- Reqs$], put(reqs, Reqs$), ok.`,
    )
    await reported()
  }
  /** `limit` spawn requests with [link] from one erl process, which then waits for 'die'. */
  const byLinkedSpawns = async (): Promise<void> => {
    await ev(
      `Parent$ = spawn(fun() -> Rs$ = [erlang:spawn_request(JS, w, wait, [Self], [link]) || _ <- lists:seq(1, ${limit})], ` +
        `[receive {spawn_reply, R$, ok, _} -> ok end || R$ <- Rs$], Self ! linked, receive die -> exit(boom) end end), ` +
        `receive linked -> put(parent, Parent$), ok after 5000 -> error(not_linked) end.`,
    )
    await reported()
  }
  /** `limit` calls that wait, each from an erl process of its own. */
  const byCalls = (call: string) => async () => {
    await ev(`[spawn(fun() -> ${call} end) || _ <- lists:seq(1, ${limit})], ok.`)
    await reported()
  }
  const tell = (what: string) => () => ev(`[P$ ! ${what} || P$ <- get(ps)], ok.`)

  const ways: { name: string; start: () => Promise<void>; end: () => Promise<unknown> }[] = [
    { name: 'spawn_request; exit(P, stop) from erl', start: bySpawnRequest('[]'), end: () => ev(`[exit(P$, stop) || P$ <- get(ps)], ok.`) },
    { name: 'spawn_request; it returns', start: bySpawnRequest('[]'), end: tell('return') },
    {
      name: 'spawn_request with monitor; it throws (erl gets the DOWNs)',
      start: bySpawnRequest('[monitor]'),
      end: async () => {
        await tell('error')()
        t.equal(
          await ev(`length([receive {'DOWN', R$, process, _, _} -> R$ after 5000 -> error(no_down) end || R$ <- get(reqs)]).`),
          String(limit),
          'a DOWN for each',
        )
      },
    },
    {
      name: 'erpc:call; it returns',
      start: byCalls(`erpc:call(JS, w, wait, [Self])`),
      end: tell('return'),
    },
    {
      name: 'rex gen_call; exit(P, kill) from erl',
      start: byCalls(`gen_server:call({rex, JS}, {call, w, wait, [Self], user}, infinity)`),
      end: () => ev(`[exit(P$, kill) || P$ <- get(ps)], ok.`),
    },
    { name: 'spawn_request with link; the linked erl process exits', start: byLinkedSpawns, end: () => ev(`get(parent) ! die, ok.`) },
    {
      name: 'spawn_request with link; erl disconnects (noconnection)',
      start: byLinkedSpawns,
      end: async () => t.equal(await ev(`erlang:disconnect_node(JS).`), 'true'),
    },
  ]

  const refused = async (what: string, first: boolean): Promise<void> => {
    t.equal(running(), limit, `${what}: exactly the bound running`)
    t.equal(
      await ev(
        `R$ = erlang:spawn_request(JS, w, wait, [Self], []), receive {spawn_reply, R$, Res$, V$} -> {Res$, V$} after 5000 -> timeout end.`,
      ),
      '{error,system_limit}',
      'the spawn request past the bound: system_limit',
    )
    t.equal(await ev(`rpc:call(JS, r, add, [1, 2]).`), "{badrpc,{'EXIT',system_limit}}", 'rpc:call too')
    if (first) {
      t.equal(
        await ev(`try erpc:call(JS, r, add, [1, 2]) catch C$:E$ -> {C$, E$} end.`),
        '{error,{erpc,system_limit}}',
        'erpc:call raises it',
      )
      t.equal(
        await ev(`gen_server:call({rex, JS}, {call, r, add, [1, 2], user}).`),
        "{badrpc,{'EXIT',system_limit}}",
        'the rex server answers as rpc:call does',
      )
      t.equal(
        await ev(`{rex, JS} ! {self(), {call, r, add, [2, 3], user}}, receive {rex, R$} -> R$ after 5000 -> timeout end.`),
        "{badrpc,{'EXIT',system_limit}}",
      )
      t.equal(await ev(`erpc:cast(JS, w, wait, [Self]).`), 'ok', 'an erpc:cast is dropped')
      t.equal(await ev(`receive P$ when is_pid(P$) -> P$ after 300 -> none end.`), 'none', 'no process was started for it')
      // Counted as refusals by op (stats, netkernel top): the spawn request, and 5 calls
      // (rpc:call, erpc:call, the rex server twice, erpc:cast: erpc's spawn requests run
      // calls); logged at the 1st, 2nd, 4th... of each op.
      t.same(node.stats().refused[erl.node], { spawn: 1, rpc: 5 }, 'counted against the peer, by op')
      t.equal(limitWarns(), 4, 'logged naming the peer')
    }
    t.equal(running(), limit, 'refused requests start nothing')
    t.ok(node.nodes('connected').includes(erl.node), 'the connection stays')
  }

  let first = true
  for (const way of ways) {
    await way.start()
    await refused(way.name, first)
    first = false
    await way.end()
    await waitUntil(() => running() === 0, `${way.name}: every place freed`)
  }
  // After them all: exactly the bound once more, and not one more.
  await bySpawnRequest('[]')()
  await refused('after every way', false)
  await ev(`[exit(P$, kill) || P$ <- get(ps)], ok.`)
  await waitUntil(() => running() === 0, 'the last ones gone')
})
