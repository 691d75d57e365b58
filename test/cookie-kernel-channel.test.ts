// The Authenticator compliance suite for cookie(), run over the kernel's real handshake
// channel on a TCP connection (the in-memory channel pair runs it in cookie-auth.test.ts).
import t from 'tap'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { authenticatorCompliance, handshakeSession, kernelFaults } from '../lib/compliance/index.js'
import { tapCompliance } from './fixtures/compliance-tap.js'
import { full } from './fixtures/cluster.js'

const A = full('a')
const B = full('b')

tapCompliance(
  t,
  'cookie over the kernel channel: Authenticator compliance',
  authenticatorCompliance({
    faults: kernelFaults,
    setup: () => ({
      a: cookie(),
      b: cookie(),
      good: () => handshakeSession({ name: A, cookies: new Cookies('SECRET') }, { name: B, cookies: new Cookies('SECRET') }),
      bad: () => handshakeSession({ name: A, cookies: new Cookies('SECRET') }, { name: B, cookies: new Cookies('OTHER') }),
    }),
  }),
)
