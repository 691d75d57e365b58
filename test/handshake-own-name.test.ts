// A peer claiming the name of the node it reached: refused in the native handshake (status
// own_name, ERR_HANDSHAKE naming the address), before authentication changes anything — no
// nodeup for the node itself, no entry in nodes('connected'), no signals that pass for its
// own processes'. The node keeps running; its other connections are not touched. (The
// Erlang/OTP handshake's case: test/otp-handshake-raw.test.ts.) Real sockets on loopback.
import t from 'tap'
import type { NetkernelError } from '../lib/errors.js'
import { EXIT } from '../lib/kernel/frames.js'
import type { Pid } from '../lib/terms/pid.js'
import { testEpmd, testNode, inProcess, nextEvent } from './fixtures/cluster.js'
import { rawPeer } from './fixtures/raw-peer.js'
import { sleep } from './fixtures/mesh-helpers.js'

t.test("a hello claiming the node's own name is refused with ERR_HANDSHAKE; the node goes on", async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a' })
  const b = await testNode(t, epmd, { name: 'b' })
  t.equal(await a.connect(b.name), true)
  const ups: string[] = []
  a.on('nodeup', (n: string) => void ups.push(n))

  // Two local processes: A linked to B, not trapping exits. A forged EXIT "from B" would kill A.
  const pa = a.spawn(async proc => {
    for (;;) {
      const m = await proc.receive()
      if (Array.isArray(m)) proc.send(m[1] as Pid, 'alive')
    }
  })
  const pb = a.spawn(async proc => {
    proc.link(pa)
    await proc.receive(m => m === 'never')
  })
  await sleep(20)

  const refused = nextEvent<[string | undefined, Record<string, unknown>]>(a, 'connectError', (_n, info) => info.direction === 'in')
  let dialled: NetkernelError | undefined
  try {
    const rogue = await rawPeer(t, a, 'a')
    // (Only reached when the node wrongly took the connection: show what that lets through.)
    rogue.send([EXIT, pb, pa, 'forged'])
    await sleep(200)
  } catch (err) {
    dialled = err as NetkernelError
  }
  t.equal(dialled?.code, 'ERR_HANDSHAKE', 'the dialler is refused with ERR_HANDSHAKE')
  t.match(dialled?.message, /claims the name of the node it reached/, 'and told why')
  const [claimed, info] = await refused
  t.equal(claimed, a.name, 'the connectError names the claim')
  t.equal(info.code, 'ERR_HANDSHAKE')
  const e = info.error as NetkernelError
  t.equal(e.name, 'HandshakeError')
  t.match(e.message, /127\.0\.0\.1/, 'the message names the address')
  t.match(e.message, /own name/)

  t.notOk(a.nodes('connected').includes(a.name), 'the node is not its own peer')
  t.notOk(ups.includes(a.name), 'no nodeup for itself')
  const alive = await inProcess(a, async proc => {
    proc.send(pa, ['ping', proc.self])
    return proc.receive(m => m === 'alive', { timeout: 2000 })
  })
  t.equal(alive, 'alive', 'the local process a forged EXIT would have killed is alive')
  t.same(a.nodes(), [b.name], 'the other connection is still up')
  t.equal(await a.rpc(b.name, 'r', 'add', [40, 2]), 42, 'and works')
  const rogue = await rawPeer(t, a, 'rogue')
  t.ok(rogue.up, 'another peer still connects')
})
