// The soak: three nodes in separate OS processes (soak/node-main.ts). a and b exchange
// sequence-numbered messages (a → b's echo → a's sink, so each sequence number crosses the
// wire twice); c connects to a and disconnects in a loop; b is killed with SIGKILL `kills`
// times along the way and restarted under the same name and port. a checks every returning
// message (soak/sequence-check.ts states the rule) and reports.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import net from 'node:net'
import type { SoakNodeConfig } from './node-main.js'
import type { SequenceSummary } from './sequence-check.js'

const NODE_MAIN = fileURLToPath(new URL('./node-main.ts', import.meta.url))

export interface SoakOptions {
  /** Messages to exchange, both directions together (each round trip is two). */
  messages: number
  /** How many times b is killed with SIGKILL and restarted, spread over the run. */
  kills: number
  /** Give up after this long, ms (what has not arrived then counts as lost). */
  deadlineMs: number
  /** Progress lines, if wanted. */
  log?: (line: string) => void
}

export interface SoakResult extends SequenceSummary {
  /** Messages that crossed the wire and were checked: 2 × delivered round trips. */
  messages: number
  /** Sequence numbers a sent. */
  sent: number
  /** Of `lost`: the open connection's tail still missing at the deadline. */
  unfinished: number
  kills: number
  churn: { connected: number; failed: number; pinged: number }
  rss: { a: { start: number; end: number }; b: { start: number; end: number }; c: { start: number; end: number } }
  elapsedMs: number
}

type Json = Record<string, unknown>

/** One soak node process: its READY, its latest STAT, its RESULT. */
class SoakProcess {
  readonly child: ChildProcess
  readonly exited: Promise<unknown>
  ready: Json | undefined
  stat: Json = {}
  result: Json | undefined
  private stderr = ''
  private readonly waiters: Array<() => void> = []

  constructor(cfg: SoakNodeConfig) {
    this.child = spawn(process.execPath, ['--import', 'tsx', NODE_MAIN, JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    this.exited = once(this.child, 'exit')
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000)
    })
    createInterface({ input: this.child.stdout! }).on('line', line => {
      const space = line.indexOf(' ')
      const tag = line.slice(0, space)
      const body = JSON.parse(line.slice(space + 1)) as Json
      if (tag === 'READY') this.ready = body
      else if (tag === 'STAT') this.stat = body
      else if (tag === 'RESULT') this.result = body
      for (const w of this.waiters.splice(0)) w()
    })
  }

  /** Resolves when `done()` holds, checked after each line; rejects if the process exits first or time runs out. */
  async until(done: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms
    while (!done()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`soak node exited before ${what}: ${this.stderr}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`soak: no ${what} within ${ms} ms: ${this.stderr}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.min(left, 500))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Close stdin (the node stops and exits); SIGKILL if it has not after 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.stdin!.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await this.exited
    clearTimeout(timer)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(err => (err ? reject(err) : resolve(port)))
    })
  })
}

const num = (o: Json | undefined, k: string): number => Number(o?.[k] ?? 0)

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {})
  const roundTrips = Math.ceil(opts.messages / 2)
  const ports = { a: await freePort(), b: await freePort(), c: await freePort() }
  const base = { cookie: 'soak-cookie', ports }
  const all: SoakProcess[] = []
  const start = async (cfg: SoakNodeConfig): Promise<SoakProcess> => {
    const p = new SoakProcess(cfg)
    all.push(p)
    await p.until(() => p.ready !== undefined, 30_000, `READY from ${cfg.role}`)
    return p
  }
  try {
    let b = await start({ ...base, role: 'b' })
    const bStartRss = num(b.ready, 'rss')
    const a = await start({ ...base, role: 'a', roundTrips, deadlineMs: opts.deadlineMs })
    const c = await start({ ...base, role: 'c' })
    const cStartRss = num(c.ready, 'rss')
    a.child.stdin!.write('go\n')
    log(`soak: a, b, c up; ${roundTrips} round trips (${2 * roundTrips} messages), ${opts.kills} kill(s) of b`)

    let kills = 0
    let released = false
    let lastLog = 0
    while (a.result === undefined) {
      const delivered = num(a.stat, 'delivered')
      if (!released && kills === opts.kills && num(a.stat, 'gen') >= kills) {
        released = true // the last kill is behind, a is connected again: let it finish
        a.child.stdin!.write('release\n')
      }
      if (kills < opts.kills && delivered >= (roundTrips * (kills + 1)) / (opts.kills + 1)) {
        kills++
        log(`soak: SIGKILL b at ${delivered} round trips`)
        b.child.kill('SIGKILL')
        await b.exited
        b = await start({ ...base, role: 'b' })
        log('soak: b restarted')
      }
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now()
        log(
          `soak: ${delivered} round trips, rss a ${(num(a.stat, 'rss') / 2 ** 20).toFixed(0)} MiB, churn ${num(c.stat, 'connected')} connects`,
        )
      }
      await a.until(() => a.result !== undefined || num(a.stat, 'delivered') !== delivered, opts.deadlineMs + 30_000, 'RESULT from a')
    }
    const r = a.result
    await Promise.all([c.stop(), b.stop(), a.stop()])
    const cEnd = c.stat
    const bEndRss = num(b.stat, 'rss') || num(b.ready, 'rss')
    return {
      delivered: num(r, 'delivered'),
      lost: num(r, 'lost'),
      duplicated: num(r, 'duplicated'),
      reordered: num(r, 'reordered'),
      foreign: num(r, 'foreign'),
      lostAtBreak: num(r, 'lostAtBreak'),
      connections: num(r, 'connections'),
      messages: 2 * num(r, 'delivered'),
      sent: num(r, 'sent'),
      unfinished: num(r, 'unfinished'),
      kills,
      churn: { connected: num(cEnd, 'connected'), failed: num(cEnd, 'failed'), pinged: num(cEnd, 'pinged') },
      rss: {
        a: { start: num(r, 'rssStart'), end: num(r, 'rssEnd') },
        b: { start: bStartRss, end: bEndRss },
        c: { start: cStartRss, end: num(cEnd, 'rss') },
      },
      elapsedMs: num(r, 'elapsedMs'),
    }
  } finally {
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  }
}
