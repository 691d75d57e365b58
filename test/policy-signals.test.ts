// The distribution firewall, policy.allowSignal(fromNode, op, detail): each operation a peer
// can ask of a node — send, reg_send, link, monitor, exit (exit/2), spawn — refused is
// dropped or answered (a link gets exit 'noproc', a monitor DOWN 'noproc', a spawn
// ERR_SPAWN_NOT_ALLOWED), counted per peer, published on 'netkernel:refused' with
// ERR_SIGNAL_NOT_ALLOWED and logged; allowed operations behave as without a policy; a policy
// that throws (or answers with a promise) refuses and is logged, and nothing crashes. Real
// nodes on loopback.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import { Pid } from '../lib/terms/pid.js'
import type { AllowSignalArgs, SignalOp } from '../lib/kernel/signal-policy.js'
import type { KernelPolicy } from '../lib/kernel/net-kernel.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { refusedLog, warnLog } from './fixtures/raw-peer.js'
import { sleep, waitUntil } from './fixtures/mesh-helpers.js'

const isA =
  (tag: string) =>
  (m: unknown): boolean =>
    Array.isArray(m) && m[0] === tag

interface Setup {
  a: Node
  b: Node
  deny: Set<SignalOp>
  asked: AllowSignalArgs[]
  warns: { obj: Record<string, unknown>; msg: string }[]
  /** A process on `a` registered as 'srv' that collects what it receives. */
  srv: { pid: Pid; got: unknown[] }
}

/**
 * The pg scopes' own signals to `a` (docs/pg.md: discover to the registered name 'pg', then
 * casts to the scope's pid and a monitor of it), which the policies of these tests let through, so that the
 * refusals they count are those of the operations they make.
 */
const pgScopes = new Set<string>()
const pgTraffic = (args: AllowSignalArgs): boolean =>
  (args[1] === 'reg_send' && args[2].name === 'pg') ||
  (args[1] === 'send' && pgScopes.has(args[2].to.key)) ||
  (args[1] === 'monitor' && args[2].target instanceof Pid && pgScopes.has(args[2].target.key))

async function setup(t: Test, allowSignal?: KernelPolicy['allowSignal']): Promise<Setup> {
  const epmd = await testEpmd(t)
  const deny = new Set<SignalOp>()
  const asked: AllowSignalArgs[] = []
  const { warns, logger } = warnLog()
  // global: false on both: global's own traffic (reg_send to global_name_server, monitors)
  // would go through allowSignal too, and add to the refusals these tests count.
  const a = await testNode(t, epmd, {
    name: 'a',
    global: false,
    logger,
    policy: {
      allowSignal:
        allowSignal ??
        ((...args) => {
          if (pgTraffic(args)) return true
          asked.push(args)
          return !deny.has(args[1])
        }),
    },
  })
  pgScopes.add(a.whereis('pg')!.key)
  const b = await testNode(t, epmd, { name: 'b', global: false })
  const got: unknown[] = []
  const pid = a.spawn(async proc => {
    for (;;) got.push(await proc.receive())
  })
  a.register('srv', pid)
  return { a, b, deny, asked, warns, srv: { pid, got } }
}

/** From a process on `b`: link to `x` trapping exits; the first EXIT it gets, or 'none'. */
function linkFrom(b: Node, x: Pid): Promise<unknown> {
  return inProcess(b, async proc => {
    proc.trapExit(true)
    proc.link(x)
    return proc.receive(isA('EXIT'), { timeout: 500 }).catch(() => 'none')
  })
}

/** From a process on `b`: monitor `x`, tell it `msg`; the first DOWN it gets, or 'none'. */
function monitorFrom(b: Node, x: Pid, msg?: unknown): Promise<unknown> {
  return inProcess(b, async proc => {
    proc.monitor(x)
    if (msg !== undefined) proc.send(x, msg)
    return proc.receive(isA('DOWN'), { timeout: 500 }).catch(() => 'none')
  })
}

/** A process on `node` that exits with its first message as reason. */
function dieOnMessage(node: Node): Pid {
  return node.spawn(async proc => {
    proc.exit(await proc.receive())
  })
}

t.test('each operation refused is dropped or answered, counted, published and logged', async t => {
  const { a, b, deny, warns, srv } = await setup(t)
  const refused = refusedLog(t)
  for (const op of ['send', 'reg_send', 'link', 'monitor', 'exit', 'spawn'] as const) deny.add(op)
  const x = dieOnMessage(a)

  b.send(srv.pid, 'by pid')
  b.send(['srv', a.name], 'by name')
  t.same(await linkFrom(b, x), ['EXIT', x, 'noproc'], "a refused link: the linker gets exit 'noproc', as for a process that does not exist")
  const down = (await monitorFrom(b, x)) as unknown[]
  t.same(down.slice(2), ['process', x, 'noproc'], "a refused monitor: DOWN 'noproc'")
  b.exit(x, 'kill')
  await t.rejects(b.spawn(a.name, 't', 'echo', []), { code: 'ERR_SPAWN_NOT_ALLOWED', message: /does not allow .*b@.* to spawn t:echo/ })
  await waitUntil(() => refused.length === 6, 'six refusals published')
  await sleep(50)
  t.same(srv.got, [], 'refused sends are dropped')
  t.ok(
    await inProcess(a, async proc => {
      proc.monitor(x)
      return proc.receive(isA('DOWN'), { timeout: 100 }).then(
        () => false,
        () => true,
      )
    }),
    'the refused exit signal did not reach its target',
  )

  t.same(
    a.refusals.counts(),
    new Map([[b.name, { send: 1, reg_send: 1, link: 1, monitor: 1, exit: 1, spawn: 1 }]]),
    'counted per peer and op',
  )
  t.same(
    refused.map(r => r.op),
    ['send', 'reg_send', 'link', 'monitor', 'exit', 'spawn'],
  )
  t.ok(refused.every(r => r.code === 'ERR_SIGNAL_NOT_ALLOWED' && r.node === a.name && r.peer === b.name))
  t.match(refused, [
    { detail: { to: srv.pid, message: 'by pid' } },
    { detail: { name: 'srv', message: 'by name' } },
    { detail: { to: x } },
    { detail: { target: x } },
    { detail: { to: x, reason: 'kill' } },
    { detail: { module: 't', function: 'echo', args: [], link: false } },
  ])
  t.equal(warns.filter(w => w.obj.code === 'ERR_SIGNAL_NOT_ALLOWED').length, 6, 'each logged')
  t.match(warns[0], { obj: { node: b.name, op: 'send', refused: 1 }, msg: /send from .*b@.* refused/ })

  deny.clear()
  b.send(srv.pid, 'after')
  await waitUntil(() => srv.got.includes('after'), 'the connection still carries messages')
  t.equal(a.nodes().includes(b.name), true, 'and stayed up')
})

t.test('allowed operations behave as without a policy; the policy sees what it decides on', async t => {
  const { a, b, asked, srv } = await setup(t)
  const refused = refusedLog(t)
  b.send(srv.pid, 'by pid')
  b.send(['srv', a.name], 'by name')
  await waitUntil(() => srv.got.length === 2, 'both sends delivered')
  t.same(srv.got, ['by pid', 'by name'])

  const x = dieOnMessage(a)
  const linked = linkFrom(b, x)
  const down = (await monitorFrom(b, x, 'bye')) as unknown[]
  t.same(down.slice(2), ['process', x, 'bye'], 'a monitor fires with the real reason')
  t.match(await linked, ['EXIT', x, 'bye'], 'and the link carries the exit')

  const y = dieOnMessage(a)
  const watched = monitorFrom(b, y)
  await sleep(50)
  b.exit(y, 'shot')
  t.match(await watched, ['DOWN', {}, 'process', y, 'shot'], 'exit/2 reaches its target')
  const echo = await b.spawn(a.name, 't', 'echo', [])
  t.equal(echo.node, a.name, 'spawn works')

  t.same(refused, [])
  t.same(a.refusals.counts(), new Map())
  const ops = asked.map(r => r[1])
  for (const op of ['send', 'reg_send', 'link', 'monitor', 'exit', 'spawn']) t.ok(ops.includes(op as SignalOp), `asked about ${op}`)
  t.ok(
    asked.every(r => r[0] === b.name),
    'with the peer’s name',
  )
  const spawn = asked.find(r => r[1] === 'spawn')
  t.match(spawn, [b.name, 'spawn', { module: 't', function: 'echo', args: [], link: false }])
  const exit = asked.find(r => r[1] === 'exit')
  t.match(exit, [b.name, 'exit', { to: y, reason: 'shot' }])
  t.equal((exit![2] as { from: Pid }).from.node, b.name)
})

t.test('a policy that throws or answers with a promise refuses, is logged, and crashes nothing', async t => {
  let mode: 'throw' | 'promise' | 'allow' = 'throw'
  const policy: KernelPolicy['allowSignal'] = (...args) => {
    if (pgTraffic(args)) return true
    const [, op, detail] = args
    // The request is a discriminated union: detail is typed by op.
    if (op === 'send' && detail.message === 'ok') return true
    if (mode === 'throw') throw new Error('policy bug')
    if (mode === 'promise') return Promise.resolve(true) as unknown as boolean
    return true
  }
  const { a, b, warns, srv } = await setup(t, policy)
  const refused = refusedLog(t)
  b.send(srv.pid, 'thrown')
  await waitUntil(() => refused.length === 1, 'the first refusal')
  mode = 'promise'
  b.send(srv.pid, 'promised')
  await waitUntil(() => refused.length === 2, 'the second refusal')
  t.match(refused, [
    { op: 'send', code: 'ERR_SIGNAL_NOT_ALLOWED', reason: /threw: policy bug/ },
    { op: 'send', code: 'ERR_SIGNAL_NOT_ALLOWED', reason: /synchronously/ },
  ])
  t.match(
    warns.map(w => w.msg),
    [/threw: policy bug/, /synchronously/],
    'both logged',
  )
  b.send(srv.pid, 'ok')
  mode = 'allow'
  b.send(srv.pid, 'allowed')
  await waitUntil(() => srv.got.length === 2, 'later messages delivered')
  t.same(srv.got, ['ok', 'allowed'], 'only what the policy allowed arrived, in order')
  t.same(a.refusals.counts().get(b.name), { send: 2 })
  t.ok(a.nodes().includes(b.name), 'the connection stayed up')
})

t.test('allowSpawn keeps working beside allowSignal; its refusals are counted too', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a', policy: { allowSpawn: (_from, mod) => mod !== 'secret', allowSignal: () => true } })
  const b = await testNode(t, epmd, { name: 'b' })
  const refused = refusedLog(t)
  await t.rejects(b.spawn(a.name, 'secret', 'f', []), { code: 'ERR_SPAWN_NOT_ALLOWED' })
  t.equal((await b.spawn(a.name, 't', 'echo', [])).node, a.name)
  t.same(a.refusals.counts().get(b.name), { spawn: 1 })
  t.match(refused, [{ op: 'spawn', code: 'ERR_SPAWN_NOT_ALLOWED', detail: { module: 'secret', function: 'f' } }])
})
