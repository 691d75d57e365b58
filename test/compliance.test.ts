// netkernel/compliance itself: a case throws an AssertionError naming what does not comply,
// each case sets up a fresh fixture and tears it down (and everything it opened) pass or
// fail, and a case that never finishes fails at its deadline instead of hanging the runner.
import t from 'tap'
import { AssertionError } from 'node:assert'
import {
  authenticatorCompliance,
  handshakeSession,
  kernelFaults,
  transportCompliance,
  type ComplianceCase,
} from '../lib/compliance/index.js'
import { AuthError } from '../lib/errors.js'
import { Duplex } from 'node:stream'
import type { Conn, Transport } from '../lib/transport.js'
import type { Authenticator } from '../lib/authenticator.js'
import { tcp } from '../transports/tcp.js'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'

const byName = (cases: ComplianceCase[], prefix: string): ComplianceCase => {
  const c = cases.find(c => c.name.startsWith(prefix))
  if (!c) throw new Error(`no case ${prefix}`)
  return c
}

/** Listening sockets still open (after a moment: a closed server's handle goes a tick later). */
const servers = async (): Promise<number> => {
  await new Promise(r => setTimeout(r, 20))
  return process.getActiveResourcesInfo().filter(r => r === 'TCPServerWrap').length
}

const failure = (p: Promise<void>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

t.test('an authenticator that trusts anyone fails the refusal cases with an AssertionError', async t => {
  const gullible: Authenticator = {
    name: 'gullible',
    initiate: async (_ch, ctx) => ({ peerName: ctx.peerName }),
    respond: async (_ch, ctx) => ({ peerName: ctx.peerName }),
  }
  const cases = authenticatorCompliance({
    setup: () => ({
      a: gullible,
      b: gullible,
      good: () => handshakeSession({ name: 'a@h' }, { name: 'b@h' }),
      bad: () => handshakeSession({ name: 'a@h' }, { name: 'b@h' }),
    }),
    exchangesMessages: false,
  })
  await byName(cases, 'mutual success:').run()
  const e = await failure(byName(cases, 'wrong credentials').run())
  t.ok(e instanceof AssertionError, 'an AssertionError', { found: e })
  t.match((e as Error).message, /initiator: expected a refusal, got success/)
  t.equal(cases.length, 9, 'without message exchange, no replay or garbage cases')
  t.equal(
    authenticatorCompliance({
      setup: () => {
        throw new Error('unused')
      },
    }).length,
    13,
  )
})

t.test("the Authenticator suite passes cookie() over the kernel channel, and a side's auth replaces the fixture's", async t => {
  const refusing: Authenticator = {
    ...cookie(),
    name: 'refusing',
    respond: async () => {
      throw new Error('not called')
    },
  }
  let usedOverride = false
  const cases = authenticatorCompliance({
    setup: () => ({
      a: cookie(),
      b: refusing,
      good: () =>
        handshakeSession(
          { name: 'a@h', cookies: new Cookies('S') },
          {
            name: 'b@h',
            cookies: new Cookies('S'),
            auth: { ...cookie(), respond: (ch, ctx) => ((usedOverride = true), cookie().respond(ch, ctx)) },
          },
        ),
      bad: () => handshakeSession({ name: 'a@h', cookies: new Cookies('S') }, { name: 'b@h', cookies: new Cookies('T'), auth: cookie() }),
    }),
  })
  await byName(cases, 'mutual success:').run()
  await byName(cases, 'wrong credentials').run()
  t.ok(usedOverride, "the session's responder ran its own authenticator")
})

t.test("faults add the channel contract cases; an authenticator that re-maps the channel's errors fails them", async t => {
  // Passes every error on as ERR_AUTH_FAILED instead of the channel's own.
  const remapping: Authenticator = {
    ...cookie(),
    initiate: (ch, ctx) =>
      cookie()
        .initiate(ch, ctx)
        .catch((err: Error) => Promise.reject(new AuthError('ERR_AUTH_FAILED', `remapped: ${err.message}`))),
  }
  const cases = authenticatorCompliance({
    faults: kernelFaults,
    setup: () => ({
      a: remapping,
      b: cookie(),
      good: () => handshakeSession({ name: 'a@h', cookies: new Cookies('S') }, { name: 'b@h', cookies: new Cookies('S') }),
      bad: () => handshakeSession({ name: 'a@h', cookies: new Cookies('S') }, { name: 'b@h', cookies: new Cookies('T') }),
    }),
  })
  t.equal(cases.length, 13 + 10, 'five contract cases per role (kernelFaults can garble)')
  await byName(cases, 'channel contract, initiator: garbage').run()
  await byName(cases, 'channel contract, responder: the peer closes mid-handshake').run()
  const e = await failure(byName(cases, 'channel contract, initiator: the peer closes mid-handshake').run())
  t.ok(e instanceof AssertionError, 'an AssertionError', { found: e })
  t.match((e as Error).message, /initiator: code ERR_AUTH_FAILED is one of ERR_CONNECTION_CLOSED/)
})

t.test('a transport reporting another name fails; every case gets a fresh fixture, torn down pass or fail', async t => {
  let setups = 0
  let teardowns = 0
  const before = await servers()
  const cases = transportCompliance({
    name: 'not-tcp',
    setup: () => (setups++, { transport: tcp(), host: '127.0.0.1' }),
    teardown: () => void teardowns++,
  })
  const e = await failure(byName(cases, 'listen on port 0').run())
  t.ok(e instanceof AssertionError, 'an AssertionError', { found: e })
  t.match((e as AssertionError).actual, 'tcp')
  t.equal(await servers(), before, 'the listener the failing case opened is closed')
  await byName(cases, 'dial and accept').run()
  t.same([setups, teardowns], [2, 2], 'one setup and one teardown per case')
  t.equal(cases.length, 15)
})

t.test('a Conn that says copiesWrites but sends a written buffer later, by reference, fails the copiesWrites case', async t => {
  const inner = tcp()
  // Its write callback comes at once; the bytes go to the socket a turn later, from the
  // caller's buffer, by then overwritten (as a queue of references, a PassThrough, would).
  const byReference = (c: Conn): Conn => {
    const sock = c.stream
    const stream = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        cb()
        setImmediate(() => sock.write(chunk))
      },
    })
    sock.on('data', (d: Buffer) => stream.push(d))
    sock.on('end', () => stream.push(null))
    return { ...c, stream, copiesWrites: true, close: () => c.close(), destroy: (err?: Error) => (stream.destroy(), c.destroy(err)) }
  }
  const lying: Transport = {
    name: 'lying',
    listen: (o, on) => inner.listen(o, c => on(byReference(c))),
    dial: async (a, o) => byReference(await inner.dial(a, o)),
  }
  const before = await servers()
  const c = byName(transportCompliance({ name: 'lying', setup: () => ({ transport: lying, host: '127.0.0.1' }) }), 'copiesWrites')
  const e = await failure(c.run())
  t.ok(e instanceof AssertionError, 'an AssertionError', { found: e })
  t.match((e as Error).message, /the peer read what each write held when it was made/)
  t.equal(await servers(), before, 'the listener is closed')
  // The same streams without the claim: nothing to check, the case passes.
  const honest: Transport = {
    name: 'honest',
    listen: (o, on) => inner.listen(o, c => on({ ...byReference(c), copiesWrites: false })),
    dial: async (a, o) => ({ ...byReference(await inner.dial(a, o)), copiesWrites: false }),
  }
  await byName(transportCompliance({ name: 'honest', setup: () => ({ transport: honest, host: '127.0.0.1' }) }), 'copiesWrites').run()
})

t.test('a case that never finishes fails at caseTimeout, and its cleanups still run', async t => {
  const inner = tcp()
  const stuck: Transport = { name: 'stuck', listen: (o, on) => inner.listen(o, on), dial: () => new Promise(() => {}) }
  let tornDown = false
  const before = await servers()
  const c = byName(
    transportCompliance({
      name: 'stuck',
      caseTimeout: 200,
      setup: () => ({ transport: stuck, host: '127.0.0.1' }),
      teardown: () => void (tornDown = true),
    }),
    'dial and accept',
  )
  const start = Date.now()
  const e = await failure(c.run())
  const ms = Date.now() - start
  t.ok(e instanceof AssertionError, 'an AssertionError', { found: e })
  t.match((e as Error).message, /dial and accept.*did not finish within 200 ms/)
  t.ok(ms >= 190 && ms < 2000, `failed at the deadline (${ms} ms)`)
  t.ok(tornDown, 'teardown ran')
  t.equal(await servers(), before, 'the listener is closed')
})
