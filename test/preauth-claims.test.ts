// Before a peer has authenticated, nothing it says changes the node: a hello that claims a
// connected node's name with another creation ("it restarted") leaves the live connection,
// its links and its messages alone, and takes no slot the real node needs to reconnect; an
// unauthenticated hello does not supersede our own dial to the node it claims to be. Hello
// names (and the dialled side's answer) are checked with the node-name rules first.
import t from 'tap'
import { PROTOCOL_VERSION } from '../lib/kernel/frames.js'
import net from 'node:net'
import { once } from 'node:events'
import type { Node } from '../lib/node.js'
import { testEpmd, testNode, full } from './fixtures/cluster.js'
import { tcp } from '../transports/tcp.js'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { createCodec } from '../lib/terms/codec.js'
import { initiateHandshake } from '../lib/kernel/handshake.js'
import type { Pid } from '../lib/terms/pid.js'

const codec = createCodec()
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** Dial `port` and run our side of the handshake as `name`, with `cookieValue`. */
async function claim(port: number, to: string, name: string, creation: number, cookieValue: string): Promise<unknown> {
  const conn = await tcp().dial({ host: '127.0.0.1', port }, { signal: AbortSignal.timeout(5000) })
  try {
    return await initiateHandshake(
      {
        localName: name,
        hidden: false,
        longNames: false,
        creation,
        codec,
        auth: cookie(),
        cookies: new Cookies(cookieValue),
        stepTimeout: 2000,
        allowNode: () => true,
      },
      conn,
      to,
      AbortSignal.timeout(5000),
    )
  } catch (err) {
    return err
  } finally {
    conn.destroy()
  }
}

/** A raw socket that sends a hello and then stays silent. */
async function stalledHello(port: number, hello: Record<string, unknown>): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port })
  await once(s, 'connect')
  s.on('error', () => {})
  s.write(codec.encodeFrame(hello))
  return s
}

/** A sink registered on `node`, collecting what it receives. */
function collector(node: Node, name: string): unknown[] {
  const got: unknown[] = []
  node.register(
    name,
    node.spawn(async proc => {
      for (;;) got.push(await proc.receive())
    }),
  )
  return got
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms
  while (!cond() && Date.now() < until) await sleep(20)
  return cond()
}

t.test("a wrong-cookie hello claiming a live node's name, another creation, changes nothing", async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar', connectAll: false })
  const foo = await testNode(t, epmd, { name: 'foo', connectAll: false })
  const downs: string[] = []
  for (const n of [bar, foo]) n.on('nodedown', (name: string) => downs.push(`${n.name} saw ${name}`))
  const got = collector(bar, 'sink')
  // A process on foo, trapping exits, linked to one on bar: a lost connection would fire it.
  const exits: unknown[] = []
  const linked = new Promise<Pid>(resolve =>
    foo.spawn(async proc => {
      proc.trapExit(true)
      resolve(await proc.spawnLink(bar.name, 's', 's', []))
      for (;;) exits.push(await proc.receive())
    }),
  )
  await linked
  t.same(bar.nodes(), [foo.name], 'connected')
  const port = bar.address!.port

  const err = (await claim(port, bar.name, foo.name, foo.creation + 1, 'wrong-cookie')) as { code?: string }
  t.equal(err.code, 'ERR_AUTH_FAILED', 'the impostor failed authentication')
  const stalled = await stalledHello(port, {
    t: 'hello',
    v: PROTOCOL_VERSION,
    name: foo.name,
    to: bar.name,
    hidden: false,
    long: false,
    creation: foo.creation + 2,
  })
  t.teardown(() => stalled.destroy())
  for (let i = 0; i < 20; i++) foo.send(['sink', bar.name], i)
  t.ok(await waitFor(() => got.length === 20), 'every message sent meanwhile arrived')
  t.same(
    got,
    Array.from({ length: 20 }, (_, i) => i),
    'in order',
  )
  await sleep(100)
  t.same(downs, [], 'no nodedown on either side')
  t.same(exits, [], 'the link did not fire')
  t.same(bar.nodes(), [foo.name], 'the live connection stayed up')

  // While the impostor's hello still stalls, the real node disconnects and reconnects.
  foo.disconnect(bar.name)
  t.ok(await waitFor(() => bar.nodes().length === 0), 'bar saw the disconnect')
  t.equal(await foo.connect(bar.name), true, 'the real node reconnects (no slot was taken by the claim)')
  foo.send(['sink', bar.name], 'after')
  t.ok(await waitFor(() => got.includes('after')), 'and its messages arrive')
})

t.test('an unauthenticated hello does not supersede our own dial to the node it claims', async t => {
  const epmd = await testEpmd(t)
  const zed = await testNode(t, epmd, { name: 'zzz', connectAll: false })
  const got = collector(zed, 'sink')
  let resolving!: () => void
  const resolveStarted = new Promise<void>(r => {
    resolving = r
  })
  // bar's lookup of zzz is slow, so its dial is pending when the impostor's hello arrives.
  const bar = await testNode(t, epmd, {
    name: 'bar',
    connectAll: false,
    resolve: async node => {
      resolving()
      await sleep(800)
      return { host: '127.0.0.1', port: node === zed.name ? zed.address!.port : 1 }
    },
  })
  const downs: string[] = []
  bar.on('nodedown', (name: string) => downs.push(name))
  bar.send(['sink', zed.name], 'queued before the dial ended')
  const connected = bar.connect(zed.name)
  await resolveStarted
  // 'zzz' > 'bar': were the hello believed, bar's own dial would give way to it.
  const err = (await claim(bar.address!.port, bar.name, zed.name, 5, 'wrong-cookie')) as { code?: string }
  t.equal(err.code, 'ERR_AUTH_FAILED', 'the impostor failed authentication')
  t.equal(await connected, true, "bar's own dial went on and connected")
  t.ok(await waitFor(() => got.length === 1), 'the queued message arrived')
  t.same(got, ['queued before the dial ended'])
  t.same(downs, [], 'no nodedown')
})

t.test('hello names are checked first: illegal ones are refused even with the right cookie', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar', connectAll: false })
  const errors: string[] = []
  const ups: string[] = []
  bar.on('nodeup', (n: string) => ups.push(n))
  bar.on('connectError', (_n: unknown, info: { code: string }) => errors.push(info.code))
  const port = bar.address!.port
  const bad = [`nul\0x@${full('').slice(1)}`, 'noat', `${'x'.repeat(700)}@h`, 'a@b@c', `sp ace@h`]
  for (const name of bad) {
    const err = (await claim(port, bar.name, name, 1, 'test-cookie')) as { code?: string }
    t.equal(err.code, 'ERR_BAD_NODE_NAME', `refused: ${JSON.stringify(name.slice(0, 20))}`)
  }
  t.same(bar.nodes('connected'), [], 'none of them shows up in nodes()')
  t.same(ups, [], 'no nodeup for any of them')
  t.same(
    errors,
    bad.map(() => 'ERR_BAD_NODE_NAME'),
    'the responder reports a typed error for each',
  )

  const wrongTo = (await claim(port, 'y'.repeat(700), full('ok'), 1, 'test-cookie')) as { code?: string }
  t.equal(wrongTo.code, 'ERR_BAD_NODE_NAME', "an illegal 'to' is refused the same way")

  // The dialler side: a responder answering with an illegal name.
  const server = net.createServer(s => {
    s.on('error', () => {})
    s.once('data', () =>
      s.write(codec.encodeFrame({ t: 'status', s: 'ok', name: `evil\0@${'h'.repeat(600)}`, hidden: false, creation: 1 })),
    )
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const answered = (await claim((server.address() as net.AddressInfo).port, full('srv'), full('cli'), 1, 'test-cookie')) as {
    code?: string
    message: string
  }
  t.equal(answered.code, 'ERR_BAD_NODE_NAME', 'the dialler refuses an illegal name in the status')
  t.ok(answered.message.length < 300, 'and does not repeat it whole in its message')

  t.equal(
    await claim(port, bar.name, full('good'), 1, 'test-cookie').then(e => (e as { peer?: string }).peer),
    bar.name,
    'a legal name still connects',
  )
  await waitFor(() => ups.length > 0)
  t.same(ups, [full('good')], 'the only nodeup bar saw')
})
