// The handshake (lib/kernel/handshake-channel.ts's FramedChannel, handshake.ts's steps and the
// cookie authenticator) over a fake Conn: one side of a connection setup, fed a peer's bytes
// in chunks, then the peer's end. The first input byte picks the side (even: responder, odd:
// initiator). Every setup must end in a NetkernelError (or succeed); a refusal wrapping a
// JavaScript error (FramedChannel's catch-all) is a finding.
import { initiateHandshake, respondHandshake, type HandshakeDeps, type HandshakeEvent } from '../../lib/kernel/handshake.js'
import type { Verdict } from '../../lib/kernel/setup-machine.js'
import { createCodec } from '../../lib/terms/codec.js'
import { Cookies } from '../../lib/kernel/cookie-store.js'
import { cookie } from '../../auth/cookie.js'
import { chunks } from '../mutate.js'
import { fakeConn, type FakeConn } from '../fake-conn.js'
import { bodiesOf, corpusNames, handshakeStreams } from '../seeds.js'
import { handshakeMessageArb, sample } from '../terms-arb.js'
import { checkCause, type FuzzTarget } from '../target.js'

const codec = createCodec()
const auth = cookie()
/** The cookie of every fuzzed setup (the captured handshakes' own). */
export const FUZZ_COOKIE = 'capture-cookie'
const cookies = new Cookies(FUZZ_COOKIE)
/** The setup machine's answers the fuzzer picks among (by the variant's bits; otp-handshake.ts too). */
export function verdictFor(ev: HandshakeEvent, variant: number): Verdict {
  if (ev.e === 'alive_asked') return { a: 'answer_alive', node: ev.node, replace: (variant & 8) !== 0 }
  if (ev.e === 'authenticated' && ev.replace && (variant & 16) !== 0) return { a: 'refuse', node: ev.node, status: 'alive' }
  if (ev.e !== 'hello') return { a: 'accept', node: ev.node }
  const pick = (variant >>> 8) % 5
  if (pick === 2) return { a: 'ask_alive', node: ev.node }
  if (pick === 3) return { a: 'refuse', node: ev.node, status: 'nok' }
  if (pick === 4) return { a: 'refuse', node: ev.node, status: 'alive' }
  return { a: 'accept', node: ev.node }
}

/** A string field of the first message, if it decodes: the names the captured peer expects. */
function field(stream: Buffer, key: string): string | undefined {
  const first = bodiesOf(stream)[0]
  if (first === undefined) return undefined
  try {
    const m = codec.decode(first) as Record<string, unknown>
    return typeof m?.[key] === 'string' ? (m[key] as string) : undefined
  } catch {
    return undefined
  }
}

/** Captured handshakes, and runs of one to three fast-check messages for either side. */
function seeds(): Buffer[] {
  const msgs = sample(handshakeMessageArb(corpusNames()), 900, 3)
  const made: Buffer[] = []
  for (let i = 0; i + 3 <= msgs.length; i += 3) {
    made.push(Buffer.concat([Buffer.of(i & 1), ...msgs.slice(i, i + 1 + ((i / 3) % 3)).map(m => codec.encodeFrame(m))]))
  }
  return [...handshakeStreams(), ...made]
}

/** A setup's deps as the fuzzer runs it: the variant's bits pick long names, the node policy's answer and the setup machine's (verdictFor). */
export function fuzzDeps(variant: number, localName: string): HandshakeDeps {
  return {
    localName,
    hidden: false,
    longNames: (variant & 64) !== 0,
    creation: 1,
    codec,
    auth,
    cookies,
    stepTimeout: 1000,
    allowNode: () => (variant & 32) === 0,
    setup: ev => verdictFor(ev, variant),
  }
}

/**
 * One side of a setup, `start`ed on a fake Conn fed the peer's `stream` in the variant's chunks,
 * then its end. It must succeed or fail with a NetkernelError that hides no JavaScript error.
 */
export async function driveSetup(
  stream: Buffer,
  variant: number,
  start: (conn: FakeConn, signal: AbortSignal) => Promise<unknown>,
  erlangHandshakeFraming?: 2 | 4,
): Promise<void> {
  const conn = fakeConn({ erlangHandshakeFraming })
  const setup = start(conn, new AbortController().signal)
  for (const c of chunks(stream, variant)) conn.feed(c)
  conn.end()
  try {
    await setup
  } catch (err) {
    checkCause(err)
    throw err
  }
}

export const handshake: FuzzTarget = {
  name: 'handshake',
  seeds,
  async run(input, variant) {
    if (input.length === 0) return
    const responder = (input[0]! & 1) === 0
    const stream = input.subarray(1)
    const deps = fuzzDeps(variant, (responder ? field(stream, 'to') : undefined) ?? 'local@host')
    await driveSetup(stream, variant, (conn, signal) =>
      responder ? respondHandshake(deps, conn, signal) : initiateHandshake(deps, conn, field(stream, 'name') ?? 'peer@host', signal),
    )
  },
}
