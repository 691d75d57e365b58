// Remote calls between netkernel nodes (node.rpc, proc.rpc, node.ping): results (sync and
// async), each way a function can end (error, throw, exit, killed), unknown code, the
// firewall and allowSpawn, timeout and abort, a connection lost mid-call (in this process and
// with the peer a separate OS process killed), a call to the own node, ordering with the
// messages the function sends, and the trust checks on RPC_CALL / RPC_REPLY frames.
import t, { type Test } from 'tap'
import { NetkernelError, RpcError, SpawnError } from '../lib/errors.js'
import { Pid } from '../lib/terms/pid.js'
import type { Node } from '../lib/node.js'
import { RPC_CALL, RPC_REPLY, SEND } from '../lib/kernel/frames.js'
import { testEpmd, testNode, inProcess, full } from './fixtures/cluster.js'
import { startPeer } from './fixtures/peers.js'
import { rawPeer, refusedLog } from './fixtures/raw-peer.js'
import { waitUntil } from './fixtures/mesh-helpers.js'

const rejection = (p: Promise<unknown>): Promise<any> =>
  p.then(
    v => new Error(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  )

async function pair(t: Test, bOpts: Parameters<typeof testNode>[2] | undefined = undefined): Promise<{ a: Node; b: Node }> {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'rpca' })
  const b = await testNode(t, epmd, { name: 'rpcb', ...bOpts })
  return { a, b }
}

/** A process on `node` collecting every message, for functions that report to it. */
function sink(node: Node): { pid: Pid; got: unknown[] } {
  const got: unknown[] = []
  const pid = node.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
  return { pid, got }
}

t.test('results: values, an async function, terms both ways; the function ran in a new process there', async t => {
  const { a, b } = await pair(t)
  t.equal(await a.rpc(b.name, 'r', 'add', [40, 2]), 42, 'r:add(40, 2) on b')
  t.equal(await a.rpc(b.name, 'r', 'later', [50, 'done']), 'done', 'an async function: its awaited value')
  const big = { n: 2n ** 80n, list: [1, 'two', null], map: new Map([[1, 'one']]), bytes: Buffer.from('hi') }
  t.same(await a.rpc(b.name, 'r', 'later', [0, big]), big, 'terms cross both ways unchanged')
  const [node, pid] = (await a.rpc(b.name, 'r', 'whoami', [])) as [string, Pid]
  t.equal(node, b.name, 'it ran on b')
  t.ok(pid instanceof Pid && pid.node === b.name, 'in a process of b')
  t.equal(await a.rpc(b.name, 'r', 'add', [1, 2], { timeout: 5000 }), 3, 'with a timeout that is not reached')
  t.equal(await a.rpc(b.name, 'r', 'nothing', []), undefined, 'a function that returns nothing: undefined (not null)')
  t.equal(await a.rpc(b.name, 'r', 'later', [0, null]), null, 'and null stays null')
})

t.test('arity: fewer arguments than the function needs are refused as unknown code; more are allowed', async t => {
  const { a, b } = await pair(t)
  for (const [node, where] of [
    [b.name, 'on a peer'],
    [a.name, 'on the own node'],
  ] as const) {
    const e0 = await rejection(a.rpc(node, 'r', 'echo', []))
    t.type(e0, SpawnError, `echo/0 ${where}`)
    t.match(e0, { code: 'ERR_SPAWN_UNKNOWN_FUNCTION', message: /no function echo\/0 \(echo needs at least 1 argument\)/ })
    t.match(await rejection(a.rpc(node, 'r', 'add', [1])), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION', message: /add\/1/ }, `add/1 ${where}`)
    t.match(
      await rejection(inProcess(a, proc => proc.rpc(node, 'r', 'add', [1]))),
      { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' },
      `proc.rpc of add/1 ${where}`,
    )
    t.match(await rejection(a.spawn(node, 'r', 'add', [1])), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, `spawn of add/1 ${where}`)
    t.match(
      await rejection(inProcess(a, proc => proc.spawnLink(node, 'r', 'echo', []))),
      { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' },
      `spawnLink of echo/0 ${where}`,
    )
    t.equal(await a.rpc(node, 'r', 'echo', ['x']), 'x', `echo/1 runs ${where}`)
    t.equal(await a.rpc(node, 'r', 'add', [1, 2, 3]), 3, `more arguments than parameters ${where}`)
    t.equal(await a.rpc(node, 'r', 'opt', [1]), 11, `a default parameter need not be given ${where}`)
    t.equal(await a.rpc(node, 'r', 'opt', [1, 2]), 3)
    t.equal(await a.rpc(node, 'r', 'rest', []), 0, `a rest parameter takes none ${where}`)
  }
})

t.test('exceptions: error, throw, exit, killed — RpcError with kind and reason', async t => {
  const { a, b } = await pair(t)

  const e = await rejection(a.rpc(b.name, 'r', 'fail', ['bad input']))
  t.type(e, RpcError, 'a thrown Error: RpcError')
  t.match(e, { code: 'ERR_RPC', kind: 'error' })
  t.ok(e.reason instanceof Error, 'reason: the Error as it crossed')
  t.match(e.reason, { name: 'TypeError', message: 'bad input' })
  t.equal(e.cause, e.reason, 'and its cause')
  t.match(e.remoteStack, /TypeError: bad input/, 'the remote stack text comes along')
  t.match(e.message, /r:fail\/1 on rpcb@.*error.*TypeError: bad input/, 'the message names the call and node')

  const th = await rejection(a.rpc(b.name, 'r', 'throw_value', [['oops', 7]]))
  t.match(th, { code: 'ERR_RPC', kind: 'throw' }, 'a thrown non-Error: kind throw')
  t.same(th.reason, ['oops', 7], 'the thrown value')

  const ex = await rejection(a.rpc(b.name, 'r', 'quit', ['bye']))
  t.match(ex, { code: 'ERR_RPC', kind: 'exit', reason: 'bye' }, 'proc.exit(reason): kind exit')

  const normal = await rejection(a.rpc(b.name, 'r', 'quit', ['normal']))
  t.match(normal, { kind: 'exit', reason: 'normal' }, "even proc.exit('normal') is an exit, as in erpc")

  // Killed by an exit signal while it waits.
  const s = sink(a)
  const call = rejection(a.rpc(b.name, 'r', 'hang', [s.pid]))
  await waitUntil(() => s.got.length === 1, 'the hanging function reported its pid')
  const victim = (s.got[0] as [string, Pid])[1]
  t.equal(victim.node, b.name)
  a.exit(victim, 'kill')
  t.match(await call, { code: 'ERR_RPC', kind: 'exit', reason: 'killed' }, 'killed by a signal: kind exit, reason killed')

  t.equal(await a.rpc(b.name, 'r', 'add', [1, 1]), 2, 'b still serves calls')
  t.ok(a.nodes().includes(b.name), 'the connection stayed up')
})

t.test('unknown code, and a result that cannot come back', async t => {
  const { a, b } = await pair(t)
  const m = await rejection(a.rpc(b.name, 'nomod', 'f', []))
  t.type(m, SpawnError)
  t.match(m, { code: 'ERR_SPAWN_UNKNOWN_MODULE' }, 'unknown module')
  t.match(m.message, b.name, 'names the node')
  t.match(await rejection(a.rpc(b.name, 'r', 'nofun', [])), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, 'unknown function')
  t.match(await rejection(a.rpc(b.name, 'r', 'toString', [])), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, 'an inherited property')
  const u = await rejection(a.rpc(b.name, 'r', 'unencodable', []))
  t.type(u, RpcError)
  t.match(u, { kind: 'badrpc', reason: { code: 'ERR_ENCODE' } }, 'an unencodable result: badrpc ERR_ENCODE')
  const arg = await rejection(a.rpc(b.name, 'r', 'add', [() => 1, 2]))
  t.match(arg, { code: 'ERR_ENCODE' }, 'an argument that is not a term rejects at once')
  t.match(await rejection(a.rpc(b.name, 'r', 'add', 'x' as never)), { code: 'ERR_BAD_ARGUMENT' }, 'args must be an array')
  t.match(await rejection(a.rpc(b.name, 'r', 'add', [], { timeout: -1 })), { code: 'ERR_BAD_ARGUMENT' }, 'a bad timeout')
  t.equal(await a.rpc(b.name, 'r', 'add', [2, 3]), 5, 'still serving')
})

t.test('policy: allowSpawn and allowSignal op rpc refuse; the refusals are counted', async t => {
  const epmd = await testEpmd(t)
  const refused = refusedLog(t)
  const a = await testNode(t, epmd, { name: 'rpcpa' })
  const noSpawn = await testNode(t, epmd, { name: 'rpcpb', policy: { allowSpawn: async () => false } })
  const seen: unknown[] = []
  const fw = await testNode(t, epmd, {
    name: 'rpcpc',
    policy: {
      allowSignal: (_from, op, detail) => {
        if (op !== 'rpc') return true
        seen.push(detail)
        return detail.function === 'add'
      },
    },
  })

  const s = await rejection(a.rpc(noSpawn.name, 'r', 'add', [1, 2]))
  t.type(s, SpawnError)
  t.match(s, { code: 'ERR_SPAWN_NOT_ALLOWED' }, 'allowSpawn refuses: ERR_SPAWN_NOT_ALLOWED')
  t.match(s.message, noSpawn.name)
  t.same(noSpawn.refusals.counts().get(a.name), { rpc: 1 }, 'counted as an rpc refusal')

  const f = await rejection(a.rpc(fw.name, 'r', 'whoami', []))
  t.match(f, { code: 'ERR_SIGNAL_NOT_ALLOWED' }, 'allowSignal refuses op rpc: ERR_SIGNAL_NOT_ALLOWED')
  t.equal(await a.rpc(fw.name, 'r', 'add', [1, 2]), 3, 'what it allows runs')
  t.match(seen[0], { from: undefined, module: 'r', function: 'whoami', args: [] }, 'detail: from, module, function, args')
  const fromProc = await inProcess(a, proc => rejection(proc.rpc(fw.name, 'r', 'whoami', [1])))
  t.match(fromProc, { code: 'ERR_SIGNAL_NOT_ALLOWED' })
  t.ok((seen[2] as { from: Pid }).from instanceof Pid, 'proc.rpc names the calling process')
  t.ok(
    refused.some(r => r.node === fw.name && r.op === 'rpc' && r.code === 'ERR_SIGNAL_NOT_ALLOWED'),
    'published on netkernel:refused',
  )
})

t.test('timeout and abort: the wait ends, a late reply is dropped quietly', async t => {
  const { a, b } = await pair(t)
  const start = Date.now()
  const e = await rejection(a.rpc(b.name, 'r', 'later', [400, 'late'], { timeout: 100 }))
  t.type(e, NetkernelError)
  t.match(e, { code: 'ERR_RPC_TIMEOUT' }, 'ERR_RPC_TIMEOUT')
  t.match(e.message, /r:later\/2 on rpcb@.*100 ms/)
  t.ok(Date.now() - start < 400, 'rejected at the timeout, not at the result')
  const ac = new AbortController()
  const aborted = rejection(a.rpc(b.name, 'r', 'later', [300, 'late'], { signal: ac.signal }))
  ac.abort()
  t.match(await aborted, { code: 'ERR_ABORTED' }, 'aborted through its signal')
  const pre = await rejection(a.rpc(b.name, 'r', 'add', [1, 2], { signal: AbortSignal.abort() }))
  t.match(pre, { code: 'ERR_ABORTED' }, 'an already aborted signal rejects at once')
  await new Promise(r => setTimeout(r, 500)) // the late replies arrive
  t.equal(b.refusals.total(), 0)
  t.equal(a.refusals.total(), 0, 'late replies are not taken for forged ones')
  t.equal(await a.rpc(b.name, 'r', 'add', [2, 2]), 4)
})

t.test('a connection lost mid-call: ERR_CONNECTION_CLOSED; an unreachable node likewise; ping', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'rpcla' })
  const b = await testNode(t, epmd, { name: 'rpclb' })
  const s = sink(a)
  const call = rejection(a.rpc(b.name, 'r', 'hang', [s.pid]))
  await waitUntil(() => s.got.length === 1, 'the call is running')
  await b.stop()
  const e = await call
  t.type(e, NetkernelError)
  t.match(e, { code: 'ERR_CONNECTION_CLOSED' }, 'the peer stopped: ERR_CONNECTION_CLOSED')
  t.match(e.message, /r:hang\/1 on rpclb@.*noconnection/)
  const gone = await rejection(a.rpc(full('nosuch'), 'r', 'add', [1, 2]))
  t.match(gone, { code: 'ERR_CONNECTION_CLOSED' }, 'a node that cannot be reached')
  t.equal(await a.ping(full('nosuch')), 'pang', 'ping: pang')
  t.equal(await a.ping(a.name), 'pong', 'ping self: pong')
  const c = await testNode(t, epmd, { name: 'rpclc' })
  t.equal(await a.ping(c.name), 'pong', 'ping a live node: pong')
  t.ok(a.nodes().includes(c.name), 'and it connected')
  await a.stop()
  t.match(await rejection(a.rpc(c.name, 'r', 'add', [1, 2])), { code: 'ERR_NODE_STOPPED' }, 'after stop: ERR_NODE_STOPPED')
})

t.test('rpc to the own node runs here, with the same results and errors', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'rpcself' })
  t.equal(await a.rpc(a.name, 'r', 'add', [40, 2]), 42)
  t.equal(await a.rpc(a.name, 'r', 'later', [10, 'x']), 'x')
  const big = { n: 1n }
  t.equal(await a.rpc(a.name, 'r', 'later', [0, big]), big, 'a local call passes the value itself, as local sends do')
  t.match(await rejection(a.rpc(a.name, 'r', 'fail', ['m'])), { code: 'ERR_RPC', kind: 'error', reason: { message: 'm' } })
  t.match(await rejection(a.rpc(a.name, 'r', 'throw_value', [1])), { kind: 'throw', reason: 1 })
  t.match(await rejection(a.rpc(a.name, 'r', 'quit', ['bye'])), { kind: 'exit', reason: 'bye' })
  t.match(await rejection(a.rpc(a.name, 'r', 'nofun', [])), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' })
  t.match(await rejection(a.rpc(a.name, 'r', 'later', [300, 1], { timeout: 20 })), { code: 'ERR_RPC_TIMEOUT' })
  const before = a.stats().processes
  await a.rpc(a.name, 'r', 'add', [1, 1])
  await waitUntil(() => a.stats().processes <= before, 'the call process is gone')
  t.pass('the process of a finished call ends')
  const viaProc = await inProcess(a, proc => proc.rpc(proc.node, 'r', 'whoami', []))
  t.equal((viaProc as [string])[0], a.name, 'proc.rpc to its own node')
})

t.test('proc.rpc; messages the function sent arrive before its result', async t => {
  const { a, b } = await pair(t)
  const got = await inProcess(a, async proc => {
    const r = await proc.rpc(b.name, 'r', 'tell', [proc.self, 200])
    const msgs: unknown[] = []
    for (let i = 0; i < 200; i++) msgs.push(await proc.receive(undefined, { timeout: 0 }))
    return [r, msgs]
  })
  t.equal((got as [string])[0], 'sent', 'the result')
  t.same(
    (got as [string, unknown[]])[1],
    [...Array(200).keys()].map(i => [i]),
    'all 200 messages were in the mailbox, in order',
  )

  // A large message to the caller, then the result: the result still comes second.
  b.defineModule('big', {
    send_big: (proc, to: Pid) => {
      proc.send(to, ['big', Buffer.alloc(4 * 1024 * 1024, 1)])
      return 'after'
    },
  })
  const order = await inProcess(a, async proc => {
    const r = await proc.rpc(b.name, 'big', 'send_big', [proc.self])
    const m = (await proc.receive(undefined, { timeout: 0 })) as [string, Buffer]
    return [r, m[0], m[1].length]
  })
  t.same(order, ['after', 'big', 4 * 1024 * 1024], 'a 4 MB message sent before returning is there when the result is')

  // Calls and sends from one caller are answered in the order made.
  const results = await Promise.all([...Array(50).keys()].map(i => a.rpc(b.name, 'r', 'add', [i, 0])))
  t.same(results, [...Array(50).keys()], '50 concurrent calls, each its own result')
})

t.test('RPC_CALL / RPC_REPLY trust checks (a hand-made peer)', async t => {
  const epmd = await testEpmd(t)
  const refused = refusedLog(t)
  const a = await testNode(t, epmd, { name: 'rpcta' })
  const rogue = await rawPeer(t, a)
  rogue.send([RPC_CALL, 1, rogue.pid(5), 'r', 'add', [1, 2]])
  t.same(await rogue.next(f => f[0] === RPC_REPLY && f[1] === 1), [RPC_REPLY, 1, 'return', 3], 'the reply frame: [16, id, kind, value]')
  rogue.send([RPC_CALL, 2, null, 'r', 'fail', ['x']])
  const err = await rogue.next(f => f[0] === RPC_REPLY && f[1] === 2)
  t.equal(err[2], 'error')
  t.match(err[3], { name: 'TypeError', message: 'x' }, 'an Error crosses as the Error extension')
  t.type(err[4], 'string', 'then its stack')
  rogue.send([RPC_CALL, 3, null, 'nomod', 'f', []])
  t.match(await rogue.next(f => f[0] === RPC_REPLY && f[1] === 3), [RPC_REPLY, 3, 'badrpc', { code: 'ERR_SPAWN_UNKNOWN_MODULE' }])

  const third = new Pid(full('third'), 1, 0, 1)
  rogue.send([RPC_CALL, 4, third, 'r', 'add', [1, 2]])
  t.match(
    await rogue.next(f => f[0] === RPC_REPLY && f[1] === 4),
    [RPC_REPLY, 4, 'badrpc', { code: 'ERR_PROTOCOL' }],
    "a third node's pid as caller: refused",
  )
  rogue.send([RPC_CALL, 5, null, 'r', 'add', 'notalist'])
  t.match(await rogue.next(f => f[0] === RPC_REPLY && f[1] === 5), [RPC_REPLY, 5, 'badrpc', { code: 'ERR_PROTOCOL' }], 'malformed: refused')
  // A reply to a call a never made.
  const s = a.spawn(async proc => void (await proc.receive()))
  rogue.send([RPC_REPLY, 77, 'return', 'forged'])
  rogue.send([SEND, s, 'marker'])
  await waitUntil(() => refused.filter(r => r.node === a.name && r.code === 'ERR_PROTOCOL').length >= 3, 'the refusals')
  const protocol = refused.filter(r => r.node === a.name && r.code === 'ERR_PROTOCOL').map(r => r.op)
  t.same(protocol, ['rpc_call', 'rpc_call', 'rpc_reply'], 'counted: the forged caller, the malformed call, the forged reply')
  t.ok(rogue.up, 'the connection stays up')
})

t.test('across OS processes: a call, an exception, and the peer killed mid-call', async t => {
  const epmd = await testEpmd(t)
  const peer = await startPeer(t, { name: 'rpcos', cookie: 'test-cookie', epmdPort: epmd.port })
  const a = await testNode(t, epmd, { name: 'rpcosa' })
  t.equal(await a.rpc(peer.name, 'r', 'add', [40, 2]), 42)
  t.match(await rejection(a.rpc(peer.name, 'r', 'throw_value', ['x'])), { kind: 'throw', reason: 'x' })
  const s = sink(a)
  const call = rejection(a.rpc(peer.name, 'r', 'hang', [s.pid]))
  await waitUntil(() => s.got.length === 1, 'the call is running')
  peer.kill('SIGKILL')
  t.match(await call, { code: 'ERR_CONNECTION_CLOSED' }, 'the peer killed: ERR_CONNECTION_CLOSED')
})
