// Node loss between a netkernel node (erlang: true) and a real erl node: monitors and links
// across the connection end with noconnection on both sides — the JS node stops (erl sees
// it), and the erl node is killed (JS sees it).
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { inProcess } from './fixtures/cluster.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'

const cookie = 'otp-nodedown-cookie'

t.test('noconnection both ways', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const start = (name: string): Promise<Node> => startErlangNode(undefined, epmd.port, { name, cookie })
  const erl = await startErl(t, { name: `e${process.pid}`, epmdPort: epmd.port, cookie })

  await t.test('the JS node stops: erl monitors and links see noconnection', async t => {
    const node = await start(`jsa${process.pid}`)
    t.teardown(() => node.stop())
    const v = node.spawn(async proc => {
      for (;;) await proc.receive()
    })
    await erl.eval(`process_flag(trap_exit, true), register(shell, self()).`)
    await inProcess(node, async proc => {
      proc.send(['shell', erl.node], tuple(atom('pid'), v))
    })
    await erl.eval(`V = receive {pid, P0} -> P0 after 5000 -> error(timeout) end, R = monitor(process, V), link(V).`)
    await node.stop()
    t.equal(await erl.eval(`receive {'DOWN', R, process, V, W1} -> W1 after 5000 -> timeout end.`), 'noconnection')
    t.equal(await erl.eval(`receive {'EXIT', V, W2} -> W2 after 5000 -> timeout end.`), 'noconnection')
  })

  await t.test('the erl node is killed: JS monitors and links see noconnection', async t => {
    const node = await start(`jsb${process.pid}`)
    t.teardown(() => node.stop())
    const js = `'${node.name}'`
    const got = inProcess(node, async proc => {
      node.register('w', proc.self)
      const m = (await proc.receive(m => m instanceof Tuple, { timeout: 10_000 })) as Tuple
      const p = m[1] as Pid
      proc.trapExit(true)
      proc.link(p)
      const ref = proc.monitor(p)
      proc.send(p, atom('ready'))
      const down = await proc.receive(m => Array.isArray(m) && m[0] === 'DOWN', { timeout: 10_000 })
      const exit = await proc.receive(m => Array.isArray(m) && m[0] === 'EXIT', { timeout: 10_000 })
      return { down, exit, ref, p }
    })
    await erl.eval(
      `S1 = self(), P1 = spawn(fun() -> receive ready -> S1 ! ready end, timer:sleep(infinity) end), {w, ${js}} ! {pid, P1}, ok.`,
    )
    t.equal(await erl.eval(`receive ready -> ok after 5000 -> timeout end.`), 'ok', 'the JS side linked and monitored')
    await erl.kill()
    const r = await got
    t.same(r.down, ['DOWN', r.ref, 'process', r.p, 'noconnection'])
    t.same(r.exit, ['EXIT', r.p, 'noconnection'])
  })
})
