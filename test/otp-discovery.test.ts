// Which protocol a node speaks, from its port mapper entry: netkernel nodes register the Extra
// `netkernel/1`, Erlang/OTP nodes none. PORT2_RESP keeps every field; our daemon returns
// Extra byte-exactly, as Erlang's epmd does; the port mapper Discovery reports 'netkernel' or
// 'erlang' accordingly, against a real erl.
import t from 'tap'
import net from 'node:net'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl } from './fixtures/erl.js'
import { full } from './fixtures/cluster.js'
import { startEpmd } from '../lib/epmd/daemon.js'
import { lookupNode, registerNode } from '../lib/epmd/client.js'
import { decodePort2Response, encodePort2Response, encodeRequest } from '../lib/epmd/protocol.js'
import { NETKERNEL_EXTRA, epmdDiscovery, protocolOfExtra } from '../lib/epmd/discovery.js'
import { startNode } from '../lib/index.js'
import { silentLogger } from '../lib/logger.js'
import { systemClock } from '../lib/clock.js'

/** Ask a port mapper PORT_PLEASE2 over a raw socket: its whole reply, bytes as sent. */
function rawPort2(port: number, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const s = net.connect(port, '127.0.0.1', () => s.write(encodeRequest({ type: 'port-please2', name })))
    s.on('data', d => chunks.push(d))
    s.on('close', () => resolve(Buffer.concat(chunks)))
    s.on('error', reject)
  })
}

t.test('PORT2_RESP: every field kept, Extra byte for byte; partial replies wait', async t => {
  // Written by hand, field by field (erl_dist_protocol "PORT2_RESP").
  const extra = Buffer.from([0x6e, 0x00, 0xff, 0x0a, 0x80])
  const reply = Buffer.concat([
    Buffer.from([119, 0, 0x1f, 0x90, 72, 1, 0, 6, 0, 5, 0, 3]),
    Buffer.from('abc'),
    Buffer.from([0, extra.length]),
    extra,
  ])
  const info = decodePort2Response(reply)
  t.same(info, { port: 8080, nodeType: 72, protocol: 1, highestVersion: 6, lowestVersion: 5, name: 'abc', extra })
  for (let n = 0; n < reply.length; n++) t.equal(decodePort2Response(reply.subarray(0, n)), undefined, `${n} bytes: more needed`)
  t.same(encodePort2Response(info!), reply, 'and our encoder writes the same bytes')
  t.equal(decodePort2Response(Buffer.from([119, 1])), null, 'result 1: not registered')
})

t.test('the Extra marker tells the protocol', async t => {
  t.equal(NETKERNEL_EXTRA.toString('latin1'), 'netkernel/1')
  t.equal(protocolOfExtra(NETKERNEL_EXTRA), 'netkernel')
  t.equal(protocolOfExtra(Buffer.from('netkernel/2;tls')), 'netkernel', 'a later marker version is still netkernel')
  t.equal(protocolOfExtra(Buffer.alloc(0)), 'erlang', 'OTP registers no Extra')
  t.equal(protocolOfExtra(Buffer.from('netkerne')), 'erlang')
  t.equal(protocolOfExtra(Buffer.from('elixir')), 'erlang')
})

t.test('our daemon and real epmd return Extra byte-exactly (Elen > 0)', { skip: erlangSkip('epmd') }, async t => {
  const real = await startRealEpmd()
  t.teardown(() => real.stop())
  const ours = await startEpmd({ host: '127.0.0.1', port: 0 })
  t.teardown(() => ours.close())
  const extra = Buffer.concat([NETKERNEL_EXTRA, Buffer.from([0, 1, 0xfe, 0xff]), Buffer.alloc(200, 0x41)])
  const replies: Buffer[] = []
  for (const port of [real.port, ours.port]) {
    const reg = await registerNode({ host: '127.0.0.1', port, name: 'xtra', nodePort: 4321, extra })
    t.teardown(() => reg.close())
    const found = await lookupNode({ host: '127.0.0.1', port, name: 'xtra' })
    t.same(found?.extra, extra, `port mapper on ${port}: Extra as registered`)
    t.match(found, { port: 4321, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 5 })
    replies.push(await rawPort2(port, 'xtra'))
  }
  t.equal(replies[0]!.length, 14 + 'xtra'.length + extra.length, 'a whole PORT2_RESP')
  t.same(replies[1], replies[0], "our daemon's PORT2_RESP is byte for byte real epmd's")
})

t.test('netkernel nodes register their marker; the Discovery tells them from erl', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const erl = await startErl(t, { name: 'disco', epmdPort: epmd.port })
  const node = await startNode({
    name: 'jsdisco',
    cookie: 'netkernel-test',
    listen: { host: '127.0.0.1' },
    epmd: { host: '127.0.0.1', port: epmd.port, autoStart: false },
  })
  t.teardown(() => node.stop())

  const js = await lookupNode({ host: '127.0.0.1', port: epmd.port, name: 'jsdisco' })
  const otp = await lookupNode({ host: '127.0.0.1', port: epmd.port, name: 'disco' })
  t.same(js?.extra, NETKERNEL_EXTRA, 'a netkernel node registers Extra netkernel/1')
  t.same(otp?.extra, Buffer.alloc(0), 'erl registers none')
  // Registered as OTP 25 registers itself (measured: hidden nodes too are type 77).
  for (const k of ['nodeType', 'protocol', 'highestVersion', 'lowestVersion'] as const) t.equal(js?.[k], otp?.[k], `${k} as erl's`)

  const d = epmdDiscovery({
    host: '127.0.0.1',
    port: epmd.port,
    autoStart: false,
    listenHost: '127.0.0.1',
    transport: {},
    logger: silentLogger,
    clock: systemClock,
  })
  const signal = AbortSignal.timeout(5000)
  t.match(await d.resolve(node.name, signal), { port: node.address!.port, protocol: 'netkernel' })
  t.match(await d.resolve(erl.node, signal), { port: otp!.port, protocol: 'erlang' })
  t.match(await erl.eval('net_adm:names().'), /\{"jsdisco",\d+\}/, "erl's net_adm:names() lists the netkernel node")
  t.equal(full('jsdisco'), node.name)
})
