// Captures the fuzzing seed corpus (fuzz/corpus/seeds.json) from real exchanges: a port mapper
// (our daemon) and three nodes on loopback — two on the 'netkernel' codec, one on 'msgpack-lite'
// — connect, gossip, send terms of every kind (one large enough to be fragmented), link,
// monitor, exit, spawn remotely (once successfully, once refused), and a node with a wrong
// cookie is refused. A transport wrapper records every byte each side receives (without
// changing the stream's flow), and taps the port-mapper streams in both directions.
//
//   node --import tsx fuzz/capture-seeds.ts     (rewrites fuzz/corpus/seeds.json)
import { writeFileSync } from 'node:fs'
import type { Duplex } from 'node:stream'
import { startEpmd } from '../lib/epmd/daemon.js'
import { listNames, stopName } from '../lib/epmd/client.js'
import { tcpConnect } from '../lib/net/tcp-connect.js'
import { startNode, type Node } from '../lib/node.js'
import { seedModules } from '../lib/cli/seed-modules.js'
import { tcp } from '../transports/tcp.js'
import type { Conn, Transport } from '../lib/transport.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { createCodec } from '../lib/terms/codec.js'
import { FRAGMENT_MARK } from '../lib/kernel/fragments.js'
import type { Corpus } from './corpus.js'
import { CORPUS_PATH } from './corpus.js'

interface Tap {
  role: 'initiator' | 'responder'
  chunks: Buffer[]
}
const taps: Tap[] = []
const epmdTaps: { out: Buffer[]; in: Buffer[] }[] = []

/** Records every 'data' event of a stream, leaving its flow (paused or not) as it is. */
function recordInbound(stream: Duplex, into: Buffer[]): void {
  const emit = stream.emit
  stream.emit = function (this: Duplex, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') into.push(Buffer.from(args[0] as Buffer))
    return emit.call(this, event, ...args)
  } as typeof stream.emit
}

function recordOutbound(stream: Duplex, into: Buffer[]): void {
  const write = stream.write
  stream.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
    into.push(Buffer.from(chunk as Buffer))
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof stream.write
}

function tapConn(conn: Conn, role: Tap['role']): Conn {
  const tap: Tap = { role, chunks: [] }
  taps.push(tap)
  recordInbound(conn.stream, tap.chunks)
  // Without readInto, so that every byte the connection reads comes as 'data' and is recorded.
  return { ...conn, readInto: undefined }
}

async function tapPortMapper(addr: { host: string; port: number }, opts: { signal: AbortSignal }): Promise<Duplex> {
  const s = await tcpConnect(addr, opts)
  const t = { out: [] as Buffer[], in: [] as Buffer[] }
  epmdTaps.push(t)
  recordInbound(s, t.in)
  recordOutbound(s, t.out)
  return s
}

function tapped(inner: Transport): Transport {
  return {
    name: inner.name,
    listen: (opts, onConn) => inner.listen(opts, c => onConn(tapConn(c, 'responder'))),
    dial: async (addr, opts) => tapConn(await inner.dial(addr, opts), 'initiator'),
    portMapperStream: tapPortMapper,
  }
}

const wait = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

async function main(): Promise<void> {
  const epmd = await startEpmd({ host: '127.0.0.1', port: 0, relaxed: true })
  const nodes: Node[] = []
  const start = async (name: string, codec: 'netkernel' | 'msgpack-lite', cookie = 'capture-cookie'): Promise<Node> => {
    const n = await startNode({
      name,
      cookie,
      codec,
      transport: tapped(tcp()),
      modules: seedModules,
      listen: { host: '127.0.0.1' },
      epmd: { host: '127.0.0.1', port: epmd.port, autoStart: false },
    })
    nodes.push(n)
    return n
  }
  try {
    const a = await start('fuzza', 'netkernel')
    const b = await start('fuzzb', 'msgpack-lite')
    const c = await start('fuzzc', 'netkernel')
    await a.connect(b.name)
    await a.connect(c.name) // b and c learn of each other through gossip
    await wait(200)

    const echo = await a.spawn(b.name, 's', 's')
    const done = new Promise<void>((resolve, reject) => {
      a.spawn(async proc => {
        try {
          const terms: unknown[] = [
            0,
            1,
            -1,
            127,
            128,
            -33,
            65535,
            2 ** 31,
            -(2 ** 31) - 1,
            2 ** 40,
            1.5,
            -0.25,
            Number.MAX_VALUE,
            10n,
            -(2n ** 70n),
            2n ** 200n,
            '',
            'atom',
            'héllo wörld ✓',
            'x'.repeat(300),
            null,
            true,
            false,
            Buffer.alloc(0),
            Buffer.from('bytes'),
            Buffer.alloc(2000, 7),
            [],
            [1, [2, [3, [4]]]],
            { a: 1, b: { c: [null, 'd'] } },
            new Map<unknown, unknown>([
              [1, 'one'],
              ['k', [2]],
              [proc.self, 'pid key'],
            ]),
            Object.assign(new Error('boom'), { code: 'E_BOOM' }),
            new TypeError('bad'),
            proc.self,
            proc.makeRef(),
            { nested: [new Map([[10n, Buffer.from([1, 2])]]), { e: new RangeError('r') }] },
            Buffer.alloc(150 * 1024, 3), // over one 64 KB chunk: sent as fragments
          ]
          for (const term of terms) {
            proc.send(echo, [term, proc.self])
            await proc.receive(undefined, { timeout: 5000 })
          }
          proc.send(['server', b.name], 'hello registered') // REG_SEND to a name nobody holds
          const m = proc.monitor(echo)
          proc.demonitor(m)
          proc.monitor(['nobody', c.name])
          proc.link(echo)
          proc.unlink(echo)
          const victim = await proc.spawn(c.name, 's', 's')
          proc.monitor(victim)
          proc.link(victim)
          proc.trapExit(true)
          proc.exit(victim, 'kill-it')
          await proc.receive(undefined, { timeout: 5000 })
          await proc.receive(undefined, { timeout: 5000 })
          await proc.spawn(c.name, 'nomodule', 'nofun').catch(() => {})
          proc.send(echo, 'stop')
          resolve()
        } catch (err) {
          reject(err as Error)
        }
      })
    })
    await done
    // A node with the wrong cookie is refused.
    const d = await start('fuzzd', 'netkernel', 'wrong-cookie')
    await d.connect(a.name)
    // Port-mapper requests and replies beyond ALIVE2/PORT_PLEASE2.
    await listNames({ host: '127.0.0.1', port: epmd.port, connect: tapPortMapper })
    await stopName({ host: '127.0.0.1', port: epmd.port, name: 'nosuchnode', connect: tapPortMapper })
    await wait(200)
  } finally {
    for (const n of nodes) await n.stop()
    await epmd.close()
  }
  writeFileSync(CORPUS_PATH, JSON.stringify(corpusFromTaps(), null, 1) + '\n')
  process.stdout.write(`wrote ${CORPUS_PATH}\n`)
}

/** Frames longer than this are cut (their prefix fixed up) to keep the corpus small. */
const KEEP = 1024

function frameOf(body: Buffer): Buffer {
  const b = body.length > KEEP ? body.subarray(0, KEEP) : body
  const f = Buffer.allocUnsafe(4 + b.length)
  f.writeUInt32BE(b.length, 0)
  b.copy(f, 4)
  return f
}

function corpusFromTaps(): Corpus {
  const codec = createCodec()
  const handshake = new Set<string>()
  const dist = new Set<string>()
  for (const tap of taps) {
    const decoder = new FrameDecoder({ maxFrameSize: 0xffffffff })
    const hs: Buffer[] = []
    decoder.push(Buffer.concat(tap.chunks), body => {
      let kind: 'hs' | 'dist' = 'dist'
      if (body.length > 0 && body[0] !== FRAGMENT_MARK) {
        try {
          const v = codec.decode(body)
          if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map)) kind = 'hs'
        } catch {
          /* not a term: keep it as a distribution frame */
        }
      }
      if (kind === 'hs') hs.push(frameOf(body))
      else dist.add(frameOf(body).toString('hex'))
    })
    if (hs.length > 0) handshake.add((tap.role === 'responder' ? '00' : '01') + Buffer.concat(hs).toString('hex'))
  }
  const requests = new Set<string>()
  const responses = new Set<string>()
  for (const t of epmdTaps) {
    const req = Buffer.concat(t.out)
    if (req.length === 0) continue
    requests.add(req.toString('hex'))
    const tag = req[2]
    // The reply kind, as the client decodes it: see fuzz/targets/epmd-responses.ts.
    const kind = tag === 120 ? 0 : tag === 122 ? 1 : tag === 110 ? 2 : tag === 107 ? 3 : 4
    responses.add(kind.toString(16).padStart(2, '0') + Buffer.concat(t.in).toString('hex'))
  }
  return {
    note: 'Captured by fuzz/capture-seeds.ts from real exchanges on loopback; frames over 1 KB cut to 1 KB.',
    handshake: [...handshake],
    dist: [...dist],
    epmdRequests: [...requests],
    epmdResponses: [...responses],
  }
}

main().catch(err => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
