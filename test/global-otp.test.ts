// OTP's global with a netkernel node in the cluster (erlang: true, visible): the node is
// published, global:sync() returns on every erl node, OTP nodes connect to it transitively
// (both ways), global locks and transactions on erl do not hang, and names registered on
// either side are seen, sent to and removed on the other.
import t from 'tap'
import { erlangSkip, startRealEpmd, waitFor } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { inProcess } from './fixtures/cluster.js'
import { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'

const cookie = 'global-otp-cookie'
const skip = erlangSkip('epmd', 'erl')

t.test('a visible netkernel node in an OTP cluster: sync, mesh, locks', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gjs${process.pid}`, cookie })
  const e1 = await startErl(t, { name: `ge1${process.pid}`, epmdPort: epmd.port, cookie })
  const e2 = await startErl(t, { name: `ge2${process.pid}`, epmdPort: epmd.port, cookie })
  const js = `'${node.name}'`

  // e1 connects the JS node: visible on both sides.
  t.equal(await e1.eval(`net_adm:ping(${js}).`), 'pong')
  t.match(await e1.eval(`lists:member(${js}, nodes()).`), 'true', 'the JS node is in e1 nodes() (visible)')
  await waitFor(() => node.nodes().includes(e1.node), 10_000, 'e1 visible on the JS side')
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok', 'global:sync() returns on e1')
  await node.global.sync({ timeout: 10_000 })

  // e2 connects e1 only: global connects e2 and the JS node by itself.
  t.equal(await e2.eval(`net_adm:ping('${e1.node}').`), 'pong')
  t.equal(await e2.eval(`global:sync().`, 10_000), 'ok', 'global:sync() returns on e2')
  await waitFor(() => node.nodes().includes(e2.node), 10_000, 'e2 connected to the JS node transitively')
  t.match(await e2.eval(`lists:member(${js}, nodes()).`), 'true', 'e2 sees the JS node')
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok')
  t.equal(await e2.eval(`global:sync().`, 10_000), 'ok')

  // Locks and transactions over every node, the JS one included.
  t.equal(await e1.eval(`global:set_lock({r1, self()}).`, 10_000), 'true', 'set_lock returns on e1')
  t.equal(await e1.eval(`global:del_lock({r1, self()}).`, 10_000), 'true', 'del_lock returns on e1')
  t.equal(await e2.eval(`global:trans({r2, self()}, fun() -> done end).`, 10_000), 'done', 'trans runs on e2')
  t.equal(await e2.eval(`global:set_lock({r3, self()}, [node(), ${js}], 0).`, 10_000), 'true')
  t.equal(
    await e1.eval(`global:set_lock({r3, other}, [node(), ${js}], 0).`, 10_000),
    'false',
    'a lock held is refused to another requester',
  )
  t.equal(await e2.eval(`global:del_lock({r3, self()}, [node(), ${js}]).`, 10_000), 'true')
  t.equal(await e1.eval(`global:set_lock({r3, other}, [node(), ${js}], 0).`, 10_000), 'true', 'and granted once released')
  t.equal(await e1.eval(`global:del_lock({r3, other}, [node(), ${js}]).`, 10_000), 'true')
  t.equal(node.global.sizes().locks, 0, 'no lock left on the JS node')
})

t.test('JS connects e1, and e2 joins through e1: the mesh forms the other way', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const e1 = await startErl(t, { name: `gf1${process.pid}`, epmdPort: epmd.port, cookie })
  const e2 = await startErl(t, { name: `gf2${process.pid}`, epmdPort: epmd.port, cookie })
  t.equal(await e1.eval(`net_adm:ping('${e2.node}').`), 'pong')
  t.equal(await e1.eval(`global:sync().`), 'ok')
  await e2.eval(`yes = global:register_name(on_e2, spawn(fun() -> receive never -> ok end end)).`, 10_000)
  const node = await startErlangNode(t, epmd.port, { name: `gjt${process.pid}`, cookie })
  t.equal(await node.ping(e1.node), 'pong')
  await node.global.sync({ timeout: 10_000 })
  await waitFor(() => node.nodes().includes(e2.node), 10_000, 'the JS node connected to e2 through global')
  t.equal(node.global.whereis('on_e2')?.node, e2.node, "e2's name, learnt through e1, is there after sync")
  t.equal(await e2.eval(`global:sync().`, 10_000), 'ok')
  t.match(await e2.eval(`lists:sort(nodes()).`), node.name)
})

t.test('global names between erl and netkernel', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gjn${process.pid}`, cookie })
  const e1 = await startErl(t, { name: `gn1${process.pid}`, epmdPort: epmd.port, cookie })
  const js = `'${node.name}'`
  let n = 0
  const ev = (expr: string, ms?: number): Promise<string> => {
    n++
    return e1.eval(expr.replace(/([A-Z][A-Za-z0-9_]*)\$/g, `$1_${n}`), ms)
  }
  t.equal(await ev(`net_adm:ping(${js}).`), 'pong')
  t.equal(await ev(`global:sync().`, 10_000), 'ok')
  await node.global.sync({ timeout: 10_000 })

  // erl registers: the JS node sees the erl pid, and global sends reach it.
  await ev(`Srv = spawn(fun Loop() -> receive {From, M} -> From ! {got, M}, Loop() end end).`)
  t.equal(await ev(`global:register_name(erl_srv, Srv).`, 10_000), 'yes')
  await waitFor(() => node.global.whereis('erl_srv') !== undefined, 5000, 'erl_srv seen on the JS side')
  const srv = node.global.whereis('erl_srv')!
  t.equal(srv.node, e1.node, 'whereis gives the erl pid')
  t.ok(node.global.registered().includes('erl_srv'))
  const answer = await inProcess(node, async proc => {
    node.global.send('erl_srv', tuple(proc.self, atom('hello')))
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.same(answer, tuple(atom('got'), atom('hello')), 'node.global.send reaches the erl process')

  // A name that is not an atom works too; registered() shows it as erl prints it.
  await ev(`T = spawn(fun() -> receive stop -> ok end end), yes = global:register_name({erl, 1}, T).`, 10_000)
  await waitFor(() => node.global.registered().length === 2, 5000, 'the tuple name seen')
  t.ok(node.global.registered().includes('{erl,1}'), `a tuple name as erl prints it (${node.global.registered().join(' ')})`)
  t.equal(await ev(`global:unregister_name({erl, 1}), T ! stop, ok.`, 10_000), 'ok')

  // JS registers: erl sees the JS pid, and global:send reaches it.
  let seen: unknown
  const jsPid = node.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      seen = m
      if (m instanceof Tuple && m[0] instanceof Pid) proc.send(m[0], tuple(atom('js_got'), m[1]))
    }
  })
  t.equal(await node.global.register('js_srv', jsPid), true, 'register resolves true')
  t.equal(
    await node.global.register(
      'js_srv',
      node.spawn(async p => void (await p.receive())),
    ),
    false,
    'a taken name is refused',
  )
  t.equal(await ev(`node(global:whereis_name(js_srv)).`), node.name)
  t.equal(
    await ev(`global:send(js_srv, {self(), ping}), receive {js_got, P$} -> P$ after 5000 -> timeout end.`),
    'ping',
    'global:send erl → JS',
  )
  t.ok(seen instanceof Tuple)
  t.throws(() => node.global.send('nobody', 1), { code: 'ERR_GLOBAL_NOT_REGISTERED' })

  // erl and JS register the same names at the same time: one wins each, and both agree.
  const jsWon: string[] = []
  for (let i = 0; i < 5; i++) {
    const name = `race${i}`
    const mine = node.spawn(async proc => void (await proc.receive(m => m === 'never')))
    const [erlSays, jsSays] = await Promise.all([
      ev(`R$ = spawn(fun() -> receive never -> ok end end), global:register_name(${name}, R$).`, 20_000),
      node.global.register(name, mine, { timeout: 20_000 }),
    ])
    t.equal([erlSays === 'yes', jsSays].filter(x => x).length, 1, `${name}: exactly one registration wins (erl ${erlSays}, JS ${jsSays})`)
    const owner = node.global.whereis(name)
    if (owner?.node === node.name) jsWon.push(name)
    t.equal(await ev(`node(global:whereis_name(${name})).`), owner?.node, `${name}: both replicas name the same owner`)
  }

  // 100 registrations and unregistrations, each side registering in turn and the other side
  // unregistering: no name, lock or monitor left behind on either side.
  const before = node.global.sizes()
  const erlCounts = (): Promise<string> => ev(`{length(global:registered_names()), length(ets:tab2list(global_locks))}.`)
  // The races above may still be releasing a loser's lock on erl's side (a CI run sampled
  // {7,1} here and {7,0} after): start from erl's table with no lock held.
  await waitFor(async () => (await erlCounts()).endsWith(',0}'), 10_000, "erl's lock table settled after the races")
  const erlBefore = await erlCounts()
  for (let i = 0; i < 100; i++) {
    const name = `loop${i}`
    if (i % 2 === 0) {
      const p = node.spawn(async proc => void (await proc.receive(m => m === 'never')))
      t.equal(await node.global.register(name, p), true)
      t.equal(await ev(`global:unregister_name(${name}).`, 10_000), 'ok')
      node.exit(p, 'kill')
    } else {
      t.equal(await ev(`Lp${i} = spawn(fun() -> receive never -> ok end end), global:register_name(${name}, Lp${i}).`, 10_000), 'yes')
      await node.global.unregister(name)
      await ev(`exit(Lp${i}, kill).`)
    }
  }
  await waitFor(() => node.global.sizes().names === before.names, 5000, 'the JS replica back to its names')
  t.same(node.global.sizes(), before, 'JS: names, locks, holders, monitors and known nodes back to their sizes')
  // The last unregistration's lock is released after its reply: wait for the table, then compare.
  await waitFor(async () => (await erlCounts()) === erlBefore, 10_000, "erl's names and locks back").catch(() => {})
  t.equal(await erlCounts(), erlBefore, 'erl: names and locks back')

  // Unregister from JS: erl's replica loses it.
  await node.global.unregister('js_srv')
  t.equal(node.global.whereis('js_srv'), undefined)
  t.equal(await ev(`global:whereis_name(js_srv).`), 'undefined', 'erl sees the name go')

  // A JS process that exits loses its name everywhere.
  const shortLived = node.spawn(async proc => void (await proc.receive()))
  t.equal(await node.global.register('short', shortLived), true)
  t.equal(await ev(`node(global:whereis_name(short)).`), node.name)
  node.send(shortLived, 'stop')
  await waitFor(async () => (await ev(`global:whereis_name(short).`)) === 'undefined', 5000, 'erl sees the name of an exited process go')
  t.equal(node.global.whereis('short'), undefined)

  // erl unregisters: the JS replica loses it.
  t.equal(await ev(`global:unregister_name(erl_srv).`, 10_000), 'ok')
  await waitFor(() => node.global.whereis('erl_srv') === undefined, 5000, 'erl_srv gone on the JS side')

  // A name of a node that goes down goes with it.
  await ev(`Srv2 = spawn(fun() -> receive stop -> ok end end), yes = global:register_name(erl_doomed, Srv2).`, 10_000)
  await waitFor(() => node.global.whereis('erl_doomed') !== undefined, 5000, 'erl_doomed seen')
  await e1.kill()
  await waitFor(() => node.global.whereis('erl_doomed') === undefined, 10_000, 'the name of a dead node is removed')
  t.same(node.global.registered().sort(), jsWon.sort(), 'only the names of JS processes are left')
})

t.test('names of a stopped JS node vanish on erl', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gjs2${process.pid}`, cookie })
  const e1 = await startErl(t, { name: `gs1${process.pid}`, epmdPort: epmd.port, cookie })
  t.equal(await e1.eval(`net_adm:ping('${node.name}').`), 'pong')
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok')
  const pid = node.spawn(async proc => void (await proc.receive()))
  t.equal(await node.global.register('js_gone', pid), true)
  t.equal(await e1.eval(`node(global:whereis_name(js_gone)).`), node.name)
  await node.stop()
  await waitFor(async () => (await e1.eval(`global:whereis_name(js_gone).`)) === 'undefined', 10_000, 'the name goes with its node')
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok', 'and global:sync() still returns')
})

t.test('a hidden node (erlang: true, hidden: true) has no global traffic', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gjh${process.pid}`, cookie, hidden: true })
  const e1 = await startErl(t, { name: `gh1${process.pid}`, epmdPort: epmd.port, cookie })
  t.equal(await e1.eval(`net_adm:ping('${node.name}').`), 'pong')
  t.equal(await e1.eval(`{lists:member('${node.name}', nodes()), lists:member('${node.name}', nodes(hidden))}.`), '{false,true}')
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok')
  t.equal(node.whereis('global_name_server'), undefined, 'no global name server on a hidden node')
  t.same(node.global.known(), [])
})

t.test('two clusters merge with a name on both sides: the resolve method runs', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gm${process.pid}`, cookie })
  // ea's name sorts before the JS node's (ea resolves, OTP's code); ez's after (we resolve).
  const ea = await startErl(t, { name: `a${process.pid}`, epmdPort: epmd.port, cookie })
  const ez = await startErl(t, { name: `z${process.pid}`, epmdPort: epmd.port, cookie })
  const idle = (): Pid => node.spawn(async proc => void (await proc.receive(m => m === 'never')))
  const told: unknown[] = []
  const listener = (): Pid =>
    node.spawn(async proc => {
      for (;;) told.push(await proc.receive())
    })

  // JS side: dup_a, dup_z (default random_exit) and note_a (random_notify).
  const ja = idle()
  const jz = idle()
  const jn = listener()
  t.equal(await node.global.register('dup_a', ja), true)
  t.equal(await node.global.register('dup_z', jz), true)
  t.equal(await node.global.register('note_a', jn, { resolve: 'random_notify' }), true)
  // erl side, each on its own node, not connected to anything yet.
  await ea.eval(`A = spawn(fun() -> receive never -> ok end end), yes = global:register_name(dup_a, A).`)
  await ea.eval(
    `N = spawn(fun() -> receive M -> io:format("~p~n", [M]) end end), yes = global:register_name(note_a, N, fun global:random_notify_name/3).`,
  )
  await ez.eval(`Z = spawn(fun() -> receive never -> ok end end), yes = global:register_name(dup_z, Z).`)

  t.equal(await ea.eval(`net_adm:ping('${node.name}').`), 'pong')
  t.equal(await ea.eval(`global:sync().`, 10_000), 'ok')
  await node.global.sync({ timeout: 10_000 })
  // ea resolved (its node sorts first): random_exit keeps the pid of the smaller node, ea's,
  // and kills ours; random_notify keeps ea's and tells ours.
  t.equal(await ea.eval(`global:whereis_name(dup_a) =:= A.`), 'true', 'dup_a: the process on the smaller node (erl) wins')
  t.same(node.global.whereis('dup_a')?.node, ea.node, 'and the JS replica agrees')
  await waitFor(() => !isAlive(node, ja), 5000, 'the JS loser of dup_a is killed')
  t.equal(await ea.eval(`global:whereis_name(note_a) =:= N.`), 'true')
  await waitFor(
    () => told.some(m => m instanceof Tuple && m.length === 2 && m[1] === atom('note_a')),
    5000,
    'the JS loser of note_a is told',
  )
  t.ok(isAlive(node, jn), 'random_notify does not kill')

  // ez joins: we resolve (our node sorts first): the JS pid wins dup_z; we kill ez's.
  t.equal(await ez.eval(`net_adm:ping('${node.name}').`), 'pong')
  t.equal(await ez.eval(`global:sync().`, 10_000), 'ok')
  await node.global.sync({ timeout: 10_000 })
  t.same(node.global.whereis('dup_z'), jz, 'dup_z: the process on the smaller node (JS) wins')
  await waitFor(async () => (await ez.eval(`is_process_alive(Z).`)) === 'false', 5000, 'the erl loser of dup_z is killed')
  t.equal(await ez.eval(`node(global:whereis_name(dup_z)).`), node.name, 'and ez agrees')
})

function isAlive(node: { spawn: unknown }, pid: Pid): boolean {
  return (node as unknown as { runtime: { isAlive(p: Pid): boolean } }).runtime.isAlive(pid)
}

t.test('a lost connection: global prevents overlapping partitions, as between BEAM nodes', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gpop${process.pid}`, cookie })
  const e1 = await startErl(t, { name: `gp1${process.pid}`, epmdPort: epmd.port, cookie })
  const e2 = await startErl(t, { name: `gp2${process.pid}`, epmdPort: epmd.port, cookie })
  t.equal(await e1.eval(`net_adm:ping('${e2.node}').`), 'pong')
  t.equal(await e1.eval(`net_adm:ping('${node.name}').`), 'pong')
  t.equal(await e2.eval(`global:sync().`, 10_000), 'ok')
  await waitFor(() => node.nodes().length === 2, 10_000, 'the JS node meets e2')
  await node.global.sync({ timeout: 10_000 })

  // We drop e1: we tell e2 ({lost_connection, …}), which disconnects e1 ("requested
  // disconnect"), as a BEAM node's global would. (e1, having lost us, tells e2 too; whether
  // that reaches e2 before e2 drops e1 is a race, as between BEAM nodes.)
  t.ok(node.disconnect(e1.node))
  await waitFor(async () => (await e2.eval(`lists:member('${e1.node}', nodes()).`)) === 'false', 10_000, 'e2 drops e1')
  await e2.waitOutput(
    new RegExp(`'global' at node \\S+ requested disconnect from node '?${e1.node}'? in order to prevent overlapping partitions`),
  )
  t.notOk(node.global.known().includes(e1.node), 'the JS node forgot e1')
  // Reconnecting heals it: global meets again, and sync returns everywhere.
  t.equal(await node.ping(e1.node), 'pong')
  t.equal(await node.ping(e2.node), 'pong')
  await node.global.sync({ timeout: 10_000 })
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok')
  await waitFor(async () => (await e1.eval(`lists:member('${e2.node}', nodes()).`)) === 'true', 10_000, 'the mesh is whole again')
})

t.test('a node whose global name server is gone is hidden toward OTP peers connecting after', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `gk${process.pid}`, cookie })
  t.ok(node.global.running)
  node.exit(node.whereis('global_name_server')!, 'kill')
  await waitFor(() => !node.global.running, 5000, 'the server is gone')
  const e1 = await startErl(t, { name: `gk1${process.pid}`, epmdPort: epmd.port, cookie })
  t.equal(await e1.eval(`net_adm:ping('${node.name}').`), 'pong')
  t.equal(await e1.eval(`{lists:member('${node.name}', nodes()), lists:member('${node.name}', nodes(hidden))}.`), '{false,true}')
  t.equal(await e1.eval(`global:sync().`, 10_000), 'ok', 'global:sync() does not wait for it')
})
