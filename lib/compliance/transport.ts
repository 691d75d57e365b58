// The Transport compliance suite: what every transport (tcp, tls, ssh, a user's own) must do,
// over real sockets on the fixture's host, on free ports (port 0). See index.ts for running it.
import process from 'node:process'
import { Buffer } from 'node:buffer'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { Conn, Transport } from '../transport.js'
import { NetkernelError, TransportError } from '../errors.js'
import { complianceCase, type CaseBody, type CaseScope, type ComplianceCase, type ComplianceSetup } from './case.js'
import { expectTyped, shown } from './expect.js'
import { closed, peerGone, readAll, readN } from './stream-waits.js'

export interface TransportFixture {
  transport: Transport
  /** The address to listen on and dial (e.g. '127.0.0.1'). */
  host: string
}

/** `F`: the fixture setup() returns, handed back to teardown() (it may carry more). */
export interface TransportComplianceOptions<F extends TransportFixture = TransportFixture> extends ComplianceSetup<F> {
  /** The transport's `name` (checked against `transport.name` and each Conn's `transport`). */
  name: string
  /**
   * Check, through process.getActiveResourcesInfo(), that an aborted dial leaves no TCP socket
   * behind (default true). Turn off for a transport that keeps a shared socket (an SSH session).
   */
  leakCheck?: boolean
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const tcpSockets = (): number => process.getActiveResourcesInfo().filter(r => r === 'TCPSocketWrap' || r === 'TCPWRAP').length

const settle = <T>(p: Promise<T>): Promise<T | Error> => p.catch((e: unknown) => e as Error)

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

const dialTimeout = (): AbortSignal => AbortSignal.timeout(10_000)

/** A listener whose accepted Conns queue up; it and every Conn are released when the case ends. */
async function listener({ transport, host }: TransportFixture, scope: CaseScope) {
  const accepted: Conn[] = []
  const waiting: Array<(c: Conn) => void> = []
  const l = await transport.listen({ host, port: 0 }, c => {
    const w = waiting.shift()
    if (w) w(c)
    else accepted.push(c)
  })
  const conns: Conn[] = []
  scope.defer(async () => {
    for (const c of [...conns, ...accepted]) c.destroy()
    await l.close()
  })
  const next = (): Promise<Conn> => {
    const c = accepted.shift()
    const p = c ? Promise.resolve(c) : new Promise<Conn>(resolve => waiting.push(resolve))
    return p.then(c => (conns.push(c), c))
  }
  const dial = async (signal = dialTimeout()): Promise<Conn> => {
    const c = await transport.dial(l.address, { signal })
    conns.push(c)
    return c
  }
  /** Dial and take the matching accepted Conn. */
  const pair = async (): Promise<[Conn, Conn]> => {
    const [client, server] = await Promise.all([dial(), next()])
    return [client, server]
  }
  return { l, next, dial, pair, accepted }
}

/** The Transport compliance suite: one case per behaviour, each with a fresh fixture. */
export function transportCompliance<F extends TransportFixture>(opts: TransportComplianceOptions<F>): ComplianceCase[] {
  const cases: Array<[string, CaseBody<TransportFixture>]> = [
    [
      'listen on port 0 reports the bound address',
      async (f, scope) => {
        const { l } = await listener(f, scope)
        assert.equal(l.address.host, f.host)
        assert.ok(Number.isInteger(l.address.port) && l.address.port > 0, `a real port (${l.address.port})`)
        assert.equal(f.transport.name, opts.name)
      },
    ],

    [
      'dial and accept: Conn fields, bytes both ways',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        for (const c of [client, server]) {
          assert.equal(c.transport, f.transport.name)
          assert.equal(typeof c.remoteAddress, 'string')
          assert.ok(c.remoteAddress.length > 0, 'a remote address')
          assert.ok(Number.isInteger(c.remotePort) && c.remotePort > 0, `a remote port (${c.remotePort})`)
          assert.equal(typeof c.encrypted, 'boolean')
        }
        client.stream.write('ping')
        assert.equal((await readN(server.stream, 4)).toString(), 'ping')
        server.stream.write('pong')
        assert.equal((await readN(client.stream, 4)).toString(), 'pong')
      },
    ],

    [
      '1 MB each way, concurrently',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        const up = randomBytes(1 << 20)
        const down = randomBytes(1 << 20)
        const gotUp = readN(server.stream, up.length)
        const gotDown = readN(client.stream, down.length)
        client.stream.write(up)
        server.stream.write(down)
        assert.equal(sha(await gotUp), sha(up), 'client → server intact')
        assert.equal(sha(await gotDown), sha(down), 'server → client intact')
      },
    ],

    [
      'readInto, where a Conn offers it: 1 MB in the buffers the reader picks, whole and in order, then the end',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        for (const [reader, writer] of [
          [server, client],
          [client, server],
        ] as const) {
          if (reader.readInto === undefined) continue
          const data = randomBytes(1 << 20)
          const got: Buffer[] = []
          const wrong: string[] = []
          const sizes = [1, 14, 4096, 65536, 100_000]
          let i = 0
          let next = Buffer.alloc(sizes[0]!)
          reader.readInto.attach({
            buffer: () => next,
            read(n, buf) {
              // (checked after the end: a throw here would be the socket's)
              if (buf !== next) wrong.push('a read landed in a buffer the reader did not give')
              if (!(n > 0 && n <= buf.length)) wrong.push(`a read of ${n} bytes into ${buf.length}`)
              got.push(Buffer.from(buf.subarray(0, n)))
              next = Buffer.alloc(sizes[++i % sizes.length]!)
            },
          })
          const ended = once(reader.stream, 'end')
          reader.stream.resume()
          writer.stream.end(data)
          await ended
          assert.deepEqual(wrong.slice(0, 3), [])
          assert.equal(sha(Buffer.concat(got)), sha(data), 'intact, through the reader')
        }
      },
    ],

    [
      'copiesWrites, where a Conn says it: a buffer overwritten once its write completed changes nothing the peer reads',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        for (const [writer, reader] of [
          [client, server],
          [server, client],
        ] as const) {
          if (writer.copiesWrites !== true) continue
          // One buffer written again and again, as the kernel does with its batch buffers:
          // each time with new bytes, and scribbled over as soon as the write's callback came.
          const rounds = 64
          const size = 48 * 1024
          const buf = Buffer.alloc(size)
          const sent = createHash('sha256')
          const got = readN(reader.stream, rounds * size)
          for (let r = 0; r < rounds; r++) {
            buf.fill(r + 1)
            buf.writeUInt32BE(r, (r * 97) % (size - 4))
            sent.update(buf)
            await new Promise<void>((resolve, reject) => writer.stream.write(buf, err => (err ? reject(err) : resolve())))
            buf.fill(0xee)
          }
          assert.equal(sha(await got), sent.digest('hex'), 'the peer read what each write held when it was made')
        }
      },
    ],

    [
      'half-close: one side ends, the other still writes back',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        const serverGot = readAll(server.stream)
        const clientGot = readAll(client.stream)
        client.stream.end('request')
        assert.equal((await serverGot).toString(), 'request', 'the server read to the end')
        server.stream.end('reply after the client ended')
        assert.equal((await clientGot).toString(), 'reply after the client ended', 'the client still reads')
        await Promise.all([closed(client.stream), closed(server.stream)])
      },
    ],

    [
      'Conn close() is graceful: what was written arrives, then the end',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        const data = randomBytes(256 * 1024)
        const got = readAll(server.stream)
        client.stream.write(data)
        client.close()
        assert.equal(sha(await got), sha(data), 'every byte arrived before the end')
        server.close()
        await Promise.all([closed(client.stream), closed(server.stream)])
        client.close() // twice is harmless
      },
    ],

    [
      'Conn destroy() is abrupt: the peer sees the connection close',
      async (f, scope) => {
        const { pair } = await listener(f, scope)
        const [client, server] = await pair()
        const peer = peerGone(client.stream)
        server.stream.write(randomBytes(64 * 1024)) // unsent data is dropped, not flushed
        server.destroy()
        assert.ok(server.stream.destroyed, 'destroyed at once')
        assert.match(await peer, /^(end|error|close)$/, 'the peer saw the connection go')
        const [a, b] = await pair()
        const err = new Error('going away')
        const seen = settle(once(a.stream, 'error'))
        const bGone = peerGone(b.stream)
        a.destroy(err)
        assert.equal(((await seen) as unknown[])[0], err, 'destroy(err) reports err on the local stream')
        await bGone
      },
    ],

    [
      'a dial with an already-aborted signal rejects without connecting',
      async (f, scope) => {
        const { l, accepted } = await listener(f, scope)
        const ac = new AbortController()
        ac.abort()
        expectTyped(await settle(f.transport.dial(l.address, { signal: ac.signal })), NetkernelError, 'ERR_ABORTED', 'an aborted dial')
        const reason = new Error('my reason')
        const ac2 = new AbortController()
        ac2.abort(reason)
        assert.equal(await settle(f.transport.dial(l.address, { signal: ac2.signal })), reason, "or the signal's own reason")
        await sleep(50)
        assert.equal(accepted.length, 0, 'nothing reached the listener')
      },
    ],

    [
      'a dial aborted mid-way rejects and leaves no socket behind',
      async (f, scope) => {
        const { l, accepted } = await listener(f, scope)
        const before = tcpSockets()
        const ac = new AbortController()
        const p = settle(f.transport.dial(l.address, { signal: ac.signal }))
        ac.abort()
        expectTyped(await p, NetkernelError, 'ERR_ABORTED', 'a dial aborted mid-way')
        // Whatever reached the listener is closed from our side.
        await sleep(100)
        await Promise.all(accepted.map(c => peerGone(c.stream)))
        for (const c of accepted) c.destroy()
        if (opts.leakCheck ?? true) {
          // (Sockets close a loop turn or more after destroy(): up to 2 s on a loaded machine.)
          for (const until = Date.now() + 2000; tcpSockets() > before && Date.now() < until;) await sleep(20)
          assert.ok(tcpSockets() <= before, `no TCP socket left open by the dial (${tcpSockets()} now, ${before} before)`)
        }
      },
    ],

    [
      'a refused dial: TransportError ERR_CONNECT naming the address, with the cause',
      async (f, scope) => {
        const { l } = await listener(f, scope)
        const addr = { ...l.address }
        await l.close()
        const e = expectTyped(
          await settle(f.transport.dial(addr, { signal: dialTimeout() })),
          TransportError,
          'ERR_CONNECT',
          'a refused dial',
        )
        assert.ok(e.message.includes(`${addr.host}:${addr.port}`), `the message names ${addr.host}:${addr.port}: ${e.message}`)
        assert.ok(e.cause, 'the low-level error as cause')
      },
    ],

    [
      'listening on a port in use: TransportError ERR_LISTEN naming the address',
      async (f, scope) => {
        const { l } = await listener(f, scope)
        const taken = await settle(f.transport.listen({ host: f.host, port: l.address.port }, () => {}))
        if (!(taken instanceof Error)) scope.defer(() => taken.close())
        const e = expectTyped(taken, TransportError, 'ERR_LISTEN', 'listening on a port in use')
        assert.ok(e.message.includes(`${f.host}:${l.address.port}`), `the message names ${f.host}:${l.address.port}: ${e.message}`)
        assert.ok(e.cause, 'the OS error as cause')
      },
    ],

    [
      'listen with an aborted signal rejects; aborting later closes the listener',
      async (f, scope) => {
        const { transport, host } = f
        const ac = new AbortController()
        ac.abort()
        const e = await settle(transport.listen({ host, port: 0, signal: ac.signal }, () => {}))
        assert.equal((e as NetkernelError).code, 'ERR_ABORTED', `an aborted listen (got ${shown(e)})`)
        const ac1 = new AbortController()
        const p = settle(transport.listen({ host, port: 0, signal: ac1.signal }, () => {}))
        ac1.abort() // while binding
        const e1 = await p
        if (e1 instanceof Error) assert.equal((e1 as NetkernelError).code, 'ERR_ABORTED', 'aborted while binding')
        else await e1.close()
        const ac2 = new AbortController()
        const l = await transport.listen({ host, port: 0, signal: ac2.signal }, c => c.destroy())
        scope.defer(() => l.close())
        ac2.abort()
        // Closing may take a round trip (an SSH reverse listener asks sshd to cancel its
        // forward): dial until refused, for up to 5 s.
        const until = Date.now() + 5000
        let e2 = await settle(transport.dial(l.address, { signal: dialTimeout() }))
        while (!(e2 instanceof Error) && Date.now() < until) {
          e2.destroy()
          await sleep(20)
          e2 = await settle(transport.dial(l.address, { signal: dialTimeout() }))
        }
        if (!(e2 instanceof Error)) e2.destroy()
        assert.equal((e2 as NetkernelError).code, 'ERR_CONNECT', `no longer accepting within 5 s (got ${shown(e2)})`)
      },
    ],

    [
      'Listener close() is graceful: stops accepting, leaves accepted Conns working',
      async (f, scope) => {
        const { l, pair } = await listener(f, scope)
        const [client, server] = await pair()
        await l.close()
        await l.close() // twice is harmless
        const e = await settle(f.transport.dial(l.address, { signal: dialTimeout() }))
        assert.equal((e as NetkernelError).code, 'ERR_CONNECT', `new dials are refused (got ${shown(e)})`)
        client.stream.write('still')
        assert.equal((await readN(server.stream, 5)).toString(), 'still')
        server.stream.write('here')
        assert.equal((await readN(client.stream, 4)).toString(), 'here')
      },
    ],

    [
      'many connections to one listener',
      async (f, scope) => {
        const { dial, next } = await listener(f, scope)
        const n = 10
        const label = (i: number): string => `n${String(i).padStart(2, '0')}`
        const clients = await Promise.all(Array.from({ length: n }, () => dial()))
        const servers = await Promise.all(Array.from({ length: n }, () => next()))
        clients.forEach((c, i) => c.stream.write(label(i)))
        const got = await Promise.all(servers.map(async s => (await readN(s.stream, 3)).toString()))
        assert.deepEqual(
          got.sort(),
          Array.from({ length: n }, (_, i) => label(i)),
          'each message arrived once',
        )
      },
    ],
  ]
  return cases.map(([name, body]) => complianceCase<F>(name, opts, body))
}
