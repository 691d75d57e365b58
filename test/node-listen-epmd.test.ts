// Listening and the port mapper at node level (issue 3): names already in use, listen port
// ranges, a real epmd, the embedded port mapper that outlives its node, a node with no
// listener, and a graceful stop.
import t, { type Test } from 'tap'
import net from 'node:net'
import { startNode } from '../lib/node.js'
import type { StartNodeOptions } from '../lib/node-options.js'
import { EpmdError, TransportError } from '../lib/errors.js'
import { killEpmd, listNames, lookupNode } from '../lib/epmd/client.js'
import { testEpmd, testNode, full, nextEvent, inProcess } from './fixtures/cluster.js'
import { freePort, isListening } from './fixtures/ports.js'
import { erlangSkip, processAlive, startErlNode, startRealEpmd, waitFor } from './fixtures/epmd-real.js'

const HOST = '127.0.0.1'

function listenOn(port: number, host = HOST): Promise<net.Server | undefined> {
  return new Promise(resolve => {
    const server = net.createServer()
    server.once('error', () => resolve(undefined))
    server.listen({ host, port, exclusive: true }, () => resolve(server))
  })
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()))
}

/**
 * `n` consecutive ports, each held by a listening server on loopback (the caller releases
 * those it wants free). Every server still held is closed at teardown.
 */
async function heldRange(t: Test, n: number): Promise<{ min: number; max: number; servers: net.Server[] }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort()
    if (base + n - 1 > 65535) continue
    const servers: net.Server[] = []
    for (let p = base; p < base + n; p++) {
      const s = await listenOn(p)
      if (s === undefined) break
      servers.push(s)
    }
    if (servers.length === n) {
      t.teardown(() => Promise.all(servers.filter(s => s.listening).map(closeServer)))
      return { min: base, max: base + n - 1, servers }
    }
    await Promise.all(servers.map(closeServer))
  }
  throw new Error(`no ${n} consecutive free ports found`)
}

const nodeOpts = (epmdPort: number, o: Partial<StartNodeOptions> & { name: string }): StartNodeOptions => ({
  cookie: 'test-cookie', // as testNode()
  listen: { host: HOST },
  epmd: { host: HOST, port: epmdPort, autoStart: false },
  ...o,
})

t.test('a name already registered with the port mapper: ERR_NAME_IN_USE, and the listener is closed', async t => {
  const epmd = await testEpmd(t)
  const first = await testNode(t, epmd, { name: 'dup' })
  const port = await freePort()
  const err = await startNode(nodeOpts(epmd.port, { name: 'dup', listen: { host: HOST, portMin: port, portMax: port } })).then(
    n => {
      void n.stop()
      return undefined
    },
    (e: unknown) => e,
  )
  t.type(err, EpmdError)
  t.match(err, { code: 'ERR_NAME_IN_USE', message: /dup/ }, 'ERR_NAME_IN_USE naming the name')
  t.notOk(await isListening(port), 'nothing listens on the port the refused node had opened')
  const again = await listenOn(port)
  t.ok(again, 'the port can be listened on again')
  if (again) await closeServer(again)
  t.match(
    await lookupNode({ host: HOST, port: epmd.port, name: 'dup' }),
    { port: first.address!.port },
    'the first node keeps its registration',
  )
  t.equal(await first.connect(first.name), true)
})

t.test('listen: { portMin, portMax } — the node listens inside the range', async t => {
  const epmd = await testEpmd(t)
  const range = await heldRange(t, 3)
  // Keep the first port taken, free the other two: the node must move on to the next one.
  await Promise.all(range.servers.slice(1).map(closeServer))
  const node = await startNode(nodeOpts(epmd.port, { name: 'ranged', listen: { host: HOST, portMin: range.min, portMax: range.max } }))
  t.teardown(() => node.stop())
  const port = node.address!.port
  t.ok(port >= range.min && port <= range.max, `port ${port} is in ${range.min}-${range.max}`)
  t.not(port, range.min, 'the taken first port was skipped')
  t.match(await lookupNode({ host: HOST, port: epmd.port, name: 'ranged' }), { port }, 'the port mapper returns that port')
  t.ok(await isListening(port), 'it accepts connections there')
  // And a peer reaches it through the port mapper.
  const other = await testNode(t, epmd, { name: 'other' })
  t.equal(await other.connect(node.name), true, 'a peer connects through the registered port')
})

t.test('listen: a range with every port taken — ERR_LISTEN naming the range', async t => {
  const epmd = await testEpmd(t)
  const range = await heldRange(t, 2)
  const err = await startNode(nodeOpts(epmd.port, { name: 'full', listen: { host: HOST, portMin: range.min, portMax: range.max } })).then(
    n => {
      void n.stop()
      return undefined
    },
    (e: unknown) => e,
  )
  t.type(err, TransportError)
  t.match(err, { code: 'ERR_LISTEN' })
  t.match((err as Error).message, `ports ${range.min}-${range.max}`, 'the message names the range')
  t.same(epmd.names(), [], 'nothing was registered')

  const single = await startNode(
    nodeOpts(epmd.port, { name: 'single', listen: { host: HOST, portMin: range.min, portMax: range.min } }),
  ).then(
    n => {
      void n.stop()
      return undefined
    },
    (e: unknown) => e,
  )
  t.match(single, { code: 'ERR_LISTEN' })
  t.match((single as Error).message, `port ${range.min}`, 'a one-port range is named as that port')
})

t.test('a node registers with a real epmd, and is gone from it after stop()', { skip: erlangSkip('epmd') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const spawned: number[] = []
  t.teardown(() => {
    for (const pid of spawned) if (processAlive(pid)) process.kill(pid, 'SIGKILL')
  })
  // autoStart is on (the default): the running epmd is found and nothing is started.
  const node = await startNode({
    name: 'realreg',
    cookie: 'c',
    listen: { host: HOST },
    epmd: { host: HOST, port: epmd.port, onSpawn: p => spawned.push(p) },
  })
  t.teardown(() => node.stop())
  t.same(spawned, [], 'no port mapper started: the real epmd answered')
  const names = await epmd.cli('-names')
  t.equal(names.code, 0)
  t.match(names.stdout, `name realreg at port ${node.address!.port}`, 'epmd -names lists the node and its port')
  t.ok(node.creation > 0, `the node has the creation epmd gave it (${node.creation})`)
  await node.stop()
  await waitFor(async () => !(await epmd.cli('-names')).stdout.includes('realreg'), 10_000, 'realreg to leave epmd')
  t.pass('after stop() epmd -names no longer lists it')
})

t.test("a real erl node registered with our daemon is found by a node's kernel", { skip: erlangSkip('erl') }, async t => {
  const epmd = await testEpmd(t)
  const erl = await startErlNode({ name: 'erlx', epmdPort: epmd.port })
  t.teardown(() => erl.stop())
  const node = await testNode(t, epmd, { name: 'nkx', handshakeStepTimeout: 2000 })
  t.equal(erl.node, full('erlx'), 'erl -sname takes the same short host')
  const codes: string[] = []
  node.on('connectError', (_n, info) => codes.push(info.code))
  // The lookup succeeds; the handshake then fails, since erl speaks OTP's own protocol.
  t.equal(await node.connect(erl.node), false)
  t.equal(codes.length, 1)
  t.not(codes[0], 'ERR_NODE_NOT_FOUND', `found through the port mapper (then: ${codes[0]})`)
  t.not(codes[0], 'ERR_EPMD_UNREACHABLE')
  t.not(codes[0], 'ERR_CONNECT', 'and its port accepted the dial')
  t.equal(await node.connect(full('erly')), false)
  t.equal(codes[1], 'ERR_NODE_NOT_FOUND', 'an unregistered name is not found (the comparison)')
})

t.test('the embedded port mapper a node starts outlives it', async t => {
  const port = await freePort()
  t.notOk(await isListening(port), 'nothing on the port mapper port yet')
  const spawned: number[] = []
  t.teardown(async () => {
    for (const pid of spawned) if (processAlive(pid)) process.kill(pid, 'SIGKILL')
  })
  const epmd = { port, listenHost: HOST, onSpawn: (p: number) => spawned.push(p) }
  const a = await startNode({ name: 'emba', cookie: 'c', listen: { host: HOST }, epmd })
  t.teardown(() => a.stop())
  t.equal(spawned.length, 1, 'node A started one port mapper process')
  const daemon = spawned[0]!
  t.ok(processAlive(daemon), 'it runs')
  const b = await startNode({ name: 'embb', cookie: 'c', listen: { host: HOST }, epmd })
  t.teardown(() => b.stop())
  t.equal(spawned.length, 1, 'node B found it running and started none')
  t.same((await listNames({ host: HOST, port })).names.map(n => n.name).sort(), ['emba', 'embb'])
  t.equal(await b.connect(a.name), true, 'B reaches A through it')

  await a.stop()
  await waitFor(async () => !(await listNames({ host: HOST, port })).names.some(n => n.name === 'emba'), 10_000, 'emba to leave')
  t.ok(processAlive(daemon), 'the port mapper outlives the node that started it')
  t.same(
    (await listNames({ host: HOST, port })).names.map(n => [n.name, n.port]),
    [['embb', b.address!.port]],
    "B's registration is still listed",
  )
  t.match(await lookupNode({ host: HOST, port, name: 'embb' }), { port: b.address!.port })

  t.equal(await killEpmd({ host: HOST, port }), false, "KILL_REQ refused while B is registered (as Erlang's epmd)")
  t.ok(processAlive(daemon), 'so it still runs')
  await b.stop()
  await waitFor(async () => (await listNames({ host: HOST, port })).names.length === 0, 10_000, 'embb to leave')
  t.equal(await killEpmd({ host: HOST, port }), true, 'KILL_REQ answered OK once no node is registered')
  await waitFor(() => !processAlive(daemon), 10_000, 'the port mapper process to exit')
  t.notOk(processAlive(daemon), 'its process is gone')
  t.notOk(await isListening(port), 'its port no longer listens')
})

t.test('epmd: false and no listen — no listener, processes still run locally', async t => {
  const node = await startNode({ name: 'solo', cookie: 'c', epmd: false })
  t.teardown(() => node.stop())
  t.equal(node.address, undefined, 'no address: nothing listens')
  t.equal(node.name, full('solo'))
  const got = await inProcess(node, async proc => {
    const echo = proc.spawn(async p => {
      const [msg, from] = (await p.receive()) as [string, typeof proc.self]
      p.send(from, ['echo', msg])
    })
    proc.send(echo, ['hi', proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.same(got, ['echo', 'hi'], 'local message round trip')
  node.defineModule('m', { hello: (proc, to) => proc.send(to, ['hello', proc.node]) })
  const viaModule = await inProcess(node, async proc => {
    await proc.spawn(node.name, 'm', 'hello', [proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.same(viaModule, ['hello', node.name], 'spawn(node(), Mod, Fun, Args) runs locally')
  t.equal(await node.connect(full('somebody')), false, 'it cannot reach other nodes')
})

t.test('node.stop() is graceful: peers see nodedown connection_closed, the port mapper entry goes', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'stopa' })
  const b = await testNode(t, epmd, { name: 'stopb' })
  const bUp = nextEvent(b, 'nodeup', n => n === a.name)
  t.equal(await a.connect(b.name), true)
  await bUp
  t.same(
    epmd
      .names()
      .map(n => n.name)
      .sort(),
    ['stopa', 'stopb'],
  )

  const downOnA = nextEvent<[string, { reason: string; type: string }]>(a, 'nodedown', n => n === b.name)
  await b.stop()
  const [name, info] = await downOnA
  t.equal(name, b.name)
  t.equal(info.reason, 'connection_closed', "the peer's nodedown reason")
  t.equal(info.type, 'visible')
  t.same(a.nodes(), [], 'a no longer lists b')
  t.same(b.nodes('connected'), [], 'b has no connections left')
  await waitFor(() => !epmd.names().some(n => n.name === 'stopb'), 10_000, 'stopb to leave the port mapper')
  t.same(
    epmd.names().map(n => n.name),
    ['stopa'],
    "b's port mapper entry is removed",
  )
  t.equal(await lookupNode({ host: HOST, port: epmd.port, name: 'stopb' }), undefined, 'a lookup no longer finds b')
  t.notOk(await isListening(b.address!.port), "b's listener is closed")
  t.equal(await b.connect(a.name), false, 'a stopped node does not connect')
  await b.stop() // a second stop is harmless
})
