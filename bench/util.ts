// Shared plumbing of the cross-process benchmarks (bench/main.ts): child processes spoken to
// over a line protocol on stdin/stdout, with stdin as their lifeline; free ports; formatting.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'

export class Child {
  private lines: string[] = []
  private waiters: ((line: string) => void)[] = []
  private buf = ''
  readonly exited: Promise<void>

  constructor(
    readonly label: string,
    readonly proc: ChildProcess,
  ) {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d
      let i: number
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim()
        this.buf = this.buf.slice(i + 1)
        const w = this.waiters.shift()
        if (w !== undefined) w(line)
        else this.lines.push(line)
      }
    })
    proc.stdin!.on('error', () => {})
    proc.once('error', () => {})
    this.exited = new Promise(resolve => proc.once('exit', () => resolve()))
  }

  /** The next line starting with `tag ` (other lines are echoed to stderr); its rest. */
  async expect(tag: string, timeoutMs = 180_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = await this.nextLine(deadline - Date.now())
      if (line === tag || line.startsWith(tag + ' ')) return line.slice(tag.length + 1)
      if (line.startsWith('ERROR')) throw new Error(`${this.label}: ${line}`)
      if (line !== '') process.stderr.write(`[${this.label}] ${line}\n`)
    }
  }

  /** Send a command line and parse the JSON after `tag` in the answer. */
  async ask<T>(line: string, tag = 'RESULT', timeoutMs?: number): Promise<T> {
    this.send(line)
    return JSON.parse(await this.expect(tag, timeoutMs)) as T
  }

  private nextLine(ms: number): Promise<string> {
    const l = this.lines.shift()
    if (l !== undefined) return Promise.resolve(l)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiters.splice(this.waiters.indexOf(w), 1)
          reject(new Error(`${this.label}: no answer within ${Math.round(ms / 1000)} s`))
        },
        Math.max(0, ms),
      )
      const w = (line: string): void => {
        clearTimeout(timer)
        resolve(line)
      }
      this.waiters.push(w)
      void this.exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`${this.label} exited`))
      })
    })
  }

  send(line: string): void {
    this.proc.stdin!.write(line + '\n')
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** Close stdin (children stop by themselves), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return
    this.proc.stdin!.end()
    const timeout = (ms: number): Promise<'timeout'> => new Promise(r => setTimeout(() => r('timeout'), ms).unref())
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return
    this.proc.kill('SIGTERM')
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return
    this.proc.kill('SIGKILL')
    await this.exited
  }
}

export const children: Child[] = []

/**
 * --pin: the CPU each side's processes run on (taskset), or none. `same` puts both sides on
 * CPU 0, so a message wakes its receiver where the sender ran; `apart` puts the receiving side
 * on CPU 0 and the sending side on CPU 1, so every message crosses between the two.
 */
let pinned: { recv: number; send: number } | undefined

export function pinSides(how: 'same' | 'apart' | undefined): void {
  pinned = how === undefined ? undefined : { recv: 0, send: how === 'same' ? 0 : 1 }
}

export function startChild(
  label: string,
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  stderr: 'inherit' | 'ignore' = 'inherit',
  side?: 'recv' | 'send',
): Child {
  // (taskset execs the command: the child's pid is the command's)
  if (pinned !== undefined && side !== undefined) [cmd, args] = ['taskset', ['-c', String(pinned[side]), cmd, ...args]]
  const c = new Child(label, spawn(cmd, args, { stdio: ['pipe', 'pipe', stderr], env: env ?? process.env }))
  children.push(c)
  return c
}

/** Runs a command to completion (asynchronously, so that other start-ups go on meanwhile). */
export function run(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<{ status: number | null; output: string }> {
  return new Promise(resolve => {
    const p = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], cwd })
    let output = ''
    p.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    p.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    p.once('error', err => resolve({ status: null, output: err.message }))
    p.once('close', status => resolve({ status, output }))
  })
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** The p-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/** 1234567 → '1.23M', 12345 → '12.3k', 123 → '123'. */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '-'
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`
  if (x >= 1e4) return `${Math.round(x / 1e3)}k`
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`
  return x >= 100 ? String(Math.round(x)) : x.toFixed(1)
}

export function table(rows: string[][]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map(r => (r[c] ?? '').length)))
  const line = (r: string[]): string => `| ${r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join(' | ')} |`
  return [
    line(rows[0]!),
    `|${w.map((n, c) => (c === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n')
}
