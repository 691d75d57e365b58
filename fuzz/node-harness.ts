// The receiving half of a node for the connection and dispatch targets: a real Runtime with a
// few live processes (trapping exits, draining their mailboxes), the real dispatcher, spawn
// bookkeeping and a clock that never fires, and a module whose processes end at once. Gossip
// reaches the fuzz connection's nodesHeard, a no-op: the fuzzer must not dial gossiped names.
// With `otp`, also the OTP dispatcher (otp-dispatch.ts) and its erpc client, built as node.ts
// builds them (one process limit shared by both dispatchers, no firewall, no policy), and erpc
// calls to the fuzzed peer whose answers it may forge.
import { Refusals } from '../lib/kernel/refusals.js'
import type { StatsRequests } from '../lib/kernel/stats-requests.js'
import { Runtime } from '../lib/process/runtime.js'
import { createDispatcher, type Dispatcher } from '../lib/kernel/dispatch.js'
import { SpawnRequests } from '../lib/kernel/spawn-requests.js'
import { silentLogger } from '../lib/logger.js'
import type { Clock } from '../lib/clock.js'
import type { Connection } from '../lib/kernel/connection.js'
import type { Remote } from '../lib/process/remote.js'
import type { Pid } from '../lib/terms/pid.js'
import type { Ref } from '../lib/terms/ref.js'
import { SpawnError } from '../lib/errors.js'
import { RpcRequests } from '../lib/kernel/rpc-requests.js'
import { ProcessLimit } from '../lib/kernel/process-limit.js'
import { DEFAULT_LIMITS } from '../lib/kernel/limits.js'
import { ErpcClient } from '../lib/kernel/otp/erpc-client.js'
import { createOtpDispatcher, type OtpDispatcher } from '../lib/kernel/otp/otp-dispatch.js'
import { OtpMessage } from '../lib/kernel/otp/otp-message.js'
import { InvariantViolation, describeError, isAccepted } from './target.js'

export const idleClock: Clock = {
  now: () => 0,
  setTimeout: () => 0,
  clearTimeout: () => {},
  setInterval: () => 0,
  clearInterval: () => {},
}

/** Outbound signals go nowhere: the fuzzed peer is the only node. */
const nowhere: Remote = {
  send: () => true,
  regSend: () => true,
  drain: async () => {},
  link: () => {},
  unlink: () => {},
  exit: () => {},
  monitor: () => {},
  demonitor: () => {},
  down: () => {},
  spawn: () => Promise.reject(new SpawnError('ERR_SPAWN_FAILED', 'no remote nodes while fuzzing')),
  rpc: () => Promise.reject(new SpawnError('ERR_SPAWN_FAILED', 'no remote nodes while fuzzing')),
  ensureConnected: () => {},
  isConnected: () => false,
}

export interface NodeHarness {
  readonly local: string
  readonly dispatch: (conn: Connection, frame: unknown) => void
  /** The OTP dispatcher (nodeHarness(local, { otp: true })): true when it took the frame. */
  readonly otpDispatch: OtpDispatcher | undefined
  /** The live processes: `server` (registered) first. */
  readonly live: readonly Pid[]
  /** Are the live processes all still alive (an EXIT2 kill ends them)? */
  allAlive(): boolean
  /** The connection to `peer` went down: what node.ts does on nodedown (links, monitors, requests). */
  nodeDown(peer: string): void
  /**
   * With `otp`: an erpc call of fuzz:quick() made on `conn` as node.rpc makes one (its ReqId
   * added to `claimed`, the connection's wire's set); returns the ReqId and the ref the answer
   * carries (the peer learns both from the SPAWN_REQUEST). checkSpawns checks its outcome too.
   */
  armErpc(conn: Connection, claimed: Set<string>): { reqId: Ref; ref: Ref }
  /** Keep spawn requests 1..3 to `peer` waiting, so that a SPAWN_REPLY finds one to settle. */
  armSpawns(peer: string): void
  /** Throws an InvariantViolation if a settled spawn request (or erpc call) failed with an unstable error. */
  checkSpawns(): Promise<void>
  close(): void
}

/** Stats frames are not what this harness fuzzes: they are dropped. */
const noStats = { frame: () => {} } as unknown as StatsRequests

/**
 * The native dispatcher over `runtime`, as node.ts builds it (no policy, stats dropped), with
 * the bookkeeping it settles: spawn and rpc requests, refusals, the per-peer process limit.
 */
export function harnessDispatcher(
  local: string,
  runtime: Runtime,
): { dispatch: Dispatcher; spawns: SpawnRequests; rpcs: RpcRequests; refusals: Refusals; processLimit: ProcessLimit } {
  const spawns = new SpawnRequests(idleClock, 30_000)
  const rpcs = new RpcRequests(idleClock)
  const refusals = new Refusals(local, silentLogger)
  // (What the native dispatcher makes itself when given none: shared with the OTP one, as node.ts does.)
  const processLimit = new ProcessLimit({ localName: () => local, runtime, limit: DEFAULT_LIMITS.processesPerPeer, refusals })
  const dispatch = createDispatcher({
    localName: local,
    runtime,
    spawns,
    rpcs,
    stats: noStats,
    policy: {},
    logger: silentLogger,
    refusals,
    processLimit,
  })
  return { dispatch, spawns, rpcs, refusals, processLimit }
}

export function nodeHarness(local: string, opts: { otp?: boolean } = {}): NodeHarness {
  const runtime = new Runtime({ node: local, creation: 0, logger: silentLogger, remote: nowhere })
  // Spawnable code for remote spawn requests: processes that end at once, normally or not.
  runtime.defineModule('fuzz', {
    quick: () => undefined,
    crash: () => {
      throw new Error('crashed on purpose')
    },
  })
  const { dispatch, spawns, rpcs, refusals, processLimit } = harnessDispatcher(local, runtime)
  const erpc = opts.otp === true ? new ErpcClient({ localName: () => local, creation: () => runtime.creation, rpcs }) : undefined
  const otpDispatch =
    erpc === undefined
      ? undefined
      : createOtpDispatcher({
          localName: () => local,
          runtime,
          policy: {},
          permit: undefined,
          refusals,
          logger: silentLogger,
          erpc,
          processLimit,
        })
  const live: Pid[] = []
  for (let i = 0; i < 4; i++) {
    live.push(
      runtime.spawn(async proc => {
        proc.trapExit(true)
        if (i === 0) proc.register('server')
        for (;;) await proc.receive()
      }),
    )
  }
  const waiting = new Map<string, Set<number>>()
  let bad: { what: string; err: unknown } | undefined
  return {
    local,
    dispatch,
    otpDispatch,
    live,
    allAlive: () => live.every(p => runtime.isAlive(p)),
    nodeDown(peer) {
      runtime.nodeDown(peer)
      erpc?.failNode(peer)
      spawns.failNode(peer)
      rpcs.failNode(peer)
    },
    armErpc(conn, claimed) {
      if (erpc === undefined) throw new Error('armErpc needs nodeHarness(local, { otp: true })')
      const id = rpcs.nextId()
      const outcome = rpcs.open(conn.peer, id, 'fuzz:quick/0', {})
      outcome.then(
        () => {},
        (err: unknown) => {
          if (!isAccepted(err)) bad ??= { what: 'an erpc call', err }
        },
      )
      let request: OtpMessage | undefined
      const spy = {
        peer: conn.peer,
        send: (v: unknown, key?: number | string) => {
          if (v instanceof OtpMessage) request = v
          return conn.send(v, key)
        },
      }
      erpc.call(spy, claimed, id, undefined, 'fuzz', 'quick', [], outcome)
      // {29, ReqId, From, GL, {erpc, execute_call, 4}, [monitor]} + [Ref, M, F, A]
      return { reqId: request!.control[1] as Ref, ref: (request!.payload as unknown[])[0] as Ref }
    },
    armSpawns(peer) {
      let ids = waiting.get(peer)
      if (ids === undefined) waiting.set(peer, (ids = new Set()))
      for (let id = 1; id <= 3; id++) {
        if (ids.has(id)) continue
        ids.add(id)
        const mine = ids
        spawns.open(peer, id, 'fuzz:quick').then(
          () => {
            mine.delete(id)
          },
          err => {
            mine.delete(id)
            if (!isAccepted(err)) bad ??= { what: 'a spawn request', err }
          },
        )
      }
    },
    async checkSpawns() {
      await Promise.resolve()
      await Promise.resolve()
      if (bad === undefined) return
      const { what, err } = bad
      bad = undefined
      throw new InvariantViolation(`${what} failed with ${describeError(err)} (code ${String((err as { code?: unknown }).code)})`, {
        cause: err,
      })
    },
    close: () => {
      spawns.failAll()
      rpcs.failAll()
      for (const p of live) runtime.exit(p, 'kill')
    },
  }
}
