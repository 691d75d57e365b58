// Net kernel policy and strategies (issue 4): policy.allowNode as an allow list refuses a
// node that is not on it, before authentication, with ERR_NOT_ALLOWED reported on both sides
// (as OTP's net_kernel:allow/1, checked by the accepting node); and a custom Authenticator,
// a plain object of a few lines, replaces the cookie one with no kernel change.
import t from 'tap'
import type { Node } from '../lib/node.js'
import type { AuthContext, AuthResult, Authenticator, HandshakeChannel } from '../lib/authenticator.js'
import { AuthError } from '../lib/errors.js'
import { testEpmd, testNode, full, inProcess, nextEvent } from './fixtures/cluster.js'
import { waitUntil } from './fixtures/mesh-helpers.js'

type ErrArgs = [string | undefined, { direction: string; code: string; error: Error }]

function connectErrors(n: Node): ErrArgs[] {
  const out: ErrArgs[] = []
  n.on('connectError', (...a) => out.push(a as ErrArgs))
  return out
}

t.test('policy.allowNode allow list: a node not on it is refused (ERR_NOT_ALLOWED both sides)', async t => {
  const epmd = await testEpmd(t)
  const asked: [string, { address: string; hidden: boolean }][] = []
  const allowed = new Set([full('friend')])
  const gate = await testNode(t, epmd, {
    name: 'gate',
    policy: {
      allowNode: (name, info) => {
        asked.push([name, info])
        return allowed.has(name)
      },
    },
  })
  const friend = await testNode(t, epmd, { name: 'friend' })
  const stranger = await testNode(t, epmd, { name: 'stranger' })
  const gateErrors = connectErrors(gate)
  const strangerErrors = connectErrors(stranger)
  const strangerDown = nextEvent<[string, { reason: string; error: Error }]>(stranger, 'nodedown', n => n === gate.name)

  t.equal(await friend.connect(gate.name), true, 'a node on the list connects')
  t.equal(await stranger.connect(gate.name), false, 'a node not on the list does not')
  await waitUntil(() => gateErrors.length === 1, 'gate reported the refusal')
  t.same(
    gateErrors.map(([n, i]) => [n, i.direction, i.code]),
    [[stranger.name, 'in', 'ERR_NOT_ALLOWED']],
    'gate: connectError ERR_NOT_ALLOWED (inbound), naming the node the hello claimed',
  )
  t.match(gateErrors[0]![1].error.message, stranger.name, "gate's error names the refused node")
  t.same(
    strangerErrors.map(([n, i]) => [n, i.direction, i.code]),
    [[gate.name, 'out', 'ERR_NOT_ALLOWED']],
    'stranger: connectError ERR_NOT_ALLOWED (outbound)',
  )
  const [, info] = await strangerDown
  t.equal(info.reason, 'connection_setup_failed')
  t.match(info.error, { code: 'ERR_NOT_ALLOWED' })
  t.same(
    asked.map(([n, i]) => [n, i.address, i.hidden]),
    [
      [friend.name, '127.0.0.1', false],
      [stranger.name, '127.0.0.1', false],
    ],
    'allowNode was asked with the name, address and hidden flag',
  )
  await waitUntil(() => gate.nodes().length === 1, 'gate sees friend')
  t.same(gate.nodes(), [friend.name], 'gate is connected to friend only')
  t.same(stranger.nodes(), [])

  // A message from the stranger is dropped; one from the friend arrives.
  const inbox: unknown[] = []
  gate.register(
    'inbox',
    gate.spawn(async proc => {
      for (;;) inbox.push(await proc.receive())
    }),
  )
  stranger.send(['inbox', gate.name], 'from stranger')
  friend.send(['inbox', gate.name], 'from friend')
  await waitUntil(() => inbox.length === 1, 'friend message arrived')
  await new Promise(r => setTimeout(r, 200))
  t.same(inbox, ['from friend'], "the stranger's message never arrived")

  // The list can change at run time: the stranger is allowed now.
  allowed.add(stranger.name)
  t.equal(await stranger.connect(gate.name), true, 'once on the list, it connects')
})

/** A tiny custom authenticator: a shared passphrase sent as is (for the test, not for real use). */
function passphrase(secret: string): Authenticator {
  return {
    name: 'passphrase',
    async initiate(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
      ch.send({ pass: secret })
      const r = await ch.receive({ signal: ctx.signal })
      if (r.ok !== true) throw new AuthError('ERR_AUTH_FAILED', `${ctx.peerName} refused our passphrase`)
      return { peerName: ctx.peerName, info: { scheme: 'passphrase' } }
    },
    async respond(ch: HandshakeChannel, ctx: AuthContext): Promise<AuthResult> {
      const m = await ch.receive({ signal: ctx.signal })
      const ok = m.pass === secret
      ch.send({ ok })
      if (!ok) throw new AuthError('ERR_AUTH_FAILED', `${ctx.peerName} sent a wrong passphrase`)
      return { peerName: ctx.peerName, info: { scheme: 'passphrase' } }
    },
  }
}

t.test('a custom Authenticator replaces the cookie one', async t => {
  const epmd = await testEpmd(t)
  // Different cookies on purpose: only the custom authenticator decides.
  const a = await testNode(t, epmd, { name: 'pa', auth: passphrase('open sesame'), cookie: 'one' })
  const b = await testNode(t, epmd, { name: 'pb', auth: passphrase('open sesame'), cookie: 'two' })
  const c = await testNode(t, epmd, { name: 'pc', auth: passphrase('wrong'), cookie: 'one' })
  const up = nextEvent<[string, Record<string, unknown>]>(b, 'nodeup', n => n === a.name)
  t.equal(await a.connect(b.name), true, 'same passphrase: connected')
  const [, info] = await up
  t.match(info, { type: 'visible', scheme: 'passphrase' }, 'nodeup info carries what the authenticator reported')
  const reply = await inProcess(a, async proc => {
    const pid = await proc.spawn(b.name, 't', 'echo', [])
    proc.send(pid, ['hi', proc.self])
    return proc.receive(undefined, { timeout: 5000 })
  })
  t.same(reply, ['hi', b.name], 'and messages flow')

  const errs = connectErrors(c)
  t.equal(await c.connect(b.name), false, 'another passphrase: refused')
  t.same(
    errs.map(([, i]) => i.code),
    ['ERR_AUTH_FAILED'],
  )
})
