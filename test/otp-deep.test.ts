// Deep terms and the terms budget on the OTP wire, against real erl nodes: the iolist a fold
// builds (1,000 and 100,000 levels deep) goes to a netkernel process and back, equal, with
// the connection up all along (erl sees no nodedown); forwarding it to a netkernel node over
// the native wire fails at send() with ERR_ENCODE (1,000 levels there). A message of more
// terms than maxMessageTerms drops that connection only, with ERR_MESSAGE_TOO_LARGE naming the
// peer; another erl node keeps talking.
import t from 'tap'
import { erlangSkip, startRealEpmd, waitFor } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { nextEvent } from './fixtures/cluster.js'
import { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'
import { CodecError } from '../lib/errors.js'

const cookie = 'otp-deep-cookie'

t.test('deep terms and the terms budget with real erl nodes', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `jsd${process.pid}`, cookie })
  const other = await startErlangNode(t, epmd.port, { name: `jso${process.pid}`, cookie })
  const erl = await startErl(t, { name: `ed${process.pid}`, epmdPort: epmd.port, cookie })
  const js = `'${node.name}'`

  // Echoes {From, X} as {echo, X}; first tries to forward X to a process of `other` over the
  // native wire, and says how that went.
  const forwards: unknown[] = []
  const sinkPid = other.spawn(async proc => {
    for (;;) await proc.receive()
  })
  const echo = node.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      if (!(m instanceof Tuple && m[0] instanceof Pid)) continue
      try {
        proc.send(sinkPid, m[1])
        forwards.push('sent')
      } catch (e) {
        forwards.push(e)
      }
      proc.send(m[0], tuple(atom('echo'), m[1]))
    }
  })
  node.register('echo', echo)
  t.ok(await node.connect(other.name))

  await erl.eval(`net_kernel:monitor_nodes(true).`)
  t.equal(await erl.eval(`net_adm:ping(${js}).`), 'pong')

  for (const n of [1000, 100_000]) {
    const r = await erl.eval(
      // (The driver keeps bindings from one expression to the next: fresh names for each n.)
      `Io${n} = lists:foldl(fun(I, A) -> [A, integer_to_binary(I), $\\n] end, [], lists:seq(1, ${n})), ` +
        `{echo, ${js}} ! {self(), Io${n}}, ` +
        `receive {echo, Back${n}} -> {Back${n} =:= Io${n}, iolist_size(Back${n})} after 30000 -> timeout end.`,
      60_000,
    )
    const size = Array.from({ length: n }, (_, i) => String(i + 1).length + 1).reduce((a, b) => a + b, 0)
    t.equal(r, `{true,${size}}`, `the iolist of ${n} lines came back equal`)
    const f = forwards.at(-1)
    t.ok(
      f instanceof CodecError && f.code === 'ERR_ENCODE' && /deeper than 1000/.test(f.message),
      `forwarding it over the native wire: ${String(f)}`,
    )
  }
  t.equal(await erl.eval(`receive {nodedown, _} = D -> D after 0 -> none end.`), 'none', 'erl saw no nodedown')
  await erl.eval(`net_kernel:monitor_nodes(false), net_kernel:monitor_nodes(true).`)
  t.ok(node.nodes().includes(erl.node) && node.nodes().includes(other.name), 'both connections up')

  // Over the budget (4,000,000 terms by default): a list of 4,000,001 small integers.
  // Hidden: a visible erl2 losing the node would make OTP's global (prevent_overlapping_partitions)
  // disconnect erl from it as well, which is OTP's doing, not the budget's.
  const erl2 = await startErl(t, { name: `ef${process.pid}`, epmdPort: epmd.port, cookie, hidden: true })
  t.equal(await erl2.eval(`net_adm:ping(${js}).`), 'pong')
  const down = nextEvent<[string, { reason: string; error?: Error }]>(node, 'nodedown', name => name === erl2.node)
  await erl2.eval(`{echo, ${js}} ! {self(), lists:duplicate(4000001, 0)}, ok.`, 30_000)
  const [, info] = await down
  t.match(info.error, {
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: new RegExp(`^${erl2.node} sent a message over a bound: .*more than 4000000 terms \\(maxMessageTerms\\)`),
  })
  await waitFor(() => !node.nodes().includes(erl2.node), 5000, 'the connection to be gone')
  // The other erl node, and the netkernel peer, lose nothing.
  t.equal(
    await erl.eval(`{echo, ${js}} ! {self(), still_here}, receive {echo, still_here} -> ok after 5000 -> timeout end.`),
    'ok',
    'erl still talks to the node',
  )
  t.equal(await erl.eval(`receive {nodedown, ${js}} = D -> D after 0 -> none end.`), 'none', 'and saw no nodedown of the node')
  t.ok(node.nodes().includes(other.name), 'the netkernel peer is still connected')
  // And the dropped peer may come back (the budget is per message, not a ban).
  t.equal(await erl2.eval(`net_adm:ping(${js}).`), 'pong', 'erl2 reconnects')
})
