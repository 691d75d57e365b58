// netkernel/compliance: the Transport and Authenticator compliance suites, for any test runner.
//
// A suite is a function of a `{ setup, teardown }` fixture factory returning a list of cases
// `{ name, run() }`. run() calls setup() for a fresh fixture, checks one behaviour, releases
// what it opened and calls teardown(fixture); it resolves when the implementation complies
// and throws (an AssertionError of node:assert, or the implementation's own unexpected
// error) when it does not. Nothing here depends on a test runner: register each case with
// yours, e.g. with node:test
//
//   import { describe, it } from 'node:test'
//   describe('my transport', () => {
//     for (const c of transportCompliance({ name: 'quic', setup: () => ({ transport: quic(), host: '127.0.0.1' }) })) it(c.name, c.run)
//   })
//
// (mocha and vitest: the same with their describe/it; tap: t.test(c.name, c.run)).
export { transportCompliance } from './transport.js'
export type { TransportComplianceOptions, TransportFixture } from './transport.js'
export { authenticatorCompliance } from './authenticator.js'
export type {
  AuthenticatorComplianceOptions,
  AuthFixture,
  ChannelFaults,
  AuthSession,
  SessionSide,
  SideContext,
  SuiteChannel,
  TranscriptEntry,
} from './authenticator.js'
export { handshakeSession, kernelFaults } from './handshake-session.js'
export type { HandshakeSessionOptions, SessionNode } from './handshake-session.js'
export type { ComplianceCase, ComplianceSetup } from './case.js'
