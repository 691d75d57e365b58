// Reading into buffers the reader picks (Conn.readInto, transports/socket-reads.ts, and the
// connection's use of it in lib/kernel/connection.ts): on real loopback sockets over tcp and
// tls, both the dialled and the accepted one; the bytes arrive whole and in order whatever
// buffers the reader gives; large messages land in their bodies straight from the socket.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { tcp } from '../transports/tcp.js'
import { adopt, routeReads } from '../transports/socket-reads.js'
import type { Conn, ReadSink, Transport } from '../lib/transport.js'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { CHUNK } from '../lib/kernel/outbox.js'
import { testPki } from './fixtures/tls-certs.js'

const pki = testPki()
/** Each transport that offers readInto, as a node named `name` would use it. */
const transports: Record<string, (name: string) => Transport> = {
  tcp: () => tcp(),
  tls: name => pki.transport(name),
}

async function pair(t: Test, tr: Transport = tcp()): Promise<{ dialled: Conn; accepted: Conn }> {
  let accepted: Conn | undefined
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => (accepted = c))
  t.teardown(() => l.close())
  const dialled = await tr.dial(l.address, { signal: AbortSignal.timeout(5000) })
  t.teardown(() => dialled.destroy())
  await waitFor(() => accepted !== undefined, 5000, 'the accepted Conn')
  t.teardown(() => accepted!.destroy())
  return { dialled, accepted: accepted! }
}

/** A sink that reads into buffers of the sizes `sizes` cycles through, collecting what lands. */
function collector(sizes: number[]): ReadSink & { bytes: () => Buffer; reads: number } {
  const got: Buffer[] = []
  let i = 0
  let current = Buffer.alloc(sizes[0]!)
  const s = {
    reads: 0,
    buffer: () => current,
    read(n: number, buf: Buffer) {
      s.reads++
      got.push(Buffer.from(buf.subarray(0, n)))
      i = (i + 1) % sizes.length
      current = Buffer.alloc(sizes[i]!)
    },
    bytes: () => Buffer.concat(got),
  }
  return s
}

for (const [name, transport] of Object.entries(transports)) {
  for (const side of ['dialled', 'accepted'] as const) {
    t.test(`${side} ${name} socket: 'data' until attach, then every byte in the reader's buffers, in order`, async t => {
      const conns = await pair(t, transport('rip'))
      const reader = conns[side]
      const writer = side === 'dialled' ? conns.accepted : conns.dialled
      t.ok(reader.readInto, `a ${name} Conn offers readInto`)
      const before = randomBytes(3000)
      const after = randomBytes(1_500_000)
      writer.stream.write(before)
      const first: Buffer[] = []
      const onData = (c: Buffer): void => {
        first.push(c)
      }
      reader.stream.on('data', onData)
      await waitFor(() => Buffer.concat(first).length === before.length, 5000, "the first bytes as 'data'")
      reader.stream.off('data', onData)
      const c = collector([7, 65536, 1, 100_000, 14])
      reader.readInto!.attach(c)
      writer.stream.write(after)
      await waitFor(() => c.bytes().length >= after.length, 10_000, 'the rest through the reader')
      t.same(Buffer.concat(first), before, "the bytes before attach came as 'data'")
      t.ok(c.bytes().equals(after), `the rest came whole and in order, in ${c.reads} reads`)
      // No read exceeds the buffer it was given: some were one byte, as that buffer allowed.
      t.ok(c.reads > after.length / 100_000, 'reads were bounded by the buffers given')
    })
  }
}

for (const [name, transport] of Object.entries(transports)) {
  t.test(`${name}, before attach: a paused socket stops reading (backpressure), and loses nothing`, async t => {
    const { dialled, accepted } = await pair(t, transport('rip'))
    accepted.stream.pause()
    const big = randomBytes(8 * 1024 * 1024)
    dialled.stream.write(big)
    // The reader pauses at its high-water mark, and the writer's buffer fills up.
    await waitFor(() => dialled.stream.writableLength > 0, 5000, 'the writer to be held back')
    t.ok(accepted.stream.readableLength < 1024 * 1024, `the paused side buffered ${accepted.stream.readableLength} bytes, not all of it`)
    const got: Buffer[] = []
    accepted.stream.on('data', (c: Buffer) => got.push(c))
    accepted.stream.resume()
    await waitFor(() => Buffer.concat(got).length === big.length, 10_000, 'every byte once resumed')
    t.ok(Buffer.concat(got).equals(big))
  })
}

for (const [name, transport] of Object.entries(transports)) {
  t.test(`${name}: bytes buffered before attach (no one read them) are still read first (stream.read())`, async t => {
    const { dialled, accepted } = await pair(t, transport('rip'))
    const head = randomBytes(5000)
    dialled.stream.write(head)
    await waitFor(() => accepted.stream.readableLength === head.length, 5000, 'the bytes to be buffered')
    const c = collector([65536])
    accepted.readInto!.attach(c)
    const tail = randomBytes(5000)
    dialled.stream.write(tail)
    await waitFor(() => c.bytes().length === tail.length, 5000, 'the later bytes through the reader')
    t.ok((accepted.stream.read() as Buffer).equals(head), 'the buffered ones wait in the stream')
    t.ok(c.bytes().equals(tail))
  })
}

t.test('the listener closes once its accepted sockets are gone (their handles moved)', async t => {
  const tr = tcp()
  const accepted: Conn[] = []
  const l = await tr.listen({ host: '127.0.0.1', port: 0 }, c => accepted.push(c))
  const dialled = await Promise.all([1, 2, 3].map(() => tr.dial(l.address, { signal: AbortSignal.timeout(5000) })))
  await waitFor(() => accepted.length === 3, 5000, 'three accepted')
  const closed = l.close()
  for (const c of accepted) c.destroy()
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('listener close hung')), 5000))])
  t.pass('close() resolved')
  for (const c of dialled) c.destroy()
})

t.test('adopt(): a socket whose handle cannot be moved is used as it is, resumed, without readInto', async t => {
  const s = new net.Socket() // no handle (as if Node kept it elsewhere)
  s.pause()
  const r = adopt(s, true)
  t.equal(r.socket, s)
  t.equal(r.reads, undefined)
  t.notOk(s.isPaused(), 'resumed: it reads as any socket')
  s.destroy()
})

t.test('routeReads(): a socket without a handle is left as it is, without readInto', async t => {
  const s = new net.Socket()
  t.equal(routeReads(s), undefined)
  s.destroy()
})

/** `inner`, counting how many bytes each node's connections read into buffers they picked. */
function spied(inner: Transport): { transport: Transport; direct: () => number; scratch: () => number } {
  let direct = 0
  let scratch = 0
  const spy = (c: Conn): Conn => {
    const into = c.readInto
    if (into === undefined) return c
    return {
      ...c,
      stream: c.stream,
      close: () => c.close(),
      destroy: err => c.destroy(err),
      readInto: {
        attach(s: ReadSink) {
          const seen = new Set<Buffer>()
          into.attach({
            buffer() {
              const b = s.buffer()
              seen.add(b)
              return b
            },
            read(n, buf) {
              // A buffer of 64 KiB or of a header's size is the connection's scratch; others are message bodies.
              if (buf.length === 65536 || buf.length === 14) scratch += n
              else direct += n
              seen.delete(buf)
              s.read(n, buf)
            },
          })
        },
      },
    }
  }
  return {
    transport: {
      name: inner.name,
      listen: (opts, onConn) => inner.listen(opts, c => onConn(spy(c))),
      dial: async (addr, opts) => spy(await inner.dial(addr, opts)),
    },
    direct: () => direct,
    scratch: () => scratch,
  }
}

for (const [name, transport] of Object.entries(transports)) {
  t.test(
    `nodes over ${name}: large and small messages interleaved arrive intact and in order; large ones read into their bodies`,
    async t => {
      const epmd = await testEpmd(t)
      const ra = spied(transport('ria'))
      const rb = spied(transport('rib'))
      const a = await testNode(t, epmd, { name: 'ria', connectAll: false, transport: ra.transport })
      const b = await testNode(t, epmd, { name: 'rib', connectAll: false, transport: rb.transport })
      const inbox = sink(b, 'inbox')
      const other = sink(b, 'other')
      const sizes = [10, CHUNK - 20, CHUNK, CHUNK + 1, 3 * CHUNK + 7, 1_000_000, 5, 2_500_000, 17 * CHUNK]
      const sent: Buffer[] = []
      for (let round = 0; round < 3; round++) {
        for (const size of sizes) {
          const m = randomBytes(size)
          sent.push(m)
          a.send(['inbox', b.name], m)
          a.send(['other', b.name], ['small', sent.length])
        }
      }
      await waitFor(() => inbox.length === sent.length && other.length === sent.length, 30_000, 'every message')
      t.ok(
        inbox.every((m, i) => Buffer.isBuffer(m) && m.equals(sent[i]!)),
        `${sent.length} messages of 10 B to 17 pieces, whole and in order`,
      )
      t.same(
        other,
        sent.map((_, i) => ['small', i + 1]),
        'the small ones in order too',
      )
      const large = sent.filter(m => m.length > CHUNK).reduce((n, m) => n + m.length, 0)
      t.ok(rb.direct() > large / 2, `of ${large} bytes of large messages, ${rb.direct()} were read straight into their bodies`)
      // And back, the other way round (the dialled side reading).
      const back = sink(a, 'back')
      const big = randomBytes(3_000_000)
      b.send(['back', a.name], big)
      await waitFor(() => back.length === 1, 10_000, 'the message back')
      t.ok((back[0] as Buffer).equals(big))
      t.ok(ra.direct() > big.length / 2, `the dialling side read ${ra.direct()} bytes into the body`)
    },
  )
}
