// The Erlang/OTP handshake byte by byte, without erl: a raw socket plays the OTP node, so the
// cases erl will not produce on demand are covered — the old 'n' name with its 'c' complement,
// the 'alive' question both ways, a peer lacking mandatory flags, garbled frames — and the
// protocol sniffing of inbound connections.
import t, { type Test } from 'tap'
import net from 'node:net'
import { createHash } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { startNode, type Node } from '../lib/index.js'
import type { StartNodeOptions } from '../lib/node-options.js'
import type { Conn } from '../lib/transport.js'
import { full, nextEvent } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'
import { DFLAG, DFLAGS_OFFERED, DFLAGS_MANDATORY_25, missingFlags, negotiate } from '../lib/kernel/otp/flags.js'
import { classify, sniffProtocol } from '../lib/kernel/protocol-sniff.js'

const COOKIE = 'raw-cookie'
/** What OTP 25 offers as a normal node ([measured]: erts_internal:get_dflags(), PUBLISHED included). */
const OTP25 = 0xd07df7fbdn

const md5 = (cookie: string, challenge: number): Buffer =>
  createHash('md5')
    .update(cookie + String(challenge >>> 0))
    .digest()

/** A raw socket speaking 2-byte frames (then 4-byte ones). */
class RawPeer {
  private buf = Buffer.alloc(0)
  private waiters: (() => void)[] = []
  closed = false
  constructor(readonly sock: net.Socket) {
    sock.on('data', d => {
      this.buf = Buffer.concat([this.buf, d])
      for (const w of this.waiters.splice(0)) w()
    })
    sock.on('close', () => {
      this.closed = true
      for (const w of this.waiters.splice(0)) w()
    })
    sock.on('error', () => {})
  }

  static async connect(port: number): Promise<RawPeer> {
    const s = net.connect(port, '127.0.0.1')
    await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject))
    return new RawPeer(s)
  }

  send(body: Buffer): void {
    const h = Buffer.alloc(2)
    h.writeUInt16BE(body.length)
    this.sock.write(Buffer.concat([h, body]))
  }

  /** The next 2-byte frame, or undefined once the peer closed. */
  async recv(ms = 3000): Promise<Buffer | undefined> {
    const end = Date.now() + ms
    for (;;) {
      if (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const len = this.buf.readUInt16BE(0)
        const body = this.buf.subarray(2, 2 + len)
        this.buf = this.buf.subarray(2 + len)
        return body
      }
      if (this.closed) return undefined
      if (Date.now() > end) throw new Error('raw peer: no frame in time')
      await new Promise<void>(r => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
  }

  close(): void {
    this.sock.destroy()
  }
}

function nameN(flags: bigint, creation: number, name: string): Buffer {
  const n = Buffer.from(name, 'latin1')
  const b = Buffer.alloc(15 + n.length)
  b[0] = 0x4e
  b.writeBigUInt64BE(flags, 1)
  b.writeUInt32BE(creation, 9)
  b.writeUInt16BE(n.length, 13)
  n.copy(b, 15)
  return b
}

function challengeN(flags: bigint, challenge: number, creation: number, name: string): Buffer {
  const n = Buffer.from(name, 'latin1')
  const b = Buffer.alloc(19 + n.length)
  b[0] = 0x4e
  b.writeBigUInt64BE(flags, 1)
  b.writeUInt32BE(challenge, 9)
  b.writeUInt32BE(creation, 13)
  b.writeUInt16BE(n.length, 17)
  n.copy(b, 19)
  return b
}

const status = (s: string): Buffer => Buffer.from(`s${s}`, 'latin1')
const text = (b: Buffer | undefined): string | undefined => b?.toString('latin1')

function reply(myChallenge: number, theirChallenge: number, cookie = COOKIE): Buffer {
  const b = Buffer.alloc(21)
  b[0] = 0x72
  b.writeUInt32BE(myChallenge, 1)
  md5(cookie, theirChallenge).copy(b, 5)
  return b
}

/** Run the dialler's side after the status: read the challenge, answer it, check the ack. */
async function finishAsDialler(t: Test, p: RawPeer, node: Node, opts: { complement?: number } = {}): Promise<bigint> {
  const c = await p.recv()
  t.equal(c?.[0], 0x4e, "the challenge is an 'N' message")
  const flags = c!.readBigUInt64BE(1)
  const challenge = c!.readUInt32BE(9)
  t.equal(c!.toString('latin1', 19), node.name, 'it names the node')
  if (opts.complement !== undefined) {
    const cm = Buffer.alloc(9)
    cm[0] = 0x63
    cm.writeUInt32BE(Number(OTP25 >> 32n), 1)
    cm.writeUInt32BE(opts.complement, 5)
    p.send(cm)
  }
  const mine = 123456789
  p.send(reply(mine, challenge))
  const a = await p.recv()
  t.equal(a?.[0], 0x61, "'a' acknowledges")
  t.same(a?.subarray(1), md5(COOKIE, mine), 'with MD5(cookie ++ decimal(our challenge))')
  return flags
}

async function otpNode(t: Test, name: string, opts: Partial<StartNodeOptions> = {}): Promise<Node> {
  const node = await startNode({ name, cookie: COOKIE, erlang: true, global: false, epmd: false, listen: { host: '127.0.0.1' }, ...opts })
  t.teardown(() => node.stop())
  return node
}

t.test('flags: the offer, the mandatory set, the digest standing for it', async t => {
  t.equal(DFLAGS_MANDATORY_25, 0x1070f94n, "OTP 25's mandatory flags")
  t.equal(DFLAG.MANDATORY_25_DIGEST, 0x4000000n)
  t.equal(DFLAG.V4_NC, 1n << 34n)
  t.equal(DFLAGS_OFFERED & DFLAG.PUBLISHED, 0n, 'hidden toward OTP: no PUBLISHED')
  t.equal(DFLAGS_OFFERED & DFLAG.ALIAS, DFLAG.ALIAS, 'ALIAS: replies go to a call alias')
  t.equal(DFLAGS_OFFERED & DFLAG.NAME_ME, 0n, 'no NAME_ME')
  t.same(missingFlags(DFLAGS_OFFERED), [])
  t.same(missingFlags(DFLAG.MANDATORY_25_DIGEST), [], 'the digest alone stands for the 11')
  t.same(missingFlags(DFLAGS_MANDATORY_25 & ~DFLAG.MAP_TAG), ['MAP_TAG'])
  t.equal(negotiate(DFLAGS_OFFERED, OTP25) & DFLAG.PUBLISHED, 0n)
  t.equal(negotiate(DFLAGS_OFFERED, OTP25) & DFLAG.SPAWN, DFLAG.SPAWN)
})

t.test("an OTP dialler's 'N': status ok, challenge, digest, ack; the node is up, hidden", async t => {
  const node = await otpNode(t, 'rawn')
  const up = nextEvent<[string, Record<string, unknown>]>(node, 'nodeup')
  const p = await RawPeer.connect(node.address!.port)
  t.teardown(() => p.close())
  p.send(nameN(OTP25, 0x01020304, full('otp1')))
  t.equal(text(await p.recv()), 'sok')
  const flags = await finishAsDialler(t, p, node)
  t.equal(flags, DFLAGS_OFFERED, 'our challenge carries the offered flags')
  const [peer, info] = await up
  t.equal(peer, full('otp1'))
  t.match(info, { type: 'hidden', protocol: 'erlang' })

  // The same node dials again with the same creation: asked whether its old connection is alive.
  const q = await RawPeer.connect(node.address!.port)
  t.teardown(() => q.close())
  q.send(nameN(OTP25, 0x01020304, full('otp1')))
  t.equal(text(await q.recv()), 'salive', "same creation while connected: status 'alive'")
  const down = nextEvent(node, 'nodedown', n => n === full('otp1'))
  const up2 = nextEvent(node, 'nodeup', n => n === full('otp1'))
  q.send(status('true'))
  await finishAsDialler(t, q, node)
  await down
  await up2
  t.pass('answered true: the old connection is replaced once the new one proved the cookie')
  await waitFor(() => p.closed, 3000, 'the old socket to close')
})

t.test("an OTP 23/24 dialler's old 'n' and its 'c' complement", async t => {
  const node = await otpNode(t, 'rawold')
  const up = nextEvent(node, 'nodeup')
  const p = await RawPeer.connect(node.address!.port)
  t.teardown(() => p.close())
  const n = Buffer.from(full('old1'), 'latin1')
  const old = Buffer.alloc(7 + n.length)
  old[0] = 0x6e
  old.writeUInt16BE(5, 1)
  old.writeUInt32BE(Number(OTP25 & 0xffffffffn), 3)
  n.copy(old, 7)
  p.send(old)
  t.equal(text(await p.recv()), 'sok')
  await finishAsDialler(t, p, node, { complement: 0xabcdef })
  t.equal((await up)[0], full('old1'))
  // The complement's creation is the connection's: the same creation again is asked 'alive'.
  const q = await RawPeer.connect(node.address!.port)
  t.teardown(() => q.close())
  q.send(nameN(OTP25, 0xabcdef, full('old1')))
  t.equal(text(await q.recv()), 'salive')
})

t.test('a dialler lacking mandatory flags is answered not_allowed and reported', async t => {
  const node = await otpNode(t, 'rawflags')
  const err = nextEvent<[string | undefined, { code: string; error: Error }]>(node, 'connectError')
  const p = await RawPeer.connect(node.address!.port)
  t.teardown(() => p.close())
  p.send(nameN(DFLAGS_MANDATORY_25 & ~DFLAG.BIG_CREATION & ~DFLAG.UTF8_ATOMS, 1, full('poor')))
  t.equal(text(await p.recv()), 'snot_allowed')
  t.equal(await p.recv(), undefined, 'then closed')
  const [name, info] = await err
  t.equal(name, full('poor'))
  t.equal(info.code, 'ERR_INCOMPATIBLE')
  t.match(
    info.error.message,
    /connection attempt from poor@\S+ \(127\.0\.0\.1:\d+\) rejected since it cannot handle \["UTF8_ATOMS","BIG_CREATION"\]/,
  )
})

t.test("a dialler claiming the node's own name is answered nok (as OTP does) and refused; the node goes on", async t => {
  const node = await otpNode(t, 'rawself')
  const ups: string[] = []
  node.on('nodeup', (n: string) => void ups.push(n))
  const other = await RawPeer.connect(node.address!.port)
  t.teardown(() => other.close())
  other.send(nameN(OTP25, 4, full('bystander')))
  t.equal(text(await other.recv()), 'sok')
  await finishAsDialler(t, other, node)
  await waitFor(() => ups.includes(full('bystander')), 3000, 'the bystander up')

  const err = nextEvent<[string | undefined, { code: string; error: Error }]>(node, 'connectError')
  const p = await RawPeer.connect(node.address!.port)
  t.teardown(() => p.close())
  p.send(nameN(OTP25, 5, node.name))
  // OTP 25 answers nok here and closes (its net_kernel gets no connection id for node()).
  t.equal(text(await p.recv()), 'snok', 'status nok, as an erl node answers a claim of its own name')
  t.equal(await p.recv(), undefined, 'then closed, with no challenge')
  const [name, info] = await err
  t.equal(name, node.name, 'reported under the claimed name')
  t.equal(info.code, 'ERR_HANDSHAKE')
  t.equal(info.error.name, 'HandshakeError')
  t.match(info.error.message, /connection from 127\.0\.0\.1:\d+ claims to be rawself@\S+, this node's own name/)
  t.same(node.nodes('connected'), [full('bystander')], 'not its own peer; the other connection untouched')
  t.notOk(ups.includes(node.name), 'no nodeup for itself')
  t.notOk(other.closed, "the other peer's socket is still open")

  // And a proper one still works.
  const q = await RawPeer.connect(node.address!.port)
  t.teardown(() => q.close())
  q.send(nameN(OTP25, 6, full('after')))
  t.equal(text(await q.recv()), 'sok')
  await finishAsDialler(t, q, node)
})

t.test('a wrong digest: no ack, ERR_AUTH_FAILED naming node and address', async t => {
  const node = await otpNode(t, 'rawauth')
  const err = nextEvent<[string | undefined, { code: string; error: Error }]>(node, 'connectError')
  const p = await RawPeer.connect(node.address!.port)
  t.teardown(() => p.close())
  p.send(nameN(OTP25, 9, full('liar')))
  t.equal(text(await p.recv()), 'sok')
  const c = (await p.recv())!
  p.send(reply(1, c.readUInt32BE(9), 'not-the-cookie'))
  t.equal(await p.recv(), undefined, 'closed without an ack')
  const [name, info] = await err
  t.equal(name, full('liar'))
  t.equal(info.code, 'ERR_AUTH_FAILED')
  t.match(info.error.message, /liar@\S+: invalid challenge reply from 127\.0\.0\.1:\d+/)
  t.same(node.nodes('connected'), [])
})

t.test('garbled OTP handshakes are refused; the node keeps running', async t => {
  const node = await otpNode(t, 'rawbad')
  const codes: string[] = []
  node.on('connectError', (_n, info) => codes.push(info.code))
  const cases: [string, Buffer, string][] = [
    ["'N' announced in a 2049-byte frame", Buffer.from([0x08, 0x01, 0x4e, 1, 2, 3]), 'ERR_HANDSHAKE'],
    ['cut short, then closed', Buffer.from([0x00, 0x20, 0x4e, 0, 0, 0, 0]), 'ERR_CONNECTION_CLOSED'],
    ["'N' with nothing in it", Buffer.from([0x00, 0x01, 0x4e]), 'ERR_HANDSHAKE'],
    ['TLS', Buffer.from([0x16, 0x03, 0x01, 0x00]), 'ERR_HANDSHAKE'],
    ['HTTP', Buffer.from('GET / HTTP/1.0\r\n'), 'ERR_HANDSHAKE'],
    [
      "'n' with an illegal name",
      Buffer.concat([Buffer.from([0x00, 0x0f, 0x6e, 0x00, 0x05, 0, 0, 0, 0]), Buffer.from('bad name')]),
      'ERR_BAD_NODE_NAME',
    ],
  ]
  for (const [i, [what, bytes, code]] of cases.entries()) {
    const s = net.connect(node.address!.port, '127.0.0.1')
    s.on('error', () => {})
    await new Promise(r => s.once('connect', r))
    s.end(bytes)
    await new Promise(r => s.once('close', r))
    await waitFor(() => codes.length === i + 1, 5000, `the refusal of ${what}`)
    t.equal(codes[i], code, `${what}: ${code}`)
  }
  // And a proper one still works.
  const p = await RawPeer.connect(node.address!.port)
  t.teardown(() => p.close())
  p.send(nameN(OTP25, 3, full('fine')))
  t.equal(text(await p.recv()), 'sok')
  await finishAsDialler(t, p, node)
})

t.test("our dial to an OTP responder: 'alive' answered, digest checked, flags refused", async t => {
  // A fake OTP node: it asks 'alive', then challenges; `lacking` flags are left out of its challenge.
  let lacking = 0n
  let statusFirst = 'alive'
  const answers: string[] = []
  const srv = net.createServer(sock => {
    const p = new RawPeer(sock)
    void (async () => {
      const n = (await p.recv())!
      t.equal(n[0], 0x4e, "our name message is 'N'")
      t.equal(n.readBigUInt64BE(1), DFLAGS_OFFERED, 'with the offered flags')
      p.send(status(statusFirst))
      if (statusFirst === 'alive') answers.push(text(await p.recv())!)
      const ch = 0xfedcba98
      p.send(challengeN(OTP25 & ~lacking, ch, 55, full('fake')))
      const r = await p.recv()
      if (r === undefined) return
      t.same(r.subarray(5), md5(COOKIE, ch), "'r': MD5(cookie ++ decimal(challenge)), unsigned")
      const a = Buffer.alloc(17)
      a[0] = 0x61
      md5(COOKIE, r.readUInt32BE(1)).copy(a, 1)
      p.send(a)
    })()
  })
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', r))
  t.teardown(() => srv.close())
  const port = (srv.address() as net.AddressInfo).port
  const resolve = async () => ({ host: '127.0.0.1', port, protocol: 'erlang' })

  const node = await otpNode(t, 'dialler', { resolve })
  t.equal(await node.connect(full('fake')), true, "connected after answering 'alive'")
  t.same(answers, ['strue'], 'it has no connection to fake: it answered true')
  t.same(node.nodes('hidden'), [full('fake')])
  node.disconnect(full('fake'))
  await waitFor(() => node.nodes('connected').length === 0)

  lacking = DFLAG.MAP_TAG | DFLAG.MANDATORY_25_DIGEST
  statusFirst = 'ok_simultaneous'
  const err = nextEvent<[string | undefined, { code: string; error: Error }]>(node, 'connectError')
  t.equal(await node.connect(full('fake')), false)
  const [, info] = await err
  t.equal(info.code, 'ERR_INCOMPATIBLE')
  t.match(info.error.message, /connection attempt to fake@\S+ \(127\.0\.0\.1:\d+\) aborted since it cannot handle \["MAP_TAG"\]/)

  const off = await otpNode(t, 'dialoff', { resolve, erlang: false })
  const e2 = nextEvent<[string | undefined, { code: string; error: Error }]>(off, 'connectError')
  t.equal(await off.connect(full('fake')), false)
  t.match((await e2)[1], { code: 'ERR_INCOMPATIBLE', error: { message: /is an Erlang\/OTP node .*erlang: true/ } })
})

t.test("simultaneous connect as responder: 'ok_simultaneous' to a greater name, 'nok' to a lesser one", async t => {
  // Our dials go to a listener that never answers: they stay under way while the peer dials in.
  let dialled = 0
  const silent = net.createServer(sock => {
    dialled++
    sock.on('error', () => {})
  })
  await new Promise<void>(r => silent.listen(0, '127.0.0.1', r))
  t.teardown(() => silent.close())
  const port = (silent.address() as net.AddressInfo).port
  const node = await otpNode(t, 'mmm', { resolve: async () => ({ host: '127.0.0.1', port, protocol: 'erlang' }) })
  const dialling = async (peer: string): Promise<void> => {
    const before = dialled
    void node.connect(peer)
    await waitFor(() => dialled > before, 5000, `our dial to ${peer}`)
  }

  await dialling(full('zzz'))
  const greater = await RawPeer.connect(node.address!.port)
  t.teardown(() => greater.close())
  greater.send(nameN(OTP25, 5, full('zzz')))
  t.equal(text(await greater.recv()), 'sok_simultaneous', 'the greater name wins: ok_simultaneous')
  const up = nextEvent(node, 'nodeup', n => n === full('zzz'))
  await finishAsDialler(t, greater, node)
  await up
  t.same(node.nodes('hidden'), [full('zzz')])

  await dialling(full('aaa'))
  const lesser = await RawPeer.connect(node.address!.port)
  t.teardown(() => lesser.close())
  lesser.send(nameN(OTP25, 6, full('aaa')))
  t.equal(text(await lesser.recv()), 'snok', 'the lesser name loses to our dial: nok')
})

t.test('sniffing: the first bytes tell the protocol and stay on the stream', async t => {
  t.equal(classify(Buffer.from([0, 0, 0, 40])), 'netkernel')
  t.equal(classify(Buffer.from([0, 20, 0x4e])), 'erlang')
  t.equal(classify(Buffer.from([0, 20, 0x6e])), 'erlang')
  t.match(classify(Buffer.from([0x16, 0x03, 0x01])), { refuse: /TLS/ })
  t.match(classify(Buffer.from([0, 20, 0x41])), { refuse: /neither/ })
  // Over TLS (OTP's inet_tls) OTP's handshake messages have a 4-byte length
  t.equal(classify(Buffer.from([0, 0, 0, 20, 0x4e]), 4), 'erlang', "inet_tls: 00 00 LL LL 'N'")
  t.equal(classify(Buffer.from([0, 0, 0, 20, 0x6e]), 4), 'erlang')
  t.equal(classify(Buffer.from([0, 0, 0, 40, 0x87]), 4), 'netkernel', 'a netkernel hello (a MessagePack map) over TLS')
  t.equal(classify(Buffer.from([0, 0, 0, 20, 0x4e])), 'netkernel', 'with 2-byte framing the same bytes are netkernel')

  const fake = (): { conn: Conn; stream: PassThrough } => {
    const stream = new PassThrough()
    const conn = { stream, transport: 'test', remoteAddress: '10.0.0.1', remotePort: 1, encrypted: false, close() {}, destroy() {} }
    return { conn, stream }
  }
  const { conn, stream } = fake()
  const sniffed = sniffProtocol(conn, AbortSignal.timeout(1000))
  stream.write(Buffer.from([0, 9]))
  stream.write(Buffer.from([0x4e, 1, 2, 3]))
  t.equal(await sniffed, 'erlang', 'two chunks: it waits for the third byte')
  const got: Buffer[] = []
  stream.on('data', d => got.push(d))
  stream.resume()
  await new Promise(r => setImmediate(r))
  t.same(Buffer.concat(got), Buffer.from([0, 9, 0x4e, 1, 2, 3]), 'every byte is still there, in order')

  const slow = fake()
  const deadline = new AbortController()
  setTimeout(() => deadline.abort(new DOMException('setup deadline', 'TimeoutError')), 50)
  await t.rejects(sniffProtocol(slow.conn, deadline.signal), { code: 'ERR_HANDSHAKE_TIMEOUT' }, 'bounded by the setup signal')
  const shut = fake()
  const p = sniffProtocol(shut.conn, AbortSignal.timeout(1000))
  shut.stream.end(Buffer.from([0]))
  await t.rejects(p, { code: 'ERR_CONNECTION_CLOSED' })
})
