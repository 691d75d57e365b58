// The OTP wire against a real erl node: OTP's atom cache in use from its first frame, a
// message over 1 MB each way (OTP fragments it; we fragment ours, and a small message sent
// after it to another process arrives first), and 100,000 numbered messages each way, in order.
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'
import { inProcess } from './fixtures/cluster.js'
import type { Node } from '../lib/node.js'
import type { NetKernel } from '../lib/kernel/net-kernel.js'
import type { OtpWire } from '../lib/kernel/otp/otp-wire.js'
import { Pid } from '../lib/terms/pid.js'
import { atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'
import { scavengesAsked, setScavengeEvery } from '../lib/kernel/scavenge-assist.js'

const cookie = 'otp-wire-cookie'

/** The OTP wire of the node's connection to `peer` (internal: for its counters). */
const wireOf = (node: Node, peer: string): OtpWire => (node as unknown as { kernel: NetKernel }).kernel.up.get(peer)!.wire as OtpWire

t.test('the OTP wire with a real erl', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const node = await startErlangNode(t, epmd.port, { name: `jsw${process.pid}`, cookie })
  const erl = await startErl(t, { name: `ew${process.pid}`, epmdPort: epmd.port, cookie })
  const js = `'${node.name}'`
  await erl.eval(`register(shell, self()).`)

  const echo = node.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      if (m instanceof Tuple && m[0] instanceof Pid) proc.send(m[0], tuple(atom('echo'), m[1]))
    }
  })
  node.register('echo', echo)

  await t.test("OTP's atom cache: new entries, then references to them", async t => {
    // The frame that opens the connection was encoded while it was set up: without the cache.
    const list = "[ok, error, {some_atom, other_atom}, '日本']"
    for (const v of ['E1', 'E2', 'E3']) {
      t.equal(
        await erl.eval(`{echo, ${js}} ! {self(), ${list}}, receive {echo, ${v}} -> ${v} =:= ${list} after 5000 -> timeout end.`),
        'true',
      )
    }
    t.ok(wireOf(node, erl.node).atomCacheRefsIn > 0, `atom-cache refs read: ${wireOf(node, erl.node).atomCacheRefsIn}`)
  })

  await t.test('sends that dial erl are queued during the setup, then written as OTP frames; spawn on erl', async t => {
    const other = await startErlangNode(t, epmd.port, { name: `jsq${process.pid}`, cookie })
    other.send(['shell', erl.node], tuple(atom('queued'), 1))
    other.send(['shell', erl.node], tuple(atom('queued'), 2))
    t.equal(await erl.eval(`receive {queued, 1} -> receive {queued, 2} -> ok after 5000 -> no2 end after 5000 -> no1 end.`), 'ok')
    const pid = await other.spawn(erl.node, 'timer', 'sleep', [100])
    t.ok(pid instanceof Pid && pid.node === erl.node, `spawned ${String(pid)} on erl (SPAWN_REQUEST / SPAWN_REPLY)`)
    t.equal(await erl.eval(`is_process_alive(list_to_pid("${String(pid).replace(/^<[^.]+/, '<0')}")).`), 'true')
  })

  await t.test('over 1 MB from erl (fragmented by OTP) and back (fragmented by us)', async t => {
    const w = wireOf(node, erl.node)
    const before = w.fragmentCounts
    // OTP's frames count as large bodies for scavengeEvery (kernel/scavenge-assist.ts).
    const interval = {}
    setScavengeEvery(interval, 256 * 1024)
    t.teardown(() => setScavengeEvery(interval, 0))
    const asked = scavengesAsked()
    const r = await erl.eval(
      `Big = << <<(I rem 251)>> || I <- lists:seq(1, 1200000) >>, {echo, ${js}} ! {self(), {big, Big}}, ` +
        `receive {echo, {big, B2}} -> B2 =:= Big after 20000 -> timeout end.`,
      30_000,
    )
    t.equal(r, 'true')
    const after = w.fragmentCounts
    t.ok(after.joined > before.joined, 'erl sent it in fragments')
    t.ok(after.out - before.out >= 2, `we sent it in fragments (${after.out - before.out})`)
    t.ok(scavengesAsked() - asked >= 4, `1.2 MB taken in at a 256 KiB interval: ${scavengesAsked() - asked} scavenges asked`)
  })

  await t.test('large messages from two erl processes at once: their fragments interleave, each joins whole', async t => {
    // Each erl process sends three binaries of its own pattern; OTP interleaves the fragments
    // of the two senders' messages on the connection, and the fragments arrive split across
    // socket reads: they are copied straight into their sequence's buffer (OtpReassembly.pushParts).
    const sizes = [300_000, 1_100_000, 2_500_000]
    const pattern = (n: number, k: number): Buffer => {
      const b = Buffer.allocUnsafe(n)
      for (let i = 0; i < n; i++) b[i] = ((i + 1) * k) % 251
      return b
    }
    const before = wireOf(node, erl.node).fragmentCounts.joined
    const got = inProcess(node, async proc => {
      node.register('bigbox', proc.self)
      const out: Tuple[] = []
      for (let i = 0; i < 2 * sizes.length; i++) out.push((await proc.receive(undefined, { timeout: 30_000 })) as Tuple)
      return out
    })
    // Byte i (from 1) is i·k rem 251: a 251-byte period, copied (quick to build in erl).
    const send = (k: number): string =>
      `spawn(fun() -> P = << <<((I * ${k}) rem 251)>> || I <- lists:seq(1, 251) >>, ` +
      `[{bigbox, ${js}} ! {${k}, N, binary:part(binary:copy(P, N div 251 + 1), 0, N)} || N <- ${JSON.stringify(sizes)}] end)`
    await erl.eval(`${send(3)}, ${send(7)}, ok.`, 30_000)
    const msgs = await got
    for (const k of [3, 7]) {
      const mine = msgs.filter(m => m[0] === k)
      t.same(
        mine.map(m => m[1]),
        sizes,
        `sender ${k}: three messages, in the order sent`,
      )
      for (const m of mine) t.ok((m[2] as Buffer).equals(pattern(m[1] as number, k)), `sender ${k}, ${String(m[1])} bytes: intact`)
    }
    t.ok(wireOf(node, erl.node).fragmentCounts.joined - before >= 6, 'each came in fragments')
  })

  let box = 0
  /** The value of erl expression `expr`, as a JS term: erl sends it to a JS process. */
  const fromErl = async (expr: string): Promise<unknown> => {
    const name = `box${++box}`
    const got = inProcess(node, async proc => {
      node.register(name, proc.self)
      return proc.receive(undefined, { timeout: 5000 })
    })
    await erl.eval(`{${name}, ${js}} ! (${expr}), ok.`)
    return got
  }

  await t.test('a small message another process sends after a large one is not held behind it', async t => {
    await erl.eval(
      `Bg = spawn(fun() -> receive B -> shell ! {bg, erlang:monotonic_time(), byte_size(B)} end end), ` +
        `Sm = spawn(fun() -> receive M -> shell ! {sm, erlang:monotonic_time(), M} end end).`,
    )
    const [bg, sm] = (await fromErl('{Bg, Sm}')) as Tuple
    await inProcess(node, async proc => {
      proc.send(bg as Pid, Buffer.alloc(4 * 1024 * 1024, 1))
      // (from another process: one process's signals leave in the order it sent them)
      node.spawn(async other => void other.send(sm as Pid, 'small'))
    })
    const order = await erl.eval(
      `receive {bg, T1, 4194304} -> receive {sm, T0, <<"small">>} -> T0 < T1 after 5000 -> no_small end after 20000 -> no_big end.`,
      30_000,
    )
    t.equal(order, 'true')
  })

  await t.test('100,000 numbered messages each way, in order', async t => {
    const N = 100_000
    const received = inProcess(node, async proc => {
      node.register('sink', proc.self)
      for (let i = 1; i <= N; i++) {
        const m = await proc.receive(undefined, { timeout: 20_000 })
        if (m !== i) return `message ${i} was ${String(m)}`
      }
      return 'in order'
    })
    await erl.eval(`lists:foreach(fun(I) -> {sink, ${js}} ! I end, lists:seq(1, ${N})).`, 30_000)
    t.equal(await received, 'in order', 'erl → JS')

    const shell = (await fromErl('self()')) as Pid
    const counted = erl.eval(
      `L = fun L(I) when I > ${N} -> ok; L(I) -> receive I -> L(I + 1); M when is_integer(M) -> {bad, I, M} after 20000 -> {timeout, I} end end, L(1).`,
      60_000,
    )
    await inProcess(node, async proc => {
      for (let i = 1; i <= N; i++) {
        if (!proc.send(shell, i)) await proc.drain(shell)
      }
    })
    t.equal(await counted, 'ok', 'JS → erl')
  })
})
