// A custom Authenticator (test/fixtures/signature-auth.ts) passes the same compliance suite
// as cookie() and tlsCert(), over the kernel's real handshake channel, and plugs into nodes
// with no change to the kernel.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { authComplianceSuite } from './fixtures/auth-compliance.js'
import { kernelFaults, kernelSession } from './fixtures/kernel-channel.js'
import { signatureAuth } from './fixtures/signature-auth.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import type { Authenticator } from '../lib/kernel/strategy.js'
import { testEpmd, testNode, full, inProcess, nextEvent } from './fixtures/cluster.js'

const A = full('a')
const B = full('b')
const ka = generateKeyPairSync('ed25519')
const kb = generateKeyPairSync('ed25519')
const stranger = generateKeyPairSync('ed25519')
const cookies = new Cookies('unused')

// The suite calls the same two authenticators for every session; a "bad" session is one in
// which b trusts another key for a (the credential lives in the authenticator here, not in
// the cookie store), so b's authenticator is picked per session.
let badSession = false
const bGood = signatureAuth({ privateKey: kb.privateKey, peers: { [A]: ka.publicKey } })
const bBad = signatureAuth({ privateKey: kb.privateKey, peers: { [A]: stranger.publicKey } })
const b: Authenticator = {
  name: 'signature',
  initiate: (ch, ctx) => (badSession ? bBad : bGood).initiate(ch, ctx),
  respond: (ch, ctx) => (badSession ? bBad : bGood).respond(ch, ctx),
}

authComplianceSuite(t, {
  name: 'custom signature authenticator',
  faults: kernelFaults,
  setup: async () => ({
    a: signatureAuth({ privateKey: ka.privateKey, peers: { [B]: kb.publicKey } }),
    b,
    good: () => {
      badSession = false
      return kernelSession({ name: A, cookies }, { name: B, cookies })
    },
    bad: () => {
      badSession = true
      return kernelSession({ name: A, cookies }, { name: B, cookies })
    },
  }),
})

t.test('nodes use the custom authenticator with no kernel change; an untrusted key is refused', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'bar', auth: signatureAuth({ privateKey: kb.privateKey, peers: { [full('foo')]: ka.publicKey } }) })
  const foo = await testNode(t, epmd, { name: 'foo', auth: signatureAuth({ privateKey: ka.privateKey, peers: { [bar.name]: kb.publicKey } }) })
  const reply = await inProcess(foo, async proc => {
    await proc.spawn(bar.name, 's', 'server', [])
    proc.send(['server', bar.name], ['signed', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.equal(reply, 'signed')
  const mallory = await testNode(t, epmd, { name: 'mallory', auth: signatureAuth({ privateKey: stranger.privateKey, peers: { [bar.name]: kb.publicKey } }) })
  const refused = nextEvent<[string | undefined, { code: string }]>(mallory, 'connectError')
  t.equal(await mallory.connect(bar.name), false, 'a node whose key bar does not trust is refused')
  t.equal((await refused)[1].code, 'ERR_AUTH_FAILED')
})
