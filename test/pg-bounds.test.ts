// A pg scope against a hostile or broken peer, driven through a runtime whose net kernel is a
// recorder: malformed messages are dropped and counted, members must be the peer scope's own
// node's processes, the limits bound what one peer holds, a peer scope's DOWN drops its
// members, a sync replaces them; monitors are bounded and stop on their signal; group keys.
import t from 'tap'
import { Runtime } from '../lib/process/runtime.js'
import type { Remote } from '../lib/process/remote.js'
import { ProcessGroups, type PgEvent } from '../lib/pg/process-groups.js'
import { groupKey, checkedGroupKey, MAX_GROUP_KEY } from '../lib/pg/group-key.js'
import { silentLogger } from '../lib/logger.js'
import { Pid } from '../lib/terms/pid.js'
import type { Ref } from '../lib/terms/ref.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { waitFor } from './fixtures/epmd-real.js'

const PEER = 'peer@host'
const pid = (id: number, node = PEER): Pid => new Pid(node, id, 0, 1)
const A = { discover: atom('discover'), join: atom('join'), leave: atom('leave'), sync: atom('sync'), cast: atom('$gen_cast') }
const tick = (): Promise<void> => new Promise(r => setImmediate(r))

function setup(limits: Record<string, number> = {}) {
  const runtime = new Runtime({ node: 'me@host', creation: 1 })
  const sent: Array<[unknown, unknown]> = []
  const connected = new Set([PEER])
  const monitors: Array<{ from: Pid; target: unknown; ref: Ref }> = []
  const remote = {
    send: (_from: Pid | undefined, to: Pid, msg: unknown) => (sent.push([to, msg]), true),
    regSend: (_from: Pid | undefined, name: string, node: string, msg: unknown) => (sent.push([[name, node], msg]), true),
    monitor: (from: Pid, target: unknown, ref: Ref) => void monitors.push({ from, target, ref }),
    demonitor: () => {},
    isConnected: () => true,
    ensureConnected: () => {},
  } as unknown as Remote
  runtime.setRemote(remote)
  const pg = new ProcessGroups({
    runtime,
    logger: silentLogger,
    connectedNodes: () => [PEER],
    isConnected: node => connected.has(node),
    protocolOf: () => 'netkernel',
    limits,
  })
  pg.startScope('pg')
  const toScope = async (msg: unknown): Promise<void> => {
    runtime.send('pg', msg)
    await tick()
  }
  /** The peer scope `peer` goes down (its monitor's DOWN). */
  const peerDown = async (peer: Pid): Promise<void> => {
    const m = monitors.find(x => x.target instanceof Pid && x.target.equals(peer))!
    runtime.downFrom(PEER, m.from, m.ref, 'noconnection')
    await tick()
  }
  return { runtime, pg, sent, monitors, toScope, peerDown, connected }
}

t.test('discover, sync, join, leave and DOWN from a peer scope', async t => {
  const { pg, sent, toScope, peerDown, runtime, monitors } = setup()
  await tick()
  t.ok(
    sent.some(([to, m]) => Array.isArray(to) && to[0] === 'pg' && to[1] === PEER && (m as unknown[])[0] === A.discover),
    'a new scope sends discover to the connected nodes',
  )
  const mine = runtime.spawn(async p => void (await p.receive()))
  pg.join('g', mine)
  const scopePeer = pid(1)
  await toScope(tuple(A.discover, scopePeer))
  const sync = sent.find(([to, m]) => to instanceof Pid && to.equals(scopePeer) && (m as unknown[])[0] === A.cast)
  t.ok(sync, 'discover is answered with a sync cast')
  t.same(((sync![1] as unknown[])[1] as unknown[])[2], [tuple(atom('g'), [mine])], 'carrying our local members')
  t.ok(
    sent.some(([to, m]) => to instanceof Pid && to.equals(scopePeer) && (m as unknown[])[0] === A.discover),
    'and our own discover',
  )
  // A second discover from a known peer (both ends discover each other; once OTP sees a
  // visible netkernel node it discovers it too): another sync, no second monitor or discover.
  const counted = (tag: unknown): number =>
    sent.filter(([to, m]) => to instanceof Pid && to.equals(scopePeer) && (m as unknown[])[0] === tag).length
  const monitorsBefore = monitors.length
  await toScope(tuple(A.discover, scopePeer))
  t.equal(counted(A.cast), 2, 'answered with a sync again')
  t.equal(counted(A.discover), 1, 'no second discover')
  t.equal(monitors.length, monitorsBefore, 'no second monitor')

  await toScope(tuple(A.cast, tuple(A.sync, scopePeer, [tuple(atom('g'), [pid(2), pid(3)]), tuple(atom('h'), [pid(2)])])))
  t.equal(pg.members('g').length, 3)
  t.same(pg.whichGroups().sort(), ['g', 'h'])
  // A second sync replaces what the peer had.
  await toScope(tuple(A.cast, tuple(A.sync, scopePeer, [tuple(atom('g'), [pid(4)])])))
  t.same(
    pg.members('g').map(p => p.id),
    [4, mine.id].sort((x, y) => (x === mine.id ? 1 : y === mine.id ? -1 : x - y)),
  )
  t.same(pg.whichGroups(), ['g'], 'h went with the new sync')
  await toScope(tuple(A.join, scopePeer, atom('g'), pid(5)))
  await toScope(tuple(A.join, scopePeer, atom('g'), [pid(5), pid(6)]))
  t.equal(pg.members('g').length, 5)
  await toScope(tuple(A.leave, scopePeer, pid(5), [atom('g'), atom('unknown')]))
  t.equal(pg.members('g').length, 4, 'leave takes one membership of pid 5')
  await toScope(tuple(A.leave, scopePeer, [pid(5), pid(6)], [atom('g')]))
  t.same(
    pg.members('g').map(p => p.id),
    [4, mine.id].sort((x, y) => (x === mine.id ? 1 : y === mine.id ? -1 : x - y)),
  )
  // A join from a scope that never discovered us is ignored, as OTP does.
  await toScope(tuple(A.join, pid(99), atom('g'), pid(98)))
  t.equal(pg.members('g').length, 2)
  await peerDown(scopePeer)
  t.same(pg.members('g'), [mine], 'the peer scope’s DOWN drops its members')
  t.equal(pg.dropped, 0)
})

t.test('the scope never dials: nothing goes to a node that is not connected', async t => {
  const { sent, toScope, connected, pg, monitors } = setup()
  await tick()
  connected.clear()
  const before = sent.length
  await toScope(tuple(A.discover, pid(1)))
  t.equal(sent.length, before, 'no sync and no discover toward a node that went down')
  await toScope(tuple(A.cast, tuple(A.sync, pid(1), [tuple(atom('g'), [pid(2)])])))
  t.same(pg.members('g'), [], 'nor is a sync from it held (its scope would be monitored: a dial)')
  t.equal(monitors.length, 0)
})

t.test('malformed messages are dropped and counted; the scope keeps serving', async t => {
  const { pg, toScope, runtime } = setup()
  const peer = pid(1)
  await toScope(tuple(A.discover, peer))
  const bad = [
    'hello',
    tuple(A.discover, 'not a pid'),
    tuple(A.discover, pid(1, 'me@host')),
    tuple(A.cast, 'x'),
    tuple(A.cast, tuple(A.sync, peer, 'not a list')),
    tuple(A.cast, tuple(A.sync, peer, ['not a tuple'])),
    tuple(A.cast, tuple(A.sync, peer, [tuple(atom('g'), [pid(2, 'other@host')])])),
    tuple(A.join, peer, atom('g'), [pid(2, 'other@host')]),
    tuple(A.join, peer, atom('g'), 'x'),
    tuple(A.join, peer, () => 1, [pid(2)]),
    tuple(A.leave, peer, [pid(2)], 'x'),
    tuple(A.leave, peer, [pid(2)], [Symbol('x')]),
    tuple(atom('$netkernel_pg_send'), Symbol('x'), 1),
    tuple(atom('other'), 1),
    ['DOWN', 'x', 'process', 1, 2],
    ['EXIT'],
  ]
  for (const m of bad) await toScope(m)
  t.equal(pg.dropped, bad.length, 'each one counted')
  t.same(pg.whichGroups(), [], 'nothing held')
  const p = runtime.spawn(async proc => void (await proc.receive()))
  pg.join('ok', p)
  t.same(pg.members('ok'), [p])
})

t.test('limits bound what a peer can make us hold', async t => {
  const { pg, toScope } = setup({ maxPeersPerNode: 2, maxMembersPerPeer: 5, maxGroupsPerPeer: 2 })
  await toScope(tuple(A.discover, pid(1)))
  await toScope(tuple(A.discover, pid(2)))
  await toScope(tuple(A.discover, pid(3)))
  t.equal(pg.dropped, 1, 'a third scope of the same node is refused')
  await toScope(tuple(A.cast, tuple(A.sync, pid(3), [])))
  t.equal(pg.dropped, 2, 'also through a sync')
  const many = (n: number): Pid[] => Array.from({ length: n }, (_, i) => pid(100 + i))
  await toScope(tuple(A.cast, tuple(A.sync, pid(1), [tuple(atom('g'), many(6))])))
  t.same(pg.members('g'), [], 'a sync over the member bound is dropped whole')
  await toScope(tuple(A.cast, tuple(A.sync, pid(1), [tuple(atom('a'), []), tuple(atom('b'), []), tuple(atom('c'), [])])))
  t.equal(pg.dropped, 4, 'so is one over the group bound')
  await toScope(tuple(A.join, pid(1), atom('g'), many(4)))
  t.equal(pg.members('g').length, 4)
  await toScope(tuple(A.join, pid(1), atom('g'), many(2)))
  t.equal(pg.members('g').length, 4, 'a join over the member bound is dropped')
  await toScope(tuple(A.join, pid(1), atom('h'), pid(7)))
  await toScope(tuple(A.join, pid(1), atom('i'), pid(8)))
  t.same(pg.whichGroups().sort(), ['g', 'h'], 'a join into a third group is dropped')
  t.equal(pg.dropped, 6)
  await toScope(tuple(A.join, pid(1), atom('g'), many(6)))
  t.equal(pg.dropped, 7, 'a join list longer than the bound is malformed')
})

t.test('monitors: events, the bound, the signal, the scope’s end', async t => {
  const { pg, runtime, toScope } = setup({ maxQueuedEvents: 3 })
  const p = runtime.spawn(async proc => void (await proc.receive()))
  pg.join('g', p)
  const scopeMon = pg.monitor()
  t.same(
    scopeMon.groups.map(([g, ps]) => [g, ps.length]),
    [['g', 1]],
    'a scope monitor starts with every group',
  )
  const groupMon = pg.monitor('g')
  t.same(groupMon.members, [p])
  pg.join('h', p)
  pg.leave('g', p)
  await toScope(tuple(A.discover, pid(1)))
  await toScope(tuple(A.join, pid(1), atom('g'), pid(2)))
  const events: PgEvent[] = []
  const it = groupMon[Symbol.asyncIterator]()
  for (let i = 0; i < 2; i++) events.push((await it.next()).value as PgEvent)
  t.same(
    events.map(e => [e.type, e.group, e.pids.length]),
    [
      ['leave', 'g', 1],
      ['join', 'g', 1],
    ],
    'a group monitor sees only its group',
  )
  // The scope monitor saw join h, leave g, join g: full; one more overflows it.
  pg.join('i', p)
  t.ok(scopeMon.stopped, 'over its bound the monitor stops')
  const seen: string[] = []
  await t.rejects(
    (async () => {
      for await (const e of scopeMon) seen.push(`${e.type} ${String(e.group)}`)
    })(),
    { code: 'ERR_LIMIT' },
  )
  t.same(seen, ['join h', 'leave g', 'join g'], 'the buffered events come first')

  const ac = new AbortController()
  const m = pg.monitor('g', { signal: ac.signal })
  const reading = (async () => {
    const got: PgEvent[] = []
    for await (const e of m) got.push(e)
    return got
  })()
  ac.abort()
  t.same(await reading, [], 'the signal ends the iteration')
  const pre = pg.monitor('g', { signal: AbortSignal.abort() })
  t.ok(pre.stopped, 'an aborted signal: stopped at once')

  const last = pg.monitor()
  const scopePid = runtime.whereis('pg')!
  runtime.exit(scopePid, 'kill')
  t.same(pg.scopeNames(), [], 'a killed scope is gone at once')
  await waitFor(() => last.stopped, 2000, 'the monitor to stop with its scope')
  t.same(pg.scopeNames(), [])
  t.same(pg.members('g'), [], 'a dead scope has no members')
  pg.join('g', p)
  t.same(pg.scopeNames(), ['pg'], 'a join starts it again')
  t.same(pg.members('g'), [p])
  // Killed and joined in the same tick: the join goes to a new scope, which monitors p.
  runtime.exit(runtime.whereis('pg')!, 'kill')
  const q = runtime.spawn(async proc => void (await proc.receive()))
  pg.join('g', q)
  t.same(pg.members('g'), [q], 'a fresh scope')
  runtime.exit(q, 'kill')
  await waitFor(() => pg.members('g').length === 0, 2000, 'q’s exit seen by the new scope')
})

t.test('scopes: names, a name already taken, arguments', async t => {
  const { pg, runtime, sent } = setup()
  const q = runtime.spawn(async proc => void (await proc.receive()))
  runtime.register('taken', q)
  t.throws(() => pg.startScope('taken'), { code: 'ERR_NAME_TAKEN' })
  t.throws(() => pg.startScope(''), { code: 'ERR_BAD_REGISTERED_NAME' })
  t.throws(() => pg.join('g', 'x' as never), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => pg.join('g', pid(1)), { code: 'ERR_BAD_ARGUMENT' }, 'a pid of another node')
  t.throws(() => pg.join('x'.repeat(300), q), { code: 'ERR_BAD_ARGUMENT' }, 'longer than an atom')
  t.throws(() => pg.members(Symbol('x')), { code: 'ERR_BAD_ARGUMENT' })
  t.equal(pg.join('g', []), 'ok', 'an empty list joins nothing')
  t.same(pg.whichGroups(), [])
  t.equal(pg.leave('g', []), 'not_joined')
  pg.startScope('other')
  t.same(pg.scopeNames().sort(), ['other', 'pg'])
  const discovers = (): number => sent.filter(([to, m]) => Array.isArray(to) && to[0] === 'pg' && (m as unknown[])[0] === A.discover).length
  const before = discovers()
  pg.startScope('pg')
  t.equal(discovers(), before + 1, 'startScope on a running scope discovers the connected nodes again')
})

t.test('group keys: equal terms, equal keys; too big or too deep refused', async t => {
  t.equal(groupKey('g'), groupKey(atom('g')), 'a string names the atom')
  t.not(groupKey('g'), groupKey(Buffer.from('g')), 'not the binary')
  t.equal(groupKey(tuple('a', Buffer.from('a'))), groupKey(tuple(Buffer.from('a'), 'a')), 'nested strings are binaries')
  t.not(groupKey(tuple(1)), groupKey([1]))
  // Pids of nodes whose names hold what a key writes between elements: the keys once met.
  t.not(
    groupKey(tuple(new Pid('x', 1, 0, 1), new Pid('w.3.3.3;pv', 2, 0, 1))),
    groupKey(tuple(new Pid('x.1.0.1;pw', 3, 3, 3), new Pid('v', 2, 0, 1))),
  )
  t.equal(
    groupKey(
      new Map<unknown, unknown>([
        [1, 'a'],
        [atom('b'), 2.5],
      ]),
    ),
    groupKey(
      new Map<unknown, unknown>([
        [atom('b'), 2.5],
        [1, 'a'],
      ]),
    ),
  )
  t.not(groupKey(1), groupKey(1.5))
  t.equal(groupKey(10n), groupKey(10))
  t.equal(groupKey(true), groupKey(atom('true')))
  t.ok(groupKey(pid(1)) !== undefined && groupKey(pid(1)) !== groupKey(pid(2)))
  t.equal(groupKey(Buffer.alloc(MAX_GROUP_KEY)), undefined, 'too big')
  let deep: unknown = 1
  for (let i = 0; i < 12; i++) deep = [deep]
  t.equal(groupKey(deep), undefined, 'too deep')
  t.equal(groupKey(new Map([[Symbol('x'), 1]])), undefined)
  t.equal(groupKey(null), undefined)
  t.throws(() => checkedGroupKey(undefined), { code: 'ERR_BAD_ARGUMENT' })
})
