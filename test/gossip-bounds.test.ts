// Gossip (a NODES frame: the visible nodes a peer knows) makes a node dial the ones it
// lacks. One authenticated peer's frame with thousands of names must not make it start
// thousands of dials: illegal names are dropped, one peer's gossip has a bounded number of
// dials under way, and the node's pending dials as a whole are capped (ERR_LIMIT beyond).
// Repeated gossip must not make it dial over and over either: a name whose gossip dial failed
// is not dialled for gossip again for a while, and one peer's gossip starts new dials at a
// bounded rate.
import t from 'tap'
import type { Node } from '../lib/node.js'
import type { NetKernel } from '../lib/kernel/net-kernel.js'
import { testEpmd, testNode, inProcess, full } from './fixtures/cluster.js'
import { DEFAULT_LIMITS } from '../lib/kernel/limits.js'
import { NODES } from '../lib/kernel/frames.js'
import { EpmdError } from '../lib/errors.js'
import { warnLog } from './fixtures/raw-peer.js'

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
const kernelOf = (n: Node): NetKernel => (n as unknown as { kernel: NetKernel }).kernel

/** A resolve that knows `known` and leaves every other lookup hanging until its dial is aborted. */
function hangingResolve(known: () => Map<string, number>, seen: string[], inFlight: { now: number; max: number }) {
  return (node: string, signal: AbortSignal): Promise<{ host: string; port: number }> => {
    const port = known().get(node)
    if (port !== undefined) return Promise.resolve({ host: '127.0.0.1', port })
    seen.push(node)
    inFlight.max = Math.max(inFlight.max, ++inFlight.now)
    return new Promise((_, reject) =>
      signal.addEventListener(
        'abort',
        () => {
          inFlight.now--
          reject(signal.reason)
        },
        { once: true },
      ),
    )
  }
}

t.test('one NODES frame with thousands of names: bounded dials, illegal names never dialled', async t => {
  const epmd = await testEpmd(t)
  const seen: string[] = []
  const inFlight = { now: 0, max: 0 }
  const known = new Map<string, number>()
  const bar = await testNode(t, epmd, { name: 'bar', setupTimeout: 3000, resolve: hangingResolve(() => known, seen, inFlight) })
  const foo = await testNode(t, epmd, { name: 'foo', connectAll: false })
  const third = await testNode(t, epmd, { name: 'third', connectAll: false })
  known.set(foo.name, foo.address!.port).set(third.name, third.address!.port)
  t.equal(await foo.connect(bar.name), true)

  const legal = Array.from({ length: 5000 }, (_, i) => full(`n${i}`))
  const illegal = ['noat', `nul\0@h`, `${'x'.repeat(700)}@h`, 'a@b@c', 'dotted@host.example.com', 42, null, { x: 1 }]
  const names = legal.flatMap((n, i) => (i % 500 === 0 ? [illegal[(i / 500) % illegal.length], n] : [n]))
  const conn = kernelOf(foo).up.get(bar.name)!
  conn.send([NODES, names])
  conn.send([NODES, names]) // a second frame while the first one's dials are under way
  const bound = DEFAULT_LIMITS.gossipDialsPerPeer
  const until = Date.now() + 1000
  let maxPending = 0
  while (Date.now() < until) {
    maxPending = Math.max(maxPending, kernelOf(bar).dialsInFlight)
    await sleep(10)
  }
  t.ok(seen.length > 0, `gossip still makes bar dial (${seen.length} dials)`)
  t.ok(inFlight.max <= bound, `at most ${bound} of one peer's gossip dials under way (saw ${inFlight.max})`)
  t.ok(maxPending <= bound, `the kernel's pending dials stayed within the bound (saw ${maxPending})`)
  t.notOk(
    seen.some(n => illegal.includes(n)),
    'no illegal name was ever dialled',
  )

  // The node stays healthy: messages flow, and a real node still connects.
  const echoed = await inProcess(foo, async proc => {
    const echo = await proc.spawn(bar.name, 's', 's', [])
    proc.send(echo, ['still here', proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.equal(echoed, 'still here')
  t.equal(await bar.connect(third.name), true, 'bar still connects to a real node')
})

t.test("the node's pending dials are capped: beyond it new dials fail fast with ERR_LIMIT", async t => {
  const epmd = await testEpmd(t)
  const seen: string[] = []
  const inFlight = { now: 0, max: 0 }
  const bar = await testNode(t, epmd, { name: 'bar', setupTimeout: 5000, resolve: hangingResolve(() => new Map(), seen, inFlight) })
  const codes: string[] = []
  bar.on('connectError', (_n: unknown, info: { code: string }) => codes.push(info.code))
  const cap = DEFAULT_LIMITS.pendingDials
  const extra = 20
  const started = Date.now()
  const results = Array.from({ length: cap + extra }, (_, i) => bar.connect(full(`p${i}`)))
  const refused = await Promise.all(results.slice(cap))
  t.ok(Date.now() - started < 1000, 'the ones beyond the cap failed fast')
  t.same(
    refused,
    refused.map(() => false),
    'connect() resolved false for them',
  )
  t.equal(codes.filter(c => c === 'ERR_LIMIT').length, extra, 'each reported ERR_LIMIT')
  t.equal(kernelOf(bar).dialsInFlight, cap, 'exactly the cap is being dialled')
  t.equal(seen.length, cap, 'and no dial was started beyond it')
})

/** A resolve that knows `known` and refuses every other name at once, as a port mapper does for a missing node. */
function refusingResolve(known: () => Map<string, number>, seen: string[]) {
  return (node: string): Promise<{ host: string; port: number }> => {
    const port = known().get(node)
    if (port !== undefined) return Promise.resolve({ host: '127.0.0.1', port })
    seen.push(node)
    return Promise.reject(new EpmdError('ERR_NODE_NOT_FOUND', `no node ${node} (test)`))
  }
}

t.test('a peer repeating gossip of missing names: each is dialled once, new names at a bounded rate', async t => {
  const epmd = await testEpmd(t)
  const seen: string[] = []
  const known = new Map<string, number>()
  const { warns, logger } = warnLog()
  const bar = await testNode(t, epmd, { name: 'bar', logger, resolve: refusingResolve(() => known, seen) })
  const foo = await testNode(t, epmd, { name: 'foo', connectAll: false })
  const third = await testNode(t, epmd, { name: 'third', connectAll: false })
  known.set(foo.name, foo.address!.port).set(third.name, third.address!.port)
  let connectErrors = 0
  bar.on('connectError', () => void connectErrors++)
  t.equal(await foo.connect(bar.name), true)
  const conn = kernelOf(foo).up.get(bar.name)!

  // The same 20 missing names, 200 times over 2 s: each dialled once, failed fast, and not
  // dialled again because of gossip.
  const missing = Array.from({ length: 20 }, (_, i) => full(`gone${i}`))
  for (let i = 0; i < 200; i++) {
    conn.send([NODES, missing])
    await sleep(10)
  }
  await sleep(100)
  t.same([...seen].sort(), [...missing].sort(), `each missing name dialled exactly once (${seen.length} dials from 200 frames)`)
  t.equal(connectErrors, missing.length, 'one connectError per name')
  const gossipWarns = warns.filter(w => w.msg.startsWith('gossip from'))
  t.ok(gossipWarns.length <= 1, `gossip held back is warned of once per connection (${gossipWarns.length})`)

  // Fresh names in every frame: new gossip dials start at limits.gossipDialsPerSecond.
  seen.length = 0
  const rate = DEFAULT_LIMITS.gossipDialsPerSecond
  const started = performance.now()
  for (let i = 0; i < 100; i++) {
    conn.send([NODES, Array.from({ length: 50 }, (_, j) => full(`fresh${i}_${j}`))])
    await sleep(10)
  }
  await sleep(100)
  const seconds = (performance.now() - started) / 1000
  const bound = Math.ceil(rate + rate * seconds)
  t.ok(seen.length > 0, `fresh names are still dialled (${seen.length})`)
  t.ok(seen.length <= bound, `${seen.length} dials from 5000 fresh names in ${seconds.toFixed(1)} s (at most ${bound})`)

  // An explicit use of a name gossip gave up on still dials at once.
  seen.length = 0
  t.equal(await bar.connect(missing[0]!), false)
  t.same(seen, [missing[0]], 'connect() dials a name gossip will not')

  // The node stays healthy: a real node still connects, the peer's connection is up.
  t.equal(await bar.connect(third.name), true, 'bar still connects to a real node')
  t.ok(bar.nodes().includes(foo.name))
})
