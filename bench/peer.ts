// One side of bench/main.ts, in its own OS process. argv[2] is a JSON PeerConfig. It starts
// one node per transport (tcp, tls, ssh), prints `READY {json}`, then serves commands on
// stdin, one per line (`cmd {json}`), answering on stdout:
//
//   receiver  every node runs a process registered as 'sink' (counts messages: ['start', from,
//             count, size] then `count` messages, answers ['done', ...]) and an 'echo' process
//             (answers [from, msg] with msg), and a 'server' process answering gen_server calls
//             with their request (asCall, proc.reply). A raw TCP server counts length-prefixed
//             frames.
//             A raw echo server writes back whatever it reads.
//             READY carries { nodes: { tcp: name, ... }, rawPort, rawEchoPort }.
//             `local {n,size}`          → RESULT: n local sends between two processes of one node
//   sender    `connect {t,node}`        → CONNECTED true|false (learns the sink's and echo's pids)
//             `tput {t,n,size,procs}`   → RESULT: n messages of `size` bytes to the sink from
//                                         `procs` processes (n/procs each; each waits for
//                                         drain() when send() returns false)
//             `ping {t,k,size}`         → LAT: k round trips to the echo process
//             `call {t,k,size}`         → LAT: k proc.call(['server', node], buf) round trips
//                                         (a gen_server call: monitor, request, reply, demonitor)
//             `hol {t,m,size,psize}`    → LAT: round trips of `psize`-byte pings while m
//                                         messages of `size` bytes stream to the sink
//             `raw {n,size,port,copy}`  → RESULT: n raw frames to the receiver's raw server
//                                         (copy: its reader copies each body once)
//             `rawping {k,size,port}`   → LAT: k round trips of a (4 + size)-byte frame through
//                                         the receiver's raw echo server
//   both      `busywait {us}`           → OK: the event loop polls for `us` µs after traffic
//                                         (startNode's busyWait; also after raw socket reads)
//
// The 'erl' node (transport tcp, startNode's erlang: true, registered with the port mapper of
// the bench's Erlang nodes) talks to Erlang/OTP: the receiver's erl node serves nkbench.erl's
// sender (bench/otp.ts) — {hello, From}, {start, From, N, Size} and {From, Bin} to the echo,
// answered {sink, Sink, Echo} and {done, N, Ns}; gen_server:call({server, Node}, Bin)
// to the server — and the sender's erl node drives nkbench.erl's receiver the same way
// (`connect {t:'erl', node, otp: true}`; its server is a gen_server). The 'erl-tls' node does
// the same over TLS (the tls() transport with erlang: true) with Erlang nodes that run
// `-proto_dist inet_tls`.
// The process stops when stdin closes (so it never outlives the bench) or on SIGTERM.
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { startNode, type Node } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import type { Transport } from '../lib/transport.js'
import { Atom, atom } from '../lib/terms/atom.js'
import { Tuple, tuple } from '../lib/terms/tuple.js'
import { busyWaitActivity, setBusyWait } from '../lib/kernel/busy-wait.js'
import { asCall } from '../lib/process/gen-call.js'

/** 'erl': tcp, with erlang: true, toward Erlang/OTP nodes; 'erl-tls': tls, with erlang: true, toward inet_tls ones. */
export type TransportName = 'tcp' | 'tls' | 'ssh' | 'erl' | 'erl-tls'

export interface PeerNodeConfig {
  transport: TransportName
  name: string
  /** tls, erl-tls: PEM file paths. */
  tls?: { ca: string; cert: string; key: string }
  /** ssh (sender): the gateway key and its settings; privateKey is a file path. */
  ssh?: { gateway: string; host: string; port: number; username: string; privateKey: string; hostKey: string; target: string }
  /** The port mapper to register with, when not the bench's own (erl: the Erlang nodes'). */
  epmdPort?: number
}

export interface PeerConfig {
  role: 'recv' | 'send'
  cookie: string
  epmdPort: number
  nodes: PeerNodeConfig[]
}

export interface TputResult {
  count: number
  /** Receiver: first to last message. */
  recvNs: number
  /** Sender: first send to the last one queued. */
  sendNs: number
  /** Sender: first send to the receiver's answer. */
  totalNs: number
  ok: boolean
}

export interface LatResult {
  n: number
  /** Round-trip times, µs. */
  p50: number
  p99: number
  p999: number
  mean: number
  /** hol: the stream's rate, bytes/s (sender's first send to the sink's answer). */
  streamBps?: number
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as PeerConfig
const out = (line: string): void => void process.stdout.write(line + '\n')
const now = (): bigint => process.hrtime.bigint()
const turn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))
/** Messages between two yields to the event loop: ~640 KB of frames per turn. */
const yieldEvery = (size: number): number => Math.max(1, Math.floor(655_360 / (size + 40)))
const payloads = new Map<number, Buffer>()
const payload = (size: number): Buffer => {
  let p = payloads.get(size)
  if (p === undefined) payloads.set(size, (p = Buffer.alloc(size, 0x78)))
  return p
}

function percentiles(ns: Float64Array): LatResult {
  const s = ns.slice().sort()
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! / 1000
  let sum = 0
  for (const x of s) sum += x
  return { n: s.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), mean: sum / s.length / 1000 }
}

async function transportFor(c: PeerNodeConfig): Promise<Transport | undefined> {
  if (c.transport === 'tls' || c.transport === 'erl-tls') {
    const { tls } = await import('../transports/tls.js')
    const f = c.tls!
    return tls({ ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) })
  }
  if (c.transport === 'ssh' && cfg.role === 'send') {
    const { ssh } = await import('../transports/ssh.js')
    const g = c.ssh!
    return ssh({
      gateways: {
        [g.gateway]: {
          host: g.host,
          port: g.port,
          username: g.username,
          privateKey: readFileSync(g.privateKey),
          hostKey: g.hostKey,
          target: g.target,
        },
      },
    })
  }
  return undefined // tcp
}

interface Peer {
  node: Node
  transport: Transport | undefined
  sink?: Pid
  echo?: Pid
  /** The node connected to (its 'server' answers calls). */
  target?: string
  /** The sink and echo are nkbench.erl's: messages are Erlang tuples with atom tags. */
  otp?: boolean
}

/** A message's tag, whether a netkernel string or an Erlang atom. */
const tagOf = (m: unknown): unknown => (Array.isArray(m) ? (m[0] instanceof Atom ? m[0].name : m[0]) : undefined)
const peers = new Map<TransportName, Peer>()

await Promise.all(
  cfg.nodes.map(async c => {
    const transport = await transportFor(c)
    const node = await startNode({
      ...(c.transport === 'erl' || c.transport === 'erl-tls' ? { erlang: true } : {}),
      name: c.name,
      cookie: cfg.cookie,
      listen: { host: '127.0.0.1' },
      epmd: { host: '127.0.0.1', port: c.epmdPort ?? cfg.epmdPort, autoStart: false },
      connectAll: false,
      ...(transport === undefined ? {} : { transport }),
    })
    peers.set(c.transport, { node, transport })
  }),
)

let rawServer: net.Server | undefined
let rawEchoServer: net.Server | undefined
if (cfg.role === 'recv') {
  for (const p of peers.values()) startReceiver(p.node)
  rawServer = await startRawReceiver()
  rawEchoServer = await startRawEcho()
  const nodes = Object.fromEntries([...peers].map(([t, p]) => [t, p.node.name]))
  const port = (server: net.Server): number => (server.address() as net.AddressInfo).port
  out(`READY ${JSON.stringify({ nodes, rawPort: port(rawServer), rawEchoPort: port(rawEchoServer) })}`)
} else {
  out(`READY {}`)
}

// ---- receiver ----------------------------------------------------------------------------

function startReceiver(n: Node): void {
  const echo = n.spawn(async (proc: Proc) => {
    for (;;) {
      const m = (await proc.receive()) as [Pid, unknown] // [From, Msg], or {From, Bin} from erl
      proc.send(m[0], m[1])
    }
  })
  n.register('echo', echo)
  // A gen_server's handle_call(Req, _From, S) -> {reply, Req, S}, for calls from netkernel and erl.
  const server = n.spawn(async (proc: Proc) => {
    for (;;) {
      const c = asCall(await proc.receive())
      if (c !== undefined) proc.reply(c.from, c.request)
    }
  })
  n.register('server', server)
  const sink = n.spawn(async (proc: Proc) => {
    for (;;) {
      const m = (await proc.receive()) as [string, Pid, number, number]
      const erl = m instanceof Tuple // from nkbench.erl's sender: answer as it expects
      if (tagOf(m) === 'hello') {
        proc.send(m[1], erl ? tuple(atom('sink'), proc.self, echo) : ['sink', proc.self, echo])
      } else if (tagOf(m) === 'start') {
        const [, from, count, size] = m
        let last: unknown = await proc.receive()
        const t0 = now()
        for (let i = 1; i < count; i++) last = await proc.receive()
        const ns = Number(now() - t0)
        const ok = Buffer.isBuffer(last) && last.length === size
        if (!erl) proc.send(from, ['done', count, ns, ok])
        else if (ok) proc.send(from, tuple(atom('done'), count, ns))
      }
    }
  })
  n.register('sink', sink)
}

/** Local sends on one node: a process sends n payloads to another, which counts them. */
function runLocal(n: number, size: number): Promise<TputResult> {
  const node = peers.values().next().value!.node
  const msg = payload(size)
  const every = yieldEvery(size)
  return new Promise(resolve => {
    const t0 = now()
    let sendNs = 0
    const counter = node.spawn(async (proc: Proc) => {
      let last: unknown
      for (let i = 0; i < n; i++) last = await proc.receive()
      const ns = Number(now() - t0)
      resolve({ count: n, recvNs: ns, sendNs, totalNs: ns, ok: last === msg })
    })
    node.spawn(async (proc: Proc) => {
      for (let i = 1; i <= n; i++) {
        proc.send(counter, msg)
        if (i % every === 0) await turn()
      }
      sendNs = Number(now() - t0)
    })
  })
}

/**
 * Counts frames: each connection sends one control frame (N, u32; or N and a copy flag, two
 * u32s), then N frames. With the copy flag set, the reader copies each body once into a
 * buffer of its own size (the least a receiver that hands bodies out must do): the ceiling
 * netkernel's large messages are measured against.
 */
/** The ping-pong ceiling's far end: every chunk read is written back as it is. */
async function startRawEcho(): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, socket => {
    socket.on('data', (chunk: Buffer) => {
      busyWaitActivity()
      socket.write(chunk)
    })
    socket.on('error', () => socket.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return server
}

async function startRawReceiver(): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, socket => {
    const prefix = Buffer.alloc(4)
    let prefixLength = 0
    let skip = 0 // body bytes still to skip
    let control = false // the body being read is the 4-byte control frame
    let controlBody = Buffer.alloc(0)
    let expected = -1
    let copy = false
    let body: Buffer | undefined // copy mode: the body being filled
    let filled = 0
    let count = 0
    let t0 = 0n
    const frame = (size: number): void => {
      if (expected < 0) {
        control = true
        controlBody = Buffer.alloc(0)
        skip = size
        return
      }
      if (count === 0) t0 = now()
      skip = size
      if (copy) {
        body = Buffer.allocUnsafe(size)
        filled = 0
      }
      if (++count === expected) {
        const ns = Number(now() - t0)
        const reply = Buffer.alloc(16)
        reply.writeDoubleBE(count, 0)
        reply.writeDoubleBE(ns, 8)
        socket.write(reply)
        expected = -1
        count = 0
      }
    }
    socket.on('data', (chunk: Buffer) => {
      const n = chunk.length
      let off = 0
      while (off < n) {
        if (skip > 0) {
          const take = Math.min(skip, n - off)
          if (control) controlBody = Buffer.concat([controlBody, chunk.subarray(off, off + take)])
          else if (body !== undefined) filled += chunk.copy(body, filled, off, off + take)
          skip -= take
          off += take
          if (skip === 0 && control) {
            control = false
            expected = controlBody.readUInt32BE(0)
            copy = controlBody.length >= 8 && controlBody.readUInt32BE(4) === 1
          }
          if (skip === 0) body = undefined
          continue
        }
        if (prefixLength === 0 && n - off >= 4) {
          const size = chunk.readUInt32BE(off)
          off += 4
          frame(size)
        } else {
          while (prefixLength < 4 && off < n) prefix[prefixLength++] = chunk[off++]!
          if (prefixLength < 4) return
          prefixLength = 0
          frame(prefix.readUInt32BE(0))
        }
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  return server
}

// ---- sender ------------------------------------------------------------------------------

function peer(t: TransportName): Peer {
  const p = peers.get(t)
  if (p === undefined) throw new Error(`no ${t} node`)
  return p
}

function inProc<T>(node: Node, fn: (proc: Proc) => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    node.spawn(async proc => {
      try {
        resolve(await fn(proc))
      } catch (err) {
        reject(err as Error)
      }
    })
  })
}

async function connect(t: TransportName, target: string, otp: boolean): Promise<boolean> {
  const p = peer(t)
  if (!(await p.node.connect(target))) return false
  p.otp = otp
  p.target = target
  // Learn the sink's pid, so that the measured sends are `Pid ! Msg` (SEND frames).
  return inProc(p.node, async proc => {
    proc.send(['sink', target], otp ? tuple(atom('hello'), proc.self) : ['hello', proc.self])
    const [, sink, echo] = (await proc.receive(undefined, { timeout: 30_000 })) as [string, Pid, Pid]
    p.sink = sink
    p.echo = echo
    return true
  })
}

/** The sink's answer to a run: netkernel's ['done', n, ns, ok] or nkbench.erl's {done, N, Ns}. */
function doneOf(p: Peer, m: unknown): { received: number; recvNs: number; ok: boolean } {
  const d = m as [unknown, number, number, boolean | undefined]
  return { received: d[1], recvNs: d[2], ok: p.otp === true || d[3] === true }
}

/** Sends n messages to the sink from `procs` processes; the sink's answer ends the run. */
function runTput(t: TransportName, n: number, size: number, procs: number): Promise<TputResult> {
  const p = peer(t)
  const to = p.sink!
  const msg = payload(size)
  const each = Math.floor(n / procs)
  if (each * procs !== n) throw new Error(`${n} is not a multiple of ${procs}`)
  const every = Math.max(1, Math.floor(yieldEvery(size) / procs))
  return inProc(p.node, async proc => {
    proc.send(to, p.otp ? tuple(atom('start'), proc.self, n, size) : ['start', proc.self, n, size])
    const t0 = now()
    let sendNs = 0
    let left = procs
    const blast = async (): Promise<void> => {
      for (let i = 1; i <= each; i++) {
        if (!proc.send(to, msg)) await proc.drain(to)
        else if (i % every === 0) await turn()
      }
      if (--left === 0) sendNs = Number(now() - t0) // until the last message was queued
    }
    if (procs === 1) {
      await blast()
    } else {
      // `procs` sender processes (sends from a process other than `proc` carry the same pid
      // as destination; the sender's pid is not on the wire in a SEND frame).
      for (let k = 0; k < procs; k++) {
        p.node.spawn(async other => {
          for (let i = 1; i <= each; i++) {
            if (!other.send(to, msg)) await other.drain(to)
            else if (i % every === 0) await turn()
          }
          if (--left === 0) sendNs = Number(now() - t0)
        })
      }
    }
    const { received, recvNs, ok } = doneOf(p, await proc.receive(undefined, { timeout: 600_000 }))
    const totalNs = Number(now() - t0) // until the receiver's answer arrived
    return { count: received, recvNs, sendNs, totalNs, ok }
  })
}

/** Round-trip times (ns) of `trip`: k of them, or as many as it takes until `until()` is true. */
async function timeTrips(trip: () => Promise<unknown>, k: number, until?: () => boolean): Promise<Float64Array> {
  let rtt = new Float64Array(k)
  let i = 0
  for (; until === undefined ? i < k : !until(); i++) {
    if (i === rtt.length) {
      const bigger = new Float64Array(rtt.length * 2)
      bigger.set(rtt)
      rtt = bigger
    }
    const t0 = now()
    await trip()
    rtt[i] = Number(now() - t0)
  }
  return rtt.subarray(0, i)
}

const TRIP_TIMEOUT = { timeout: 60_000 }

function pingLoop(proc: Proc, echo: Pid, msg: Buffer, k: number, until?: () => boolean, otp = false): Promise<Float64Array> {
  const ask = otp ? tuple(proc.self, msg) : [proc.self, msg]
  const trip = (): Promise<unknown> => {
    proc.send(echo, ask)
    return proc.receive(undefined, TRIP_TIMEOUT)
  }
  return timeTrips(trip, k, until)
}

function runPing(t: TransportName, k: number, size: number): Promise<LatResult> {
  const p = peer(t)
  return inProc(p.node, async proc => percentiles(await pingLoop(proc, p.echo!, payload(size), k, undefined, p.otp)))
}

/** k gen_server calls (a `size`-byte request, answered with itself) to the 'server' on the node connected to. */
function runCall(t: TransportName, k: number, size: number): Promise<LatResult> {
  const p = peer(t)
  const server: [string, string] = ['server', p.target!]
  const msg = payload(size)
  return inProc(p.node, async proc => percentiles(await timeTrips(() => proc.call(server, msg, TRIP_TIMEOUT), k)))
}

/** Pings (psize bytes) on the connection while m messages of `size` bytes stream to the sink. */
function runHol(t: TransportName, m: number, size: number, psize: number): Promise<LatResult> {
  const p = peer(t)
  const to = p.sink!
  const big = payload(size)
  let streaming = true
  const stream = inProc(p.node, async proc => {
    proc.send(to, ['start', proc.self, m, size])
    const t0 = now()
    for (let i = 1; i <= m; i++) {
      if (!proc.send(to, big)) await proc.drain(to)
      else if (i % yieldEvery(size) === 0) await turn()
    }
    const [, , , ok] = (await proc.receive(undefined, { timeout: 600_000 })) as [string, number, number, boolean]
    streaming = false
    if (!ok) throw new Error('hol: the stream arrived damaged')
    return (m * size) / (Number(now() - t0) / 1e9)
  })
  const pings = inProc(p.node, proc => pingLoop(proc, p.echo!, payload(psize), 1024, () => !streaming))
  return Promise.all([stream, pings]).then(([bps, rtt]) => ({ ...percentiles(rtt), streamBps: bps }))
}

async function runRaw(n: number, size: number, port: number, copy: boolean): Promise<TputResult> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const reply = new Promise<Buffer>(resolve => {
    let got = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 16) resolve(got)
    })
  })
  // One buffer of frames (~100 KB, at least one frame), written again and again (respecting backpressure).
  const frameSize = 4 + size
  const perWrite = Math.max(1, Math.floor(104_000 / frameSize))
  const block = Buffer.alloc(perWrite * frameSize, 0x78)
  for (let i = 0; i < perWrite; i++) block.writeUInt32BE(size, i * frameSize)
  const control = Buffer.alloc(12)
  control.writeUInt32BE(8, 0)
  control.writeUInt32BE(n, 4)
  control.writeUInt32BE(copy ? 1 : 0, 8)
  const t0 = now()
  socket.write(control)
  let left = n
  while (left > 0) {
    const k = Math.min(perWrite, left)
    left -= k
    const ok = socket.write(k === perWrite ? block : block.subarray(0, k * frameSize))
    if (!ok) await new Promise(resolve => socket.once('drain', resolve))
  }
  const sendNs = Number(now() - t0)
  const r = await reply
  const totalNs = Number(now() - t0)
  socket.destroy()
  return { count: r.readDoubleBE(0), recvNs: r.readDoubleBE(8), sendNs, totalNs, ok: true }
}

/** k round trips of one (4 + size)-byte frame through the raw echo server: the ping-pong ceiling. */
async function runRawPing(k: number, size: number, port: number): Promise<LatResult> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const frame = Buffer.alloc(4 + size, 0x78)
  frame.writeUInt32BE(size, 0)
  let got = 0
  let wake: (() => void) | undefined
  socket.on('data', (d: Buffer) => {
    busyWaitActivity()
    got += d.length
    if (got >= frame.length) {
      got -= frame.length
      wake?.()
    }
  })
  const rtt = new Float64Array(k)
  try {
    for (let i = 0; i < k; i++) {
      const t0 = now()
      const back = new Promise<void>(resolve => (wake = resolve))
      socket.write(frame)
      busyWaitActivity()
      await back
      rtt[i] = Number(now() - t0)
    }
  } finally {
    socket.destroy()
  }
  return percentiles(rtt)
}

/** The owner of the bench's own busy-wait window (`busywait`), beside the nodes' (none). */
const BENCH_BUSY_WAIT = {}

// ---- commands ----------------------------------------------------------------------------

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  rawServer?.close()
  rawEchoServer?.close()
  const timer = setTimeout(() => process.exit(0), 5000)
  await Promise.all(
    [...peers.values()].map(async p => {
      await p.node.stop().catch(() => {})
      await (p.transport as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => {})
    }),
  )
  clearTimeout(timer)
  process.exit(0)
}

type Args = {
  t: TransportName
  node: string
  otp?: boolean
  n: number
  size: number
  procs: number
  k: number
  m: number
  psize: number
  port: number
  copy?: boolean
  us: number
}
let pending = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (d: string) => {
  pending += d
  let i: number
  while ((i = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, i).trim()
    pending = pending.slice(i + 1)
    const sp = line.indexOf(' ')
    const cmd = sp < 0 ? line : line.slice(0, sp)
    const a = (sp < 0 ? {} : JSON.parse(line.slice(sp + 1))) as Args
    const reply = (f: () => Promise<object | boolean>, tag: string): void => {
      let p: Promise<object | boolean>
      try {
        p = f()
      } catch (err) {
        p = Promise.reject(err)
      }
      p.then(
        r => out(`${tag} ${JSON.stringify(r)}`),
        (err: Error) => out(`ERROR ${JSON.stringify(err.message)}`),
      )
    }
    if (cmd === 'connect') reply(() => connect(a.t, a.node, a.otp === true), 'CONNECTED')
    else if (cmd === 'tput') reply(() => runTput(a.t, a.n, a.size, a.procs ?? 1), 'RESULT')
    else if (cmd === 'ping') reply(() => runPing(a.t, a.k, a.size), 'LAT')
    else if (cmd === 'call') reply(() => runCall(a.t, a.k, a.size), 'LAT')
    else if (cmd === 'hol') reply(() => runHol(a.t, a.m, a.size, a.psize), 'LAT')
    else if (cmd === 'raw') reply(() => runRaw(a.n, a.size, a.port, a.copy === true), 'RESULT')
    else if (cmd === 'rawping') reply(() => runRawPing(a.k, a.size, a.port), 'LAT')
    else if (cmd === 'busywait')
      reply(async () => {
        setBusyWait(BENCH_BUSY_WAIT, a.us)
        return true
      }, 'OK')
    else if (cmd === 'local') reply(() => runLocal(a.n, a.size), 'RESULT')
    else if (cmd === 'stop') void stop()
  }
})
process.stdin.on('end', () => void stop())
process.on('SIGTERM', () => void stop())
