// The receiving half of a node for the connection and dispatch targets: a real Runtime with a
// few live processes (trapping exits, draining their mailboxes), the real dispatcher, spawn
// bookkeeping and a clock that never fires, and a module whose processes end at once. Gossip
// reaches the fuzz connection's nodesHeard, a no-op: the fuzzer must not dial gossiped names.
import { Refusals } from '../lib/kernel/refusals.js'
import type { StatsRequests } from '../lib/kernel/stats-requests.js'
import { Runtime } from '../lib/process/runtime.js'
import { createDispatcher } from '../lib/kernel/dispatch.js'
import { SpawnRequests } from '../lib/kernel/spawn-requests.js'
import { silentLogger } from '../lib/logger.js'
import type { Clock } from '../lib/clock.js'
import type { Connection } from '../lib/kernel/connection.js'
import type { Remote } from '../lib/process/remote.js'
import type { Pid } from '../lib/terms/pid.js'
import { SpawnError } from '../lib/errors.js'
import { RpcRequests } from '../lib/kernel/rpc-requests.js'
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
  /** Keep spawn requests 1..3 to `peer` waiting, so that a SPAWN_REPLY finds one to settle. */
  armSpawns(peer: string): void
  /** Throws an InvariantViolation if a settled spawn request failed with an unstable error. */
  checkSpawns(): Promise<void>
  close(): void
}

/** Stats frames are not what this harness fuzzes: they are dropped. */
const noStats = { frame: () => {} } as unknown as StatsRequests

export function nodeHarness(local: string): NodeHarness {
  const runtime = new Runtime({ node: local, creation: 0, logger: silentLogger, remote: nowhere })
  // Spawnable code for remote spawn requests: processes that end at once, normally or not.
  runtime.defineModule('fuzz', {
    quick: () => undefined,
    crash: () => {
      throw new Error('crashed on purpose')
    },
  })
  const spawns = new SpawnRequests(idleClock, 30_000)
  const dispatch = createDispatcher({
    localName: local,
    runtime,
    spawns,
    rpcs: new RpcRequests(idleClock),
    stats: noStats,
    policy: {},
    logger: silentLogger,
    refusals: new Refusals(local, silentLogger),
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
  let bad: unknown
  return {
    local,
    dispatch,
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
            if (!isAccepted(err)) bad ??= err
          },
        )
      }
    },
    async checkSpawns() {
      await Promise.resolve()
      await Promise.resolve()
      if (bad === undefined) return
      const err = bad
      bad = undefined
      throw new InvariantViolation(`a spawn request failed with ${describeError(err)} (code ${String((err as { code?: unknown }).code)})`, {
        cause: err,
      })
    },
    close: () => {
      spawns.failAll()
      for (const p of live) runtime.exit(p, 'kill')
    },
  }
}
