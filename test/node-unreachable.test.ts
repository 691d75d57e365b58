// Unreachable nodes (issue 3): messages to them are dropped silently, a nodedown with
// 'connection_setup_failed' fires and is logged, connect() says false, a remote spawn fails
// with ERR_SPAWN_FAILED, and the node keeps working.
import t, { type Test } from 'tap'
import type { Logger } from '../lib/logger.js'
import type { Node } from '../lib/node.js'
import { SpawnError } from '../lib/errors.js'
import { registerNode } from '../lib/epmd/client.js'
import { NETKERNEL_EXTRA } from '../lib/epmd/discovery.js'
import type { EpmdDaemon } from '../lib/epmd/daemon.js'
import { testEpmd, testNode, full, nextEvent, inProcess } from './fixtures/cluster.js'
import { refusedPort } from './fixtures/ports.js'

interface LogCall {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error'
  obj: unknown
  msg: string | undefined
}

/** A logger that records every call (no child(): the node logs straight into it). */
function recordingLogger(): Logger & { calls: LogCall[]; warnings(about: string): LogCall[] } {
  const calls: LogCall[] = []
  const at =
    (level: LogCall['level']) =>
    (obj: object | string, msg?: string): void => {
      calls.push({ level, obj, msg: typeof obj === 'string' ? obj : msg })
    }
  return {
    calls,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    warnings: about => calls.filter(c => c.level === 'warn' && (c.msg ?? '').includes(about)),
  }
}

type DownArgs = [string, { reason: string; type: string; dropped?: number; error?: Error }]

async function setup(t: Test): Promise<{ epmd: EpmdDaemon; node: Node; log: ReturnType<typeof recordingLogger> }> {
  const epmd = await testEpmd(t)
  const log = recordingLogger()
  const node = await testNode(t, epmd, { name: 'lonely', logger: log, setupTimeout: 5000 })
  return { epmd, node, log }
}

/** The node still works: a good connect succeeds and a message round trip through it. */
async function stillWorks(t: Test, epmd: EpmdDaemon, node: Node): Promise<void> {
  const friend = await testNode(t, epmd, { name: 'friend' })
  t.equal(await node.connect(friend.name), true, 'a later good connect succeeds')
  const reply = await inProcess(node, async proc => {
    const pid = await proc.spawn(friend.name, 't', 'echo', [])
    proc.send(pid, ['ping', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(reply, ['ping', friend.name], 'and a remote spawn and message round trip work')
}

t.test('send to a registered name on a node nobody runs: dropped, nodedown, a warning', async t => {
  const { epmd, node, log } = await setup(t)
  const nobody = full('nobody')
  const down = nextEvent<DownArgs>(node, 'nodedown', n => n === nobody)
  t.doesNotThrow(() => {
    node.send(['server', nobody], 'one')
    node.send(['server', nobody], 'two')
    node.send(['server', nobody], 'three')
  }, 'send does not throw')
  const [, info] = await down
  t.equal(info.reason, 'connection_setup_failed')
  t.equal(info.type, 'visible')
  t.equal(info.dropped, 3, 'the three queued messages were dropped')
  t.match(info.error, { code: 'ERR_NODE_NOT_FOUND' }, 'because the port mapper does not know it')
  t.ok(
    log.warnings(nobody).some(c => /connection_setup_failed/.test(c.msg ?? '')),
    'the logger got a warn naming the node and the reason',
  )
  t.same(node.nodes('connected'), [], 'no connection')
  await stillWorks(t, epmd, node)
})

t.test('send to a pid on a node that has stopped: dropped, nodedown, a warning', async t => {
  const { epmd, node, log } = await setup(t)
  const gone = await testNode(t, epmd, { name: 'gone' })
  const pid = gone.spawn(async proc => {
    await proc.receive()
  })
  await gone.stop()
  const down = nextEvent<DownArgs>(node, 'nodedown', n => n === gone.name)
  t.doesNotThrow(() => node.send(pid, 'hello?'), 'send does not throw')
  const [, info] = await down
  t.equal(info.reason, 'connection_setup_failed')
  t.equal(info.dropped, 1)
  t.ok(log.warnings(gone.name).length > 0, 'the logger got a warn')
  // From inside a process too: nothing throws, the process carries on.
  const after = await inProcess(node, async proc => {
    proc.send(pid, 'again?')
    proc.send(proc.self, 'still alive')
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.equal(after, 'still alive', 'a process that sends to it carries on')
  await stillWorks(t, epmd, node)
})

t.test('a node whose registered port refuses the dial', async t => {
  const { epmd, node, log } = await setup(t)
  const closedPort = await refusedPort()
  const reg = await registerNode({ host: '127.0.0.1', port: epmd.port, name: 'ghost', nodePort: closedPort, extra: NETKERNEL_EXTRA })
  t.teardown(() => reg.close())
  const ghost = full('ghost')
  const errors: string[] = []
  node.on('connectError', (n, info) => {
    if (n === ghost) errors.push(info.code)
  })
  const down = nextEvent<DownArgs>(node, 'nodedown', n => n === ghost)
  t.equal(await node.connect(ghost), false, 'connect() resolves false')
  const [, info] = await down
  t.equal(info.reason, 'connection_setup_failed')
  t.same(errors, ['ERR_CONNECT'], 'the dial was refused')
  t.ok(log.warnings(ghost).length > 0, 'the logger got a warn')
  await stillWorks(t, epmd, node)
})

t.test("connect('nobody@host') resolves false; a remote spawn there rejects with ERR_SPAWN_FAILED", async t => {
  const { epmd, node, log } = await setup(t)
  const nobody = full('nobody')
  const downs: DownArgs[] = []
  node.on('nodedown', (...a) => downs.push(a as DownArgs))
  t.equal(await node.connect(nobody), false, 'connect() resolves false')
  t.equal(await node.connect(nobody), false, 'and again (a failure is not cached as success)')
  const err = await node.spawn(nobody, 't', 'echo', []).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, SpawnError)
  t.match(err, { code: 'ERR_SPAWN_FAILED' })
  t.match((err as Error).message, nobody, 'the message names the node')
  const fromProc = await inProcess(node, proc =>
    proc.spawn(nobody, 't', 'echo', []).then(
      () => undefined,
      (e: unknown) => e,
    ),
  )
  t.match(fromProc, { code: 'ERR_SPAWN_FAILED' }, 'from inside a process as well')
  t.ok(
    downs.length >= 3 && downs.every(([n, i]) => n === nobody && i.reason === 'connection_setup_failed'),
    'each attempt ended in nodedown connection_setup_failed',
  )
  t.ok(log.warnings(nobody).length >= 3, 'each was logged as a warning')
  await stillWorks(t, epmd, node)
})
