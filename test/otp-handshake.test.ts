// The Erlang/OTP handshake against a real erl (OTP 25) on a private epmd: both directions,
// wrong cookies, each mandatory flag withheld (OTP's own refusal texts), a netkernel node
// without `erlang: true` on either end, and simultaneous connects settled to one connection.
//
// Until the OTP wire is on main the connection carries no OTP frames: these tests assert what
// the handshake decides (who is connected, with which type, refused how), not traffic.
import t from 'tap'
import { erlangSkip, startRealEpmd, waitFor, type RealEpmd } from './fixtures/epmd-real.js'
import { startErl, type Erl } from './fixtures/erl.js'
import { full, host, nextEvent } from './fixtures/cluster.js'
import { startNode, type Node } from '../lib/index.js'
import type { StartNodeOptions } from '../lib/node-options.js'
import { lookupNode, registerNode } from '../lib/epmd/client.js'
import { tcp } from '../transports/tcp.js'
import { cookie as cookieAuth } from '../auth/cookie.js'
import { createCodec } from '../lib/terms/codec.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import type { HandshakeDeps } from '../lib/kernel/handshake.js'
import type { Conn } from '../lib/transport.js'
import { initiateOtpHandshake, respondOtpHandshake } from '../lib/kernel/otp/otp-handshake.js'
import { DFLAG, DFLAGS_OFFERED, MANDATORY_25 } from '../lib/kernel/otp/flags.js'
import type { NetkernelError } from '../lib/errors.js'

const COOKIE = 'otp-hs-cookie'
const ROUNDS = 60
type ErrInfo = { direction: 'in' | 'out'; code: string; error: Error; address?: string }

t.test('the Erlang/OTP handshake with a real erl', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd: RealEpmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  // 'mid': netkernel nodes named a… are lesser, z… greater (simultaneous connects).
  const erl: Erl = await startErl(t, { name: 'mid', epmdPort: epmd.port, cookie: COOKIE })
  const ep = { host: '127.0.0.1', port: epmd.port, autoStart: false }

  async function jsNode(name: string, opts: Partial<StartNodeOptions> = {}): Promise<Node> {
    // global: false keeps the node hidden toward OTP, as these handshake tests expect (a
    // visible node, with global, is tested in global-otp.test.ts).
    const node = await startNode({ name, cookie: COOKIE, erlang: true, global: false, listen: { host: '127.0.0.1' }, epmd: ep, ...opts })
    t.teardown(() => node.stop())
    return node
  }
  const hiddenAtErl = async (node: string): Promise<boolean> => (await erl.eval(`lists:member('${node}', nodes(hidden)).`)) === 'true'
  const visibleAtErl = async (node: string): Promise<boolean> => (await erl.eval(`lists:member('${node}', nodes()).`)) === 'true'

  await t.test('erl → netkernel: connect_node is true; hidden on both sides; nodeup fires', async t => {
    const js = await jsNode('jsin')
    const up = nextEvent<[string, Record<string, unknown>]>(js, 'nodeup', n => n === erl.node)
    t.equal(await erl.eval(`net_kernel:connect_node('${js.name}').`), 'true')
    const [, info] = await up
    t.match(info, { type: 'hidden', protocol: 'erlang', transport: 'tcp' }, 'our nodeup: a hidden Erlang/OTP connection')
    t.ok(await hiddenAtErl(js.name), `erl's nodes(hidden) lists ${js.name}`)
    t.notOk(await visibleAtErl(js.name), 'not in its nodes(): we never offer PUBLISHED')
    t.same(js.nodes('hidden'), [erl.node])
    t.same(js.nodes('visible'), [])
  })

  await t.test('netkernel → erl: connect is true; erl lists us in nodes(hidden)', async t => {
    const js = await jsNode('jsout')
    const up = nextEvent<[string, Record<string, unknown>]>(js, 'nodeup', n => n === erl.node)
    t.equal(await js.connect(erl.node), true)
    t.match((await up)[1], { type: 'hidden', protocol: 'erlang' })
    // erl, the accepting side, sends the last handshake message and only then marks the node
    // up in its net_kernel: our nodeup can come first.
    await waitFor(() => hiddenAtErl(js.name), 5000, `${js.name} in erl's nodes(hidden)`)
    t.ok(await hiddenAtErl(js.name))
    t.notOk(await visibleAtErl(js.name))
  })

  await t.test('a wrong cookie, both ways: refused, typed ERR_AUTH_FAILED, and erl logs it', async t => {
    const js = await jsNode('jsbad', { cookie: 'not-the-cookie' })
    const errors: [string | undefined, ErrInfo][] = []
    js.on('connectError', (n, info) => errors.push([n, info as ErrInfo]))
    t.equal(await erl.eval(`net_kernel:connect_node('${js.name}').`), 'false', 'erl → us: false')
    await waitFor(() => errors.length === 1, 5000, 'the inbound refusal report')
    const [inNode, inInfo] = errors[0]!
    t.equal(inNode, erl.node)
    t.match(inInfo, { direction: 'in', code: 'ERR_AUTH_FAILED' })
    t.match(inInfo.error.message, new RegExp(`${erl.node}.*invalid challenge reply from 127\\.0\\.0\\.1:\\d+.*cookies differ`))

    t.equal(await js.connect(erl.node), false, 'us → erl: false')
    const out = errors.find(([, i]) => i.direction === 'out')
    t.ok(out, 'the dial is reported')
    t.match(out?.[1], { code: 'ERR_AUTH_FAILED' })
    t.match(out?.[1].error.message, new RegExp(`${erl.node} \\(127\\.0\\.0\\.1:\\d+\\) closed the connection after our challenge reply`))
    await erl.waitOutput(new RegExp(`\\*\\* Connection attempt from node ${js.name} rejected\\. Invalid challenge reply\\. \\*\\*`))
    t.pass('erl logged: Connection attempt from node … rejected. Invalid challenge reply.')
    t.same(js.nodes('connected'), [])
    t.notOk(await hiddenAtErl(js.name))
  })

  await t.test('a node without erlang: true refuses OTP both ways with ERR_INCOMPATIBLE', async t => {
    const js = await jsNode('jsoff', { erlang: false })
    const errors: [string | undefined, ErrInfo][] = []
    js.on('connectError', (n, info) => errors.push([n, info as ErrInfo]))
    t.equal(await js.connect(erl.node), false, 'our dial fails (no silent pang)')
    t.equal(errors.length, 1)
    t.match(errors[0], [erl.node, { direction: 'out', code: 'ERR_INCOMPATIBLE' }])
    t.match(errors[0]![1].error.message, new RegExp(`${erl.node} is an Erlang/OTP node .*start this node with erlang: true`))

    t.equal(await erl.eval(`net_kernel:connect_node('${js.name}').`), 'false', 'erl is answered not_allowed')
    await waitFor(() => errors.length === 2, 5000, 'the inbound report')
    t.match(errors[1], [erl.node, { direction: 'in', code: 'ERR_INCOMPATIBLE' }])
    t.match(
      errors[1]![1].error.message,
      new RegExp(`an Erlang/OTP node \\(${erl.node} from 127\\.0\\.0\\.1:\\d+\\) tried to connect; start this node with erlang: true`),
    )
    t.same(js.nodes('connected'), [])
  })

  await t.test('each mandatory flag withheld: OTP refuses, naming it as its log does', async t => {
    // Handshakes by hand (no node): our flags without the digest and without one flag.
    const codec = createCodec('netkernel')
    const deps = (name: string, flags: bigint): HandshakeDeps => ({
      localName: full(name),
      hidden: true,
      longNames: false,
      creation: 4242,
      codec,
      auth: cookieAuth(),
      cookies: new Cookies(COOKIE),
      stepTimeout: 5000,
      allowNode: () => true,
      erlang: true,
      otpFlags: flags,
    })
    const erlPort = (await lookupNode({ host: '127.0.0.1', port: epmd.port, name: erl.node.split('@')[0]! }))!.port
    const dialErl = (): Promise<Conn> => tcp().dial({ host: '127.0.0.1', port: erlPort }, { signal: AbortSignal.timeout(5000) })
    const withoutDigest = DFLAGS_OFFERED & ~DFLAG.MANDATORY_25_DIGEST

    // Controls: the offer without the digest but with all 11 connects, and so does the digest alone.
    for (const [what, flags, name] of [
      ['all 11, no digest', withoutDigest, 'jsctl1'],
      ['the digest instead of the 11', DFLAGS_OFFERED & ~MANDATORY_25.reduce((a, n) => a | DFLAG[n], 0n), 'jsctl2'],
    ] as const) {
      const conn = await dialErl()
      const est = await initiateOtpHandshake(deps(name, flags), conn, erl.node, AbortSignal.timeout(5000))
      t.equal(est.protocol, 'erlang', `control (${what}): connected`)
      conn.destroy()
    }

    // One listener for erl's dials: each accepted connection runs our responder with the flags of the round.
    let respondFlags = withoutDigest
    let respondName = ''
    const responses: Promise<unknown>[] = []
    const listener = await tcp().listen({ host: '127.0.0.1', port: 0 }, conn => {
      // erl gives up after our challenge: each of these rejects (closed), by design.
      responses.push(
        respondOtpHandshake(deps(respondName, respondFlags), conn, AbortSignal.timeout(5000)).then(
          () => conn.destroy(),
          () => conn.destroy(),
        ),
      )
    })
    t.teardown(() => listener.close())

    for (const [i, flag] of MANDATORY_25.entries()) {
      const flags = withoutDigest & ~DFLAG[flag]
      // We dial: erl answers not_allowed and logs the flag.
      const conn = await dialErl()
      const err = (await initiateOtpHandshake(deps(`jsf${i}`, flags), conn, erl.node, AbortSignal.timeout(5000)).then(
        () => undefined,
        (e: NetkernelError) => e,
      )) as NetkernelError | undefined
      conn.destroy()
      t.equal(err?.code, 'ERR_NOT_ALLOWED', `without ${flag}: our dial is answered not_allowed`)
      await erl.waitOutput(
        new RegExp(`Connection attempt from node jsf${i}@${host} rejected since it cannot handle \\["${flag}"\\]\\.`),
        5000,
      )
      // erl dials us: our challenge lacks the flag; erl gives up (pang) and logs it.
      respondName = `jsg${i}`
      respondFlags = flags
      const reg = await registerNode({ host: '127.0.0.1', port: epmd.port, name: respondName, nodePort: listener.address.port })
      t.equal(await erl.eval(`net_adm:ping('${full(respondName)}').`), 'pang', `without ${flag}: erl's ping is pang`)
      await erl.waitOutput(new RegExp(`Connection attempt to node jsg${i}@${host} aborted since it cannot handle \\["${flag}"\\]\\.`), 5000)
      reg.close()
    }
    await Promise.allSettled(responses)
  })

  await t.test("a restarted netkernel node dials erl, which still holds the old connection: 'alive' → true, replaced", async t => {
    const erlPort = (await lookupNode({ host: '127.0.0.1', port: epmd.port, name: erl.node.split('@')[0]! }))!.port
    const resolve = async (): Promise<{ host: string; port: number; protocol: string }> => ({
      host: '127.0.0.1',
      port: erlPort,
      protocol: 'erlang',
    })
    // Two incarnations of one name (no port mapper: it would refuse the second registration).
    const before = await jsNode('jsre', { epmd: false, resolve })
    t.equal(await before.connect(erl.node), true)
    const gone = nextEvent<[string, { reason: string }]>(before, 'nodedown', n => n === erl.node)
    const after = await jsNode('jsre', { epmd: false, resolve })
    t.not(after.creation, before.creation)
    t.equal(await after.connect(erl.node), true, "erl asked 'alive'; the new incarnation answered true and connected")
    t.equal((await gone)[0], erl.node, "erl dropped the old incarnation's connection")
    // (erl lists the new connection once its net_kernel has taken it over from the old one: a
    // moment after our side is up, under load.)
    let listed = false
    for (let i = 0; i < 50 && !(listed = await hiddenAtErl(after.name)); i++) await new Promise(r => setTimeout(r, 100))
    t.ok(listed, "erl's nodes(hidden) lists the new incarnation")
    t.equal(await erl.eval(`length([N || {N, _} <- erlang:system_info(dist_ctrl), N =:= '${after.name}']).`), '1')
  })

  await t.test('simultaneous connects settle on exactly one connection, whichever name is greater', async t => {
    for (const name of ['zsim', 'asim']) {
      const js = await jsNode(name)
      let ups = 0
      let downs = 0
      js.on('nodeup', n => n === erl.node && ups++)
      js.on('nodedown', n => n === erl.node && downs++)
      let collisions = 0
      js.on('connectError', (n, info) => n === erl.node && info.code === 'ERR_ALREADY_CONNECTED' && collisions++)
      for (let i = 0; i < ROUNDS; i++) {
        ups = 0
        downs = 0
        const [theirs, ours] = await Promise.all([
          erl.eval(`net_kernel:connect_node('${js.name}').`),
          new Promise(r => setTimeout(r, i % 5)).then(() => js.connect(erl.node)),
        ])
        t.equal(theirs, 'true', `${name} #${i}: erl connected`)
        t.equal(ours, true, `${name} #${i}: we connected`)
        await new Promise(r => setTimeout(r, 30))
        const dist = await erl.eval(`length([N || {N, _} <- erlang:system_info(dist_ctrl), N =:= '${js.name}']).`)
        if (dist !== '1' || ups !== 1 || downs !== 0 || js.stats().connections.length !== 1 || !(await hiddenAtErl(js.name))) {
          t.fail(
            `${name} #${i}: erl has ${dist} connections, we had ${ups} nodeup / ${downs} nodedown, ${js.stats().connections.length} up`,
          )
          break
        }
        const down = nextEvent(js, 'nodedown', n => n === erl.node)
        await erl.eval(`erlang:disconnect_node('${js.name}').`)
        await down
        await waitFor(async () => !(await hiddenAtErl(js.name)), 5000, 'erl to forget the connection')
      }
      t.pass(`${name}: ${ROUNDS} rounds, one connection each (${collisions} inbound attempts refused as the lesser name's)`)
      await js.stop()
    }
  })
})
