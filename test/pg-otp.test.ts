// node.pg beside a real erl node running OTP's pg (-kernel start_pg true): the netkernel node
// (erlang: true, hidden toward OTP with global: false) discovers erl's scope on connecting, and both sides see
// each other's members; leave both ways; a JS member's exit and the erl node's death drop the
// members; messages erl sends to each member reach JS members; group send from JS reaches erl
// members; a named scope besides the default; groups that are not atoms.
import t from 'tap'
import { erlangSkip, startRealEpmd, waitFor } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { atom, Atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'

const cookie = 'pg-otp-cookie'

t.test('pg between netkernel and OTP 25', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  // global: false: hidden toward OTP, whose scopes then never discover this node themselves.
  const node = await startErlangNode(t, epmd.port, { name: `pgjs${process.pid}`, cookie, global: false })
  const erl = await startErl(t, { name: `pge${process.pid}`, epmdPort: epmd.port, cookie, args: ['-kernel', 'start_pg', 'true'] })
  const ev = (expr: string): Promise<string> => erl.eval(expr)
  const onErl = (n: Node): Pid[] => n.pg.members('g').filter(p => p.node === erl.node)
  // A JS process keeping what it receives.
  const got: unknown[] = []
  const jp = node.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })

  // The chat scope on erl before we connect: our scope's discover finds it.
  t.match(await ev(`{ok, _} = pg:start(chat), ok.`), 'ok')
  t.equal(await node.ping(erl.node), 'pong')
  t.ok(node.nodes('hidden').includes(erl.node), 'the node is hidden toward OTP')
  node.pg.startScope('chat')

  await t.test('pg:join on erl → node.pg.members on JS', async t => {
    t.equal(await ev(`pg:join(g, self()).`), 'ok')
    await waitFor(() => onErl(node).length === 1, 10_000, 'the erl member')
    t.equal(node.pg.members('g').length, 1)
    t.same(node.pg.localMembers('g'), [], 'not a local member')
    t.same(node.pg.whichGroups(), ['g'], 'the atom group shows as its name')
  })

  await t.test('node.pg.join on JS → pg:get_members on erl', async t => {
    node.pg.join('g', jp)
    await waitFor(async () => (await ev(`length(pg:get_members(g)).`)) === '2', 10_000, 'erl sees two members')
    t.equal(await ev(`lists:sort([node(P) || P <- pg:get_members(g)]) =:= lists:sort([node(), '${node.name}']).`), 'true')
    t.equal(await ev(`[node(P) || P <- pg:get_local_members(g)] =:= [node()].`), 'true')
  })

  await t.test('erl sends to each member: the JS member receives', async t => {
    await ev(`[P ! {hello, node()} || P <- pg:get_members(g), node(P) =/= node()], ok.`)
    await waitFor(() => got.length > 0, 5000, 'the message')
    t.ok(got[0] instanceof Tuple && got[0][0] === atom('hello'))
  })

  await t.test('node.pg.send reaches the erl member (one message per OTP member)', async t => {
    t.equal(node.pg.send('g', tuple(atom('hi'), 42)), 2, 'two members: one here, one on erl')
    t.equal(await ev(`receive {hi, X} -> X after 5000 -> timeout end.`), '42')
    await waitFor(() => got.length === 2, 5000, 'the local member too')
  })

  await t.test('leave both ways', async t => {
    t.equal(await ev(`pg:leave(g, self()).`), 'ok')
    await waitFor(() => onErl(node).length === 0, 10_000, 'erl’s member gone')
    t.same(node.pg.members('g'), [jp])
    t.equal(node.pg.leave('g', jp), 'ok')
    await waitFor(async () => (await ev(`pg:get_members(g).`)) === '[]', 10_000, 'erl sees none')
    t.same(node.pg.whichGroups(), [])
  })

  await t.test('a JS member that exits is gone on erl', async t => {
    const q = node.spawn(async proc => void (await proc.receive()))
    node.pg.join('g', [q, q])
    await waitFor(async () => (await ev(`length(pg:get_members(g)).`)) === '2', 10_000, 'q twice on erl')
    node.exit(q, 'kill')
    await waitFor(async () => (await ev(`pg:get_members(g).`)) === '[]', 10_000, 'q gone on erl')
    t.pass('q left both memberships')
  })

  await t.test('a named scope besides the default', async t => {
    t.equal(await ev(`pg:join(chat, room, self()).`), 'ok')
    await waitFor(() => node.pg.members('room', { scope: 'chat' }).length === 1, 10_000, 'the chat member')
    t.same(node.pg.members('room'), [], 'not in the default scope')
    node.pg.join('room', jp, { scope: 'chat' })
    await waitFor(async () => (await ev(`length(pg:get_members(chat, room)).`)) === '2', 10_000, 'erl sees ours')
    t.equal(await ev(`pg:get_members(pg, room).`), '[]')
  })

  await t.test('a scope erl starts after the connection: startScope discovers again', async t => {
    node.pg.startScope('late')
    // A call over the same connection: its answer means our discover, sent before it, has
    // reached erl, where no scope 'late' ran yet to take it.
    await node.rpc(erl.node, 'erlang', 'node', [])
    t.match(await ev(`{ok, _} = pg:start(late), pg:join(late, g, self()).`), 'ok')
    await new Promise(r => setTimeout(r, 200))
    t.same(node.pg.members('g', { scope: 'late' }), [], 'OTP’s new scope does not discover a hidden node')
    node.pg.startScope('late')
    await waitFor(() => node.pg.members('g', { scope: 'late' }).length === 1, 10_000, 'met after a second startScope')
  })

  await t.test('a group that is not an atom', async t => {
    await ev(`pg:join({room, <<"x">>}, self()).`)
    const group = tuple(atom('room'), Buffer.from('x'))
    await waitFor(() => node.pg.members(group).length === 1, 10_000, 'the tuple group')
    const groups = node.pg.whichGroups()
    t.equal(groups.length, 1)
    t.ok(groups[0] instanceof Tuple && (groups[0] as Tuple)[0] instanceof Atom, 'shown as the term it is')
    node.pg.join(group, jp)
    await waitFor(async () => (await ev(`length(pg:get_members({room, <<"x">>})).`)) === '2', 10_000, 'erl sees ours')
  })

  await t.test('malformed pg messages from erl are dropped and counted', async t => {
    t.equal(node.pg.dropped, 0, 'nothing OTP’s own pg sent was dropped')
    const js = `{pg, '${node.name}'}`
    // Four malformed (not a pid, an improper list, groups not a list, not pg's), and a join
    // well formed but from a process that is no peer scope: ignored, as OTP's pg ignores it.
    await ev(`${js} ! {join, self(), g, [not_a_pid]}, ${js} ! {join, self(), g, [spawn(fun() -> ok end)]}, ok.`)
    await ev(`${js} ! {'$gen_cast', {sync, self(), [{g, [self()]} | bad]}}, ${js} ! {leave, self(), self(), g}, ${js} ! hello, ok.`)
    await waitFor(() => node.pg.dropped >= 4, 5000, 'four drops')
    await new Promise(r => setTimeout(r, 100))
    t.equal(node.pg.dropped, 4, 'exactly the four malformed ones')
    t.equal(node.pg.members('g').filter(p => p.node === erl.node).length, 0, 'nothing joined')
    t.equal(await node.ping(erl.node), 'pong', 'the connection is up')
  })

  await t.test('the erl node dies: its members go', async t => {
    const group = tuple(atom('room'), Buffer.from('x'))
    t.equal(node.pg.members(group).filter(p => p.node === erl.node).length, 1, 'erl has a member before')
    await erl.kill()
    await waitFor(() => node.pg.members(group).length === 1, 10_000, 'erl’s members gone')
    t.same(node.pg.members(group), [jp])
    t.same(node.pg.members('room', { scope: 'chat' }), [jp])
    t.equal(node.pg.dropped, 4, 'nothing more dropped')
  })
})

t.test('a visible node: OTP scopes discover it themselves, even one started later', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `pgvjs${process.pid}`, cookie })
  const erl = await startErl(t, { name: `pgve${process.pid}`, epmdPort: epmd.port, cookie, args: ['-kernel', 'start_pg', 'true'] })
  const jp = node.spawn(async proc => {
    await proc.receive(m => m === 'stop')
  })
  node.pg.startScope('later')
  t.equal(await node.ping(erl.node), 'pong')
  t.ok(node.nodes('visible').includes(erl.node), 'the node is visible toward OTP')
  t.equal(await erl.eval(`lists:member('${node.name}', nodes()).`), 'true', "in erl's nodes()")

  // Both sides discover each other at once (ours and OTP's discover cross): each member once.
  t.equal(await erl.eval(`pg:join(g, self()).`), 'ok')
  node.pg.join('g', jp)
  await waitFor(() => node.pg.members('g').length === 2, 10_000, 'the erl member')
  await waitFor(async () => (await erl.eval(`length(pg:get_members(g)).`)) === '2', 10_000, 'erl sees ours')

  // A scope erl starts after the connection finds this node without any help from us.
  t.match(await erl.eval(`{ok, _} = pg:start(later), pg:join(later, h, self()).`), 'ok')
  await waitFor(() => node.pg.members('h', { scope: 'later' }).length === 1, 10_000, 'met by OTP’s own discover')
  node.pg.join('h', jp, { scope: 'later' })
  await waitFor(async () => (await erl.eval(`length(pg:get_members(later, h)).`)) === '2', 10_000, 'erl sees ours in later')
  t.equal(node.pg.dropped, 0, 'nothing OTP’s pg sent was dropped')
  node.send(jp, 'stop')
  await waitFor(async () => (await erl.eval(`length(pg:get_members(g)).`)) === '1', 10_000, 'the JS member’s exit seen on erl')
})
