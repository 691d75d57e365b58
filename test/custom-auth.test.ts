// A custom Authenticator, examples/signature-auth.ts as a user copies it (importing from
// 'netkernel', here resolved to this checkout's source), passes the same compliance suite as
// cookie() and tlsCert(), over the kernel's real handshake channel, and plugs into nodes with
// no change to the kernel.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { register } from 'node:module'
import { authenticatorCompliance, handshakeSession, kernelFaults } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'
import { testEpmd, testNode, full, inProcess, nextEvent } from './fixtures/cluster.js'

register('./fixtures/netkernel-source-hooks.mjs', import.meta.url)
const { signatureAuth } = await import('../examples/signature-auth.js')

const A = full('a')
const B = full('b')
const ka = generateKeyPairSync('ed25519')
const kb = generateKeyPairSync('ed25519')
const stranger = generateKeyPairSync('ed25519')

tapCompliance(
  t,
  'custom signature authenticator: Authenticator compliance',
  authenticatorCompliance({
    faults: kernelFaults,
    setup: () => ({
      a: signatureAuth({ privateKey: ka.privateKey, peers: { [B]: kb.publicKey } }),
      b: signatureAuth({ privateKey: kb.privateKey, peers: { [A]: ka.publicKey } }),
      good: () => handshakeSession({ name: A }, { name: B }),
      // The credential lives in the authenticator here (not in the cookie store): in a bad
      // session b trusts another key for a.
      bad: () =>
        handshakeSession({ name: A }, { name: B, auth: signatureAuth({ privateKey: kb.privateKey, peers: { [A]: stranger.publicKey } }) }),
    }),
  }),
)

t.test('nodes use the custom authenticator with no kernel change; an untrusted key is refused', async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, {
    name: 'bar',
    auth: signatureAuth({ privateKey: kb.privateKey, peers: { [full('foo')]: ka.publicKey } }),
  })
  const foo = await testNode(t, epmd, {
    name: 'foo',
    auth: signatureAuth({ privateKey: ka.privateKey, peers: { [bar.name]: kb.publicKey } }),
  })
  const reply = await inProcess(foo, async proc => {
    await proc.spawn(bar.name, 's', 'server', [])
    proc.send(['server', bar.name], ['signed', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.equal(reply, 'signed')
  const mallory = await testNode(t, epmd, {
    name: 'mallory',
    auth: signatureAuth({ privateKey: stranger.privateKey, peers: { [bar.name]: kb.publicKey } }),
  })
  const refused = nextEvent<[string | undefined, { code: string }]>(mallory, 'connectError')
  t.equal(await mallory.connect(bar.name), false, 'a node whose key bar does not trust is refused')
  t.equal((await refused)[1].code, 'ERR_AUTH_FAILED')
})
