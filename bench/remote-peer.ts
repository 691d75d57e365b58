// One side of bench/remote.ts, in its own OS process. argv[2] is a JSON config
// { role: 'recv' | 'send', name, cookie, epmdPort, codec, payload }. It prints `READY {json}` once
// started, then serves commands on stdin, one per line, answering on stdout:
//
//   receiver  (no commands) a process registered as 'sink' counts messages; a raw TCP server
//             counts length-prefixed frames. READY carries { node, rawPort }.
//   sender    `connect NODE`            → `CONNECTED true|false`
//             `nk N YIELD`              → `RESULT {json}`: N messages to the sink, yielding to
//                                         the event loop every YIELD messages
//             `raw N PORT`              → `RESULT {json}`: N raw frames to the receiver's raw server
//
// The process stops when stdin closes (so it never outlives the bench) or on SIGTERM.
import net from 'node:net'
import { startNode, type Node } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import type { CodecName } from '../lib/terms/codec.js'

interface PeerConfig {
  role: 'recv' | 'send'
  name: string
  cookie: string
  epmdPort: number
  codec: CodecName
  payload?: PayloadKind
}

/** The payloads, ~100 bytes each; `payload` in the config picks one (default 'string'). */
const STRING = 'netkernel-remote-bench-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789!?'
const PAYLOADS = {
  /** a 100-character ASCII string: msgpack str 8, 102 bytes encoded */
  string: STRING,
  /** a 100-byte Buffer: msgpack bin 8, 102 bytes encoded (what OTP's side sends: a binary) */
  binary: Buffer.from(STRING, 'latin1'),
  /** the object of bench/codec.ts: 97 bytes encoded */
  object: { kind: 'order', seq: 123456, items: ['apple', 'banana', 'cherry'], total: 42.5, note: 'ship it to the usual address' },
}
export type PayloadKind = keyof typeof PAYLOADS
if (STRING.length !== 100) throw new Error(`payload is ${STRING.length} characters`)
/** The raw pipe's payload: 100 bytes behind a 4-byte length prefix. */
const RAW_BODY = 100
const RAW_FRAME = 4 + RAW_BODY

const cfg = JSON.parse(process.argv[2] ?? '{}') as PeerConfig
const PAYLOAD: unknown = PAYLOADS[cfg.payload ?? 'string']
if (PAYLOAD === undefined) throw new Error(`unknown payload ${cfg.payload}`)
/** The received message is the payload sent (checked on the last one of a run). */
const same = (m: unknown): boolean =>
  Buffer.isBuffer(PAYLOAD) ? Buffer.isBuffer(m) && PAYLOAD.equals(m) : JSON.stringify(m) === JSON.stringify(PAYLOAD)
const out = (line: string): void => void process.stdout.write(line + '\n')
const now = (): bigint => process.hrtime.bigint()
/** CPU time (user + system, all threads) since `c0`, in ns. */
const cpuNs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0)
  return (c.user + c.system) * 1000
}
const turn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

const node = await startNode({
  name: cfg.name,
  cookie: cfg.cookie,
  codec: cfg.codec,
  listen: { host: '127.0.0.1' },
  epmd: { host: '127.0.0.1', port: cfg.epmdPort, autoStart: false },
})

let rawServer: net.Server | undefined
if (cfg.role === 'recv') {
  startSink(node)
  rawServer = await startRawReceiver()
  out(`READY ${JSON.stringify({ node: node.name, rawPort: (rawServer.address() as net.AddressInfo).port })}`)
} else {
  out(`READY ${JSON.stringify({ node: node.name })}`)
}

// ---- receiver ----------------------------------------------------------------------------

function startSink(n: Node): void {
  const sink = n.spawn(async (proc: Proc) => {
    for (;;) {
      const m = (await proc.receive()) as [string, Pid, number]
      if (m[0] === 'hello') {
        proc.send(m[1], ['sink', proc.self])
      } else if (m[0] === 'start') {
        const [, from, count] = m
        let last: unknown = await proc.receive()
        const t0 = now()
        const c0 = process.cpuUsage()
        for (let i = 1; i < count; i++) last = await proc.receive()
        const ns = Number(now() - t0)
        proc.send(from, ['done', count, ns, same(last), cpuNs(c0)])
      }
    }
  })
  n.register('sink', sink)
}

/** Counts frames: each connection sends one 4-byte control frame (N), then N 100-byte frames. */
async function startRawReceiver(): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, socket => {
    const prefix = Buffer.alloc(4)
    let prefixLength = 0
    let skip = 0 // body bytes still to skip
    let control = false // the body being read is the 4-byte control frame
    let controlBody = Buffer.alloc(0)
    let expected = -1
    let count = 0
    let t0 = 0n
    let c0 = process.cpuUsage()
    const frame = (size: number): void => {
      if (expected < 0) {
        control = true
        controlBody = Buffer.alloc(0)
        skip = size
        return
      }
      if (count === 0) {
        t0 = now()
        c0 = process.cpuUsage()
      }
      skip = size
      if (++count === expected) {
        const ns = Number(now() - t0)
        const reply = Buffer.alloc(24)
        reply.writeDoubleBE(count, 0)
        reply.writeDoubleBE(ns, 8)
        reply.writeDoubleBE(cpuNs(c0), 16)
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
          skip -= take
          off += take
          if (skip === 0 && control) {
            control = false
            expected = controlBody.readUInt32BE(0)
          }
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

let sinkPid: Pid | undefined
let sinkNode = ''

async function connect(target: string): Promise<boolean> {
  sinkNode = target
  if (!(await node.connect(target))) return false
  // Learn the sink's pid, so that the measured sends are `Pid ! Msg` (SEND frames).
  return new Promise(resolve => {
    node.spawn(async (proc: Proc) => {
      proc.send(['sink', target], ['hello', proc.self])
      const [, pid] = (await proc.receive()) as [string, Pid]
      sinkPid = pid
      resolve(true)
    })
  })
}

function runNetkernel(count: number, yieldEvery: number): Promise<object> {
  const to = sinkPid
  if (to === undefined) throw new Error('not connected')
  return new Promise(resolve => {
    node.spawn(async (proc: Proc) => {
      proc.send(['sink', sinkNode], ['start', proc.self, count])
      const t0 = now()
      const c0 = process.cpuUsage()
      for (let i = 1; i <= count; i++) {
        proc.send(to, PAYLOAD)
        if (i % yieldEvery === 0) await turn()
      }
      const sendNs = Number(now() - t0) // until the last message was queued
      const [, received, recvNs, ok, recvCpuNs] = (await proc.receive()) as [string, number, number, boolean, number]
      const totalNs = Number(now() - t0) // until the receiver's answer arrived
      resolve({ count: received, recvNs, sendNs, totalNs, ok, sendCpuNs: cpuNs(c0), recvCpuNs })
    })
  })
}

async function runRaw(count: number, port: number): Promise<object> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const reply = new Promise<Buffer>(resolve => {
    let got = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 24) resolve(got)
    })
  })
  // One big buffer of frames, written again and again (respecting backpressure).
  const perWrite = 1000
  const block = Buffer.alloc(perWrite * RAW_FRAME, 0x61)
  for (let i = 0; i < perWrite; i++) block.writeUInt32BE(RAW_BODY, i * RAW_FRAME)
  const control = Buffer.alloc(8)
  control.writeUInt32BE(4, 0)
  control.writeUInt32BE(count, 4)
  const t0 = now()
  const c0 = process.cpuUsage()
  socket.write(control)
  let left = count
  while (left > 0) {
    const k = Math.min(perWrite, left)
    left -= k
    const ok = socket.write(k === perWrite ? block : block.subarray(0, k * RAW_FRAME))
    if (!ok) await new Promise(resolve => socket.once('drain', resolve))
  }
  const sendNs = Number(now() - t0)
  const r = await reply
  const totalNs = Number(now() - t0)
  const sendCpuNs = cpuNs(c0)
  socket.destroy()
  return { count: r.readDoubleBE(0), recvNs: r.readDoubleBE(8), sendNs, totalNs, ok: true, sendCpuNs, recvCpuNs: r.readDoubleBE(16) }
}

// ---- commands ----------------------------------------------------------------------------

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  rawServer?.close()
  await node.stop()
  process.exit(0)
}

let pending = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (d: string) => {
  pending += d
  let i: number
  while ((i = pending.indexOf('\n')) >= 0) {
    const [cmd, ...args] = pending.slice(0, i).trim().split(' ')
    pending = pending.slice(i + 1)
    const reply = (p: Promise<object | boolean>, tag: string): void => {
      p.then(r => out(`${tag} ${JSON.stringify(r)}`), (err: Error) => out(`ERROR ${JSON.stringify(err.message)}`))
    }
    if (cmd === 'connect') reply(connect(args[0]!), 'CONNECTED')
    else if (cmd === 'nk') reply(runNetkernel(Number(args[0]), Number(args[1])), 'RESULT')
    else if (cmd === 'raw') reply(runRaw(Number(args[0]), Number(args[1])), 'RESULT')
    else if (cmd === 'stop') void stop()
  }
})
process.stdin.on('end', () => void stop())
process.on('SIGTERM', () => void stop())
