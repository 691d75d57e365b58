// Remote throughput benchmark (bench/README.md, "## Remote throughput (TCP)"): messages per
// second from a process on one node to a process on another, the two nodes in separate OS
// processes (bench/remote-peer.ts), TCP over loopback, 100-character string payloads.
//
// Measured in the same run, in interleaved rounds (every variant once per round):
//   raw           a length-prefixed socket pipe between the same two processes: 4 + 100-byte
//                 frames written 1000 to a write, counted by a minimal decoder (the ceiling);
//   msgpackr      netkernel, both nodes on the 'msgpackr' codec;
//   msgpack-lite  netkernel, both nodes on the 'msgpack-lite' codec;
//   otp           Erlang/OTP's own distribution (when `erl` and `erlc` are installed): two
//                 `erl -sname` nodes on a private epmd, a 100-byte binary per message.
// The figure is the receiver's: messages / time from the first to the last message received.
//
//   node --import tsx bench/remote.ts [--quick] [--n=500000] [--runs=3] [--yield=5000] [--no-otp]
//        [--payload=string|binary|object]
//        [--only=raw,msgpackr,msgpack-lite,otp] [--cpu-prof=DIR]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { startEpmd, type EpmdDaemon } from '../lib/epmd/daemon.js'

// ---- options -----------------------------------------------------------------------------

const argv = process.argv.slice(2)
const flag = (name: string): boolean => argv.includes(`--${name}`)
const option = (name: string, dflt: number): number => {
  const a = argv.find(x => x.startsWith(`--${name}=`))
  const v = a === undefined ? dflt : Number(a.slice(name.length + 3))
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`)
  return v
}
const quick = flag('quick')
const N = option('n', quick ? 100_000 : 500_000)
const RUNS = option('runs', 3)
const YIELD = option('yield', 5000)
const payloadKind = argv.find(x => x.startsWith('--payload='))?.slice(10) ?? 'string'
if (!['string', 'binary', 'object'].includes(payloadKind)) throw new Error('--payload must be string, binary or object')
const only = argv.find(x => x.startsWith('--only='))?.slice(7).split(',')
const wantOtp = !flag('no-otp') && (only === undefined || only.includes('otp'))
/** --cpu-prof=DIR: the netkernel peers run with `node --cpu-prof --cpu-prof-dir=DIR` (profiling). */
const cpuProfDir = argv.find(x => x.startsWith('--cpu-prof='))?.slice(11)

type Variant = 'raw' | 'msgpackr' | 'msgpack-lite' | 'otp'
interface Result {
  count: number
  /** Receiver: first to last message. */
  recvNs: number
  /** Sender: first send to the last one queued. */
  sendNs: number
  /** Sender: first send to the receiver's answer. */
  totalNs: number
  ok: boolean
  /** CPU time (user + system, whole OS process) of each side over its part of the run. */
  sendCpuNs: number
  recvCpuNs: number
}

// ---- child processes with a line protocol ------------------------------------------------

class Child {
  private lines: string[] = []
  private waiters: ((line: string) => void)[] = []
  private buf = ''
  readonly exited: Promise<void>

  constructor(readonly label: string, readonly proc: ChildProcess) {
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
    this.exited = new Promise(resolve => proc.once('exit', () => resolve()))
  }

  /** The next line starting with `tag ` (other lines are echoed to stderr); its rest. */
  async expect(tag: string, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = await this.nextLine(deadline - Date.now())
      if (line === tag || line.startsWith(tag + ' ')) return line.slice(tag.length + 1)
      if (line.startsWith('ERROR')) throw new Error(`${this.label}: ${line}`)
      process.stderr.write(`[${this.label}] ${line}\n`)
    }
  }

  private nextLine(ms: number): Promise<string> {
    const l = this.lines.shift()
    if (l !== undefined) return Promise.resolve(l)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        reject(new Error(`${this.label}: no answer within ${Math.round(ms / 1000)} s`))
      }, Math.max(0, ms))
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

  /** Close stdin (peers stop by themselves), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return
    this.proc.stdin!.end()
    const timeout = (ms: number): Promise<'timeout'> => new Promise(r => setTimeout(() => r('timeout'), ms).unref())
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return
    this.proc.kill('SIGTERM')
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return
    this.proc.kill('SIGKILL')
    await this.exited
  }
}

const children: Child[] = []
function startChild(label: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv, stderr: 'inherit' | 'ignore' = 'inherit'): Child {
  const c = new Child(label, spawn(cmd, args, { stdio: ['pipe', 'pipe', stderr], env: env ?? process.env }))
  children.push(c)
  return c
}

// ---- the Erlang side ---------------------------------------------------------------------

const ERLANG_MODULE = String.raw`
-module(nkbench).
-export([recv/0, send/1]).

recv() ->
    register(sink, spawn(fun sink/0)),
    %% Stop when stdin closes, so that this node never outlives the bench.
    spawn(fun() -> eof = skip_lines(), halt() end),
    io:format("READY~n").

skip_lines() ->
    case io:get_line("") of
        eof -> eof;
        _ -> skip_lines()
    end.

sink() ->
    receive
        {hello, From} -> From ! {sink, self()};
        {start, From, N} -> first(From, N)
    end,
    sink().

first(From, N) ->
    receive _ -> count(From, N - 1, {erlang:monotonic_time(nanosecond), cpu()}, N) end.

%% CPU time of the whole VM (all threads), ms.
cpu() -> element(1, erlang:statistics(runtime)).

count(From, 0, {T0, C0}, N) -> From ! {done, N, erlang:monotonic_time(nanosecond) - T0, cpu() - C0};
count(From, K, T0, N) -> receive _ -> count(From, K - 1, T0, N) end.

send([NodeS]) ->
    spawn(fun() -> sender(list_to_atom(NodeS)) end).

sender(Node) ->
    true = net_kernel:connect_node(Node),
    {sink, Node} ! {hello, self()},
    Sink = receive {sink, P} -> P end,
    io:format("READY~n"),
    loop(Node, Sink, binary:copy(<<"x">>, 100)).

loop(Node, Sink, Bin) ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["run", NS] ->
                    N = list_to_integer(NS),
                    {sink, Node} ! {start, self(), N},
                    T0 = erlang:monotonic_time(nanosecond),
                    C0 = cpu(),
                    blast(Sink, Bin, N),
                    T1 = erlang:monotonic_time(nanosecond),
                    receive
                        {done, C, Ns, RecvCpu} ->
                            T2 = erlang:monotonic_time(nanosecond),
                            SendCpu = cpu() - C0,
                            io:format("RESULT {\"count\":~b,\"recvNs\":~b,\"sendNs\":~b,\"totalNs\":~b,\"ok\":true,"
                                      "\"sendCpuNs\":~b,\"recvCpuNs\":~b}~n",
                                      [C, Ns, T1 - T0, T2 - T0, SendCpu * 1000000, RecvCpu * 1000000])
                    end,
                    loop(Node, Sink, Bin);
                _ -> halt()
            end
    end.

blast(_, _, 0) -> ok;
blast(P, B, K) -> P ! B, blast(P, B, K - 1).
`

/** Runs a command to completion (asynchronously, so that other start-ups go on meanwhile). */
function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise(resolve => {
    const p = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    p.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    p.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    p.once('error', err => resolve({ status: null, output: err.message }))
    p.once('close', status => resolve({ status, output }))
  })
}

function hasErlang(): boolean {
  return ['erl', 'erlc', 'epmd'].every(cmd => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0)
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

interface Pair { run(n: number): Promise<Result> }

// ---- main --------------------------------------------------------------------------------

const tag = `nkb${process.pid}`
const cookie = randomBytes(12).toString('hex')
const peerEntry = fileURLToPath(new URL('./remote-peer.ts', import.meta.url))
let epmd: EpmdDaemon | undefined
let tmp: string | undefined
let cleaning: Promise<void> | undefined

async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all(children.map(c => c.stop().catch(() => {})))
    await epmd?.close().catch(() => {})
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
  })()
  return cleaning
}
// Last resort (an exception, a broken stdout): nothing started may outlive the bench.
process.on('exit', () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
})
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)))

async function main(): Promise<void> {
  epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
  const pairs = new Map<Variant, Pair>()

  // netkernel and raw: one receiver and one sender process; each runs a node per codec.
  const peer = (role: string, codec: string): Child => {
    const name = `${tag}_${role}_${codec === 'msgpackr' ? 'r' : 'l'}`
    const prof = cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, `${role}-${codec}`)}`]
    return startChild(`${role} ${codec}`, process.execPath, [...prof, '--import', 'tsx', peerEntry,
      JSON.stringify({ role, name, cookie, epmdPort: epmd!.port, codec, payload: payloadKind })])
  }
  // Every pair starts at once: start-up is most of a --quick run.
  const startNetkernel = async (codec: 'msgpackr' | 'msgpack-lite'): Promise<void> => {
    const recv = peer('recv', codec)
    const send = peer('send', codec)
    const [{ node, rawPort }] = await Promise.all([
      recv.expect('READY', 60_000).then(l => JSON.parse(l) as { node: string; rawPort: number }),
      send.expect('READY', 60_000),
    ])
    send.send(`connect ${node}`)
    if ((await send.expect('CONNECTED', 30_000)) !== 'true') throw new Error(`cannot connect to ${node}`)
    const nk = async (line: string): Promise<Result> => {
      send.send(line)
      return JSON.parse(await send.expect('RESULT')) as Result
    }
    if (only === undefined || only.includes(codec)) pairs.set(codec, { run: n => nk(`nk ${n} ${YIELD}`) })
    if (codec === 'msgpackr' && (only === undefined || only.includes('raw'))) pairs.set('raw', { run: n => nk(`raw ${n} ${rawPort}`) })
  }

  let otpNote = ''
  const startOtp = async (): Promise<void> => {
    tmp = mkdtempSync(join(tmpdir(), 'nkbench-'))
    writeFileSync(join(tmp, 'nkbench.erl'), ERLANG_MODULE)
    const c = await run('erlc', ['-o', tmp, join(tmp, 'nkbench.erl')])
    if (c.status !== 0) throw new Error(`erlc failed: ${c.output}`)
    const port = await freePort()
    const env = { ...process.env, ERL_EPMD_PORT: String(port) }
    // Through a shell that stops it when stdin closes (epmd itself ignores stdin), so that it
    // never outlives the bench; its stderr is ignored (it complains about waitForPort's probes).
    startChild('epmd', 'sh', ['-c', `epmd -port ${port} -address 127.0.0.1 & e=$!; cat >/dev/null; kill $e; wait $e`], env, 'ignore')
    await waitForPort(port, 10_000)
    const erl = (name: string, ...args: string[]): Child =>
      startChild(`erl ${name}`, 'erl', ['-sname', name, '-setcookie', cookie, '-noshell', '-start_epmd', 'false', '-pa', tmp!, '-run', 'nkbench', ...args], env)
    const erlRecv = erl(`${tag}_otp_recv`, 'recv')
    await erlRecv.expect('READY', 60_000)
    const erlSend = erl(`${tag}_otp_send`, 'send', `${tag}_otp_recv@${hostname().split('.')[0]}`)
    const [, v] = await Promise.all([
      erlSend.expect('READY', 60_000),
      run('erl', ['-noshell', '-eval', 'io:format("~s", [erlang:system_info(otp_release)]), halt().'], env),
    ])
    otpNote = `Erlang/OTP ${v.output.trim()}`
    pairs.set('otp', {
      run: async n => {
        erlSend.send(`run ${n}`)
        return JSON.parse(await erlSend.expect('RESULT')) as Result
      },
    })
  }

  const t0 = Date.now()
  const starting: Promise<void>[] = []
  for (const codec of ['msgpackr', 'msgpack-lite'] as const) {
    if (only === undefined || only.includes(codec) || (codec === 'msgpackr' && only.includes('raw'))) starting.push(startNetkernel(codec))
  }
  if (wantOtp && hasErlang()) starting.push(startOtp())
  else if (wantOtp) otpNote = 'Erlang/OTP not measured: erl, erlc or epmd not installed'
  await Promise.all(starting)
  process.stderr.write(`started in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)

  const variants = (['raw', 'msgpackr', 'msgpack-lite', 'otp'] as const).filter(v => pairs.has(v))
  const runs = new Map<Variant, Result[]>(variants.map(v => [v, []]))
  const rate = (r: Result): number => r.count / (r.recvNs / 1e9)
  process.stderr.write(`remote throughput: ${N.toLocaleString('en')} messages per run, ${RUNS} rounds after a warm-up, yield every ${YIELD}\n`)
  for (let round = 0; round <= RUNS; round++) {
    // Rotate the order, so that no variant always runs first (or right after the slowest).
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!)
    for (const v of order) {
      const r = await pairs.get(v)!.run(N)
      if (r.count !== N || !r.ok) throw new Error(`${v}: received ${r.count} of ${N} (ok=${r.ok})`)
      if (round > 0) runs.get(v)!.push(r)
      process.stderr.write(`  ${round === 0 ? 'warm-up' : `round ${round}`} ${v.padEnd(12)} ${fmt(rate(r))} msgs/s (send side ${fmt(r.count / (r.sendNs / 1e9))}, end to end ${fmt(r.count / (r.totalNs / 1e9))}; CPU ns/msg sender ${cpu(r.sendCpuNs, r)}, receiver ${cpu(r.recvCpuNs, r)})\n`)
    }
  }

  // ---- report --------------------------------------------------------------------------
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    const m = s.length >> 1
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
  }
  const med = new Map(variants.map(v => [v, median(runs.get(v)!.map(rate))]))
  const labels: Record<Variant, string> = {
    raw: 'raw socket pipe (ceiling)',
    msgpackr: 'netkernel, msgpackr codec',
    'msgpack-lite': 'netkernel, msgpack-lite codec',
    otp: `${otpNote || 'Erlang/OTP'} distribution`,
  }
  const rows: string[][] = [['variant', 'msgs/s (median)', 'min – max', 'end to end (median)', 'CPU ns/msg send + recv (median)']]
  for (const v of variants) {
    const rs = runs.get(v)!.map(rate)
    const rr = runs.get(v)!
    rows.push([labels[v], fmt(med.get(v)!), `${fmt(Math.min(...rs))} – ${fmt(Math.max(...rs))}`, fmt(median(rr.map(r => r.count / (r.totalNs / 1e9)))),
      `${cpu(median(rr.map(r => r.sendCpuNs / r.count)), 1)} + ${cpu(median(rr.map(r => r.recvCpuNs / r.count)), 1)}`])
  }
  // Ratios per round (the variants of one round ran back to back), median and range.
  const ratio = (a: Variant, b: Variant): string[] | undefined => {
    if (!pairs.has(a) || !pairs.has(b)) return undefined
    const xs = runs.get(a)!.map((r, i) => rate(r) / rate(runs.get(b)![i]!))
    return [`${a} / ${b}`, xs.length ? median(xs).toFixed(2) : '-', `${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}`, '', '']
  }
  for (const [a, b] of [['msgpackr', 'otp'], ['msgpack-lite', 'otp'], ['msgpackr', 'raw'], ['msgpack-lite', 'msgpackr']] as [Variant, Variant][]) {
    const row = ratio(a, b)
    if (row !== undefined) rows.push(row)
  }
  console.log(`\nRemote throughput: ${N.toLocaleString('en')} messages of 100 bytes per run (netkernel: ${({ string: 'a 100-character string', binary: 'a 100-byte Buffer', object: 'an object of 97 bytes encoded' } as Record<string, string>)[payloadKind]}; OTP: a 100-byte binary; raw: 4 + 100-byte frames), ${RUNS} rounds, Node ${process.version}, yield every ${YIELD}`)
  console.log(table(rows))
  if (otpNote && !pairs.has('otp')) console.log(otpNote)
}

/** CPU ns per message, from a total over a run (or per message with count 1). */
function cpu(ns: number, per: { count: number } | 1): string {
  return String(Math.round(ns / (per === 1 ? 1 : per.count)))
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${Math.round(x / 1e3)}k`
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map(r => r[c]!.length)))
  const line = (r: string[]): string => `| ${r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join(' | ')} |`
  return [line(rows[0]!), `|${w.map((n, c) => (c === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|')}|`, ...rows.slice(1).map(line)].join('\n')
}

try {
  await main()
} catch (err) {
  process.exitCode = 1
  console.error(err)
} finally {
  await cleanup()
}
