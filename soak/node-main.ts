// One node of the soak (soak/run.ts starts three), in its own OS process. argv[2] is a JSON
// SoakNodeConfig. No port mapper: every node listens on a port the orchestrator chose, and
// `resolve` maps a node's name to it. Lines on stdout:
//   READY {name}                     once started
//   STAT {rss, ...}                  every 500 ms (and progress, for role 'a')
//   RESULT {...}                     role 'a', when the run is over
// Role a also reads commands on stdin: it starts sending at `go`, and runs to its target only
// after `release`, so the orchestrator's kills happen while messages flow, however fast. The process stops
// when stdin closes (so it never outlives the orchestrator), after a last STAT.
//
// Roles:
//   a  sends [gen, seq] to b's 'echo' as fast as a window of unanswered messages allows, and
//      checks what comes back at its 'sink' (SequenceCheck). gen is the connection to b the
//      message went out on: a new one at every nodeup of b. Also runs 'pong' for c.
//   b  'echo': returns every message to a's 'sink'. The one killed with SIGKILL and restarted.
//   c  connects to a, pings its 'pong' through the connection, disconnects; in a loop.
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'
import { createInterface } from 'node:readline'
import { once } from 'node:events'
import { startNode } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'
import type { Pid } from '../lib/terms/pid.js'
import { SequenceCheck } from './sequence-check.js'

export interface SoakNodeConfig {
  role: 'a' | 'b' | 'c'
  cookie: string
  /** Short name (before the @) → port, for every node of the soak. */
  ports: Record<'a' | 'b' | 'c', number>
  /** Role a: round trips to deliver. */
  roundTrips?: number
  /** Role a: give up (and report what is missing) after this long, ms. */
  deadlineMs?: number
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as SoakNodeConfig
const out = (tag: string, o: unknown): void => void process.stdout.write(`${tag} ${JSON.stringify(o)}\n`)
const WINDOW = 20_000
const BATCH = 2_000

const node = await startNode({
  name: `soak_${cfg.role}`,
  cookie: cfg.cookie,
  epmd: false,
  listen: { host: '127.0.0.1', portMin: cfg.ports[cfg.role], portMax: cfg.ports[cfg.role] },
  resolve: async name => ({ host: '127.0.0.1', port: cfg.ports[name.split('@')[0]!.replace(/^soak_/, '') as 'a' | 'b' | 'c'] }),
  connectAll: false,
})
const host = node.name.split('@')[1]
const nameOf = (role: string): string => `soak_${role}@${host}`
const stopping = new AbortController()
let go: () => void = () => {}
const started = new Promise<void>(resolve => (go = resolve))
let released = false
createInterface({ input: process.stdin })
  .on('line', line => (line === 'go' ? go() : line === 'release' ? (released = true) : undefined))
  .on('close', () => stopping.abort())

const rssStart = process.memoryUsage().rss
let figures = (): Record<string, unknown> => ({})
const stat = (): void => out('STAT', { rss: process.memoryUsage().rss, ...figures() })
stopping.signal.addEventListener('abort', () => {
  stat()
  void node.stop().then(() => process.exit(0))
})
out('READY', { name: node.name, rss: rssStart })

if (cfg.role === 'b') {
  const sink: [string, string] = ['sink', nameOf('a')]
  node.register(
    'echo',
    node.spawn(async (proc: Proc) => {
      for (;;) {
        const m = await proc.receive()
        if (!proc.send(sink, m)) await proc.drain(sink)
      }
    }),
  )
  setInterval(stat, 500).unref()
} else if (cfg.role === 'c') {
  const a = nameOf('a')
  let connected = 0
  let failed = 0
  let pinged = 0
  figures = () => ({ connected, failed, pinged })
  setInterval(stat, 500).unref()
  while (!stopping.signal.aborted) {
    if (await node.connect(a)) {
      const ok = await new Promise<boolean>(resolve => {
        node.spawn(async (proc: Proc) => {
          proc.send(['pong', a], [proc.self, 'ping'])
          resolve(
            await proc.receive(undefined, { timeout: 2000 }).then(
              () => true,
              () => false,
            ),
          )
        })
      })
      connected++ // counted with its ping, so a last STAT never shows one without the other
      if (ok) pinged++
      node.disconnect(a)
    } else {
      failed++
    }
    await sleep(20, undefined, { signal: stopping.signal }).catch(() => {})
  }
} else {
  await runSender()
}

async function runSender(): Promise<void> {
  const b = nameOf('b')
  const target = cfg.roundTrips ?? 0
  const deadline = Date.now() + (cfg.deadlineMs ?? 600_000)
  const check = new SequenceCheck()
  let gen = -1
  let seq = 0
  let up = false
  let wake: (() => void) | undefined
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const waitForPoke = (ms: number): Promise<void> =>
    new Promise<void>(resolve => {
      const timer = setTimeout(poke, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  node.on('nodeup', name => {
    if (name !== b) return
    gen++
    check.open(gen, seq)
    up = true
    poke()
  })
  node.on('nodedown', name => {
    if (name !== b) return
    if (up) check.close(gen, seq)
    up = false
    poke()
  })
  node.register(
    'pong',
    node.spawn(async (proc: Proc) => {
      for (;;) {
        const m = (await proc.receive()) as [Pid, string]
        proc.send(m[0], 'pong')
      }
    }),
  )
  node.register(
    'sink',
    node.spawn(async (proc: Proc) => {
      for (;;) {
        const m = (await proc.receive()) as [number, number]
        check.arrive(m[0], m[1])
        if (wake !== undefined && check.outstanding(gen, seq) <= WINDOW / 2) poke()
      }
    }),
  )
  figures = () => ({ delivered: check.arrived, sent: seq, gen, up })
  const progress = setInterval(stat, 200)

  await Promise.race([started, once(stopping.signal, 'abort')])
  const startedAt = Date.now()
  const echo: [string, string] = ['echo', b]
  // Until released, and then until the target has arrived with nothing left in flight.
  const more = (): boolean => !released || check.arrived < target || check.outstanding(gen, seq) > 0
  while (more() && Date.now() < deadline && !stopping.signal.aborted) {
    if (!up) {
      if (!(await node.connect(b)) && !up) await sleep(50)
      continue
    }
    const outstanding = check.outstanding(gen, seq)
    const room = Math.min(WINDOW - outstanding, released ? target - check.arrived - outstanding : BATCH, BATCH)
    if (room <= 0) {
      await waitForPoke(1000)
      continue
    }
    let busy = false
    for (let i = 0; i < room && !busy; i++) busy = !node.send(echo, [gen, seq++])
    if (busy) await node.drain(b, { signal: AbortSignal.timeout(5000) }).catch(() => {})
    else await turn()
  }
  const elapsedMs = Date.now() - startedAt
  clearInterval(progress)
  const s = check.summary()
  const unfinished = check.unfinished(gen, seq)
  out('RESULT', { ...s, lost: s.lost + unfinished, unfinished, sent: seq, elapsedMs, rssStart, rssEnd: process.memoryUsage().rss })
}
