// A Connection given the OTP wire: frame bodies go to the wire's decode (never to the native
// fragment or acknowledgement checks), frames queued pre-encoded as native frames go out in
// OTP's format, the UNLINK_ID acknowledgement leaves before anything the dispatcher sends in
// answer, ticks are empty frames both ways, and a malformed frame drops only this connection.
import t from 'tap'
import { Duplex } from 'node:stream'
import { fakeClock } from './fixtures/fake-clock.js'
import { Connection, type DownReason } from '../lib/kernel/connection.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { createCodec } from '../lib/terms/codec.js'
import { OtpWire } from '../lib/kernel/otp/otp-wire.js'
import { Pid } from '../lib/terms/pid.js'
import { silentLogger } from '../lib/logger.js'
import * as F from '../lib/kernel/frames.js'
import { connectionStats } from '../lib/kernel/stats.js'
import { streamConn } from './fixtures/stream-conn.js'

const ME = 'js@host'
const PEER = 'e1@host'
const codec = createCodec('netkernel')
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const A = (name: string): number[] => [119, name.length, ...Buffer.from(name)]
const PID = (node: string, id: number): number[] => [88, ...A(node), ...u32(id), ...u32(0), ...u32(3)]
const T = (...els: number[][]): number[] => [104, els.length, ...els.flat()]
const I = (n: number): number[] => [97, n]
const frame = (body: number[]): Buffer => Buffer.from([...u32(body.length), ...body])

function harness(onFrame: (c: Connection, f: unknown) => void = () => {}) {
  const clock = fakeClock()
  const written: Buffer[] = []
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk)
      cb()
    },
  })
  const conn = streamConn(stream)
  const downs: [DownReason, Error | undefined][] = []
  const frames: unknown[] = []
  const wire = new OtpWire({ peer: PEER, flags: 0x800000n | 0x2000000n, localName: ME, creation: 3, logger: silentLogger })
  const c = new Connection(
    PEER,
    3,
    true,
    conn,
    new FrameDecoder(),
    codec,
    {
      onFrame: (cc, f) => {
        frames.push(f)
        onFrame(cc, f)
      },
      onDown: (_c, reason, err) => downs.push([reason, err]),
    },
    1000,
    clock,
    {},
    undefined,
    undefined,
    wire,
  )
  c.start([])
  /** The frames written so far, split. */
  const out = (): Buffer[] => {
    const fs: Buffer[] = []
    new FrameDecoder().push(Buffer.concat(written), b => fs.push(Buffer.from(b)))
    return fs
  }
  return { clock, c, downs, frames, written, stream, out }
}

const flush = (): Promise<void> => new Promise(r => setImmediate(r))
const erl = new Pid(PEER, 85, 0, 3)
const js = new Pid(ME, 12, 0, 3)

t.test('frames are decoded by the wire; native frames written pre-encoded go out as OTP frames', async t => {
  const h = harness()
  t.equal(h.c.protocol, 'erlang')
  h.stream.push(frame([131, 68, 0, ...T(I(22), PID(PEER, 85), PID(ME, 12)), ...A('hello')]))
  h.stream.push(Buffer.alloc(4)) // a tick: nothing to dispatch
  await flush()
  t.equal(h.frames.length, 1)
  t.same((h.frames[0] as unknown[]).slice(0, 2), [F.SEND, js])
  t.equal(h.c.messagesIn, 1)
  h.c.write(codec.encodeFrame([F.LINK, js, erl]), erl.id)
  await flush()
  t.same(h.out(), [Buffer.from([131, 68, 0, ...T(I(1), PID(ME, 12), PID(PEER, 85))])])
})

t.test('the UNLINK_ID acknowledgement goes before what the dispatcher answers', async t => {
  const h = harness((c, f) => {
    if (Array.isArray(f) && f[0] === F.UNLINK) c.send([F.EXIT2, js, erl, 'bye'], erl.id)
  })
  h.stream.push(frame([131, 68, 0, ...T(I(35), I(9), PID(PEER, 85), PID(ME, 12))]))
  await flush()
  const fs = h.out()
  t.equal(fs.length, 2)
  t.same(fs[0], Buffer.from([131, 68, 0, ...T(I(36), I(9), PID(ME, 12), PID(PEER, 85))]), 'UNLINK_ID_ACK {36, Id, To, From} first')
  t.equal(fs[1]![6], 8, 'then the EXIT2 (no EXIT_PAYLOAD negotiated: op 8)')
})

t.test('a body starting like a native fragment is an OTP frame to the wire: malformed, the connection drops', async t => {
  const h = harness()
  h.stream.push(frame([0xc1, 0, 0, 0, 0, 1, 1, 2, 3]))
  await flush()
  t.equal(h.downs.length, 1)
  t.equal(h.downs[0]![0], 'protocol_error')
  t.match(h.downs[0]![1], { code: 'ERR_DECODE', message: /e1@host/ })
})

t.test('ticks: an empty frame when idle, and silence ends the connection', async t => {
  const h = harness()
  h.clock.advance(250)
  t.ok(
    h.written.some(b => b.length === 4 && b.readUInt32BE(0) === 0),
    'a tick',
  )
  h.clock.advance(1000)
  t.same(
    h.downs.map(d => d[0]),
    ['net_tick_timeout'],
  )
})

t.test('stats: the protocol; an ALIAS_SEND is dispatched', async t => {
  const h = harness()
  t.equal(connectionStats(h.c).protocol, 'erlang')
  t.equal(connectionStats(h.c).aliasSendsDropped, 0)
  const ref = [90, 0, 3, ...A(ME), ...u32(3), ...u32(1), ...u32(2), ...u32(3)]
  h.stream.push(frame([131, 68, 0, ...T(I(33), PID(PEER, 85), ref), ...I(1)]))
  await flush()
  t.equal(h.frames.length, 1, 'dispatched')
  t.equal((h.frames[0] as unknown[])[0], 17)
  t.equal(h.c.isUp, true)
})
