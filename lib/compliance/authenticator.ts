// The Authenticator compliance suite: what every authenticator (cookie, tls-cert, a user's
// own) must do. Its fixture hands out fresh sessions: two connected handshake channels and
// the contexts of the dialling side (a, runs initiate) and the accepting side (b, runs
// respond). handshakeSession() makes one over the kernel's real channel; a fixture may bring
// its own channels, if each side keeps a transcript of what it sent and received.
import { Buffer } from 'node:buffer'
import assert from 'node:assert/strict'
import type { AuthContext, AuthResult, Authenticator, HandshakeChannel, HandshakeMessage } from '../authenticator.js'
import { NetkernelError } from '../errors.js'
import { complianceCase, type CaseBody, type CaseScope, type ComplianceCase, type ComplianceSetup } from './case.js'
import { expectTyped, shown } from './expect.js'

/** One message of a handshake as one side saw it. */
export interface TranscriptEntry {
  /** 'out' = this side sent it; 'in' = this side received it (in receive order). */
  dir: 'out' | 'in'
  msg: HandshakeMessage
}

export interface SuiteChannel extends HandshakeChannel {
  /** What this side sent ('out') and received ('in'), in order: used to replay a session. */
  readonly transcript: ReadonlyArray<TranscriptEntry>
}

/** An AuthContext without the setup signal (the suite adds it). */
export type SideContext = Omit<AuthContext, 'signal'>

/** One side of a session. */
export interface SessionSide {
  ch: SuiteChannel
  ctx: SideContext
  /**
   * The authenticator this side runs in this session (default: the fixture's `a` for the
   * initiator, `b` for the responder). For credentials that live in the authenticator (keys),
   * a bad() session gives one side an authenticator that does not trust the other.
   */
  auth?: Authenticator
}

export interface AuthSession {
  /** The dialling side: runs initiate(ch, ctx) of its auth, by default the fixture's a. */
  initiator: SessionSide
  /** The accepting side: runs respond(ch, ctx) of its auth, by default the fixture's b. */
  responder: SessionSide
  /** Release what the session holds (sockets, ...). */
  close?(): void | Promise<void>
}

export interface AuthFixture {
  /** The dialling side's authenticator. */
  a: Authenticator
  /** The accepting side's authenticator. */
  b: Authenticator
  /**
   * A fresh session in which the two sides trust each other: initiator.ctx.peerName equals
   * responder.ctx.localName and the other way round.
   */
  good(): AuthSession | Promise<AuthSession>
  /** A fresh session, same names, whose credentials do not match (wrong cookie, untrusted cert). */
  bad(): AuthSession | Promise<AuthSession>
}

/** `F`: the fixture setup() returns, handed back to teardown() (it may carry more). */
export interface AuthenticatorComplianceOptions<F extends AuthFixture = AuthFixture> extends ComplianceSetup<F> {
  /** The setup deadline for the 'never answers' cases, in ms (default 300). */
  deadline?: number
  /** A name no side holds credentials for (default 'impostor@nowhere'). */
  impostorName?: string
  /**
   * False for an authenticator that exchanges no messages (it trusts what the transport
   * established): leaves out the replay and garbage cases.
   */
  exchangesMessages?: boolean
  /**
   * How to break the channel of a good() session from the other side: given, the suite also
   * checks the HandshakeChannel's error contract, on both roles, over your channels and your
   * authenticator (see ChannelFaults). Over handshakeSession() sessions pass `kernelFaults`.
   */
  faults?: ChannelFaults
}

type Role = 'initiator' | 'responder'

/**
 * How a fixture breaks a session's channel from the side facing `role`, for the channel
 * contract cases: a HandshakeChannel's receive() rejects only with typed errors (the peer
 * closed: ERR_CONNECTION_CLOSED; garbage: ERR_HANDSHAKE; the setup deadline:
 * ERR_HANDSHAKE_TIMEOUT; an abort: ERR_ABORTED), and its send() never throws once the channel
 * is gone. Authenticators rely on that contract and pass the channel's errors on unmapped.
 */
export interface ChannelFaults {
  /** The peer of `role` closes the connection. */
  closePeer(s: AuthSession, role: 'initiator' | 'responder'): void
  /** The peer of `role` sends bytes that are no handshake message (omit for a channel of decoded messages). */
  garble?(s: AuthSession, role: 'initiator' | 'responder'): void
}
type Outcome = { ok: true; value: AuthResult; ms: number } | { ok: false; error: unknown; ms: number }

async function outcome(p: Promise<AuthResult>): Promise<Outcome> {
  const start = Date.now()
  try {
    const value = await p
    return { ok: true, value, ms: Date.now() - start }
  } catch (error) {
    return { ok: false, error, ms: Date.now() - start }
  }
}

/**
 * A setup deadline as the kernel sets it: aborted by a timer with a TimeoutError, the timer
 * cleared when the case ends. (Not AbortSignal.timeout(): its timer is unref'd, so a process
 * waiting on it alone would just exit.)
 */
function deadlineSignal(scope: CaseScope, ms: number): AbortSignal {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(new DOMException(`setup deadline of ${ms} ms passed`, 'TimeoutError')), ms)
  scope.defer(() => clearTimeout(timer))
  return ac.signal
}

/** Open a session and close it when the case ends. */
async function session(scope: CaseScope, make: () => AuthSession | Promise<AuthSession>): Promise<AuthSession> {
  const s = await make()
  scope.defer(() => s.close?.())
  return s
}

/** Run one side of a session: initiate for the initiator (a), respond for the responder (b). */
function side(f: AuthFixture, s: AuthSession, role: Role, signal: AbortSignal, patch: Partial<SideContext> = {}): Promise<AuthResult> {
  const { ch, ctx, auth } = s[role]
  return role === 'initiator'
    ? (auth ?? f.a).initiate(ch, { ...ctx, ...patch, signal })
    : (auth ?? f.b).respond(ch, { ...ctx, ...patch, signal })
}

/** Run both sides at once, under one setup deadline generous enough to finish. */
async function both(
  f: AuthFixture,
  s: AuthSession,
  scope: CaseScope,
  patch: { initiator?: Partial<SideContext>; responder?: Partial<SideContext> } = {},
) {
  const signal = deadlineSignal(scope, 5000)
  const [i, r] = await Promise.all([
    outcome(side(f, s, 'initiator', signal, patch.initiator)),
    outcome(side(f, s, 'responder', signal, patch.responder)),
  ])
  return { i, r }
}

function refused(o: Outcome, codes: string[], what: string): void {
  if (o.ok) assert.fail(`${what}: expected a refusal, got success ${shown(o.value)}`)
  expectTyped(o.error, NetkernelError, codes, `${what}: rejects`)
  assert.ok(o.ms < 4000, `${what}: fails without waiting for the deadline (${o.ms} ms)`)
}

const otherRole = (role: Role): Role => (role === 'initiator' ? 'responder' : 'initiator')

/** Play the recorded part of one side: send its messages, and wait for one where it received. */
async function replay(ch: HandshakeChannel, transcript: ReadonlyArray<TranscriptEntry>, signal: AbortSignal): Promise<void> {
  for (const e of transcript) {
    try {
      if (e.dir === 'out') ch.send(e.msg)
      else await ch.receive({ signal })
    } catch {
      return // the victim hung up or refused: the replay is over
    }
  }
}

/** `p` rejects with a NetkernelError of `code`, at once rather than at a deadline. */
async function rejectsAtOnce(p: Promise<unknown>, code: string, what: string): Promise<void> {
  const start = Date.now()
  let value: unknown
  try {
    value = await p
  } catch (err) {
    expectTyped(err, NetkernelError, code, what)
    const ms = Date.now() - start
    assert.ok(ms < 4000, `${what}: at once, not at a deadline (${ms} ms)`)
    return
  }
  assert.fail(`${what}: expected a rejection, got ${shown(value)}`)
}

/** The channel contract cases (ChannelFaults), for both roles, over the fixture's good sessions. */
function channelContractCases(faults: ChannelFaults): Array<[string, CaseBody<AuthFixture>]> {
  const cases: Array<[string, CaseBody<AuthFixture>]> = []
  for (const role of ['initiator', 'responder'] as const) {
    cases.push(
      [
        `channel contract, ${role}: the peer closes → receive rejects ERR_CONNECTION_CLOSED`,
        async (f, scope) => {
          const s = await session(scope, f.good)
          const waiting = s[role].ch.receive({ signal: deadlineSignal(scope, 5000) })
          faults.closePeer(s, role)
          await rejectsAtOnce(waiting, 'ERR_CONNECTION_CLOSED', 'a pending receive')
          await rejectsAtOnce(s[role].ch.receive({ signal: deadlineSignal(scope, 5000) }), 'ERR_CONNECTION_CLOSED', 'a later receive')
        },
      ],

      [
        `channel contract, ${role}: send after the channel is gone does not throw`,
        async (f, scope) => {
          const s = await session(scope, f.good)
          faults.closePeer(s, role)
          await s[role].ch.receive({ signal: deadlineSignal(scope, 5000) }).catch(() => undefined)
          assert.doesNotThrow(() => s[role].ch.send({ t: 'late', x: 1 }), 'send is a no-op')
          await new Promise(resolve => setTimeout(resolve, 20))
          await rejectsAtOnce(
            s[role].ch.receive({ signal: deadlineSignal(scope, 5000) }),
            'ERR_CONNECTION_CLOSED',
            'the next receive says why',
          )
        },
      ],

      [
        `channel contract, ${role}: the setup deadline → ERR_HANDSHAKE_TIMEOUT, an abort → ERR_ABORTED`,
        async (f, scope) => {
          const s = await session(scope, f.good)
          await rejectsAtOnce(
            s[role].ch.receive({ signal: deadlineSignal(scope, 50) }),
            'ERR_HANDSHAKE_TIMEOUT',
            'a receive past the deadline',
          )
          const ac = new AbortController()
          const waiting = s[role].ch.receive({ signal: ac.signal })
          ac.abort()
          await rejectsAtOnce(waiting, 'ERR_ABORTED', 'an aborted receive')
        },
      ],
    )

    const garble = faults.garble
    if (garble !== undefined) {
      cases.push([
        `channel contract, ${role}: garbage from the peer → receive rejects ERR_HANDSHAKE`,
        async (f, scope) => {
          const s = await session(scope, f.good)
          const waiting = s[role].ch.receive({ signal: deadlineSignal(scope, 5000) })
          garble(s, role)
          await rejectsAtOnce(waiting, 'ERR_HANDSHAKE', 'a pending receive')
        },
      ])
    }

    cases.push([
      `channel contract, ${role}: the peer closes mid-handshake → the authenticator rejects ERR_CONNECTION_CLOSED`,
      async (f, scope) => {
        const s = await session(scope, f.good)
        const run = side(f, s, role, deadlineSignal(scope, 5000))
        await new Promise(resolve => setImmediate(resolve))
        faults.closePeer(s, role)
        await rejectsAtOnce(run, 'ERR_CONNECTION_CLOSED', role)
      },
    ])
  }
  return cases
}

/** The Authenticator compliance suite: one case per behaviour, each with a fresh fixture. */
export function authenticatorCompliance<F extends AuthFixture>(opts: AuthenticatorComplianceOptions<F>): ComplianceCase[] {
  const deadline = opts.deadline ?? 300
  const impostor = opts.impostorName ?? 'impostor@nowhere'
  const cases: Array<[string, CaseBody<AuthFixture>]> = [
    [
      "mutual success: both sides resolve with the other side's name",
      async (f, scope) => {
        const s = await session(scope, f.good)
        const { i, r } = await both(f, s, scope)
        if (!i.ok) assert.fail(`initiator succeeds (got ${shown(i.error)})`)
        if (!r.ok) assert.fail(`responder succeeds (got ${shown(r.error)})`)
        assert.equal(i.value.peerName, s.initiator.ctx.peerName, 'initiator authenticated the node it dialled')
        assert.equal(r.value.peerName, s.responder.ctx.peerName, 'responder authenticated the node that claimed')
      },
    ],

    [
      'mutual success twice in a row (no state kept between sessions)',
      async (f, scope) => {
        for (let n = 0; n < 2; n++) {
          const s = await session(scope, f.good)
          const { i, r } = await both(f, s, scope)
          assert.ok(i.ok && r.ok, `session ${n + 1} succeeds on both sides (got ${shown(i.ok ? r : i)})`)
        }
      },
    ],

    [
      'wrong credentials are refused on both sides with ERR_AUTH_FAILED',
      async (f, scope) => {
        const s = await session(scope, f.bad)
        const { i, r } = await both(f, s, scope)
        refused(i, ['ERR_AUTH_FAILED'], 'initiator')
        refused(r, ['ERR_AUTH_FAILED'], 'responder')
      },
    ],

    [
      'the accepting node is not the node that was dialled: refused on both sides',
      async (f, scope) => {
        const s = await session(scope, f.good)
        const { i, r } = await both(f, s, scope, { initiator: { peerName: impostor } })
        refused(i, ['ERR_AUTH_FAILED', 'ERR_WRONG_NODE'], 'initiator')
        refused(r, ['ERR_AUTH_FAILED', 'ERR_WRONG_NODE'], 'responder')
      },
    ],

    [
      'the dialling node claims another name: refused on both sides',
      async (f, scope) => {
        const s = await session(scope, f.good)
        const { i, r } = await both(f, s, scope, { responder: { peerName: impostor } })
        refused(i, ['ERR_AUTH_FAILED', 'ERR_WRONG_NODE'], 'initiator')
        refused(r, ['ERR_AUTH_FAILED', 'ERR_WRONG_NODE'], 'responder')
      },
    ],
  ]

  for (const role of ['initiator', 'responder'] as const) {
    cases.push(
      [
        `${role}: a peer that never answers fails at the setup deadline with a typed error`,
        async (f, scope) => {
          const s = await session(scope, f.good)
          const o = await outcome(side(f, s, role, deadlineSignal(scope, deadline)))
          if (o.ok) assert.fail(`it does not succeed (got ${shown(o.value)})`)
          expectTyped(o.error, NetkernelError, ['ERR_HANDSHAKE_TIMEOUT', 'ERR_ABORTED'], 'a timeout or abort')
          assert.ok(o.ms >= deadline - 20, `waited for the deadline (${o.ms} ms)`)
          assert.ok(o.ms < deadline + 1000, `failed soon after it (${o.ms} ms)`)
        },
      ],

      [
        `${role}: an already-aborted setup signal rejects at once`,
        async (f, scope) => {
          const s = await session(scope, f.good)
          const ac = new AbortController()
          ac.abort()
          const o = await outcome(side(f, s, role, ac.signal))
          if (o.ok) assert.fail(`it does not succeed (got ${shown(o.value)})`)
          assert.ok(o.error instanceof NetkernelError, `rejects with a NetkernelError (got ${shown(o.error)})`)
        },
      ],
    )
  }

  if (opts.faults !== undefined) cases.push(...channelContractCases(opts.faults))

  if (opts.exchangesMessages ?? true) {
    for (const role of ['initiator', 'responder'] as const) {
      const other = otherRole(role)
      cases.push(
        [
          `${role}: a replay of the peer's messages from an earlier handshake is refused`,
          async (f, scope) => {
            // A session an attacker recorded (it succeeded).
            const first = await session(scope, f.good)
            const { i, r } = await both(f, first, scope)
            assert.ok(i.ok && r.ok, `the recorded session succeeded (got ${shown(i.ok ? r : i)})`)
            // The attacker plays the other role's recorded part against a fresh session.
            const recorded = first[other].ch.transcript.map(e => ({ ...e }))
            assert.ok(
              recorded.some(e => e.dir === 'out'),
              'the peer sent messages to replay',
            )
            const s = await session(scope, f.good)
            const signal = deadlineSignal(scope, deadline * 4)
            const [o] = await Promise.all([outcome(side(f, s, role, signal)), replay(s[other].ch, recorded, signal)])
            refused(o, ['ERR_AUTH_FAILED', 'ERR_HANDSHAKE'], `${role} facing a replay`)
          },
        ],

        [
          `${role}: a peer sending garbage is refused with ERR_HANDSHAKE or ERR_AUTH_FAILED`,
          async (f, scope) => {
            const s = await session(scope, f.good)
            const victim = outcome(side(f, s, role, deadlineSignal(scope, deadline * 4)))
            s[other].ch.send({ t: 'nonsense', x: 1, c: Buffer.alloc(3) })
            refused(await victim, ['ERR_HANDSHAKE', 'ERR_AUTH_FAILED'], role)
          },
        ],
      )
    }
  }

  return cases.map(([name, body]) => complianceCase<F>(name, opts, body))
}
