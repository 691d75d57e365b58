// The OTP wire on bytes built by hand (docs/erlang.md): native frames out as OTP control
// messages (header mode vs pass-through, payload ops by flags, names and reasons as atoms),
// OTP frames in as native frames (atom cache, fragments, trace tokens, UNLINK_ID answered
// first, ALIAS_SEND counted), the bounds on fragment reassembly, and the outbox cutting a
// large frame into DIST_FRAG_HEADER / DIST_FRAG_CONT frames.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { OtpWire } from '../lib/kernel/otp/otp-wire.js'
import { OtpMessage } from '../lib/kernel/otp/otp-message.js'
import { FIRST_ROOM_PIECES, OTP_FRAGMENTS, OtpReassembly } from '../lib/kernel/otp/otp-fragments.js'
import { Outbox, CHUNK } from '../lib/kernel/outbox.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { silentLogger, type Logger } from '../lib/logger.js'
import * as F from '../lib/kernel/frames.js'

const FRAGMENTS = 0x800000n
const ATOM_CACHE = 0x2000n
const EXIT_PAYLOAD = 0x400000n
const UNLINK_ID = 0x2000000n
const ALL = FRAGMENTS | ATOM_CACHE | EXIT_PAYLOAD | UNLINK_ID

const ME = 'js@host'
const PEER = 'e1@host'
const CRE = 7

function wire(flags = ALL, logger: Logger = silentLogger, maxMessageSize?: number): OtpWire {
  return new OtpWire({ peer: PEER, flags, localName: ME, creation: CRE, logger, maxMessageSize })
}

// ---- ETF by hand ------------------------------------------------------------------------
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const u16 = (n: number): number[] => [(n >>> 8) & 255, n & 255]
const A = (name: string): number[] => {
  const b = [...Buffer.from(name, 'utf8')]
  return [119, b.length, ...b]
}
const I = (n: number): number[] => (n >= 0 && n < 256 ? [97, n] : [98, ...u32(n)])
const T = (...els: number[][]): number[] => [104, els.length, ...els.flat()]
const BIN = (s: string): number[] => {
  const b = [...Buffer.from(s, 'utf8')]
  return [109, ...u32(b.length), ...b]
}
const PID = (node: string, id: number, serial = 0, cre = CRE): number[] => [88, ...A(node), ...u32(id), ...u32(serial), ...u32(cre)]
const REF = (node: string, ids: number[], cre = CRE): number[] => [90, ...u16(ids.length), ...A(node), ...u32(cre), ...ids.flatMap(u32)]

const headerFrame = (...terms: number[][]): Buffer => Buffer.from([131, 68, 0, ...terms.flat()])
const encode = (w: OtpWire, v: unknown): Buffer => {
  const out = { buf: Buffer.alloc(16), len: 0 }
  w.codec.encodeFrameInto(v, out)
  return out.buf.subarray(0, out.len)
}
const framed = (body: number[]): Buffer => Buffer.from([...u32(body.length), ...body])

const erlPid = new Pid(PEER, 85, 0, CRE)
const jsPid = new Pid(ME, 12, 0, CRE)

t.test('outbound: header mode when FRAGMENTS or DIST_HDR_ATOM_CACHE is negotiated, else pass-through', async t => {
  const send = [F.SEND, erlPid, 'hi']
  const control = T(I(2), A(''), PID(PEER, 85))
  for (const flags of [ALL, FRAGMENTS, ATOM_CACHE]) {
    t.same(encode(wire(flags), send), framed([131, 68, 0, ...control, ...BIN('hi')]), `flags ${flags.toString(16)}`)
  }
  t.same(encode(wire(0n), send), framed([112, 131, ...control, 131, ...BIN('hi')]))
  t.same(encode(wire(0n), [F.LINK, jsPid, erlPid]), framed([112, 131, ...T(I(1), PID(ME, 12), PID(PEER, 85))]), 'no payload: no second 131')
})

t.test('outbound: each native frame as its OTP control message', async t => {
  const w = wire()
  const body = (v: unknown): Buffer => encode(w, v).subarray(4)
  t.same(body([F.REG_SEND, jsPid, 'rex', 1]), headerFrame(T(I(6), PID(ME, 12), A(''), A('rex')), I(1)), 'REG_SEND, name as atom')
  t.same(
    body([F.REG_SEND, null, 'rex', 1]),
    headerFrame(T(I(6), PID(ME, 0), A(''), A('rex')), I(1)),
    'REG_SEND from no process: pid 0 of ours',
  )
  t.same(body([F.LINK, jsPid, erlPid]), headerFrame(T(I(1), PID(ME, 12), PID(PEER, 85))))
  t.same(body([F.UNLINK, jsPid, erlPid]), headerFrame(T(I(35), I(1), PID(ME, 12), PID(PEER, 85))), 'UNLINK_ID, id 1')
  t.same(body([F.UNLINK, jsPid, erlPid]), headerFrame(T(I(35), I(2), PID(ME, 12), PID(PEER, 85))), 'ids count up')
  t.same(body([F.EXIT, jsPid, erlPid, 'boom']), headerFrame(T(I(24), PID(ME, 12), PID(PEER, 85)), A('boom')), 'PAYLOAD_EXIT, atom reason')
  t.same(body([F.EXIT2, jsPid, erlPid, 'kill']), headerFrame(T(I(26), PID(ME, 12), PID(PEER, 85)), A('kill')), 'PAYLOAD_EXIT2')
  const long = 'x'.repeat(256)
  t.same(
    body([F.EXIT, jsPid, erlPid, long]),
    headerFrame(T(I(24), PID(ME, 12), PID(PEER, 85)), BIN(long)),
    'a reason over 255 chars: binary',
  )
  const reason = tuple(atom('shutdown'), 'why')
  t.same(
    body([F.EXIT, jsPid, erlPid, reason]),
    headerFrame(T(I(24), PID(ME, 12), PID(PEER, 85)), T(A('shutdown'), BIN('why'))),
    'inside: untouched',
  )
  const ref = new Ref(ME, 5, CRE)
  t.same(body([F.MONITOR, jsPid, erlPid, ref]), headerFrame(T(I(19), PID(ME, 12), PID(PEER, 85), REF(ME, [5]))))
  t.same(body([F.MONITOR, jsPid, 'logger', ref]), headerFrame(T(I(19), PID(ME, 12), A('logger'), REF(ME, [5]))), 'by name: atom')
  t.same(body([F.DEMONITOR, jsPid, 'logger', ref]), headerFrame(T(I(20), PID(ME, 12), A('logger'), REF(ME, [5]))))
  for (const k of [F.NODES, F.STATS_REQUEST, F.STATS_REPLY]) t.equal(encode(w, [k, []]).length, 0, `kind ${k} is not sent`)
  const msg = new OtpMessage(tuple(36, 9, jsPid, erlPid))
  t.same(body(msg), headerFrame(T(I(36), I(9), PID(ME, 12), PID(PEER, 85))), 'an OtpMessage as it is')
  t.throws(() => encode(w, [99]), { code: 'ERR_ENCODE' })

  const old = wire(FRAGMENTS)
  const b2 = (v: unknown): Buffer => encode(old, v).subarray(4)
  t.same(b2([F.UNLINK, jsPid, erlPid]), headerFrame(T(I(4), PID(ME, 12), PID(PEER, 85))), 'no UNLINK_ID: UNLINK')
  t.same(b2([F.EXIT, jsPid, erlPid, 'boom']), headerFrame(T(I(3), PID(ME, 12), PID(PEER, 85), A('boom'))), 'no EXIT_PAYLOAD: EXIT')
  t.same(b2([F.EXIT2, jsPid, erlPid, 'boom']), headerFrame(T(I(8), PID(ME, 12), PID(PEER, 85), A('boom'))))
})

t.test('DOWN names what the peer monitored: the pid, or the name', async t => {
  const w = wire()
  const r1 = new Ref(PEER, 1, CRE, [1, 2, 3])
  const r2 = new Ref(PEER, 4, CRE, [4, 5, 6])
  t.same(w.decode(headerFrame(T(I(19), PID(PEER, 85), PID(ME, 12), REF(PEER, [1, 2, 3]))), false), [F.MONITOR, erlPid, jsPid, r1])
  t.same(w.decode(headerFrame(T(I(19), PID(PEER, 85), A('srv'), REF(PEER, [4, 5, 6]))), false), [F.MONITOR, erlPid, 'srv', r2])
  t.same(
    encode(w, [F.DOWN, erlPid, r1, 'normal']).subarray(4),
    headerFrame(T(I(28), PID(ME, 12), PID(PEER, 85), REF(PEER, [1, 2, 3])), A('normal')),
  )
  t.same(
    encode(w, [F.DOWN, erlPid, r2, 'noproc']).subarray(4),
    headerFrame(T(I(28), A('srv'), PID(PEER, 85), REF(PEER, [4, 5, 6])), A('noproc')),
  )
  const old = wire(FRAGMENTS)
  old.decode(headerFrame(T(I(19), PID(PEER, 85), A('srv'), REF(PEER, [4, 5, 6]))), false)
  t.same(
    encode(old, [F.DOWN, erlPid, r2, 'noproc']).subarray(4),
    headerFrame(T(I(21), A('srv'), PID(PEER, 85), REF(PEER, [4, 5, 6]), A('noproc'))),
  )
})

t.test('inbound: control messages as native frames; names and atom reasons as strings', async t => {
  const w = wire()
  const d = (...terms: number[][]): unknown => w.decode(headerFrame(...terms), false)
  t.same(
    d(T(I(22), PID(PEER, 85), PID(ME, 12)), T(A('hello'), BIN('x'))),
    [F.SEND, jsPid, tuple(atom('hello'), Buffer.from('x'))],
    'SEND_SENDER',
  )
  t.same(d(T(I(2), A(''), PID(ME, 12)), A('ok')), [F.SEND, jsPid, atom('ok')], 'SEND: message data stays an atom')
  t.same(d(T(I(6), PID(PEER, 85), A(''), A('echo')), I(1)), [F.REG_SEND, erlPid, 'echo', 1])
  t.same(d(T(I(1), PID(PEER, 85), PID(ME, 12))), [F.LINK, erlPid, jsPid])
  t.same(d(T(I(4), PID(PEER, 85), PID(ME, 12))), [F.UNLINK, erlPid, jsPid])
  t.same(d(T(I(3), PID(PEER, 85), PID(ME, 12), A('boom'))), [F.EXIT, erlPid, jsPid, 'boom'])
  t.same(d(T(I(24), PID(PEER, 85), PID(ME, 12)), T(A('shutdown'), I(1))), [F.EXIT, erlPid, jsPid, tuple(atom('shutdown'), 1)])
  t.same(d(T(I(8), PID(PEER, 85), PID(ME, 12), A('kill'))), [F.EXIT2, erlPid, jsPid, 'kill'])
  t.same(d(T(I(26), PID(PEER, 85), PID(ME, 12)), A('normal')), [F.EXIT2, erlPid, jsPid, 'normal'])
  const ref = new Ref(ME, 5, CRE)
  t.same(d(T(I(21), PID(PEER, 85), PID(ME, 12), REF(ME, [5]), A('noproc'))), [F.DOWN, jsPid, ref, 'noproc'])
  t.same(d(T(I(28), PID(PEER, 85), PID(ME, 12), REF(ME, [5])), A('noconnection')), [F.DOWN, jsPid, ref, 'noconnection'])
  t.same(d(T(I(20), PID(PEER, 85), A('srv'), REF(PEER, [1, 2, 3]))), [F.DEMONITOR, erlPid, 'srv', new Ref(PEER, 1, CRE, [1, 2, 3])])
  t.equal(d(T(I(7), PID(PEER, 85), PID(ME, 12))), undefined, 'GROUP_LEADER ignored')
  t.equal(d(T(I(36), I(1), PID(PEER, 85), PID(ME, 12))), undefined, 'UNLINK_ID_ACK: nothing to do')
  // pass-through frames are read too
  t.same(w.decode(Buffer.from([112, 131, ...T(I(22), PID(PEER, 85), PID(ME, 12)), 131, ...I(3)]), false), [F.SEND, jsPid, 3])
})

t.test('inbound: trace tokens are stripped', async t => {
  const w = wire()
  const d = (...terms: number[][]): unknown => w.decode(headerFrame(...terms), false)
  const token = T(I(0), I(1), I(2), PID(PEER, 85), I(0))
  t.same(d(T(I(23), PID(PEER, 85), PID(ME, 12), token), I(5)), [F.SEND, jsPid, 5], 'SEND_SENDER_TT')
  t.same(d(T(I(12), A(''), PID(ME, 12), token), I(5)), [F.SEND, jsPid, 5], 'SEND_TT')
  t.same(d(T(I(16), PID(PEER, 85), A(''), A('echo'), token), I(5)), [F.REG_SEND, erlPid, 'echo', 5], 'REG_SEND_TT')
  t.same(d(T(I(13), PID(PEER, 85), PID(ME, 12), token, A('boom'))), [F.EXIT, erlPid, jsPid, 'boom'], 'EXIT_TT: token before the reason')
  t.same(d(T(I(18), PID(PEER, 85), PID(ME, 12), token, A('boom'))), [F.EXIT2, erlPid, jsPid, 'boom'], 'EXIT2_TT')
  t.same(d(T(I(25), PID(PEER, 85), PID(ME, 12), token), A('x')), [F.EXIT, erlPid, jsPid, 'x'], 'PAYLOAD_EXIT_TT')
})

t.test('inbound: the atom cache of the distribution header', async t => {
  const w = wire()
  // two refs, both new: flags nibbles (low first) 8|seg0 and 8|seg1, then the LongAtoms nibble 0
  const flags = [0x98, 0x00]
  const header = [131, 68, 2, ...flags, 5, 4, ...Buffer.from('echo'), 3, 2, ...Buffer.from('hi')]
  const first = Buffer.from([...header, ...T(I(6), PID(PEER, 85), [82, 1], [82, 0]), 82, 1])
  t.same(w.decode(first, false), [F.REG_SEND, erlPid, 'echo', atom('hi')])
  // later frames refer to the cached slots without the new-entry bit
  const second = Buffer.from([131, 68, 2, 0x01, 0x00, 3, 5, ...T(I(6), PID(PEER, 85), A(''), [82, 1]), 82, 0])
  t.same(w.decode(second, false), [F.REG_SEND, erlPid, 'echo', atom('hi')])
  t.throws(
    () => w.decode(Buffer.from([131, 68, 1, 0x02, 9, ...T(I(2), A(''), PID(ME, 12)), ...I(1)]), false),
    { code: 'ERR_DECODE' },
    'an empty slot',
  )
})

t.test('inbound: malformed frames are typed errors naming the peer', async t => {
  const w = wire()
  const bad = [
    Buffer.from([1, 2, 3]),
    Buffer.from([131, 68, 0, 97]),
    headerFrame(I(3)),
    headerFrame(T(I(2), A(''))),
    headerFrame(T(I(2), A(''), PID(ME, 12))),
    Buffer.concat([headerFrame(T(I(1), PID(PEER, 85), PID(ME, 12))), Buffer.from([0])]),
    headerFrame(T(I(6), PID(PEER, 85), A(''), BIN('name')), I(1)),
  ]
  for (const b of bad) t.throws(() => w.decode(b, false), { code: 'ERR_DECODE', message: new RegExp(PEER.replace('.', '\\.')) })
})

t.test('UNLINK_ID is acknowledged on the connection before the unlink is dispatched', async t => {
  const w = wire()
  const sent: [unknown, unknown][] = []
  w.attach({ peer: PEER, send: (v, key) => (sent.push([v, key]), true) })
  const f = w.decode(headerFrame(T(I(35), I(77), PID(PEER, 85), PID(ME, 12))), false)
  t.same(f, [F.UNLINK, erlPid, jsPid])
  t.equal(sent.length, 1)
  const [ack, key] = sent[0]!
  t.ok(ack instanceof OtpMessage)
  t.same(encode(w, ack).subarray(4), headerFrame(T(I(36), I(77), PID(ME, 12), PID(PEER, 85))), '{36, Id, To, From}')
  t.equal(key, 12, 'ordered with the other signals of the unlinked process (its order key)')
})

t.test('ALIAS_SEND out: {33, From, Alias} when both offered ALIAS, else nothing', async t => {
  const ALIAS = 1n << 35n
  const alias = new Ref(PEER, 5, CRE, [5, 6, 7])
  const w = wire(ALL | ALIAS)
  t.equal(w.aliasSend, true)
  const frame = [F.ALIAS_SEND, jsPid, alias, 42]
  t.same(encode(w, frame).subarray(4), headerFrame(T(I(33), PID(ME, 12), REF(PEER, [5, 6, 7])), I(42)), '{33, From, Alias} + Msg')
  const fromNobody = encode(w, [F.ALIAS_SEND, null, alias, 42])
  t.ok(fromNobody.length > 4, 'a send from no process goes too (from the node)')
  t.equal(wire().aliasSend, false)
  t.equal(encode(wire(), frame).length, 0, 'no ALIAS: not sent (no process there can have made the alias)')
})

t.test('ALIAS_SEND in: a native ALIAS_SEND frame', async t => {
  const w = wire(ALL)
  const v = w.decode(headerFrame(T(I(33), PID(PEER, 85), REF(ME, [1, 2, 3])), I(1)), false) as unknown[]
  t.equal(v[0], F.ALIAS_SEND)
  t.ok(erlPid.equals(v[1]))
  t.ok(new Ref(ME, 1, CRE, [1, 2, 3]).equals(v[2]))
  t.equal(v[3], 1)
})

t.test('spawn: requests out keep the native id; replies in; requests in and claimed replies as OtpMessage', async t => {
  const w = wire()
  const out = encode(w, [F.SPAWN_REQUEST, 41, jsPid, 'lists', 'seq', [1, 300], true]).subarray(4)
  // {29, ReqId, From, GL, {lists, seq, 2}, [link]} + [1, 300]
  const reqId = [...out.subarray(3 + 2 + 2, 3 + 2 + 2 + 1)]
  t.same(reqId, [90], 'the request id is a reference')
  const refLen = 1 + 2 + A(ME).length + 4 + 12
  const refBytes = [...out.subarray(7, 7 + refLen)]
  t.same(
    out,
    headerFrame(T(I(29), refBytes, PID(ME, 12), PID(ME, 12), T(A('lists'), A('seq'), I(2)), [108, ...u32(1), ...A('link'), 106]), [
      108,
      ...u32(2),
      ...I(1),
      ...I(300),
      106,
    ]),
  )
  const reply = (result: number[]): Buffer => headerFrame(T(I(31), refBytes, PID(ME, 12), I(1), result))
  const r = w.decode(reply(PID(PEER, 90)), false)
  t.same(r, [F.SPAWN_REPLY, 41, true, new Pid(PEER, 90, 0, CRE)])
  t.equal(w.decode(reply(PID(PEER, 90)), false), undefined, 'a second reply: nobody waits')

  encode(w, [F.SPAWN_REQUEST, 42, null, 'nope', 'f', [], false])
  const n = w.decode(headerFrame(T(I(31), REF(ME, [2, 0, 0]), PID(ME, 0), I(0), A('badarg'))), false)
  t.equal(n, undefined, 'an unknown request id is dropped')

  const req = w.decode(
    headerFrame(T(I(29), REF(PEER, [1, 2, 3]), PID(PEER, 85), PID(PEER, 85), T(A('m'), A('f'), I(0)), [106]), [106]),
    false,
  )
  t.ok(req instanceof OtpMessage)
  t.equal((req as OtpMessage).op, 29)
  t.same((req as OtpMessage).payload, [])

  const ref = new Ref(ME, 9, CRE, [9, 0, 1])
  w.claimed.add(ref.key)
  const down = w.decode(headerFrame(T(I(28), PID(PEER, 85), PID(ME, 12), REF(ME, [9, 0, 1])), T(A('x'), A('return'), I(3))), false)
  t.ok(down instanceof OtpMessage, 'a claimed monitor exit goes to OTP-side code')
  t.same((down as OtpMessage).payload, tuple(atom('x'), atom('return'), 3))
  const sr = w.decode(headerFrame(T(I(31), REF(ME, [9, 0, 1]), PID(ME, 12), I(2), PID(PEER, 91))), false)
  t.ok(sr instanceof OtpMessage, 'a claimed spawn reply too')
})

t.test('fragments in: joined in order; bounds as typed errors', async t => {
  const w = wire()
  const control = T(I(22), PID(PEER, 85), PID(ME, 12))
  const payload = BIN('y'.repeat(300))
  const whole = [...control, ...payload]
  const seq = [0, 0, 0, 0, 0, 0, 0, 9]
  const fid = (n: number): number[] => [0, 0, 0, 0, ...u32(n)]
  const parts = [whole.slice(0, 100), whole.slice(100, 200), whole.slice(200)]
  t.equal(w.decode(Buffer.from([131, 69, ...seq, ...fid(3), 0, ...parts[0]!]), false), undefined)
  t.equal(w.decode(Buffer.from([131, 70, ...seq, ...fid(2), ...parts[1]!]), false), undefined)
  t.same(w.decode(Buffer.from([131, 70, ...seq, ...fid(1), ...parts[2]!]), false), [F.SEND, jsPid, Buffer.from('y'.repeat(300))])
  t.same(
    w.decode(Buffer.from([131, 69, ...seq, ...fid(1), 0, ...whole]), false),
    [F.SEND, jsPid, Buffer.from('y'.repeat(300))],
    'one fragment',
  )

  t.throws(() => w.decode(Buffer.from([131, 70, ...seq, ...fid(1), 1]), false), { code: 'ERR_DECODE' }, 'a continuation of nothing')
  w.decode(Buffer.from([131, 69, ...seq, ...fid(3), 0, 1]), false)
  t.throws(() => w.decode(Buffer.from([131, 70, ...seq, ...fid(1), 1]), false), { code: 'ERR_DECODE' }, 'out of order')

  const small = wire(ALL, silentLogger, 1000)
  small.decode(Buffer.from([131, 69, ...seq, ...fid(2), 0, ...new Array(600).fill(1)]), false)
  t.throws(() => small.decode(Buffer.from([131, 70, ...seq, ...fid(1), ...new Array(600).fill(1)]), false), {
    code: 'ERR_MESSAGE_TOO_LARGE',
    message: /e1@host/,
  })
  const many = wire(ALL, silentLogger, 1000)
  t.throws(
    () => {
      for (let i = 0; i < 300; i++) many.decode(Buffer.from([131, 69, 0, 0, 0, 0, ...u32(i), ...fid(2), 0, 1]), false)
    },
    { code: 'ERR_LIMIT', message: /e1@host/ },
    'open sequences are bounded',
  )
  t.throws(() => wire(ALL, silentLogger, 1000).decode(Buffer.from([131, 69, ...seq, ...fid(1e6), 0, 1]), false), { code: 'ERR_LIMIT' })
})

t.test('the outbox cuts a large OTP frame into DIST_FRAG_HEADER / DIST_FRAG_CONT, small frames in between', async t => {
  const stream = new PassThrough()
  const chunks: Buffer[] = []
  stream.on('data', (c: Buffer) => chunks.push(c))
  const w = wire()
  const box = new Outbox(stream, w.codec, undefined, undefined, w.window, w.fragments)
  const big = Buffer.alloc(3 * CHUNK + 1000, 7)
  box.send([F.SEND, erlPid, big], 85)
  box.send([F.SEND, new Pid(PEER, 86, 0, CRE), 'small'], 86)
  box.send([F.SEND, erlPid, 'after'], 85)
  for (let i = 0; i < 20; i++) await new Promise(r => setImmediate(r))
  const frames: Buffer[] = []
  new FrameDecoder({ maxFrameSize: 1 << 24 }).push(Buffer.concat(chunks), b => frames.push(Buffer.from(b)))
  const kinds = frames.map(f => f[1])
  t.same(kinds, [68, 69, 70, 70, 70, 68], 'the small frame to another pid goes first; the one behind the large one waits')
  const ids = frames.slice(1, 5).map(f => Number(f.readBigUInt64BE(10)))
  t.same(ids, [4, 3, 2, 1], 'FragmentId counts down to 1')
  t.equal(frames[1]![18], 0, 'no atom-cache refs')
  const r = new OtpReassembly(PEER, 1 << 24, (buf, offset) => ({ refs: undefined, offset: offset + 1 }))
  let joined
  for (const f of frames.slice(1, 5)) joined = r.push(f, true) ?? joined
  const msg = wire().decode(Buffer.concat([Buffer.from([131, 68, 0]), joined!.buf.subarray(joined!.offset)]), true)
  t.same(msg, [F.SEND, erlPid, big])
  t.same(wire().decode(frames[5]!, false), [F.SEND, erlPid, Buffer.from('after')])
  t.equal(OTP_FRAGMENTS.start(Buffer.alloc(10)), 3)
})

t.test('without FRAGMENTS a large frame goes whole', async t => {
  const stream = new PassThrough()
  const chunks: Buffer[] = []
  stream.on('data', (c: Buffer) => chunks.push(c))
  const w = wire(ATOM_CACHE)
  t.equal(w.fragments, null)
  const box = new Outbox(stream, w.codec, undefined, undefined, w.window, w.fragments)
  box.send([F.SEND, erlPid, Buffer.alloc(2 * CHUNK, 1)], 85)
  await new Promise(r => setImmediate(r))
  const frames: Buffer[] = []
  new FrameDecoder({ maxFrameSize: 1 << 24 }).push(Buffer.concat(chunks), b => frames.push(Buffer.from(b)))
  t.equal(frames.length, 1)
  t.same(w.decode(frames[0]!, true), [F.SEND, erlPid, Buffer.alloc(2 * CHUNK, 1)])
})

t.test('a message over maxMessageSize is refused before it is queued', async t => {
  const w = wire(ALL, silentLogger, 100)
  const out = { buf: Buffer.alloc(16), len: 0 }
  t.throws(() => w.codec.encodeFrameInto([F.SEND, erlPid, 'z'.repeat(200)], out), { code: 'ERR_MESSAGE_TOO_LARGE' })
  t.equal(out.len, 0)
})

t.test('fragments in, joined in one buffer: split bodies copied straight in, room bounded and counted', async t => {
  // A stub header reader: one byte of atom-cache refs count (0), then the control message.
  const reader = (_buf: Buffer, offset: number): { refs: unknown; offset: number } => ({ refs: 'refs', offset: offset + 1 })
  const head = (seq: number, frag: number): Buffer =>
    Buffer.from([131, 69, ...new Array(4).fill(0), ...u32(seq), ...new Array(4).fill(0), ...u32(frag), 0])
  const cont = (seq: number, frag: number): Buffer =>
    Buffer.from([131, 70, ...new Array(4).fill(0), ...u32(seq), ...new Array(4).fill(0), ...u32(frag)])
  const bytes = (n: number, k: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * k) % 251))
  /** A frame body as the socket may split it: views of chunks, the first holding its header. */
  const split = (body: Buffer, at: number[]): Buffer[] => {
    const out: Buffer[] = []
    let from = 0
    for (const to of [...at, body.length]) (out.push(Buffer.from(body.subarray(from, to))), (from = to))
    return out
  }

  await t.test('parts of several fragments, bodies and split bodies mixed, two sequences interleaved', async t => {
    const r = new OtpReassembly(PEER, 1 << 24, reader)
    const a = [bytes(5000, 3), bytes(5000, 5), bytes(1234, 7)]
    const b = [bytes(3000, 11), bytes(10, 13)]
    t.equal(r.push(Buffer.concat([head(1, 3), a[0]!]), false), undefined)
    t.equal(r.push(Buffer.concat([head(2, 2), b[0]!]), false), undefined)
    t.equal(r.pushParts(split(Buffer.concat([cont(1, 2), a[1]!]), [18, 700, 701, 4000]), 18 + 5000), undefined)
    const jb = r.pushParts(split(Buffer.concat([cont(2, 1), b[1]!]), [20]), 18 + 10)
    t.same(jb && [jb.refs, jb.offset], ['refs', 0])
    t.ok(jb!.buf.equals(Buffer.concat(b)), 'the second sequence, whole')
    const ja = r.push(Buffer.concat([cont(1, 1), a[2]!]), false)
    t.ok(ja!.buf.equals(Buffer.concat(a)), 'the first, whole')
    t.equal(r.inFlight, 0)
    t.equal(r.joined, 2)
  })

  await t.test('a continuation taken over: its header and first bytes copied in, the rest read straight into place', async t => {
    const r = new OtpReassembly(PEER, 1 << 24, reader)
    const p = [bytes(4000, 3), bytes(4000, 5), bytes(2500, 7)]
    r.push(Buffer.concat([head(6, 3), p[0]!]), true)
    const body = Buffer.concat([cont(6, 2), p[1]!])
    const d = r.takeover(body.subarray(0, 18 + 100), body.length)!
    t.equal(d.last, false)
    let at = 18 + 100
    for (const n of [1, 999, 2900]) {
      const v = d.view()
      t.equal(v.length, body.length - at, 'the view is the rest of the fragment, no more')
      body.copy(v, 0, at, at + n)
      at += n
      t.equal(d.landed(n), at === body.length)
    }
    t.equal(d.finish(), undefined, 'not the last fragment')
    const last = Buffer.concat([cont(6, 1), p[2]!])
    const e = r.takeover(last.subarray(0, 18), last.length)!
    t.equal(e.last, true)
    last.copy(e.view(), 0, 18)
    t.equal(e.landed(last.length - 18), true)
    const j = e.finish()!
    t.ok(j.buf.equals(Buffer.concat(p)), 'joined whole')
    t.equal(r.inFlight, 0)
    t.equal(r.takeover(Buffer.concat([cont(6, 1)]).subarray(0, 17), 100), undefined, 'fewer than 18 bytes: not taken')
    t.equal(r.takeover(head(7, 2), 100), undefined, 'a first fragment: not taken')
    t.throws(() => r.takeover(cont(8, 1), 100), { code: 'ERR_DECODE', message: /never started/ })
    const small = new OtpReassembly(PEER, 1000, reader)
    small.push(Buffer.concat([head(9, 2), bytes(600, 1)]), true)
    t.throws(() => small.takeover(cont(9, 1), 18 + 600), { code: 'ERR_MESSAGE_TOO_LARGE' }, 'over maxMessageSize before any byte is read')
  })

  await t.test('a later fragment larger than the first: the buffer grows', async t => {
    const r = new OtpReassembly(PEER, 1 << 24, reader)
    const p = [bytes(10, 3), bytes(100_000, 5)]
    r.push(Buffer.concat([head(3, 2), p[0]!]), true)
    const j = r.pushParts(split(Buffer.concat([cont(3, 1), p[1]!]), [18, 65_536]), 18 + 100_000)
    t.ok(j!.buf.equals(Buffer.concat(p)))
    t.equal(j!.buf.length, 100_010)
    t.ok(j!.buf.buffer.byteLength >= 100_010)
  })

  await t.test('a split body whose first view lacks the fragment header, and one that is no continuation', async t => {
    const r = new OtpReassembly(PEER, 1 << 24, reader)
    r.push(Buffer.concat([head(4, 2), bytes(10, 1)]), true)
    t.throws(() => r.pushParts(split(Buffer.concat([cont(4, 1), bytes(10, 1)]), [10]), 28), { code: 'ERR_DECODE', message: /e1@host/ })
    t.throws(() => r.pushParts(split(Buffer.concat([head(5, 2), bytes(10, 1)]), [20]), 29), { code: 'ERR_DECODE' })
  })

  await t.test('the room a first fragment sets aside counts against the bytes in flight', async t => {
    // maxMessageSize 100 KB: in flight at most 400 KB. A 1 KiB first fragment announcing 90
    // fragments sets aside 90 KiB for the message, so the fifth such sequence is refused.
    const r = new OtpReassembly(PEER, 100_000, reader)
    for (let i = 0; i < 4; i++) r.push(Buffer.concat([head(10 + i, 90), bytes(1024, 1)]), true)
    t.throws(() => r.push(Buffer.concat([head(20, 90), bytes(1024, 1)]), true), {
      code: 'ERR_LIMIT',
      message: /bytes of fragmented messages in flight/,
    })
    // Room never exceeds FIRST_ROOM_PIECES times the first fragment.
    const small = new OtpReassembly(PEER, 1 << 30, reader)
    small.push(Buffer.concat([head(30, 100_000), bytes(16, 1)]), true)
    const held = (small as unknown as { total: number }).total
    t.equal(held, 16 * FIRST_ROOM_PIECES, `16 bytes announcing 100,000 fragments set aside ${held} bytes`)
  })

  await t.test('over maxMessageSize through split bodies: ERR_MESSAGE_TOO_LARGE', async t => {
    const r = new OtpReassembly(PEER, 1000, reader)
    r.push(Buffer.concat([head(40, 2), bytes(600, 1)]), true)
    t.throws(() => r.pushParts(split(Buffer.concat([cont(40, 1), bytes(600, 1)]), [18, 300]), 618), {
      code: 'ERR_MESSAGE_TOO_LARGE',
      message: /e1@host/,
    })
  })
})
