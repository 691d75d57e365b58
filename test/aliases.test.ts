// Process aliases (alias/0,1, unalias/1, Alias ! Msg) on one node and between two netkernel
// nodes over real TCP on loopback: delivery while active, drops after unalias, after a reply
// alias's first message and after the owner's exit (counted on the receiving connection), only
// the owner may unalias, the firewall's 'alias_send', and the protocol versions a hello
// negotiates — a version-4 peer never gets an ALIAS_SEND frame.
import t from 'tap'
import type { Node } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'
import { Ref } from '../lib/terms/ref.js'
import type { Pid } from '../lib/terms/pid.js'
import { ALIAS_SEND, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, SEND } from '../lib/kernel/frames.js'
import { agreeVersion, agreedVersion } from '../lib/kernel/versions.js'
import { tcp } from '../transports/tcp.js'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { createCodec } from '../lib/terms/codec.js'
import { initiateHandshake } from '../lib/kernel/handshake.js'
import type { NetkernelError } from '../lib/errors.js'
import { full, inProcess, testEpmd, testNode } from './fixtures/cluster.js'
import { rawPeer } from './fixtures/raw-peer.js'

/** The next message, or 'nothing' when none comes within `ms`. */
async function next(proc: Proc, ms = 200): Promise<unknown> {
  return proc.receive(undefined, { timeout: ms }).catch(() => 'nothing')
}

interface AliasOwner {
  readonly alias: Ref
  readonly pid: Pid
  /** unalias/1 by the owner. */
  unalias(): boolean
  /** The next message it received (rejects after `ms`). */
  take(ms?: number): Promise<unknown>
}

/** A process of `node` that makes an alias (with `opts`) and collects what arrives until 'stop'. */
async function aliasOwner(node: Node, opts?: { reply?: boolean }): Promise<AliasOwner> {
  const box: unknown[] = []
  let wake = (): void => {}
  return new Promise(resolve => {
    node.spawn(async proc => {
      const alias = proc.alias(opts)
      resolve({
        alias,
        pid: proc.self,
        unalias: () => proc.unalias(alias),
        take: async (ms = 5000) => {
          const end = Date.now() + ms
          while (box.length === 0) {
            if (Date.now() > end) throw new Error(`${proc.self.toString()} received nothing within ${ms} ms`)
            await new Promise<void>(r => {
              wake = r
              setTimeout(r, 20)
            })
          }
          return box.shift()
        },
      })
      for (;;) {
        const m = await proc.receive()
        if (m === 'stop') return
        box.push(m)
        wake()
      }
    })
  })
}

/** The dropped alias sends `node` counted on its connection from `peer`. */
function dropped(node: Node, peer: string): number | undefined {
  return node.stats().connections.find(c => c.peer === peer)?.aliasSendsDropped
}

t.test('on one node: delivered while active, dropped after unalias; only the owner unaliases', async t => {
  const epmd = await testEpmd(t)
  const node = await testNode(t, epmd, { name: 'alias1' })
  const got = await inProcess(node, async proc => {
    const a = proc.alias()
    t.ok(a instanceof Ref && a.node === node.name, 'an alias is a ref of the node')
    proc.send(a, 'one')
    node.send(a, 'two')
    const first = [await next(proc), await next(proc)]
    const other = await inProcess(node, async p2 => p2.unalias(a))
    t.equal(other, false, 'another process cannot unalias it')
    proc.send(a, 'three')
    const third = await next(proc)
    t.equal(proc.unalias(a), true, 'the owner can')
    t.equal(proc.unalias(a), false, 'once')
    proc.send(a, 'four')
    return [...first, third, await next(proc)]
  })
  t.same(got, ['one', 'two', 'three', 'nothing'])
})

t.test('a reply alias takes one message; a plain one until unalias', async t => {
  const epmd = await testEpmd(t)
  const node = await testNode(t, epmd, { name: 'alias2' })
  const got = await inProcess(node, async proc => {
    const once = proc.alias({ reply: true })
    node.send(once, 'first')
    node.send(once, 'second')
    const a = [await next(proc), await next(proc)]
    t.equal(proc.unalias(once), false, 'spent by its message')
    return a
  })
  t.same(got, ['first', 'nothing'])
})

t.test('between two nodes: Alias ! Msg from a process and from the node, in order with pid sends', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'alias3a' })
  const b = await testNode(t, epmd, { name: 'alias3b' })
  const owner = await aliasOwner(b)
  await inProcess(a, async proc => {
    proc.send(owner.alias, 'via alias 1')
    proc.send(owner.pid, 'via pid')
    proc.send(owner.alias, 'via alias 2')
  })
  a.send(owner.alias, 'from the node')
  const seen = [await owner.take(), await owner.take(), await owner.take(), await owner.take()]
  t.same(seen, ['via alias 1', 'via pid', 'via alias 2', 'from the node'])
  t.equal(dropped(b, a.name), 0)

  t.equal(owner.unalias(), true)
  a.send(owner.alias, 'late')
  a.send(owner.pid, 'marker')
  t.equal(await owner.take(), 'marker', 'the late message was dropped')
  t.equal(dropped(b, a.name), 1, 'and counted on the connection it came by')

  const gone = await aliasOwner(b)
  const before = b.stats().processes
  b.send(gone.pid, 'stop')
  await new Promise(r => setTimeout(r, 50))
  t.equal(b.stats().processes, before - 1, 'the second owner exited')
  a.send(gone.alias, 'to the dead')
  a.send(owner.pid, 'marker 2')
  t.equal(await owner.take(), 'marker 2')
  t.equal(dropped(b, a.name), 2, "an exited process's alias is gone")
})

t.test("the firewall: policy.allowSignal's 'alias_send'", async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'alias4a' })
  const asked: unknown[] = []
  const b = await testNode(t, epmd, {
    name: 'alias4b',
    policy: {
      allowSignal: (from, op, detail) => {
        if (op !== 'alias_send') return true
        asked.push([from, detail.from?.toString(), detail.message])
        return detail.message !== 'refused'
      },
    },
  })
  const owner = await aliasOwner(b)
  await inProcess(a, async proc => {
    proc.send(owner.alias, 'refused')
    proc.send(owner.alias, 'allowed')
    t.equal(await owner.take(), 'allowed')
    t.same(asked, [
      [a.name, proc.self.toString(), 'refused'],
      [a.name, proc.self.toString(), 'allowed'],
    ])
  })
  t.equal(b.stats().refused[a.name]?.alias_send, 1)
})

t.test('protocol versions: the newest both speak', async t => {
  t.equal(PROTOCOL_VERSION, 5)
  t.equal(MIN_PROTOCOL_VERSION, 4)
  // responder: a hello's (v, vmax)
  t.equal(agreeVersion(4, undefined), 4, 'a version-4 node: 4')
  t.equal(agreeVersion(4, 5), 5)
  t.equal(agreeVersion(4, 9), 5, 'a newer node that still speaks ours')
  t.equal(agreeVersion(5, 9), 5)
  t.equal(agreeVersion(3, undefined), undefined, 'too old')
  t.equal(agreeVersion(6, 7), undefined, 'too new')
  t.equal(agreeVersion(5, 4), undefined, 'an empty range')
  for (const bad of ['5', 4.5, -4, null, 1e9, NaN]) t.equal(agreeVersion(bad, undefined), undefined, `v ${String(bad)}`)
  t.equal(agreeVersion(4, 'x'), undefined)
  t.equal(agreeVersion(4, null), 4, 'a nil vmax is none')
  // dialler: the 'ok' status's v against what the hello offered
  t.equal(agreedVersion(undefined), MIN_PROTOCOL_VERSION, 'a version-4 node names none: our oldest')
  t.equal(agreedVersion(5), 5)
  t.equal(agreedVersion(6), undefined, 'one we did not offer')
  t.equal(agreedVersion(3), undefined)
  t.equal(agreedVersion('5'), undefined)
})

t.test('hellos of other versions against a node', async t => {
  const epmd = await testEpmd(t)
  const node = await testNode(t, epmd, { name: 'alias5' })
  const dial = async (helloVersions: { v: number; vmax?: number }) => {
    const conn = await tcp().dial({ host: '127.0.0.1', port: node.address!.port }, { signal: AbortSignal.timeout(5000) })
    try {
      const est = await initiateHandshake(
        {
          localName: full(`vers${helloVersions.v}x${helloVersions.vmax ?? ''}`),
          hidden: true,
          longNames: false,
          creation: 3,
          codec: createCodec(),
          auth: cookie(),
          cookies: new Cookies('test-cookie'),
          stepTimeout: 2000,
          allowNode: () => true,
          helloVersions,
        },
        conn,
        node.name,
        AbortSignal.timeout(5000),
      )
      return est.version
    } catch (err) {
      t.comment((err as Error).message)
      return (err as NetkernelError).code
    } finally {
      conn.destroy()
    }
  }
  t.equal(await dial({ v: 4 }), 4, 'a version-4 dialler speaks 4')
  t.equal(await dial({ v: 4, vmax: 9 }), 5, 'a newer one speaks our newest')
  t.equal(await dial({ v: 6, vmax: 7 }), 'ERR_INCOMPATIBLE', 'no version in common')
  t.equal(await dial({ v: 3 }), 'ERR_INCOMPATIBLE')
})

t.test('no ALIAS_SEND toward a version-4 peer; one toward a version-5 peer', async t => {
  const epmd = await testEpmd(t)
  const node = await testNode(t, epmd, { name: 'alias6' })
  const v4 = await rawPeer(t, node, 'oldpeer', { helloVersions: { v: 4 } })
  const v5 = await rawPeer(t, node, 'newpeer')
  t.equal(v4.version, 4)
  t.equal(v5.version, 5)
  for (const peer of [v4, v5]) {
    node.send(peer.ref(77), 'to an alias')
    node.send(peer.pid(9), 'to a pid')
    await peer.next(f => f[0] === SEND)
  }
  t.same(
    v4.frames.filter(f => f[0] === ALIAS_SEND),
    [],
    'the version-4 peer got no ALIAS_SEND (nobody there made an alias)',
  )
  const frames = v5.frames.filter(f => f[0] === ALIAS_SEND || f[0] === SEND)
  t.equal(frames.length, 2)
  t.equal(frames[0]![0], ALIAS_SEND, 'the alias send first, in order')
  t.same(frames[0]!.slice(1).map(String), ['null', v5.ref(77).toString(), 'to an alias'])

  // and what a version-5 peer sends to an alias arrives
  const owner = await aliasOwner(node)
  v5.send([ALIAS_SEND, v5.pid(3), owner.alias, 'from the raw peer'])
  t.equal(await owner.take(), 'from the raw peer')
  v5.send([ALIAS_SEND, v5.pid(3), 'not a ref', 'x'])
  await new Promise(r => setTimeout(r, 50))
  t.equal(node.stats().refused[v5.name]?.protocol, 1, 'an alias that is no reference is a protocol refusal')
  t.equal(v5.up, true, 'the connection stays')
})

t.test("a monitor's ref as an alias: monitor(target, { alias })", async t => {
  const epmd = await testEpmd(t)
  const node = await testNode(t, epmd, { name: 'alias7' })
  const target = (): Pid => node.spawn(async p => void (await p.receive(m => m === 'stop')))
  await inProcess(node, async proc => {
    // 'demonitor': the alias ends with the monitor — by demonitor()
    const a = target()
    const r1 = proc.monitor(a, { alias: 'demonitor' })
    node.send(r1, 'one')
    t.equal(await next(proc), 'one', 'the monitor ref reaches the watcher')
    t.equal(proc.demonitor(r1), true)
    node.send(r1, 'after demonitor')
    t.equal(await next(proc), 'nothing', 'demonitor ended the alias')

    // ... or by its DOWN
    const r2 = proc.monitor(a, { alias: 'demonitor' })
    node.send(a, 'stop')
    const down = (await proc.receive(m => Array.isArray(m) && m[0] === 'DOWN', { timeout: 5000 })) as unknown[]
    t.ok(r2.equals(down[1]))
    node.send(r2, 'after DOWN')
    t.equal(await next(proc), 'nothing', 'the DOWN ended the alias')
    t.equal(proc.unalias(r2), false)

    // 'reply_demonitor': the first message through it ends alias and monitor
    const b = target()
    const r3 = proc.monitor(b, { alias: 'reply_demonitor' })
    node.send(r3, 'the reply')
    node.send(r3, 'a second reply')
    t.equal(await next(proc), 'the reply')
    t.equal(await next(proc), 'nothing', 'a second message is dropped')
    t.equal(proc.demonitor(r3), false, 'the monitor is gone too')
    node.send(b, 'stop')
    t.equal(await next(proc), 'nothing', 'so no DOWN comes when the target exits')

    // 'explicit_unalias': outlives the monitor
    const c = target()
    const r4 = proc.monitor(c, { alias: 'explicit_unalias' })
    t.equal(proc.demonitor(r4), true)
    node.send(r4, 'still active')
    t.equal(await next(proc), 'still active')
    t.equal(proc.unalias(r4), true)

    // a monitor that fails at once ends its alias at once
    const r5 = proc.monitor(b, { alias: 'demonitor' })
    const noproc = (await proc.receive(m => Array.isArray(m) && m[0] === 'DOWN', { timeout: 5000 })) as unknown[]
    t.same([r5.equals(noproc[1]), noproc[4]], [true, 'noproc'])
    t.equal(proc.unalias(r5), false, 'noproc: the alias is already gone')
    t.throws(() => proc.monitor(c, { alias: 'sometimes' as never }), { code: 'ERR_BAD_ARGUMENT' })
    node.send(c, 'stop')
  })
})
