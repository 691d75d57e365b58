// The Erlang/OTP handshake (lib/kernel/otp/otp-handshake.ts over otp-channel.ts's frames) on
// either side, as handshake.ts fuzzes the native one: any peer whose first bytes look like
// OTP's name message reaches the responder before it has proven anything (protocol-sniff.ts).
// The first input byte picks the side (bit 0 clear: responder, set: initiator) and the frames'
// length prefix (bit 1 clear: 2 bytes, as over TCP; set: 4, as over TLS, OTP's inet_tls); the
// rest is what the peer sends, fed in chunks, then its end. Every setup must end in a
// NetkernelError (or succeed); one that hides a JavaScript error is a finding. The challenges
// are random, so no input gets past a digest: what follows it is the tests' (otp-handshake-raw).
import {
  respondOtpHandshake,
  initiateOtpHandshake,
  otpChallengeMessage,
  otpDigest,
  otpNameMessage,
} from '../../lib/kernel/otp/otp-handshake.js'
import { DFLAG, DFLAGS_MANDATORY_25, DFLAGS_OFFERED } from '../../lib/kernel/otp/flags.js'
import type { HandshakeDeps } from '../../lib/kernel/handshake.js'
import type { FuzzTarget } from '../target.js'
import { FUZZ_COOKIE, driveSetup, fuzzDeps } from './handshake.js'

const LOCAL = 'local@host'
const PEER = 'peer@host'
const FLAGS = DFLAGS_OFFERED | DFLAG.PUBLISHED

/** Handshake messages as OTP frames them: a 2-byte length (4 over TLS), then the body. */
function framed(head: 2 | 4, ...bodies: Buffer[]): Buffer {
  const len = (n: number): Buffer =>
    head === 4 ? Buffer.of(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff) : Buffer.of(n >> 8, n & 0xff)
  return Buffer.concat(bodies.flatMap(b => [len(b.length), b]))
}

const status = (s: string): Buffer => Buffer.concat([Buffer.from('s'), Buffer.from(s, 'latin1')])

/** 'r' Challenge:32 Digest:16, answering a challenge of 0. */
function challengeReply(): Buffer {
  const b = Buffer.alloc(21)
  b[0] = 0x72
  b.writeUInt32BE(7, 1)
  otpDigest(0, FUZZ_COOKIE).copy(b, 5)
  return b
}

/** The old 'n' Version:16 Flags:32 Name, and its complement 'c' FlagsHigh:32 Creation:32. */
function oldName(name: string): Buffer[] {
  const n = Buffer.alloc(7 + name.length)
  n[0] = 0x6e
  n.writeUInt16BE(5, 1)
  n.writeUInt32BE(Number(FLAGS & 0xffffffffn), 3)
  n.write(name, 7, 'latin1')
  const c = Buffer.alloc(9)
  c[0] = 0x63
  c.writeUInt32BE(Number(FLAGS >> 32n), 1)
  c.writeUInt32BE(42, 5)
  return [n, c]
}

/** What a dialler sends a responder (role 0) and what a responder answers a dialler (role 1). */
function seeds(): Buffer[] {
  const ack = Buffer.concat([Buffer.from('a'), otpDigest(0, FUZZ_COOKIE)])
  const toResponder = [
    [otpNameMessage(FLAGS, 42, PEER), challengeReply()],
    [otpNameMessage(DFLAGS_OFFERED, 42, PEER), challengeReply()],
    [otpNameMessage(FLAGS, 42, PEER), status('true'), challengeReply()],
    [otpNameMessage(FLAGS, 42, PEER), status('false')],
    [otpNameMessage(DFLAGS_MANDATORY_25 & ~DFLAG.BIG_CREATION, 42, PEER)], // lacks a mandatory flag
    [otpNameMessage(FLAGS, 42, LOCAL)],
    [...oldName(PEER), challengeReply()],
  ]
  const toInitiator = [
    [status('ok'), otpChallengeMessage(FLAGS, 0, 42, PEER), ack],
    [status('ok_simultaneous'), otpChallengeMessage(DFLAGS_OFFERED, 0, 42, PEER), ack],
    [status('alive'), otpChallengeMessage(FLAGS, 0, 42, PEER), ack],
    [status('nok')],
    [status('not_allowed')],
    [status('named:'), otpChallengeMessage(FLAGS, 0, 42, PEER)],
    [status('ok'), otpChallengeMessage(FLAGS, 0, 42, 'other@host'), ack],
  ]
  return [
    ...toResponder.map(m => Buffer.concat([Buffer.of(0), framed(2, ...m)])),
    ...toInitiator.map(m => Buffer.concat([Buffer.of(1), framed(2, ...m)])),
    ...toResponder.map(m => Buffer.concat([Buffer.of(2), framed(4, ...m)])),
    ...toInitiator.map(m => Buffer.concat([Buffer.of(3), framed(4, ...m)])),
  ]
}

export const otpHandshake: FuzzTarget = {
  name: 'otp-handshake',
  seeds,
  async run(input, variant) {
    if (input.length === 0) return
    const responder = (input[0]! & 1) === 0
    const deps: HandshakeDeps = {
      ...fuzzDeps(variant, LOCAL),
      hidden: (variant & 128) !== 0,
      erlang: (variant & 4) === 0,
      dialling: () => (variant & 2) !== 0,
    }
    await driveSetup(
      input.subarray(1),
      variant,
      (conn, signal) => (responder ? respondOtpHandshake(deps, conn, signal) : initiateOtpHandshake(deps, conn, PEER, signal)),
      (input[0]! & 2) === 0 ? 2 : 4,
    )
  },
}
