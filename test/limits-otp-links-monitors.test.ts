// limits.monitorsPerPeer and limits.linksPerPeer on the Erlang/OTP wire, against a real erl
// node: monitors and links taken and released in rounds never reach the bound; the one past
// it drops the connection with ERR_LIMIT (nodedown's error, a warning naming the peer), and
// the node carries on. The native wire's side is limits-links-monitors.test.ts.
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { inProcess, nextEvent } from './fixtures/cluster.js'
import { warnLog } from './fixtures/raw-peer.js'
import { waitUntil } from './fixtures/mesh-helpers.js'
import type { Runtime } from '../lib/process/runtime.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'

const cookie = 'limits-otp-cookie'
const runtimeOf = (n: Node): Runtime => (n as unknown as { runtime: Runtime }).runtime
type DownInfo = { error?: { code?: string; message?: string } }

t.test('links and monitors of an erl peer, bounded per connection', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const limit = 200
  const { warns, logger } = warnLog()
  const node = await startErlangNode(t, epmd.port, {
    name: `js${process.pid}`,
    cookie,
    logger,
    limits: { monitorsPerPeer: limit, linksPerPeer: limit },
  })
  const rt = runtimeOf(node)
  const js = `'${node.name}'`
  const svc = node.spawn(async proc => {
    for (;;) await proc.receive()
  })
  node.register('svc', svc)

  const startPeer = async (suffix: string) => {
    // Hidden: a visible erl's global takes a monitor of its own on this node while it syncs
    // with it, for a few ms or, on a loaded machine, seconds, which the counts below would see.
    const erl = await startErl(t, { name: `e${suffix}${process.pid}`, epmdPort: epmd.port, cookie, hidden: true })
    let n = 0
    const ev = (expr: string, ms?: number): Promise<string> => erl.eval(expr.replace(/([A-Z][A-Za-z0-9_]*)\$/g, `$1_${++n}`), ms)
    await ev(`register(shell, self()), process_flag(trap_exit, true).`)
    t.equal(await ev(`net_adm:ping(${js}).`), 'pong')
    // Svc: the JS process's pid, in the shell.
    await inProcess(node, async proc => void proc.send(['shell', erl.node], tuple(atom('svc_pid'), svc as Pid)))
    await ev(`Svc = receive {svc_pid, P$} -> P$ after 5000 -> error(timeout) end.`)
    return { erl, ev }
  }

  await t.test('monitors: rounds below the bound, then one past it', async t => {
    const { erl, ev } = await startPeer('m')
    // monitor + demonitor, and monitors released by DOWN (a JS process that exits).
    for (let round = 0; round < 4; round++) {
      // Each step waits for the count it leads to, so that no wait passes on a count on its way elsewhere.
      await ev(`Ms${round} = [erlang:monitor(process, {svc, ${js}}) || _ <- lists:seq(1, ${limit})], ok.`)
      await waitUntil(() => rt.monitorsHeldBy(erl.node) === limit, `round ${round}: the monitors of svc taken`)
      await ev(`[erlang:demonitor(M$) || M$ <- Ms${round}], ok.`)
      await waitUntil(() => rt.monitorsHeldBy(erl.node) === 0, `round ${round}: the demonitors handled`)
      const victim = node.spawn(async proc => void (await proc.receive(m => m === 'die')))
      node.register('victim', victim)
      await ev(`[erlang:monitor(process, {victim, ${js}}) || _ <- lists:seq(1, ${limit})], ok.`)
      await waitUntil(() => rt.monitorsHeldBy(erl.node) === limit, 'the monitors taken')
      node.send(victim, 'die')
      // The shell gets all the DOWNs.
      const downs = await ev(
        `length([receive {'DOWN', _, process, _, _} = D$ -> D$ after 5000 -> error(no_down) end || _ <- lists:seq(1, ${limit})]).`,
      )
      t.equal(downs, String(limit), `round ${round}: ${limit} DOWNs`)
      t.equal(rt.monitorsHeldBy(erl.node), 0)
    }
    t.ok(node.nodes('connected').includes(erl.node), `after ${4 * 2 * limit} monitors the connection is up`)

    const down = nextEvent<[string, DownInfo]>(node, 'nodedown', n => n === erl.node)
    await ev(`[erlang:monitor(process, {svc, ${js}}) || _ <- lists:seq(1, ${limit + 1})], ok.`)
    const [, info] = await down
    t.equal(info.error?.code, 'ERR_LIMIT', 'the monitor past the bound: ERR_LIMIT')
    t.match(info.error?.message, erl.node)
    t.ok(
      warns.some(w => w.msg.includes(erl.node) && w.msg.includes('limits.monitorsPerPeer')),
      'a warning naming the peer',
    )
    t.equal(rt.monitorsHeldBy(erl.node), 0)
    t.equal(await ev(`lists:member(${js}, nodes(connected)).`), 'false', 'erl lost the connection')
    t.equal(await ev(`net_adm:ping(${js}).`), 'pong', 'and may connect again')
    t.ok(rt.isAlive(svc))
  })

  await t.test('links: rounds below the bound, then one past it', async t => {
    const { erl, ev } = await startPeer('l')
    // Erl processes that link to svc and exit normally (the EXIT frees the link), or unlink.
    for (let round = 0; round < 4; round++) {
      await ev(
        `Ps$ = [spawn(fun() -> link(Svc), receive stop -> ok; unlink -> unlink(Svc) end end) || _ <- lists:seq(1, ${limit})], ` +
          `shell ! {ps, Ps$}, ok.`,
      )
      await waitUntil(() => rt.linksWith(erl.node) === limit, `round ${round}: the links taken`)
      // Even rounds: each erl process exits (an EXIT through the link); odd rounds: it unlinks first.
      const how = round % 2 === 0 ? 'stop' : 'unlink'
      await ev(`receive {ps, Ps$} -> [P$ ! ${how} || P$ <- Ps$], ok end.`)
      await waitUntil(() => rt.linksWith(erl.node) === 0, `round ${round}: the links released`)
    }
    t.ok(node.nodes('connected').includes(erl.node), `after ${4 * limit} links the connection is up`)

    const down = nextEvent<[string, DownInfo]>(node, 'nodedown', n => n === erl.node)
    await ev(`[spawn(fun() -> link(Svc), receive stop -> ok end end) || _ <- lists:seq(1, ${limit + 1})], ok.`)
    const [, info] = await down
    t.equal(info.error?.code, 'ERR_LIMIT', 'the link past the bound: ERR_LIMIT')
    t.match(info.error?.message, erl.node)
    t.ok(
      warns.some(w => w.msg.includes(erl.node) && w.msg.includes('limits.linksPerPeer')),
      'a warning naming the peer',
    )
    // (Erl processes spawned after the drop link again: erl reconnects, as it does on any use.)
    t.ok(rt.linksWith(erl.node) <= limit, 'no more than the bound is ever held')
    t.equal(await ev(`net_adm:ping(${js}).`), 'pong', 'erl connects again')
  })
})
