// Distribution over TLS with a REAL erl node running OTP's inet_tls (`-proto_dist inet_tls`,
// certificates from the same CA on both sides, each verifying the other's): a netkernel node
// with erlang: true and the tls() transport dials erl and is dialled by it, with no
// netkernel certificate verdicts on those connections (OTP sends none), and talks as over
// TCP: ping, rpc both ways, messages both ways. Then refusals: an erl whose certificate our CA
// did not issue is refused by the JS node (ERR_CERT_UNTRUSTED, both directions), and a
// netkernel tls dialler still gets its verdicts from a node that accepts OTP over TLS.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { module } from '../lib/type-helpers.js'
import { createCa } from '../lib/certs/index.js'
import { shortHostname } from '../lib/node-name.js'
import { tls } from '../transports/tls.js'
import { startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode, type Erl } from './fixtures/erl.js'
import { inProcess } from './fixtures/cluster.js'
import { otpTlsPki, sslSkip, type OtpTlsPki } from './fixtures/otp-tls-pki.js'

const skip = sslSkip()

const calc = module({ add: (_proc, a: number, b: number) => a + b })
const host = shortHostname()
let serial = 0

async function setup(t: Test, o: { erlIssuer?: 'other' } = {}): Promise<{ js: Node; erl: Erl; p: OtpTlsPki; epmdPort: number }> {
  const p = otpTlsPki(t)
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const n = `${process.pid}x${serial++}`
  const jsName = `jst${n}@${host}`
  const js = await startErlangNode(t, epmd.port, {
    name: jsName,
    cookie: 'tls-cookie',
    modules: { calc },
    transport: tls(p.nodeTls(jsName)),
  })
  const erlName = `et${n}`
  const conf = p.otpConf(`${erlName}@${host}`, o.erlIssuer === 'other' ? createCa({ days: 1 }) : p.ca)
  const erl = await startErl(t, {
    name: erlName,
    epmdPort: epmd.port,
    cookie: 'tls-cookie',
    args: ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', conf],
  })
  await erl.eval(`JS = '${js.name}'.`)
  return { js, erl, p, epmdPort: epmd.port }
}

t.test('netkernel dials an erl running inet_tls', { skip }, async t => {
  const { js, erl } = await setup(t)
  t.equal(await js.ping(erl.node), 'pong', 'ping over TLS')
  t.equal(js.stats().connections.find(c => c.peer === erl.node)?.transport, 'tls', 'the connection is TLS')
  t.same(await js.rpc(erl.node, 'lists', 'reverse', [[1, 2, 3]]), [3, 2, 1], 'rpc into erl')
  t.equal(await erl.eval(`rpc:call(JS, calc, add, [40, 2]).`), '42', 'and erl calls back over the same connection')
  await erl.eval(`register(shell, self()).`)
  js.send(['shell', erl.node], tuple(atom('hello'), 1))
  t.equal(await erl.eval(`receive M -> M after 5000 -> timeout end.`), '{hello,1}', 'a message to erl')
})

t.test('an erl running inet_tls dials netkernel', { skip }, async t => {
  const { js, erl } = await setup(t)
  t.equal(await erl.eval(`net_adm:ping(JS).`), 'pong', 'net_adm:ping over TLS')
  t.equal(js.stats().connections.find(c => c.peer === erl.node)?.transport, 'tls')
  t.equal(await erl.eval(`rpc:call(JS, calc, add, [1, 2]).`), '3', 'rpc:call into the JS node')
  const got = inProcess(js, async proc => {
    proc.register('inbox')
    return proc.receive(undefined, { timeout: 5000 })
  })
  await erl.eval(`timer:sleep(100), {inbox, JS} ! {from_erl, self()}, ok.`)
  const m = (await got) as unknown[]
  t.equal(m[0], atom('from_erl'), 'a message from erl')
})

t.test('a certificate our CA did not issue is refused, both directions', { skip }, async t => {
  const { js, erl } = await setup(t, { erlIssuer: 'other' })
  const errors: { code: string; message: string }[] = []
  js.on('connectError', (_n, info) => void errors.push({ code: info.code, message: info.error.message }))
  t.equal(await js.ping(erl.node), 'pang', 'the JS node does not take it when dialling')
  t.ok(
    errors.some(e => e.code === 'ERR_CERT_UNTRUSTED'),
    `dialling: ERR_CERT_UNTRUSTED (${errors.map(e => e.code).join(', ')})`,
  )
  errors.length = 0
  t.equal(await erl.eval(`net_adm:ping(JS).`), 'pang', 'nor when erl dials')
  t.ok(
    errors.some(e => e.code === 'ERR_CERT_UNTRUSTED'),
    `accepting: ERR_CERT_UNTRUSTED (${errors.map(e => e.code).join(', ')})`,
  )
  t.same(js.nodes(), [])
})

t.test('a node that accepts OTP over TLS still sends netkernel peers their verdicts', { skip }, async t => {
  const { js, p, epmdPort } = await setup(t)
  const peerName = `jsp${process.pid}x${serial++}@${host}`
  const peer = await startErlangNode(t, epmdPort, { name: peerName, cookie: 'tls-cookie', transport: tls(p.nodeTls(peerName)) })
  t.equal(await peer.ping(js.name), 'pong', 'netkernel ↔ netkernel over tls, with verdicts')
  t.equal(await js.ping(peer.name), 'pong', 'and the other way')
  // A peer with a certificate of another CA learns why it was refused (the verdict).
  const sName = `jss${process.pid}x${serial++}@${host}`
  const s = await startErlangNode(t, epmdPort, {
    name: sName,
    cookie: 'tls-cookie',
    transport: tls(p.nodeTls(sName, createCa({ days: 1 }))),
  })
  const refused: { code: string; message: string }[] = []
  s.on('connectError', (_n, info) => void refused.push({ code: info.code, message: info.error.message }))
  t.equal(await s.ping(js.name), 'pang')
  t.match(refused[0]?.message ?? '', /refused|certificate/i, `the dialler was told: ${refused[0]?.message}`)
  t.equal(refused[0]?.code, 'ERR_CERT_UNTRUSTED')
})
