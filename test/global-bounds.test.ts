// Hostile input to the global name server: malformed messages from a peer are ignored and
// counted, the server keeps serving; the tables' bounds per node (names, lock holders); the
// helpers that read OTP's terms (resolve methods as export funs, term keys, pid order).
import t from 'tap'
import fc from 'fast-check'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../lib/terms/otp-terms.js'
import { GlobalTables } from '../lib/global/global-tables.js'
import { comparePids, exposeName, isTrue, methodOf, methodTerm, sameTerm, termKey } from '../lib/global/global-terms.js'
import { resolveConflict } from '../lib/global/global-resolve.js'
import { silentLogger } from '../lib/logger.js'
import { createCodec } from '../lib/terms/codec.js'

t.test('malformed messages from a peer are ignored and counted; the server keeps working', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: `ba${process.pid}` })
  const b = await testNode(t, epmd, { name: `bb${process.pid}` })
  t.equal(await a.ping(b.name), 'pong')
  await a.global.sync({ timeout: 10_000 })
  const to = ['global_name_server', a.name] as [string, string]
  const gc = atom('$gen_cast')
  const junk: unknown[] = [
    'a string',
    42,
    tuple(),
    tuple(gc, 'not a tuple'),
    tuple(gc, tuple(atom('init_connect'), 8, atom(b.name), 'x')),
    tuple(gc, tuple(atom('init_connect'), tuple(8, 1), atom('nobody@nowhere'), tuple(atom('locker'), 1, new Map(), 2))),
    tuple(gc, tuple(atom('exchange'), atom(b.name), 'not a list', [], 1)),
    tuple(gc, tuple(atom('exchange'), atom(b.name), new Array(100_000).fill(1), [], 1)),
    tuple(gc, tuple(atom('new_nodes'), atom('stranger@x'), [], [], [atom('evil@x')], [])),
    tuple(gc, tuple(atom('lost_connection'), 'a', 1, 'x', 'b')),
    tuple(atom('$gen_call'), 'no from', atom('get_known')),
    tuple(atom('$gen_call'), tuple(1, 2), tuple(atom('set_lock'))),
    tuple(atom('init_connect_ack'), 'x', 1, 2),
    tuple(atom('unknown_thing')),
  ]
  await inProcess(b, async proc => {
    for (const m of junk) proc.send(to, m)
  })
  await waitFor(() => [...a.global.ignored().values()].reduce((x, y) => x + y, 0) >= 10, 5000, 'junk counted')
  t.notOk(a.global.known().includes('evil@x'), 'a stranger cannot add nodes')
  const pid = b.spawn(async proc => void (await proc.receive()))
  t.equal(await b.global.register('after_junk', pid), true, 'the server still serves')
  t.same(a.global.whereis('after_junk'), pid)
  // A get_known call from the peer is answered. Before it, the casts OTP's global ignores
  // ({async_del_lock, ResourceId, Pid}, {async_del_name, Name, Pid}) are ignored, not counted.
  const castsIgnored = a.global.ignored().get('cast') ?? 0
  const known = await inProcess(b, async proc => {
    proc.send(to, tuple(gc, tuple(atom('async_del_lock'), tuple(atom('res'), 1), proc.self)))
    proc.send(to, tuple(gc, tuple(atom('async_del_name'), atom('n'), proc.self)))
    const tag = proc.makeRef()
    proc.send(to, tuple(atom('$gen_call'), tuple(proc.self, tag), atom('get_known')))
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.match(String(known), b.name, 'get_known lists the peer')
  t.equal(a.global.ignored().get('cast') ?? 0, castsIgnored, 'async_del_lock and async_del_name are not malformed')

  // Holding the global lock, the peer registers a process of a node nobody knows: refused.
  const ghost = new Pid('ghost@nowhere', 1, 0, 1)
  const replies = await inProcess(b, async proc => {
    const call = async (req: unknown): Promise<unknown> => {
      const tag = proc.makeRef()
      proc.send(to, tuple(atom('$gen_call'), tuple(proc.self, tag), req))
      return proc.receive(undefined, { timeout: 5000 })
    }
    const id = tuple(atom('global'), proc.self)
    return [
      await call(tuple(atom('set_lock'), id)),
      await call(tuple(atom('register'), atom('ghostly'), ghost, atom('random_exit_name'))),
      await call(tuple(atom('register'), atom('real'), proc.self, atom('random_exit_name'))),
      await call(tuple(atom('del_lock'), id)),
    ]
  })
  t.equal(replies.length, 4)
  t.equal(a.global.whereis('ghostly'), undefined, 'a process of an unknown node is not registered')
  t.ok((a.global.ignored().get('name of an unknown node') ?? 0) >= 1, 'and counted')
  t.equal(a.global.whereis('real')?.node, b.name, 'a process of the peer is')
  t.equal(a.global.sizes().locks, 0, 'the lock is released')
})

t.test('the tables: per-node bounds, monitors released', async t => {
  let monitors = 0
  const mk = (): Ref => new Ref('x@h', ++monitors, 1)
  const live = new Set<string>()
  const tables = new GlobalTables(
    () => {
      const r = mk()
      live.add(r.toString())
      return r
    },
    r => void live.delete(r.toString()),
    { maxNamesPerNode: 2, maxLocksPerNode: 2 },
  )
  const p = (n: number, node = 'peer@h'): Pid => new Pid(node, n, 0, 1)
  t.ok(tables.insertName(atom('a'), p(1), atom('m')))
  t.ok(tables.insertName(atom('b'), p(2), atom('m')))
  t.notOk(tables.insertName(atom('c'), p(3), atom('m')), 'a third name of one node is refused')
  t.ok(tables.insertName(atom('c'), p(3, 'other@h'), atom('m')), 'another node has its own bound')
  t.ok(tables.hasName(p(1)))
  t.ok(tables.setLock(tuple(atom('r'), 1), p(1)))
  t.ok(tables.setLock(tuple(atom('r'), 1), p(1)), 'the same holder twice is one hold')
  t.notOk(tables.setLock(tuple(atom('r'), 2), p(2)), 'another requester is refused')
  t.ok(tables.setLock(tuple(atom('s'), 1), p(2)))
  t.notOk(tables.setLock(tuple(atom('t'), 1), p(3)), 'a third lock holder of one node is refused')
  t.notOk(tables.setLock('not a tuple', p(3)))
  t.equal(tables.canSetLock(tuple(atom('r'), 1)) !== false, true)
  // A DOWN removes what it watched; deletes release monitors.
  const e = tables.whereis(atom('a'))!
  t.ok(tables.down(e.ref))
  t.equal(tables.whereis(atom('a')), undefined)
  t.notOk(tables.down(e.ref), 'a second DOWN is nothing')
  const lock = tables.lockRequester(atom('r'))!
  const [holder] = [...lock.holders.values()]
  t.ok(tables.down(holder!.ref))
  t.equal(tables.isLockSet(atom('r')), false)
  tables.delLock(tuple(atom('s'), 1), p(2))
  tables.deleteName(atom('b'))
  tables.deleteName(atom('c'))
  t.same(tables.sizes(), { names: 0, locks: 0, holders: 0, monitors: 0 })
  t.equal(live.size, 0, 'every monitor released')
})

/** A name table, and a pid of each of two other nodes to register names for. */
function twoNodesTables(): { tables: GlobalTables; ours: Pid; theirs: Pid } {
  let n = 0
  const tables = new GlobalTables(
    () => new Ref('x@h', ++n, 1),
    () => {},
  )
  return { tables, ours: new Pid('erl1@h', 1, 0, 1), theirs: new Pid('erl2@h', 1, 0, 1) }
}

t.test('names that once shared a key are two names', async t => {
  const { tables, ours, theirs } = twoNodesTables()
  // {a, ab} and {'a,aab'} were both `{aa,aab}`: the second registration replaced the first.
  t.ok(tables.insertName(tuple(atom('a'), atom('ab')), ours, atom('m')))
  t.ok(tables.insertName(tuple(atom('a,aab')), theirs, atom('m')))
  t.same(tables.whereis(tuple(atom('a'), atom('ab')))?.pid, ours)
  t.same(tables.whereis(tuple(atom('a,aab')))?.pid, theirs)
  // A node name that ends like a pid's numbers, inside a tuple.
  t.not(termKey(tuple(new Pid('n@h', 1, 2, 3), 4)), termKey(tuple(new Pid('n@h.1.2.3},n4', 5, 6, 7))))

  // Keys are equal exactly when the terms are (their encodings are, with the native codec).
  const codec = createCodec()
  const same = (a: unknown, b: unknown): boolean => Buffer.compare(codec.encode(a), codec.encode(b)) === 0
  // Few names, chosen so that the old keys collided: {a, a} and {'a,aa'}; pids of n@h and of
  // n@h.1 inside lists.
  const name = fc.constantFrom('a', 'a,aa', 'b}')
  const node = fc.constantFrom('n@h', 'n@h.1', 'n@h.1.0.1')
  const { term } = fc.letrec(tie => ({
    term: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      name.map(x => atom(x)),
      name,
      fc.integer({ min: 0, max: 2 }),
      fc.tuple(node, fc.nat(1), fc.nat(1), fc.nat(1)).map(([n, id, serial, cre]) => new Pid(n, id, serial, cre)),
      fc.tuple(node, fc.nat(1), fc.nat(1)).map(([n, id, cre]) => new Ref(n, id, cre)),
      fc.array(tie('term'), { maxLength: 3 }).map(xs => tuple(...xs)),
      fc.array(tie('term'), { maxLength: 3 }),
    ),
  }))
  // (many terms a run, every pair of them: colliding pairs are rare among random pairs)
  fc.assert(
    fc.property(fc.array(term, { minLength: 100, maxLength: 300 }), terms => {
      const byKey = new Map<string, unknown>()
      for (const x of terms) {
        const k = termKey(x)
        const seen = byKey.get(k)
        if (seen !== undefined && !same(seen, x)) return false
        byKey.set(k, x)
      }
      return new Set(terms.map(x => codec.encode(x).toString('hex'))).size === byKey.size
    }),
    { numRuns: 300, seed: 20261205 },
  )
  t.pass('300 runs of 100 to 300 terms')
})

t.test('names that differ only deep inside are two names, at any depth', async t => {
  // (until 2026-12 the key collapsed parts deeper than 20 levels)
  const nest = (depth: number, inner: unknown): unknown => {
    let x = inner
    for (let i = 0; i < depth; i++) x = i % 2 === 0 ? tuple(atom('n'), x) : [x]
    return x
  }
  t.not(termKey(nest(25, atom('a'))), termKey(nest(25, atom('b'))), 'differing only 25 levels down')
  t.equal(termKey(nest(25, atom('a'))), termKey(nest(25, atom('a'))), 'equal terms, equal keys')
  const deep = termKey(nest(100_000, 1))
  t.equal(deep, termKey(nest(100_000, 1)), '100,000 levels deep: made without recursion')
  t.not(deep, termKey(nest(100_000, 2)))
  const { tables, ours, theirs } = twoNodesTables()
  t.ok(tables.insertName(nest(30, atom('a')), ours, atom('m')))
  t.ok(tables.insertName(nest(30, atom('b')), theirs, atom('m')), 'a second deep name beside the first')
  t.same(tables.whereis(nest(30, atom('b')))?.pid, theirs)
  // The keys of shallow terms are as before.
  t.equal(
    termKey(tuple(atom('a'), [1, 'x'], new ImproperList([1], 2), new Map<unknown, unknown>([[atom('k'), 1]]))),
    '{a1:a,[n1,s"x"],[n1|n2],#{a1:k=>n1}}',
  )
  t.equal(
    termKey(
      new Map([
        [1, 2],
        [3, 4],
      ]),
    ),
    termKey(
      new Map([
        [3, 4],
        [1, 2],
      ]),
    ),
    "a map's key does not depend on insertion order",
  )
  // A program's cyclic array (no decoder makes one) still gets a key, its deep part its identity.
  const cyclic: unknown[] = [1]
  cyclic.push(cyclic)
  t.match(termKey(cyclic), /o#\d+\]+$/)
})

t.test('the terms of the protocol', async t => {
  for (const m of ['random_exit', 'random_notify', 'notify_all'] as const) t.equal(methodOf(methodTerm(m)), m)
  // The same export fun with latin1 atoms (ATOM_EXT and SMALL_ATOM_EXT), as older encoders write it.
  const latin = (s: string, tag: number): Buffer =>
    tag === 100
      ? Buffer.concat([Buffer.from([100, 0, s.length]), Buffer.from(s)])
      : Buffer.concat([Buffer.from([tag, s.length]), Buffer.from(s)])
  t.equal(
    methodOf(new OpaqueTerm(113, Buffer.concat([latin('global', 100), latin('notify_all_name', 115), Buffer.from([97, 3])]))),
    'notify_all',
  )
  t.equal(methodOf(new OpaqueTerm(113, Buffer.concat([latin('lists', 115), latin('max', 115), Buffer.from([97, 3])]))), undefined)
  t.equal(
    methodOf(new OpaqueTerm(113, Buffer.concat([latin('global', 115), latin('random_exit_name', 115), Buffer.from([97, 2])]))),
    undefined,
  )
  t.equal(methodOf(new OpaqueTerm(112, Buffer.from([1, 2]))), undefined, 'a local fun is none of them')
  t.equal(methodOf(atom('random_notify_name')), 'random_notify')
  t.equal(methodOf('x'), undefined)
  t.ok(sameTerm(tuple(1, [atom('a')]), tuple(1, [atom('a')])))
  t.notOk(sameTerm(1, undefined))
  t.ok(sameTerm(2n ** 60n, 2n ** 60n))
  const keys = [
    atom('a'),
    'a',
    1,
    Buffer.from('a'),
    new ImproperList([1], 2),
    new Map([[1, 2]]),
    null,
    true,
    { o: 1 },
    new Pid('n@h', 1, 0, 1),
    new Ref('n@h', 1, 1),
    // (a 3-word ref of a node named like an IP, and a 1-word ref of the next one up)
    new Ref('a@10.0.0', 1, 7, [1, 3]),
    new Ref('a@10.0.0.1', 3, 7),
    new Port('n@h', 1n, 1),
    new BitBinary(Buffer.from([0xe0]), 3),
    { big: 2n ** 70n },
  ].map(x => termKey(x))
  t.equal(new Set(keys).size, keys.length, 'distinct terms, distinct keys (and none throws: a Port once did)')
  t.ok(sameTerm({ o: 1, n: 2n }, { o: 1, n: 2n }), 'equal plain objects, bigints inside, are the same term')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.ok(sameTerm(cyclic, cyclic) && !sameTerm(cyclic, { self: {} }), 'what JSON cannot write equals only itself')
  t.equal(exposeName(atom('x')), 'x')
  t.equal(exposeName('s'), 's')
  t.equal(exposeName(tuple(atom('n'), 1, [atom('A b')], Buffer.from('x'))), `{n,1,['A b'],<<"x">>}`)
  t.equal(exposeName(new Map([[1, 2]])), termKey(new Map([[1, 2]])))
  t.ok(isTrue(true) && isTrue(atom('true')) && !isTrue(atom('false')))
  // Erlang's pid order: serial, then number, then node, then creation.
  const P = (node: string, id: number, serial: number, cre = 1): Pid => new Pid(node, id, serial, cre)
  const sorted = [P('b@x', 1, 0), P('a@x', 1, 1), P('a@x', 0, 2), P('a@x', 1, 0, 0), P('a@x', 1, 0)].sort(comparePids)
  t.same(
    sorted.map(p => [p.node, p.id, p.serial, p.creation]),
    [
      ['a@x', 1, 0, 0],
      ['a@x', 1, 0, 1],
      ['b@x', 1, 0, 1],
      ['a@x', 1, 1, 1],
      ['a@x', 0, 2, 1],
    ],
    'as measured with lists:sort on OTP 25',
  )
  // resolve_it with a method this node cannot run: random_exit, logged.
  const killed: Pid[] = []
  const w = resolveConflict(
    new OpaqueTerm(112, Buffer.from([0])),
    atom('n'),
    P('a@x', 1, 0),
    P('b@x', 1, 0),
    () => {},
    p => void killed.push(p),
    silentLogger,
  )
  t.same(w, P('a@x', 1, 0))
  t.same(killed, [P('b@x', 1, 0)])
})

t.test('a stopped node: global calls reject with ERR_NODE_STOPPED', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: `bs${process.pid}` })
  const pid = a.spawn(async proc => void (await proc.receive()))
  const inFlight = a.global.register('late', pid).then(
    ok => ok,
    (err: { code?: string }) => err.code,
  )
  await a.stop()
  const outcome = await inFlight
  t.ok([true, 'ERR_NODE_STOPPED'].includes(outcome as never), `a call under way completes or is failed (${String(outcome)})`)
  await t.rejects(a.global.register('x', pid), { code: 'ERR_NODE_STOPPED' })
  await t.rejects(a.global.sync(), { code: 'ERR_NODE_STOPPED' })
  t.equal(a.global.whereis('late'), undefined)
})

t.test('global: false, or hidden: no global name server', async t => {
  const epmd = await testEpmd(t)
  const off = await testNode(t, epmd, { name: `bo${process.pid}`, global: false })
  t.equal(off.whereis('global_name_server'), undefined)
  await t.rejects(
    off.global.register(
      'x',
      off.spawn(async () => {}),
    ),
    { code: 'ERR_NODE_STOPPED' },
  )
  t.same(off.global.registered(), [])
})
