// Ticks toward a real erl with `-kernel net_ticktime 4`: an idle connection stays up for three
// tick times; when our side stops ticking erl drops it with net_tick_timeout; when erl stops
// (SIGSTOP) we drop it with net_tick_timeout.
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { nextEvent } from './fixtures/cluster.js'
import { systemClock, type Clock } from '../lib/clock.js'

const cookie = 'otp-ticks-cookie'
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

t.test('ticks with net_ticktime 4', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  // The node's clock, whose interval timers (the connection's tick) can be stopped.
  let frozen = false
  const clock: Clock = {
    ...systemClock,
    setInterval: (fn, ms) => systemClock.setInterval(() => frozen || fn(), ms),
  }
  const node = await startErlangNode(t, epmd.port, { name: `jst${process.pid}`, cookie, tickTime: 4000, clock })
  const erl = await startErl(t, { name: `et${process.pid}`, epmdPort: epmd.port, cookie, netTicktime: 4 })
  t.teardown(() => {
    try {
      process.kill(erl.pid, 'SIGCONT')
    } catch {
      // gone already
    }
  })
  const js = `'${node.name}'`
  const downs: [string, Record<string, unknown>][] = []
  node.on('nodedown', (n, info) => downs.push([n, info]))
  await erl.eval(`net_kernel:monitor_nodes(true, [nodedown_reason, {node_type, all}]).`)
  t.equal(await node.connect(erl.node), true)

  await t.test('idle for three tick times: still connected', async t => {
    await sleep(12_000)
    t.same(downs, [])
    t.ok(node.nodes('connected').includes(erl.node))
    t.equal(await erl.eval(`lists:member(${js}, nodes(connected)).`), 'true')
  })

  await t.test('we stop ticking: erl drops us with net_tick_timeout', async t => {
    frozen = true
    const r = await erl.eval(
      `receive {nodedown, ${js}, Info} -> proplists:get_value(nodedown_reason, Info) after 15000 -> timeout end.`,
      20_000,
    )
    frozen = false
    t.equal(r, 'net_tick_timeout')
  })

  await t.test('erl stops (SIGSTOP): we drop it with net_tick_timeout', async t => {
    t.equal(await node.connect(erl.node), true)
    await sleep(200)
    const down = nextEvent<[string, { reason: string }]>(node, 'nodedown', n => n === erl.node, 15_000)
    process.kill(erl.pid, 'SIGSTOP')
    const [, info] = await down
    process.kill(erl.pid, 'SIGCONT')
    t.equal(info.reason, 'net_tick_timeout')
  })
})
