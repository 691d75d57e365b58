// One injectable clock reaches the node's timers: with startNode({ clock }), a receive
// timeout, a remote spawn's timeout and a handshake step's deadline fire when that clock says
// so, to the millisecond, and not before however long real time waits.
import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNode, type Node } from '../lib/index.js'
import { fakeClock } from './fixtures/fake-clock.js'

/** Let pending promise callbacks and I/O run. */
const settle = (): Promise<void> => sleep(20)

/** Tracks a promise's outcome without awaiting it. */
function watch<T>(p: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; error?: { code?: string; message: string } } {
  const w: ReturnType<typeof watch> = { state: 'pending' }
  p.then(
    () => void (w.state = 'resolved'),
    (e: { code?: string; message: string }) => {
      w.state = 'rejected'
      w.error = e
    },
  )
  return w
}

t.test('a receive timeout fires on the node clock, exactly', async t => {
  const clock = fakeClock()
  const node = await startNode({ name: 'clockrecv', epmd: false, cookie: 'c', clock })
  t.teardown(() => node.stop())
  let waited: ReturnType<typeof watch> | undefined
  node.spawn(proc => {
    const p = proc.receive(() => false, { timeout: 1000 })
    waited = watch(p)
    return p.catch(() => {})
  })
  await settle()
  t.ok(waited, 'the process is waiting')
  await sleep(1100)
  t.equal(waited!.state, 'pending', 'real time does not time it out')
  clock.advance(999)
  await settle()
  t.equal(waited!.state, 'pending', 'not at 999 ms of clock time')
  clock.advance(1)
  await settle()
  t.equal(waited!.state, 'rejected', 'at 1000 ms')
  t.equal(waited!.error?.code, 'ERR_RECEIVE_TIMEOUT')
  t.match(waited!.error?.message, /1000 ms/)
})

t.test('a remote spawn times out on the node clock, exactly', async t => {
  const clock = fakeClock()
  const nodes: Node[] = []
  t.teardown(() => Promise.all(nodes.map(n => n.stop())))
  const at = (n: () => Node) => async () => ({ host: '127.0.0.1', port: n().address!.port })
  const common = { epmd: false as const, listen: { host: '127.0.0.1' }, cookie: 'c' }
  let a: Node | undefined
  // b never answers: its allowSpawn never decides.
  const b = await startNode({
    name: 'clockb',
    ...common,
    resolve: at(() => a!),
    modules: { m: { f: () => {} } },
    policy: { allowSpawn: () => new Promise<boolean>(() => {}) },
  })
  nodes.push(b)
  a = await startNode({ name: 'clocka', ...common, resolve: at(() => b), clock, spawnTimeout: 5000 })
  nodes.push(a)
  t.equal(await a.connect(b.name), true, 'connected')
  const spawned = watch(a.spawn(b.name, 'm', 'f', []))
  await settle()
  clock.advance(4999)
  await settle()
  t.equal(spawned.state, 'pending', 'no reply, and not at 4999 ms of clock time')
  clock.advance(1)
  await settle()
  t.equal(spawned.state, 'rejected', 'at 5000 ms')
  t.equal(spawned.error?.code, 'ERR_SPAWN_FAILED')
  t.match(spawned.error?.message, /no reply within 5000 ms/)
})

t.test("an inbound handshake's step deadline fires on the node clock, exactly", async t => {
  const clock = fakeClock()
  // The setup deadline (also on the clock) is far off: the step deadline is what fires.
  const node = await startNode({
    name: 'clockstep',
    epmd: false,
    listen: { host: '127.0.0.1' },
    cookie: 'c',
    clock,
    handshakeStepTimeout: 300,
    setupTimeout: 60_000,
  })
  t.teardown(() => node.stop())
  const errors: { code: string; direction: string }[] = []
  node.on('connectError', (_name, info) => errors.push(info))
  // A raw peer that connects and stays silent: the responder waits for its hello.
  const sock = connect(node.address!.port, '127.0.0.1')
  t.teardown(() => sock.destroy())
  await once(sock, 'connect')
  let closed = false
  sock.on('close', () => void (closed = true))
  sock.on('error', () => {})
  await settle()
  await sleep(400)
  t.same(errors, [], 'real time past the step deadline does not time it out')
  t.equal(closed, false, 'the socket is still open')
  clock.advance(299)
  await settle()
  t.same(errors, [], 'not at 299 ms of clock time')
  t.equal(closed, false, 'the socket is still open at 299 ms')
  clock.advance(1)
  for (let i = 0; i < 50 && (errors.length === 0 || !closed); i++) await settle()
  t.equal(errors.length, 1, 'one connectError at 300 ms')
  t.equal(errors[0]?.code, 'ERR_HANDSHAKE_TIMEOUT')
  t.equal(errors[0]?.direction, 'in')
  t.match((errors[0] as { error?: Error } | undefined)?.error?.message, /timed out after 300 ms/)
  t.ok(closed, 'the silent socket was closed')
})
