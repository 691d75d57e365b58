// An attacker failing handshakes from a shared address (the same host here) must not slow
// down the legitimate nodes connecting from it; unauthenticated handshakes under way are
// bounded per address and in total, the excess refused as it is accepted.
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import type { Node } from '../lib/node.js'
import { testEpmd, testNode, full } from './fixtures/cluster.js'
import { tcp } from '../transports/tcp.js'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { createCodec } from '../lib/terms/codec.js'
import { initiateHandshake } from '../lib/kernel/handshake.js'
import { HandshakeSlots } from '../lib/kernel/handshake-slots.js'
import { DEFAULT_LIMITS } from '../lib/kernel/limits.js'

// The default step deadline (handshakeStepTimeout): the limiter caps a delay at a fifth of it.
const STEP = 5000
const codec = createCodec()
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

async function wrongCookieClaim(port: number, to: string, name: string): Promise<void> {
  const conn = await tcp()
    .dial({ host: '127.0.0.1', port }, { signal: AbortSignal.timeout(5000) })
    .catch(() => undefined)
  if (conn === undefined) return
  try {
    await initiateHandshake(
      {
        localName: name,
        hidden: false,
        longNames: false,
        creation: 1,
        codec,
        auth: cookie(),
        cookies: new Cookies('wrong-cookie'),
        stepTimeout: STEP,
        allowNode: () => true,
      },
      conn,
      to,
      AbortSignal.timeout(5000),
    )
  } catch {
    // expected: refused
  } finally {
    conn.destroy()
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(10)
}

t.test('an attacker failing from the same address does not slow down legitimate connects', async t => {
  const epmd = await testEpmd(t)
  const opts = { connectAll: false, handshakeStepTimeout: STEP }
  const bar = await testNode(t, epmd, { name: 'bar', ...opts })
  const legit: Node[] = []
  for (const name of ['ant', 'bee', 'cow']) legit.push(await testNode(t, epmd, { name, ...opts }))
  const port = bar.address!.port

  let attacking = true
  let failures = 0
  // Two loops: one claims a name of its own, one claims the legitimate nodes' names in turn.
  const loops = [
    (async () => {
      while (attacking) {
        await wrongCookieClaim(port, bar.name, full('evil'))
        failures++
      }
    })(),
    (async () => {
      for (let i = 0; attacking; i++) {
        await wrongCookieClaim(port, bar.name, legit[i % 3]!.name)
        failures++
      }
    })(),
  ]
  await until(() => failures >= 20)

  const times: number[] = []
  let ok = 0
  for (let round = 0; round < 7; round++) {
    for (const n of legit) {
      const started = Date.now()
      if (await n.connect(bar.name)) ok++
      times.push(Date.now() - started)
    }
    for (const n of legit) n.disconnect(bar.name)
    await until(() => bar.nodes().length === 0)
  }
  attacking = false
  await Promise.all(loops)
  const connects = times.length
  t.ok(failures > 40, `the attacker kept failing meanwhile (${failures} failed handshakes)`)
  t.ok(connects >= 20, `${connects} legitimate connects`)
  t.ok(ok / connects >= 0.95, `${ok} of ${connects} succeeded`)
  t.ok(Math.max(...times) < STEP / 2, `each within half the step deadline (slowest ${Math.max(...times)} ms)`)
})

t.test('a flood of idle sockets beyond the per-address bound is refused at accept; a legit node still connects', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar', connectAll: false, handshakeStepTimeout: STEP, setupTimeout: 3 * STEP })
  const limits: string[] = []
  bar.on('connectError', (_n: unknown, info: { code: string }) => {
    if (info.code === 'ERR_LIMIT') limits.push(info.code)
  })
  const port = bar.address!.port
  const bound = DEFAULT_LIMITS.handshakesPerAddress
  // The flood comes from 127.0.0.2 (loopback answers on all of 127/8), the legit node from 127.0.0.1.
  const sockets: net.Socket[] = []
  t.teardown(() => {
    for (const s of sockets) s.destroy()
  })
  const closedEarly: number[] = []
  for (let i = 0; i < bound + 20; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' })
    s.on('error', () => {})
    s.on('close', () => closedEarly.push(i))
    sockets.push(s)
  }
  await Promise.all(sockets.map(s => once(s, 'connect').catch(() => {})))
  await until(() => closedEarly.length >= 20, STEP / 2)
  t.equal(closedEarly.length, 20, `the ${20} sockets beyond the bound of ${bound} were refused at once`)
  t.same(limits, ['ERR_LIMIT'], 'reported once, with ERR_LIMIT')

  const foo = await testNode(t, epmd, { name: 'foo', connectAll: false })
  t.equal(await foo.connect(bar.name), true, 'a legitimate node connects meanwhile')
})

t.test('handshake slots: per address and in total, each refusal reported once until free', async t => {
  const s = new HandshakeSlots(4, 2)
  t.equal(s.take('a'), undefined)
  t.equal(s.take('a'), undefined)
  t.same(s.take('a'), { bound: 'address', limit: 2, first: true }, 'a third from one address is refused')
  t.same(s.take('a'), { bound: 'address', limit: 2, first: false }, 'reported once')
  t.equal(s.take('b'), undefined)
  t.equal(s.take('c'), undefined)
  t.same(s.take('d'), { bound: 'total', limit: 4, first: true }, 'the total bound')
  t.same(s.take('e'), { bound: 'total', limit: 4, first: false })
  s.release('a')
  t.equal(s.take('d'), undefined, 'a released slot is free again')
  s.release('a')
  s.release('b')
  t.equal(s.inUse, 2)
  t.equal(s.take('a'), undefined)
  t.equal(s.take('a'), undefined)
  t.same(s.take('a'), { bound: 'address', limit: 2, first: true }, 'reported again after the address was free')
})
