// A connection to an Erlang/OTP peer, its receive path end to end after the handshake:
// lib/kernel/connection.ts given the OTP wire (otp-wire.ts) — FrameDecoder, ticks (empty
// frames), pass-through 'p' frames, DIST_HEADER frames and their atom cache, DIST_FRAG_HEADER /
// DIST_FRAG_CONT reassembly (read into place by takeover), trace tokens, the ETF codec — and
// every decoded frame to the OTP dispatcher (otp-dispatch.ts: spawn requests, erpc, the
// net_kernel and rex services), then, when it does not take it, to the native dispatcher, as
// node.ts's onFrame does, into a real runtime (node-harness.ts). The input is the peer's bytes
// (4-byte length-prefixed frames), fed in chunks (mutate.ts chunks, variant bits 0-1 and the
// cuts), as 'data' or read into the buffers the connection picks (bit 5). Bit 3: the
// connection is to another node than the one the seeds' pids name; bit 4: no distribution
// flags negotiated (what the node writes back is pass-through, UNLINK as UNLINK, EXIT with its
// reason) instead of OTP's; bit 6: maxMessageSize 4 KiB instead of the default. Each
// connection first makes an erpc call to the peer (node-harness.ts armErpc), and placeholder
// refs in the input become that call's ReqId and answer ref, so that forged spawn replies and
// DOWNs reach the erpc client (erpc-client.ts) as the peer's real answers would.
//
// Oracle: the connection catches what goes wrong and goes down with 'protocol_error'; the error
// must be an accepted NetkernelError hiding no JavaScript error (no cause is allowed: the ETF
// codec has none of the foreign decoders msgpack-lite has). Anything escaping the feed is a
// finding, and so is an erpc call that fails with an unstable error. An input the connection
// went down on ends the run with that error, so the runner counts it as refused: its share of
// accepted inputs is the share of inputs taken whole.
import { Connection, type DownReason } from '../../lib/kernel/connection.js'
import { otpWire } from '../../lib/kernel/otp/otp-wire.js'
import { DFLAGS_OFFERED } from '../../lib/kernel/otp/flags.js'
import * as C from '../../lib/kernel/otp/control.js'
import { FrameDecoder } from '../../lib/terms/frame-decoder.js'
import { createCodec } from '../../lib/terms/codec.js'
import { EtfEncoder } from '../../lib/terms/etf/index.js'
import { atom } from '../../lib/terms/atom.js'
import { tuple } from '../../lib/terms/tuple.js'
import { Pid } from '../../lib/terms/pid.js'
import { Ref } from '../../lib/terms/ref.js'
import { ImproperList } from '../../lib/terms/improper-list.js'
import { silentLogger } from '../../lib/logger.js'
import { chunks } from '../mutate.js'
import { fakeConn } from '../fake-conn.js'
import { idleClock, nodeHarness, type NodeHarness } from '../node-harness.js'
import { InvariantViolation, checkCause, describeError, isAccepted, type FuzzTarget } from '../target.js'

const LOCAL = 'local@host'
const PEER = 'peer@host'
const THIRD = 'third@host'
/** The peer's creation (the harness's runtime, and so the wire, has creation 0). */
const CRE = 5
const SMALL_MAX = 4096
/** A local ref's last two words that mark it a placeholder; its first word: 1 the erpc call's ReqId, 2 its answer ref. */
const MAGIC = Buffer.from('0badf00d5eed5eed', 'hex')
const REQ_ID = new Ref(LOCAL, 1, 0, [1, MAGIC.readUInt32BE(0), MAGIC.readUInt32BE(4)])
const ANSWER = new Ref(LOCAL, 2, 0, [2, MAGIC.readUInt32BE(0), MAGIC.readUInt32BE(4)])

const codec = createCodec('netkernel')
const etf = new EtfEncoder()
const a = atom

/** A term's ETF bytes without the version byte, as terms sit in a distribution frame. */
const term = (v: unknown): Buffer => etf.encode(v).subarray(1)
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}
const u64 = (n: number): Buffer => Buffer.concat([u32(0), u32(n)])
/** A frame as it travels: the 4-byte length, then the body. */
const frame = (body: Buffer): Buffer => Buffer.concat([u32(body.length), body])
/** `131 68 0 <control> [<payload>]`: a distribution header with no atom-cache refs. */
const header = (control: unknown, ...payload: unknown[]): Buffer =>
  Buffer.concat([Buffer.from([C.VERSION_MAGIC, C.DIST_HEADER, 0]), term(control), ...payload.map(term)])
/** `112 131 <control> [131 <payload>]`: a pass-through frame (no distribution header). */
const pass = (control: unknown, ...payload: unknown[]): Buffer =>
  Buffer.concat([Buffer.from([C.PASS_THROUGH, C.VERSION_MAGIC]), term(control), ...payload.map(p => etf.encode(p))])
const fragHeader = (seq: number, frag: number, refsHeader: Buffer, part: Buffer): Buffer =>
  Buffer.concat([Buffer.from([C.VERSION_MAGIC, C.DIST_FRAG_HEADER]), u64(seq), u64(frag), refsHeader, part])
const fragCont = (seq: number, frag: number, part: Buffer): Buffer =>
  Buffer.concat([Buffer.from([C.VERSION_MAGIC, C.DIST_FRAG_CONT]), u64(seq), u64(frag), part])

/** A message's bytes after its distribution header, cut into `sizes` (the rest last) as fragments of sequence `seq`. */
function fragmented(seq: number, refsHeader: Buffer, rest: Buffer, sizes: number[]): Buffer[] {
  const parts: Buffer[] = []
  let at = 0
  for (const n of sizes) {
    parts.push(rest.subarray(at, at + n))
    at += n
  }
  parts.push(rest.subarray(at))
  return parts.map((p, i) => (i === 0 ? fragHeader(seq, parts.length, refsHeader, p) : fragCont(seq, parts.length - i, p)))
}

/** An atom-cache reference (ATOM_CACHE_REF n: the n-th ref of the frame's header). */
const cacheRef = (n: number): Buffer => Buffer.from([82, n])
/** A tuple whose elements are given as ETF bytes (to place atom-cache refs, which the encoder never writes). */
const rawTuple = (...els: Buffer[]): Buffer => Buffer.concat([Buffer.from([104, els.length]), ...els])

/** `input` with the words of its placeholder refs replaced by those of the erpc call's refs (a copy, if any). */
function answering(input: Buffer, call: { reqId: Ref; ref: Ref }): Buffer {
  let out = input
  for (let i = input.indexOf(MAGIC, 4); i !== -1; i = input.indexOf(MAGIC, i + 1)) {
    const k = input.readUInt32BE(i - 4)
    const r = k === 1 ? call.reqId : k === 2 ? call.ref : undefined
    if (r === undefined || r.ids.length !== 3) continue
    if (out === input) out = Buffer.from(input)
    for (let w = 0; w < 3; w++) out.writeUInt32BE(r.ids[w]!, i - 4 + 4 * w)
  }
  return out
}

/** The peer's frames, each a stream of length-prefixed frames. `live`: the harness's processes, `server` first. */
function seeds(live: readonly Pid[]): Buffer[] {
  const [server, p1, p2] = [live[0]!, live[1]!, live[2]!]
  const e1 = new Pid(PEER, 85, 0, CRE)
  const e2 = new Pid(PEER, 86, 1, CRE)
  const ref = (n: number): Ref => new Ref(PEER, n, CRE, [n, 7, 9])
  const localRef = new Ref(LOCAL, 3, 0, [3, 0, 1])
  const hello = tuple(a('hello'), Buffer.from('x'), [1, 2.5, 'str'], new Map<unknown, unknown>([[a('k'), -1n << 70n]]))
  const token = tuple(0, a('label'), 2, e1, 0)
  // sends: pass-through and header mode, to a pid, with a sender, by name
  const sends = [
    pass(tuple(C.DOP_SEND, a(''), p1), hello),
    header(tuple(C.DOP_SEND, a(''), p2), a('ok')),
    header(tuple(C.DOP_SEND_SENDER, e1, p1), hello),
    pass(tuple(C.DOP_SEND_SENDER, e1, server), 42),
    header(tuple(C.DOP_REG_SEND, e1, a(''), a('server')), hello),
    header(tuple(C.DOP_REG_SEND, e1, a(''), a('nobody_here')), 1),
    header(tuple(C.DOP_SEND_TT, a(''), p1, token), 5),
    header(tuple(C.DOP_REG_SEND_TT, e1, a(''), a('server'), token), 5),
    header(tuple(C.DOP_SEND_SENDER_TT, e1, p2, token), 5),
  ]
  // the services: net_adm:ping, rpc:call (gen_call, the C-node form, a cast), erpc's features
  const services = [
    header(
      tuple(C.DOP_REG_SEND, e1, a(''), a('net_kernel')),
      tuple(a('$gen_call'), tuple(e1, new ImproperList([a('alias')], ref(1))), tuple(a('is_auth'), a(PEER))),
    ),
    header(tuple(C.DOP_REG_SEND, e1, a(''), a('rex')), tuple(e1, a('features_request'))),
    header(
      tuple(C.DOP_REG_SEND, e1, a(''), a('rex')),
      tuple(a('$gen_call'), tuple(e1, ref(2)), tuple(a('call'), a('fuzz'), a('quick'), [], e1)),
    ),
    pass(tuple(C.DOP_REG_SEND, e1, a(''), a('rex')), tuple(e1, tuple(a('call'), a('lists'), a('seq'), [1, 3], e1))),
    header(tuple(C.DOP_REG_SEND, e1, a(''), a('rex')), tuple(a('$gen_cast'), tuple(a('cast'), a('fuzz'), a('crash'), [], e1))),
  ]
  // links and exits
  const links = [
    header(tuple(C.DOP_LINK, e1, p1)),
    pass(tuple(C.DOP_LINK, e2, server)),
    header(tuple(C.DOP_UNLINK, e1, p1)),
    header(tuple(C.DOP_UNLINK_ID, 7, e1, p1)),
    header(tuple(C.DOP_UNLINK_ID_ACK, 3, e1, p1)),
    header(tuple(C.DOP_EXIT, e1, p1, a('boom'))),
    header(tuple(C.DOP_PAYLOAD_EXIT, e1, p2), tuple(a('shutdown'), 'why')),
    header(tuple(C.DOP_EXIT2, e1, p1, a('normal'))),
    header(tuple(C.DOP_PAYLOAD_EXIT2, e1, p2), a('shutdown')),
    header(tuple(C.DOP_EXIT_TT, e1, p1, token, a('boom'))),
    header(tuple(C.DOP_PAYLOAD_EXIT2_TT, e1, p1, token), a('bye')),
  ]
  // monitors: of a pid, of a name, of a service; their removal; a DOWN for a watcher here
  const monitors = [
    header(tuple(C.DOP_MONITOR_P, e1, p1, ref(3))),
    header(tuple(C.DOP_MONITOR_P, e1, a('server'), ref(4))),
    header(tuple(C.DOP_MONITOR_P, e1, a('rex'), ref(5))),
    header(tuple(C.DOP_DEMONITOR_P, e1, p1, ref(3))),
    header(tuple(C.DOP_DEMONITOR_P, e1, a('server'), ref(4))),
    header(tuple(C.DOP_MONITOR_P_EXIT, e1, p1, localRef, a('noproc'))),
    header(tuple(C.DOP_PAYLOAD_MONITOR_P_EXIT, e1, p2, localRef), a('normal')),
  ]
  // spawn requests: erpc:call, erpc:cast, spawn/4 linked and monitored, unknown code
  const spawns = [
    header(tuple(C.DOP_SPAWN_REQUEST, ref(6), e1, e1, tuple(a('erpc'), a('execute_call'), 4), [a('monitor')]), [
      ref(7),
      a('fuzz'),
      a('quick'),
      [],
    ]),
    header(tuple(C.DOP_SPAWN_REQUEST, ref(8), e1, e1, tuple(a('erpc'), a('execute_call'), 4), [a('monitor')]), [
      ref(9),
      a('nope'),
      a('nope'),
      [1],
    ]),
    header(tuple(C.DOP_SPAWN_REQUEST, ref(10), e1, e1, tuple(a('erpc'), a('execute_cast'), 3), []), [a('fuzz'), a('crash'), []]),
    header(tuple(C.DOP_SPAWN_REQUEST, ref(11), e2, e1, tuple(a('fuzz'), a('crash'), 0), [a('link'), tuple(a('monitor'), [])]), []),
    header(tuple(C.DOP_SPAWN_REQUEST_TT, ref(12), e1, e1, tuple(a('fuzz'), a('quick'), 0), [], token), []),
  ]
  // replies and messages netkernel drops
  const dropped = [
    header(tuple(C.DOP_SPAWN_REPLY, localRef, p1, 0, e2)),
    header(tuple(C.DOP_ALIAS_SEND, e1, localRef), 1),
    header(tuple(C.DOP_GROUP_LEADER, e1, p1)),
    header(tuple(99, e1, p1)),
  ]
  // answers to the erpc call the connection made: a result, undef, a refusal, a throw, an
  // exit, a process that ended without answering, and a pass-through answer
  const nobody = new Pid(LOCAL, 0, 0, 0)
  const spawned = header(tuple(C.DOP_SPAWN_REPLY, REQ_ID, nobody, 2, e2))
  const answered = (reason: unknown): Buffer => header(tuple(C.DOP_PAYLOAD_MONITOR_P_EXIT, e2, nobody, REQ_ID), reason)
  const answers = [
    Buffer.concat([spawned, answered(tuple(ANSWER, a('return'), hello))].map(frame)),
    Buffer.concat(
      [
        spawned,
        header(
          tuple(C.DOP_MONITOR_P_EXIT, e2, nobody, REQ_ID, tuple(ANSWER, a('error'), a('undef'), [tuple(a('fuzz'), a('quick'), 0, [])])),
        ),
      ].map(frame),
    ),
    frame(header(tuple(C.DOP_SPAWN_REPLY, REQ_ID, nobody, 0, a('notsup')))),
    Buffer.concat([spawned, answered(tuple(ANSWER, a('throw'), a('oops')))].map(frame)),
    Buffer.concat([spawned, answered(tuple(ANSWER, a('exit'), tuple(a('shutdown'), 1)))].map(frame)),
    Buffer.concat([spawned, answered(tuple(ANSWER, a('error'), a('badarg'), []))].map(frame)),
    frame(answered(a('killed'))),
    frame(pass(tuple(C.DOP_PAYLOAD_MONITOR_P_EXIT, e2, nobody, REQ_ID), tuple(ANSWER, a('return'), 7))),
  ]
  const groups = [sends, services, links, monitors, spawns, dropped]
  // Each frame alone, and each group back to back.
  const streams = [...groups.flat().map(frame), ...groups.map(g => Buffer.concat(g.map(frame)))]

  // The atom cache: a header with three new entries (segments 0-2; the second an empty atom),
  // a REG_SEND whose name and unused field are refs; then a frame using the cached slots only,
  // and one with long atoms (a 2-byte length) replacing a slot.
  const cacheNew = Buffer.concat([
    Buffer.from([C.VERSION_MAGIC, C.DIST_HEADER, 3, 0x98, 0x0a]),
    Buffer.from([5, 6]),
    Buffer.from('server'),
    Buffer.from([3, 0]),
    Buffer.from([9, 5]),
    Buffer.from('hello'),
    rawTuple(term(C.DOP_REG_SEND), term(e1), cacheRef(1), cacheRef(0)),
    rawTuple(cacheRef(2), term(Buffer.from('x'))),
  ])
  const cacheOld = Buffer.concat([
    Buffer.from([C.VERSION_MAGIC, C.DIST_HEADER, 3, 0x10, 0x02, 5, 3, 9]),
    rawTuple(term(C.DOP_SEND_SENDER), term(e1), term(p1)),
    rawTuple(cacheRef(2), cacheRef(0), cacheRef(1)),
  ])
  const cacheLong = Buffer.concat([
    Buffer.from([C.VERSION_MAGIC, C.DIST_HEADER, 2, 0x28, 0x01]),
    Buffer.from([5, 0, 3]),
    Buffer.from('rex'),
    Buffer.from([9]),
    rawTuple(term(C.DOP_REG_SEND), term(e1), term(a('')), cacheRef(0)),
    rawTuple(term(e1), term(a('features_request'))),
  ])
  streams.push(Buffer.concat([frame(cacheNew), frame(cacheOld), frame(cacheLong)]))

  // Fragments: a SEND_SENDER of 300 bytes in three; two sequences interleaved, the second's
  // header with an atom-cache ref; one fragment only; then a message large enough (pieces of
  // at least 16 KiB) that a split continuation is read straight into place.
  const small = Buffer.concat([term(tuple(C.DOP_SEND_SENDER, e1, p1)), term(Buffer.alloc(300, 0x79))])
  const byName = Buffer.concat([rawTuple(term(C.DOP_REG_SEND), term(e2), term(a('')), cacheRef(0)), term(hello)])
  const oneRef = Buffer.concat([Buffer.from([1, 0x08, 5, 6]), Buffer.from('server')])
  const seqA = fragmented(1, Buffer.from([0]), small, [100, 100])
  const seqB = fragmented(2, oneRef, byName, [20])
  streams.push(Buffer.concat(seqA.map(frame)))
  streams.push(Buffer.concat([seqA[0]!, seqB[0]!, seqA[1]!, seqB[1]!, seqA[2]!].map(frame)))
  streams.push(frame(fragHeader(3, 1, Buffer.from([0]), small)))
  const large = Buffer.concat([term(tuple(C.DOP_SEND, a(''), p2)), term(Buffer.alloc(40_000, 0x6c))])
  streams.push(Buffer.concat([...fragmented(4, Buffer.from([0]), large, [17_000, 17_000]), header(tuple(C.DOP_LINK, e1, p1))].map(frame)))
  // A large frame whole (read in parts), ticks between frames, and a tick alone.
  streams.push(frame(header(tuple(C.DOP_SEND, a(''), p1), Buffer.alloc(20_000, 0x62))))
  streams.push(Buffer.concat([u32(0), frame(sends[0]!), u32(0), frame(links[0]!)]))
  streams.push(u32(0))
  return [...streams, ...answers]
}

export function otpConnectionTarget(): FuzzTarget {
  let node: NodeHarness | undefined
  /** A harness whose live processes are all there (a peer's EXIT2 kill ends them: then a new one). */
  const harness = (): NodeHarness => {
    if (node !== undefined && !node.allAlive()) {
      node.close()
      node = undefined
    }
    return (node ??= nodeHarness(LOCAL, { otp: true }))
  }
  return {
    name: 'otp-connection',
    seeds: () => seeds(harness().live),
    async run(input, variant) {
      const h = harness()
      const otp = h.otpDispatch!
      const peer = variant & 8 ? THIRD : PEER
      const max = variant & 64 ? SMALL_MAX : undefined
      let down: { reason: DownReason; error: Error | undefined } | undefined
      const conn = fakeConn({ readInto: (variant & 32) !== 0 })
      const wire = otpWire({
        peer,
        flags: variant & 16 ? 0n : DFLAGS_OFFERED,
        localName: LOCAL,
        creation: 0,
        maxMessageSize: max,
        logger: silentLogger,
      })
      const c = new Connection(
        peer,
        CRE,
        false,
        conn,
        new FrameDecoder(),
        codec,
        {
          // As node.ts's onFrame: the OTP dispatcher first, then the native one.
          onFrame: (connection, f) => {
            if (connection.protocol === 'erlang' && otp(connection, f)) return
            h.dispatch(connection, f)
          },
          onDown: (_c, reason, error) => {
            down = { reason, error }
            h.nodeDown(peer)
          },
        },
        60_000,
        idleClock,
        {},
        undefined,
        max,
        wire,
      )
      try {
        c.start([])
        const bytes = answering(input, h.armErpc(c, wire.claimed))
        for (const chunk of chunks(bytes, variant)) conn.feed(chunk)
      } catch (err) {
        throw new InvariantViolation(`the feed threw ${describeError(err)}`, { cause: err })
      }
      const went = down
      c.destroy('disconnect')
      await h.checkSpawns()
      if (went === undefined) return
      const { reason, error } = went
      if (reason !== 'protocol_error' || error === undefined) {
        throw new InvariantViolation(
          `the connection went down with ${reason} (${error === undefined ? 'no error' : describeError(error)})`,
          {
            cause: error,
          },
        )
      }
      if (!isAccepted(error)) throw new InvariantViolation(`the connection went down with ${describeError(error)}`, { cause: error })
      checkCause(error)
      throw error // refused: counted so by the runner
    },
    close() {
      node?.close()
      node = undefined
    },
  }
}
