// Connection setup under hostile or broken peers: deadlines, size limits, malformed frames,
// slowed-down repeat failures, and write coalescing once up. Real sockets on loopback.
import t from 'tap'
import { PROTOCOL_VERSION } from '../lib/kernel/frames.js'
import net from 'node:net'
import { once } from 'node:events'
import { testEpmd, testNode, inProcess, full } from './fixtures/cluster.js'
import { tcp } from '../transports/tcp.js'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { createCodec } from '../lib/terms/codec.js'
import { initiateHandshake } from '../lib/kernel/handshake.js'
import { FailureLimiter } from '../lib/kernel/failure-limiter.js'
import { SEND } from '../lib/kernel/frames.js'
import type { Clock } from '../lib/clock.js'
import type { Transport } from '../lib/transport.js'
import type { Pid } from '../lib/terms/pid.js'

function rawConnect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port })
  return once(s, 'connect').then(() => s)
}

function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  return new Promise(resolve => {
    const timer = setTimeout(() => resolve(false), ms)
    s.on('error', () => {})
    s.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

t.test('peers that stall, trickle or send junk before authentication are dropped; the node goes on', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar', setupTimeout: 1000, handshakeStepTimeout: 500 })
  const port = bar.address!.port

  await t.test('a silent connection is closed by the step deadline', async t => {
    const s = await rawConnect(port)
    t.ok(await closedWithin(s, 3000), 'closed')
  })

  await t.test('a peer trickling one byte at a time is closed by the setup deadline', async t => {
    const s = await rawConnect(port)
    const hello = createCodec().encodeFrame({
      t: 'hello',
      v: PROTOCOL_VERSION,
      name: full('slow'),
      to: bar.name,
      hidden: false,
      long: false,
      creation: 1,
    })
    let i = 0
    const timer = setInterval(() => {
      if (i < hello.length && !s.destroyed) s.write(hello.subarray(i, ++i))
    }, 150)
    const started = Date.now()
    const closed = await closedWithin(s, 4000)
    clearInterval(timer)
    t.ok(closed, 'closed')
    t.ok(Date.now() - started < 4000, 'within the deadline')
    t.ok(i < hello.length, 'before it could finish its hello')
  })

  await t.test('a length prefix over the handshake limit is refused at once', async t => {
    const s = await rawConnect(port)
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(1024 * 1024)
    s.write(prefix)
    t.ok(await closedWithin(s, 1000), 'closed before the deadline')
  })

  await t.test('bytes that are not MessagePack are refused', async t => {
    const s = await rawConnect(port)
    s.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]))
    t.ok(await closedWithin(s, 1000), 'closed')
  })

  await t.test('a frame that is not a hello is refused', async t => {
    const s = await rawConnect(port)
    s.write(createCodec().encodeFrame([SEND, 1, 2]))
    t.ok(await closedWithin(s, 1000), 'closed')
  })

  await t.test('after all that, a real node still connects', async t => {
    const foo = await testNode(t, epmd, { name: 'foo' })
    t.equal(await foo.connect(bar.name), true)
  })
})

t.test('after authentication: a bad control frame is dropped, an undecodable one closes only that connection', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar' })
  const other = await testNode(t, epmd, { name: 'other' })
  t.equal(await other.connect(bar.name), true)
  const codec = createCodec()
  const conn = await tcp().dial({ host: '127.0.0.1', port: bar.address!.port }, { signal: AbortSignal.timeout(5000) })
  t.teardown(() => conn.destroy())
  const est = await initiateHandshake(
    {
      localName: full('raw'),
      hidden: true,
      longNames: false,
      creation: 7,
      codec,
      auth: cookie(),
      cookies: new Cookies('test-cookie'),
      stepTimeout: 2000,
      allowNode: () => true,
    },
    conn,
    bar.name,
    AbortSignal.timeout(5000),
  )
  t.equal(est.peer, bar.name, 'a hand-made client completes the handshake')

  const inbox = new Promise<unknown[]>(resolve => {
    const got: unknown[] = []
    bar.register(
      'sink',
      bar.spawn(async proc => {
        for (;;) {
          got.push(await proc.receive())
          if (got.length === 2) resolve(got)
        }
      }),
    )
  })
  const sink = bar.whereis('sink') as Pid
  conn.stream.write(codec.encodeFrame([SEND, 'not a pid', 'lost']))
  conn.stream.write(codec.encodeFrame([999, 1, 2]))
  conn.stream.write(codec.encodeFrame([SEND, sink, 'first']))
  conn.stream.write(codec.encodeFrame([SEND, sink, 'second']))
  t.same(await inbox, ['first', 'second'], 'bad frames dropped, the connection stayed up, order kept')
  t.same(bar.nodes('hidden'), [full('raw')], 'the hand-made node is still connected (hidden)')

  const ended = once(conn.stream, 'end')
  conn.stream.write(Buffer.from([0, 0, 0, 2, 0xc1, 0x00]))
  await ended
  t.pass('an undecodable frame closed that connection')
  t.same(bar.nodes(), [other.name], 'the other connection is unaffected')
  const reply = await inProcess(other, async proc => {
    await proc.spawn(bar.name, 's', 'server', [])
    proc.send(['server', bar.name], ['still here', proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.equal(reply, 'still here')
})

t.test('repeated failures of one claimer are slowed down (capped), then forgotten', async t => {
  let now = 0
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: h => clearInterval(h as NodeJS.Timeout),
  }
  const l = new FailureLimiter(clock, 5000)
  const [a, b] = ['a@h', 'b@h']
  t.equal(l.delayFor('10.0.0.1', a), 0, 'no delay for a newcomer')
  for (let i = 0; i < 3; i++) l.failure('10.0.0.1', a)
  t.equal(l.delayFor('10.0.0.1', a), 50, 'after three failures: 50 ms')
  l.failure('10.0.0.1', a)
  t.equal(l.delayFor('10.0.0.1', a), 100, 'then doubling')
  for (let i = 0; i < 20; i++) l.failure('10.0.0.1', a)
  t.equal(l.delayFor('10.0.0.1', a), 1000, 'capped at a fifth of the step deadline')
  t.equal(l.delayFor('10.0.0.2', a), 0, 'other addresses are not affected')
  l.success('10.0.0.1', b)
  t.equal(l.delayFor('10.0.0.1', b), 0, 'a name proven from that address is not slowed by the others')
  t.equal(l.delayFor('10.0.0.1', 'c@h'), 1000, 'an unproven name is slowed by the address as a whole')
  now += 61_000
  t.equal(l.delayFor('10.0.0.1', a), 0, 'forgotten after a minute of quiet')
  for (let i = 0; i < 4; i++) l.failure('10.0.0.9', a)
  t.equal(l.delayFor('10.0.0.9', a), 100)
  now += 1
  for (let i = 0; i < 5000; i++) l.failure(`10.1.${i >> 8}.${i & 255}`)
  t.ok(l.size <= 4096, 'the table stays bounded')
  t.ok(l.size > 4000, 'not cleared wholesale')
  t.equal(l.delayFor('10.0.0.9', a), 0, 'pruned by age: the oldest entries went')
  const ac = new AbortController()
  for (let i = 0; i < 3; i++) l.failure('10.0.0.4', a)
  const waiting = l.wait('10.0.0.4', a, ac.signal)
  ac.abort()
  await t.rejects(waiting, 'a wait can be aborted')
})

t.test('write coalescing: frames queued in one event-loop turn leave in two writes, the first message at once', async t => {
  const epmd = await testEpmd(t)
  const writes: number[] = []
  const base = tcp()
  const counting: Transport = {
    name: 'tcp',
    listen: (o, cb) => base.listen(o, cb),
    dial: async (addr, o) => {
      const conn = await base.dial(addr, o)
      const orig = conn.stream.write.bind(conn.stream) as (...a: unknown[]) => boolean
      ;(conn.stream as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => {
        writes.push((a[0] as Buffer).length)
        return orig(...a)
      }
      return conn
    },
  }
  const bar = await testNode(t, epmd, { name: 'bar' })
  const foo = await testNode(t, epmd, { name: 'foo', transport: counting })
  t.equal(await foo.connect(bar.name), true)
  const n = 200
  const got = await inProcess(foo, async proc => {
    const counter = await proc.spawn(bar.name, 't', 'count', [n, proc.self])
    await new Promise(r => setImmediate(r))
    writes.length = 0
    for (let i = 0; i < n; i++) proc.send(counter, [i, 'payload'])
    return proc.receive(m => Array.isArray(m) && m[0] === 'counted', { timeout: 10_000 })
  })
  t.same(got, ['counted', n, n], 'all arrived in order')
  t.equal(writes.length, 2, `${n} sends in one turn went out in two writes`)
  t.ok(writes[0]! < writes[1]! / (n / 2), `the first alone (${writes[0]} bytes), the other ${n - 1} together (${writes[1]} bytes)`)
})
