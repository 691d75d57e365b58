// Remote spawn (issue 3): refusals come back as SpawnErrors naming the node and leave it
// working; defineModule adds spawnable code at run time; spawnLink carries a remote exit.
import t from 'tap'
import { SpawnError } from '../lib/errors.js'
import { Pid } from '../lib/terms/pid.js'
import type { Node } from '../lib/node.js'
import { startPeer, type Peer } from './fixtures/peers.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    v => new Error(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  )

/** A spawn of t:echo on `node`, a message to it and its reply: the node still serves. */
async function echoRoundTrip(local: Node, node: string): Promise<unknown> {
  return inProcess(local, async proc => {
    const pid = await proc.spawn(node, 't', 'echo', [])
    proc.send(pid, ['ping', proc.self])
    const reply = await proc.receive(undefined, { timeout: 10_000 })
    proc.send(pid, 'stop')
    return reply
  })
}

t.test('remote spawn refusals (the remote node is a separate OS process)', async t => {
  const epmd = await testEpmd(t)
  const [bar, strict] = await Promise.all([
    startPeer(t, { name: 'sbar', cookie: 'test-cookie', epmdPort: epmd.port }),
    startPeer(t, { name: 'sstrict', cookie: 'test-cookie', epmdPort: epmd.port, denySpawn: true }),
  ])
  const foo = await testNode(t, epmd, { name: 'sfoo' })

  const cases: [string, Peer, string, string, string][] = [
    ['an unknown module', bar, 'nomod', 'f', 'ERR_SPAWN_UNKNOWN_MODULE'],
    ['an unknown function', bar, 't', 'nofun', 'ERR_SPAWN_UNKNOWN_FUNCTION'],
    ['an inherited property is no function', bar, 't', 'toString', 'ERR_SPAWN_UNKNOWN_FUNCTION'],
    ['policy.allowSpawn refuses', strict, 't', 'echo', 'ERR_SPAWN_NOT_ALLOWED'],
  ]
  for (const [what, peer, mod, fun, code] of cases) {
    await t.test(`${what}: ${code}`, async t => {
      const fromNode = await rejection(foo.spawn(peer.name, mod, fun, []))
      t.type(fromNode, SpawnError, 'node.spawn rejects with a SpawnError')
      t.match(fromNode, { code }, `code ${code}`)
      t.match((fromNode as Error).message, peer.name, 'the message names the remote node')
      const fromProc = await inProcess(foo, proc => rejection(proc.spawn(peer.name, mod, fun, [1, 'two'])))
      t.type(fromProc, SpawnError, 'proc.spawn rejects the same way')
      t.match(fromProc, { code })
      t.same(await echoRoundTrip(foo, bar.name), ['ping', bar.name], 'a following good spawn and round trip work')
    })
  }

  t.ok(foo.nodes().includes(bar.name), 'the connection to the remote node stayed up')
  t.ok(foo.nodes().includes(strict.name), 'the connection to the strict node stayed up')
  t.notOk(
    bar.lines.some(l => l.startsWith('NODEDOWN')),
    'the remote node saw no nodedown',
  )
  t.equal(bar.child.exitCode, null, 'the remote node is still running')
})

t.test('node.defineModule adds spawnable code at run time', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'defa' })
  const b = await testNode(t, epmd, { name: 'defb' })
  const before = await rejection(a.spawn(b.name, 'late', 'hello', []))
  t.match(before, { code: 'ERR_SPAWN_UNKNOWN_MODULE' }, 'not spawnable before it is defined')

  b.defineModule('late', { hello: (proc, to: Pid) => proc.send(to, ['hello', proc.node, 1]) })
  const reply = await inProcess(a, async proc => {
    const pid = await proc.spawn(b.name, 'late', 'hello', [proc.self])
    t.equal(pid.node, b.name, 'the new process lives on b')
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(reply, ['hello', b.name, 1], 'spawnable once defined')

  b.defineModule('late', { hello: (proc, to: Pid) => proc.send(to, ['hello', proc.node, 2]) })
  const replaced = await inProcess(a, async proc => {
    await proc.spawn(b.name, 'late', 'hello', [proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(replaced, ['hello', b.name, 2], 'defining it again replaces it')
  t.match(await rejection(a.spawn(b.name, 'late', 'bye', [])), { code: 'ERR_SPAWN_UNKNOWN_FUNCTION' }, 'only its functions are spawnable')
})

t.test("proc.spawnLink(remote): an abnormal remote exit reaches the trapping process as ['EXIT', pid, reason]", async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'linka' })
  const b = await testNode(t, epmd, { name: 'linkb' })
  const downs: string[] = []
  a.on('nodedown', n => downs.push(n))
  b.defineModule('crash', {
    /** Wait for 'die', then exit with `reason`. */
    later: async (proc, reason: unknown) => {
      await proc.receive(m => m === 'die')
      proc.exit(reason)
    },
    throws: async proc => {
      await proc.receive(m => m === 'die')
      throw new Error('boom on purpose')
    },
  })

  const [pid, exit] = await inProcess(a, async proc => {
    proc.trapExit(true)
    const pid = await proc.spawnLink(b.name, 'crash', 'later', [['bad', 42]])
    proc.send(pid, 'die')
    return [pid, await proc.receive(m => Array.isArray(m) && m[0] === 'EXIT', { timeout: 10_000 })] as const
  })
  t.ok(pid instanceof Pid && pid.node === b.name, 'spawnLink returned a pid on b')
  t.ok(Array.isArray(exit) && (exit[1] as Pid).equals(pid), 'the EXIT names the remote pid')
  t.same(exit, ['EXIT', pid, ['bad', 42]], "['EXIT', pid, reason] with the remote reason")

  const [tpid, texit] = await inProcess(a, async proc => {
    proc.trapExit(true)
    const pid = await proc.spawnLink(b.name, 'crash', 'throws', [])
    proc.send(pid, 'die')
    return [pid, (await proc.receive(m => Array.isArray(m) && m[0] === 'EXIT', { timeout: 10_000 })) as unknown[]] as const
  })
  t.equal(texit[0], 'EXIT')
  t.ok((texit[1] as Pid).equals(tpid), 'a thrown error: the EXIT names the remote pid')
  t.not(texit[2], 'normal', 'and its reason is not normal')
  t.type(texit[2], Error, 'a thrown error arrives as an Error')
  t.match(texit[2], { message: 'boom on purpose' }, 'the reason carries the error message')

  // A process that does not trap exits is taken down by the link.
  const watcherDown = await inProcess(a, async proc => {
    let remote: Pid | undefined
    const child = proc.spawn(async p => {
      remote = await p.spawnLink(b.name, 'crash', 'later', ['kaput'])
      p.send(proc.self, 'linked')
      await p.receive(() => false)
    })
    const ref = proc.monitor(child)
    await proc.receive(m => m === 'linked', { timeout: 10_000 })
    proc.send(remote!, 'die')
    return proc.receive(m => Array.isArray(m) && m[0] === 'DOWN' && m[1] === ref, { timeout: 10_000 })
  })
  t.same((watcherDown as unknown[])[4], 'kaput', 'a non-trapping linked process exits with the remote reason')

  t.ok(a.nodes().includes(b.name), 'the nodes stay connected')
  t.same(downs, [], 'no nodedown came out of it')
})
