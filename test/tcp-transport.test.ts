import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { tcp, formatAddress } from '../transports/tcp.js'
import type { Conn } from '../lib/transport.js'
import { transportCompliance } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'

tapCompliance(
  t,
  'tcp: Transport compliance',
  transportCompliance({
    name: 'tcp',
    setup: () => ({ transport: tcp(), host: '127.0.0.1' }),
  }),
)

tapCompliance(
  t,
  'tcp: Transport compliance',
  transportCompliance({
    name: 'tcp',
    setup: () => ({ transport: tcp({ noDelay: false, keepAlive: true }), host: '127.0.0.1' }),
  }),
)

// tcp-specific behaviour beyond the compliance suite

t.test('the factory returns a plain object named tcp', async t => {
  const tr = tcp()
  t.equal(tr.name, 'tcp')
  t.same(Object.keys(tr).sort(), ['dial', 'listen', 'name'])
})

t.test('Conn: the net.Socket, its peer address, unencrypted', async t => {
  const tr = tcp()
  let accepted: Conn | undefined
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => (accepted = c))
  t.teardown(() => l.close())
  const c = await tr.dial(l.address, { signal: AbortSignal.timeout(5000) })
  t.teardown(() => c.destroy())
  t.ok(c.stream instanceof net.Socket)
  t.equal(c.remoteAddress, '127.0.0.1')
  t.equal(c.remotePort, l.address.port)
  t.equal(c.encrypted, false)
  t.equal(c.peerCertificate, undefined)
  while (!accepted) await new Promise(r => setImmediate(r))
  t.equal(accepted.remotePort, (c.stream as net.Socket).localPort)
  accepted.destroy()
})

t.test('close(): a peer that never ends its side is dropped after closeTimeout', async t => {
  const tr = tcp({ closeTimeout: 50 })
  const server = net.createServer({ allowHalfOpen: true }, s => s.resume()) // reads, never ends
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const { port } = server.address() as net.AddressInfo
  const c = await tr.dial({ host: '127.0.0.1', port }, { signal: AbortSignal.timeout(5000) })
  const start = Date.now()
  c.close()
  c.close()
  await once(c.stream, 'close')
  const ms = Date.now() - start
  t.ok(ms >= 40 && ms < 2000, `destroyed after about 50 ms (${ms} ms)`)
})

t.test('close() after the peer ended: closes at once, no timer left', async t => {
  const tr = tcp({ closeTimeout: 10_000 })
  let accepted: Conn | undefined
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, a => (accepted = a))
  t.teardown(() => l.close())
  const c = await tr.dial(l.address, { signal: AbortSignal.timeout(5000) })
  while (!accepted) await new Promise(r => setImmediate(r))
  const server = accepted
  server.stream.resume()
  c.stream.resume()
  server.close()
  await once(c.stream, 'end')
  const start = Date.now()
  c.close()
  await once(c.stream, 'close')
  t.ok(Date.now() - start < 1000, 'closed without waiting for the timeout')
  c.close() // after close: no-op
})

t.test('a reset on an accepted socket does not crash the process', async t => {
  const tr = tcp()
  let accepted: Conn | undefined
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, a => (accepted = a))
  t.teardown(() => l.close())
  const raw = net.connect(l.address.port, '127.0.0.1')
  await once(raw, 'connect')
  while (!accepted) await new Promise(r => setImmediate(r))
  // (not events.once: it would add an 'error' listener of its own)
  const gone = new Promise(resolve => accepted?.stream.on('close', resolve))
  accepted.stream.resume()
  raw.resetAndDestroy()
  await gone
  t.pass('survived ECONNRESET with no handler of its own')
})

t.test('IPv6 addresses are bracketed in messages', async t => {
  t.equal(formatAddress('::1', 9), '[::1]:9')
  t.equal(formatAddress('127.0.0.1', 9), '127.0.0.1:9')
  const tr = tcp()
  const l = await tr.listen({ host: '::1', port: 0 }, () => {}).catch(() => null)
  if (!l) {
    t.comment('no IPv6 loopback here')
    return
  }
  const port = l.address.port
  t.equal(l.address.host, '::1')
  await l.close()
  await t.rejects(tr.dial({ host: '::1', port }, { signal: AbortSignal.timeout(5000) }), {
    code: 'ERR_CONNECT',
    message: `[::1]:${port}`,
  })
})

t.test('an unresolvable host is ERR_CONNECT naming it', async t => {
  await t.rejects(tcp().dial({ host: 'no-such-host.invalid', port: 4369 }, { signal: AbortSignal.timeout(10_000) }), {
    name: 'TransportError',
    code: 'ERR_CONNECT',
    message: /no-such-host\.invalid:4369/,
  })
})
