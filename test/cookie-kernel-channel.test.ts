// The Authenticator compliance suite for cookie(), run over the kernel's real handshake
// channel on a TCP connection (the in-memory channel pair runs it in cookie-auth.test.ts).
import t from 'tap'
import { cookie } from '../auth/cookie.js'
import { Cookies } from '../lib/kernel/cookie-store.js'
import { authComplianceSuite } from './fixtures/auth-compliance.js'
import { kernelFaults, kernelSession } from './fixtures/kernel-channel.js'
import { full } from './fixtures/cluster.js'

const A = full('a')
const B = full('b')

authComplianceSuite(t, {
  name: 'cookie over the kernel channel',
  faults: kernelFaults,
  setup: async () => ({
    a: cookie(),
    b: cookie(),
    good: () => kernelSession({ name: A, cookies: new Cookies('SECRET') }, { name: B, cookies: new Cookies('SECRET') }),
    bad: () => kernelSession({ name: A, cookies: new Cookies('SECRET') }, { name: B, cookies: new Cookies('OTHER') }),
  }),
})
