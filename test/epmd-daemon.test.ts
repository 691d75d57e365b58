// Our port mapper daemon and client against each other, over real loopback sockets.
import t, { type Test } from 'tap'
import net from 'node:net'
import os from 'node:os'
import { startEpmd, isLoopbackAddress, listenPlan, type EpmdDaemon } from '../lib/epmd/daemon.js'
import { registerNode, lookupNode, listNames, killEpmd, stopName, type RawConnect } from '../lib/epmd/client.js'
import { tcpConnect } from '../lib/net/tcp-connect.js'
import { encodeRequest } from '../lib/epmd/protocol.js'
import { freePort, isListening } from './fixtures/ports.js'
import { waitFor } from './fixtures/epmd-real.js'

const HOST = '127.0.0.1'

async function daemonFor(t: Test, opts: Partial<Parameters<typeof startEpmd>[0]> = {}): Promise<EpmdDaemon> {
  const d = await startEpmd({ host: HOST, port: 0, ...opts })
  t.teardown(() => d.destroy())
  return d
}

/** Send chunks (with a pause between them), collect what comes back until the daemon closes. */
function raw(
  port: number,
  chunks: Buffer[],
  opts: { pause?: number; host?: string; localAddress?: string; wait?: number } = {},
): Promise<{ data: Buffer; closed: boolean; ms: number }> {
  return new Promise(resolve => {
    const start = Date.now()
    const socket = net.connect({ host: opts.host ?? HOST, port, localAddress: opts.localAddress })
    const got: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ data: Buffer.concat(got), closed: false, ms: Date.now() - start })
    }, opts.wait ?? 3000)
    socket.on('data', d => got.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ data: Buffer.concat(got), closed: true, ms: Date.now() - start })
    })
    // void: the loop only awaits a timer, so its promise cannot reject.
    socket.on(
      'connect',
      () =>
        void (async () => {
          for (const c of chunks) {
            if (socket.destroyed) return
            socket.write(c)
            if (opts.pause) await new Promise(r => setTimeout(r, opts.pause))
          }
        })(),
    )
  })
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('addresses and listen plan', async t => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.9']) t.ok(isLoopbackAddress(a), a)
  for (const a of [undefined, '', '10.0.0.1', '::', '::ffff:10.0.0.1', '128.0.0.1', 'localhost']) t.notOk(isLoopbackAddress(a), String(a))
  t.same(listenPlan(['0.0.0.0']), [
    { host: '0.0.0.0', ipv6Only: false, required: true },
    { host: '::', ipv6Only: true, required: false },
  ])
  t.same(listenPlan(['127.0.0.1']), [{ host: '127.0.0.1', ipv6Only: false, required: true }])
  t.same(listenPlan(['::']), [{ host: '::', ipv6Only: false, required: true }])
  t.same(
    listenPlan(['10.1.2.3']),
    [
      { host: '127.0.0.1', ipv6Only: false, required: true },
      { host: '10.1.2.3', ipv6Only: false, required: true },
      { host: '::1', ipv6Only: false, required: false },
    ],
    'a specific address also gets the loopback, as epmd -address',
  )
})

t.test('register, look up, list, duplicate, unregister on close', async t => {
  const d = await daemonFor(t)
  const at = { host: HOST, port: d.port }
  t.ok(d.port > 0)
  t.same(d.addresses, [{ host: HOST, port: d.port }])
  const reg = await registerNode({ ...at, name: 'foo', nodePort: 4747 })
  t.ok(reg.creation >= 4 && reg.creation <= 0xffffffff, `32-bit creation ${reg.creation}`)
  t.same(d.names(), [{ name: 'foo', port: 4747 }])
  t.match(await lookupNode({ ...at, name: 'foo' }), {
    name: 'foo',
    port: 4747,
    nodeType: 77,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 5,
    extra: Buffer.alloc(0),
  })
  t.equal(await lookupNode({ ...at, name: 'nope' }), undefined)
  t.same(await listNames(at), { epmdPort: d.port, names: [{ name: 'foo', port: 4747 }] })
  await t.rejects(registerNode({ ...at, name: 'foo', nodePort: 1 }), { code: 'ERR_NAME_IN_USE', message: /'foo'/ })
  t.same(d.names(), [{ name: 'foo', port: 4747 }], 'the refused attempt changed nothing')

  const hidden = await registerNode({ ...at, name: 'h', nodePort: 5000, hidden: true, extra: Buffer.from('x\0') })
  t.match(await lookupNode({ ...at, name: 'h' }), { nodeType: 77, extra: Buffer.from('x\0') }, 'hidden nodes register as 77, as OTP')
  hidden.close()
  await hidden.closed

  reg.close()
  await reg.closed
  await waitFor(() => d.names().length === 0, 2000, 'unregistration')
  t.equal(await lookupNode({ ...at, name: 'foo' }), undefined)
  const again = await registerNode({ ...at, name: 'foo', nodePort: 4748 })
  t.not(again.creation, reg.creation, 'a new registration gets another creation')
  again.close()

  const old = await registerNode({ ...at, name: 'old', nodePort: 1, highestVersion: 5, lowestVersion: 5 })
  t.ok(old.creation >= 1 && old.creation <= 3, 'a version-5 node gets ALIVE2_RESP with creation 1..3')
  old.close()
})

t.test('STOP and KILL (relaxed)', async t => {
  const d = await daemonFor(t, { relaxed: true })
  const at = { host: HOST, port: d.port }
  const reg = await registerNode({ ...at, name: 'victim', nodePort: 1 })
  t.equal(await stopName({ ...at, name: 'victim' }), true)
  await reg.closed
  t.pass('the registration connection was closed by STOP')
  t.same(d.names(), [])
  t.equal(await stopName({ ...at, name: 'victim' }), false, 'NOEXIST')
  const other = await registerNode({ ...at, name: 'other', nodePort: 2 })
  t.equal(await killEpmd(at), true)
  await d.closed
  await other.closed
  t.pass('KILL closed the daemon and its registrations')
  await t.rejects(listNames(at), { code: 'ERR_EPMD_UNREACHABLE', message: new RegExp(`${HOST}:${d.port}`) })
  await d.close()
  d.destroy()
})

t.test('by default (as epmd) KILL is refused with live nodes, and STOP', async t => {
  const d = await daemonFor(t)
  const at = { host: HOST, port: d.port }
  const reg = await registerNode({ ...at, name: 'alive', nodePort: 1 })
  t.equal(await killEpmd(at), false)
  await t.rejects(stopName({ ...at, name: 'alive' }), { code: 'ERR_EPMD', message: /closed the connection/ })
  t.same(d.names(), [{ name: 'alive', port: 1 }])
  reg.close()
  await waitFor(() => d.names().length === 0, 2000, 'unregistration')
  t.equal(await killEpmd(at), true)
  await d.closed
})

t.test('bad input closes that connection only (epmd_SUITE cases)', async t => {
  const d = await daemonFor(t, { requestTimeout: 300 })
  const at = { host: HOST, port: d.port }
  const keeper = await registerNode({ ...at, name: 'keeper', nodePort: 4711 })
  const name600 = Buffer.alloc(600, 0x61)
  const tooLargeName = Buffer.concat([hex('78 03e8 4d 00 0005 0005 0258'), name600, hex('0000')])
  const cases: [string, Buffer[], { pause?: number }?][] = [
    ['no data', []],
    ['one byte', [hex('00')]],
    ['two bytes (length only)', [hex('0003')]],
    ['partial packet', [Buffer.concat([hex('0064'), Buffer.from('only a few bytes')])]],
    ['zero length', [Buffer.alloc(10)]],
    ['too large', [Buffer.concat([hex('f618'), Buffer.alloc(63000, 0x7a)])]],
    ['ALIVE2 too small 1', [hex('000b 78 03e8 4d 00 0005 0005 0000')]],
    ['ALIVE2 too small 2', [hex('0009 78 03e8 4d 00 0005 0005')]],
    ['ALIVE2 name with NUL', [hex('0014 78 03e8 4d 00 0005 0005 0007 666f6f00626172 0000')]],
    ['ALIVE2 fake extra length', [hex('0012 78 128b 4d 00 0005 0005 0005 6775726b61 0100')]],
    ['unknown request', [hex('0001 01')]],
    ['PORT_PLEASE2 without name', [hex('0001 7a')]],
    ['more bytes than announced', [hex('0001 6e 6e 6e')]],
  ]
  const results = await Promise.all(cases.map(([, chunks, o]) => raw(d.port, chunks, o)))
  cases.forEach(([what], i) => {
    t.ok(results[i]!.closed, `${what}: closed`)
    t.equal(results[i]!.data.length, 0, `${what}: no reply`)
  })
  t.ok(results[0]!.ms >= 250, 'a silent connection is closed by the request timeout')

  const bigLen = Buffer.alloc(2)
  bigLen.writeUInt16BE(tooLargeName.length)
  const big = await raw(d.port, [Buffer.concat([bigLen, tooLargeName])])
  t.same(big.data, hex('79 01 0063'), 'a 600-character name is refused with a reply, as epmd does')

  // A request sent one byte at a time is served.
  const port2 = encodeRequest({ type: 'port-please2', name: 'keeper' })
  const slow = await raw(
    d.port,
    [...port2].map(b => Buffer.of(b)),
    { pause: 10 },
  )
  t.equal(slow.data[0], 119)
  t.equal(slow.data.readUInt16BE(2), 4711, 'byte-at-a-time PORT_PLEASE2 answered')

  // Trickling too slowly runs into the request timeout.
  const trickle = await raw(
    d.port,
    [...port2].map(b => Buffer.of(b)),
    { pause: 100 },
  )
  t.ok(trickle.closed)
  t.equal(trickle.data.length, 0, 'a request not complete within requestTimeout is dropped')

  // Data after ALIVE2 on the registration connection ends the registration.
  const alive = encodeRequest({
    type: 'alive2',
    name: 'chatty',
    port: 9,
    nodeType: 77,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 5,
    extra: Buffer.alloc(0),
  })
  const chatty = await raw(d.port, [alive, hex('00')], { pause: 100 })
  t.equal(chatty.data[0], 118)
  t.ok(chatty.closed, 'extra bytes on a registration connection close it')
  t.same(d.names(), [{ name: 'keeper', port: 4711 }])

  t.same(await listNames(at), { epmdPort: d.port, names: [{ name: 'keeper', port: 4711 }] }, 'still serving')
  const late = await registerNode({ ...at, name: 'late', nodePort: 4712 })
  t.equal((await lookupNode({ ...at, name: 'late' }))?.port, 4712)
  late.close()
  keeper.close()
})

const external = Object.values(os.networkInterfaces())
  .flat()
  .find(i => i && i.family === 'IPv4' && !i.internal)?.address

t.test(
  'register, kill, stop and dump only from loopback',
  {
    skip: external ? false : 'no non-loopback IPv4 address on this machine',
  },
  async t => {
    if (!external) return
    const d = await daemonFor(t, { host: '0.0.0.0' })
    const from = { host: external, localAddress: external }
    const alive = encodeRequest({
      type: 'alive2',
      name: 'remote',
      port: 9,
      nodeType: 77,
      protocol: 0,
      highestVersion: 6,
      lowestVersion: 5,
      extra: Buffer.alloc(0),
    })
    for (const [what, req] of [
      ['ALIVE2', alive],
      ['KILL', encodeRequest({ type: 'kill' })],
      ['STOP', encodeRequest({ type: 'stop', name: 'x' })],
      ['DUMP', encodeRequest({ type: 'dump' })],
    ] as const) {
      const r = await raw(d.port, [req], from)
      t.ok(r.closed && r.data.length === 0, `${what} from ${external}: closed without reply`)
    }
    t.same(d.names(), [])
    const names = await raw(d.port, [encodeRequest({ type: 'names' })], from)
    t.equal(names.data.readUInt32BE(0), d.port, 'NAMES is served to anyone')
    t.ok(await isListening(d.port), 'the daemon is still up')
    const dump = await raw(d.port, [encodeRequest({ type: 'dump' })])
    t.equal(dump.data.readUInt32BE(0), d.port, 'DUMP from loopback is served')
  },
)

t.test('close is graceful, destroy is abrupt, signal aborts', async t => {
  const d = await startEpmd({ host: HOST, port: 0 })
  const reg = await registerNode({ host: HOST, port: d.port, name: 'n', nodePort: 1 })
  const silent = net.connect({ host: HOST, port: d.port })
  silent.on('error', () => {})
  await new Promise(r => silent.once('connect', r))
  await d.close()
  await reg.closed
  t.notOk(await isListening(d.port), 'closed')
  await d.close()
  t.pass('close again resolves')
  d.destroy()
  silent.destroy()

  const d2 = await startEpmd({ host: HOST, port: 0 })
  const reg2 = await registerNode({ host: HOST, port: d2.port, name: 'n', nodePort: 1 })
  d2.destroy()
  await d2.closed
  await reg2.closed
  t.pass('destroy drops everything')

  const ac = new AbortController()
  const d3 = await startEpmd({ host: HOST, port: 0, signal: ac.signal })
  ac.abort()
  await d3.closed
  t.pass('aborting the signal closes a running daemon')

  const aborted = AbortSignal.abort()
  await t.rejects(startEpmd({ host: HOST, port: 0, signal: aborted }), { name: 'AbortError' })
  await t.rejects(startEpmd({ port: -1 }), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(startEpmd({ port: 0, host: [] }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('a port in use fails with ERR_LISTEN and EADDRINUSE as cause', async t => {
  const d = await daemonFor(t)
  await t.rejects(startEpmd({ host: HOST, port: d.port }), { code: 'ERR_LISTEN', cause: { code: 'EADDRINUSE' } })
})

t.test('client errors: unreachable, timeout, garbage, abort, custom connect', async t => {
  const port = await freePort()
  await t.rejects(listNames({ host: HOST, port }), {
    name: 'EpmdError',
    code: 'ERR_EPMD_UNREACHABLE',
    message: new RegExp(`${HOST}:${port}`),
  })

  // A server that accepts and never answers; another that answers garbage.
  const mute = net.createServer(() => {})
  const garbage = net.createServer(s => s.end('garbage!'))
  await new Promise<void>(r => mute.listen(0, HOST, r))
  await new Promise<void>(r => garbage.listen(0, HOST, r))
  t.teardown(() => {
    mute.close()
    garbage.close()
  })
  const mutePort = (mute.address() as net.AddressInfo).port
  const garbagePort = (garbage.address() as net.AddressInfo).port
  await t.rejects(lookupNode({ host: HOST, port: mutePort, name: 'x', timeout: 200 }), {
    code: 'ERR_EPMD',
    message: /did not answer PORT_PLEASE2_REQ within 200 ms/,
  })
  await t.rejects(registerNode({ host: HOST, port: garbagePort, name: 'x', nodePort: 1 }), { code: 'ERR_EPMD', message: /ALIVE2_REQ/ })
  await t.rejects(lookupNode({ host: HOST, port: garbagePort, name: 'x' }), { code: 'ERR_EPMD' })
  await t.rejects(killEpmd({ host: HOST, port: garbagePort }), { code: 'ERR_EPMD' })
  await t.rejects(
    listNames({
      host: HOST,
      port: await (async () => {
        const s = net.createServer(c => c.end(hex('0000')))
        await new Promise<void>(r => s.listen(0, HOST, r))
        t.teardown(() => s.close())
        return (s.address() as net.AddressInfo).port
      })(),
    }),
    { code: 'ERR_EPMD', message: /too short/ },
  )

  const ac = new AbortController()
  const p = listNames({ host: HOST, port: mutePort, signal: ac.signal })
  setTimeout(() => ac.abort(), 50)
  await t.rejects(p, { code: 'ERR_ABORTED' })
  await t.rejects(listNames({ host: HOST, port: mutePort, signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' })
  const reason = new Error('mine')
  await t.rejects(listNames({ host: HOST, port: mutePort, signal: AbortSignal.abort(reason) }), reason)

  // A connect that never completes: the deadline reports the port mapper unreachable.
  const never: RawConnect = () => new Promise(() => {})
  await t.rejects(listNames({ host: HOST, port: 1, connect: never, timeout: 100 }), {
    code: 'ERR_EPMD_UNREACHABLE',
    message: /within 100 ms/,
  })
  // A connect that resolves after the deadline: the late stream is destroyed.
  let late: net.Socket | undefined
  const slow: RawConnect = (addr, o) =>
    new Promise((r, reject) =>
      setTimeout(() => {
        tcpConnect(addr, { signal: new AbortController().signal }).then(s => r((late = s as net.Socket)), reject)
      }, 150),
    )
  const d = await daemonFor(t)
  await t.rejects(listNames({ host: HOST, port: d.port, connect: slow, timeout: 50 }), { code: 'ERR_EPMD_UNREACHABLE' })
  await waitFor(() => late?.destroyed === true, 2000, 'late stream destroyed')
  // A custom connect is used for every request.
  let calls = 0
  const counting: RawConnect = (addr, o) => {
    calls++
    return tcpConnect(addr, o)
  }
  const reg = await registerNode({ host: HOST, port: d.port, name: 'c', nodePort: 7, connect: counting })
  t.equal((await lookupNode({ host: HOST, port: d.port, name: 'c', connect: counting }))?.port, 7)
  t.equal(calls, 2)
  reg.close()
  await t.rejects(tcpConnect({ host: HOST, port: d.port }, { signal: AbortSignal.abort() }))

  await t.rejects(registerNode({ host: HOST, port: d.port, name: 'a@b', nodePort: 1 }), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(lookupNode({ host: HOST, port: d.port, name: '' }), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(stopName({ host: HOST, port: d.port, name: 'a\0' }), { code: 'ERR_BAD_ARGUMENT' })
})
