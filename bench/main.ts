// The side-by-side distribution benchmark (bench/README.md, "## Distribution side by side"):
// netkernel over tcp, tls and ssh between two OS processes, beside a raw socket pipe, a bare
// codec loop, Erlang/OTP distribution (default, +zdbbl 32768, inet_tls) and OTP↔netkernel
// (an erl node and a netkernel node with erlang: true, each way), in one run; gen_server
// calls beside ping-pong (netkernel's proc.call and OTP's gen_server:call, each also ÷ its
// own ping); and pg group send to 10,000 members on three nodes beside OTP's pg (bench/pg.ts).
//
//   npm run bench                       # node --import tsx bench/main.ts
//   node --import tsx bench/main.ts --quick
//   options: --quick --runs=R --no-otp --no-otp-nk --no-tls --no-ssh --cpu-prof=DIR --out=DIR
//            --peer-flags=FLAGS (Node/V8 flags for the netkernel peers, comma-separated)
//            --pin=same|apart (run both sides' processes on CPU 0, or the receiving side on 0 and the sending side on 1)
//            --only=tput,m2o,local,ping,call,hol,pg (scenario families) --sizes=10,100,1024,65536,1048576
//            --counts=SIZE:N,… (messages per throughput run, e.g. 1048576:1500 for a sustained stream)
//   checked by benchArgsProblem (lib/cli/bench.ts, netkernel bench's own check): a wrong one exits 2
//
// Progress goes to stderr; the table and the target lines to stdout; the results to
// bench/results/latest.json and latest.svg (or --out). A --quick run writes to
// bench/results/quick/ (ignored by git), so it never replaces the recorded full run.
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir, hostname, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { startEpmd, type EpmdDaemon } from '../lib/epmd/daemon.js'
import { createCodec } from '../lib/terms/codec.js'
import { FrameDecoder } from '../lib/terms/frame-decoder.js'
import { Pid } from '../lib/terms/pid.js'
import { type Child, children, startChild, median, fmtRate, table, pinSides } from './util.js'
import { cpuNsOf } from './process-cpu.js'
import { compiled } from './compiled.js'
import {
  hasErlang,
  inetTlsFlags,
  setupOtp,
  otpTlsConfig,
  startOtpPair,
  startOtpSender,
  type OtpPair,
  type OtpSetup,
  type OtpTls,
  type OtpVariant,
} from './otp.js'
import { sshdMissing, startSshd } from './sshd.js'
import type { LatResult, PeerConfig, PeerNodeConfig, TputResult, TransportName } from './peer.js'
import { chart, LATENCY_VARIANTS, TPUT_VARIANTS } from './svg.js'
import { BUSY_WAIT_PRESETS } from '../lib/kernel/busy-wait.js'
import { startPgBench, PG_VARIANT_LABEL, type PgBench } from './pg.js'
import { BENCH_HELP, benchArgsProblem } from '../lib/cli/bench.js'
import { usageError } from '../lib/cli/usage.js'

// ---- options -----------------------------------------------------------------------------

const argv = process.argv.slice(2)
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(BENCH_HELP)
  process.exit(0)
}
const problem = benchArgsProblem(argv)
if (problem !== undefined) process.exit(usageError('bench', problem))
const flag = (name: string): boolean => argv.includes(`--${name}`)
const strOpt = (name: string): string | undefined => argv.find(x => x.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = flag('quick')
const RUNS = Number(strOpt('runs') ?? (quick ? 1 : 3))
const only = strOpt('only')?.split(',')
const want = (family: string): boolean => only === undefined || only.includes(family)
const cpuProfDir = strOpt('cpu-prof')
/** Node/V8 flags for the two netkernel peer processes (e.g. --peer-flags=--initial-old-space-size=512). */
const peerFlags = (strOpt('peer-flags') ?? '').split(/[ ,]+/).filter(Boolean)
/** --pin: each side's processes (the netkernel peers, the OTP nodes) on a CPU of their own, or both on one. */
const pin = strOpt('pin') as 'same' | 'apart' | undefined
if (pin === 'apart' && cpus().length < 2) process.exit(usageError('bench', '--pin=apart: this machine has one CPU'))
pinSides(pin)
const outDir = strOpt('out') ?? fileURLToPath(new URL(quick ? './results/quick/' : './results/', import.meta.url))

const SIZES = (strOpt('sizes')?.split(',').map(Number) ?? [10, 100, 1024, 65536, 1048576]).filter(x =>
  [10, 100, 1024, 65536, 1048576].includes(x),
)
const SIZE_LABEL: Record<number, string> = { 10: '10 B', 100: '100 B', 1024: '1 KB', 65536: '64 KB', 1048576: '1 MB' }
/** Messages per run, per payload size; `--counts=SIZE:N,…` sets some (e.g. a sustained 1 MB stream: --counts=1048576:1500). */
const COUNT: Record<number, number> = quick
  ? { 10: 50_000, 100: 50_000, 1024: 20_000, 65536: 1_500, 1048576: 100 }
  : { 10: 300_000, 100: 300_000, 1024: 100_000, 65536: 3_000, 1048576: 200 }
for (const pair of strOpt('counts')?.split(',') ?? []) {
  const [size, n] = pair.split(':').map(Number) // checked by benchArgsProblem
  COUNT[size!] = n!
}
const M2O = quick ? 40_000 : 240_000 // many-to-one: messages of 100 B in all, from 8 processes
const M2O_PROCS = 8
const LOCAL = quick ? 200_000 : 1_000_000
const PINGS = quick ? 2_000 : 20_000
const PING_SIZE = 10
const HOL_M = quick ? 300 : 1500 // 1 MB messages streamed while pinging
const HOL_SIZE = 1048576
const PG_MEMBERS = 10_000 // pg group send: members over three nodes

// ---- what is measured --------------------------------------------------------------------

type Variant =
  | 'nk-tcp'
  | 'nk-tcp-bw'
  | 'nk-tls'
  | 'nk-ssh'
  | 'otp'
  | 'otp-tuned'
  | 'otp-tls'
  | 'otp-nobw'
  | 'nk-otp'
  | 'otp-nk'
  | 'nk-otp-tls'
  | 'otp-nk-tls'
  | 'raw'
  | 'raw-copy'
  | 'raw-bw'
  | 'codec'
  | 'local'
  | 'pg-relay'
  | 'pg-each'
  | 'otp-pg'
const VARIANT_LABEL: Record<Variant, string> = {
  'nk-tcp': 'netkernel tcp',
  'nk-tcp-bw': 'netkernel tcp busyWait',
  'nk-tls': 'netkernel tls',
  'nk-ssh': 'netkernel ssh',
  'nk-otp': 'netkernel→OTP',
  'otp-nk': 'OTP→netkernel',
  'nk-otp-tls': 'netkernel→OTP tls',
  'otp-nk-tls': 'OTP tls→netkernel',
  otp: 'OTP',
  'otp-tuned': 'OTP +zdbbl',
  'otp-tls': 'OTP inet_tls',
  'otp-nobw': 'OTP +sbwt none',
  raw: 'raw pipe',
  'raw-copy': 'raw copy',
  'raw-bw': 'raw busy-wait',
  codec: 'codec loop',
  local: 'local send',
  ...PG_VARIANT_LABEL,
}
/** Figures of one measurement: rate (msgs/s) for throughput; p50/p99/p999 (µs) for latency. */
type Sample = Record<string, number>
interface Measure {
  scenario: string
  variant: Variant
  run(): Promise<Sample>
  /**
   * The sending and the receiving (or echoing) OS process: their CPU time over the run, per
   * message or round trip (`per`, else the sample's `n`), becomes the sample's cpuSend, cpuRecv
   * and cpu (their sum), ns.
   */
  sides?: [Child, Child]
  per?: number
}

const tput = (r: TputResult, expected: number): Sample => {
  if (r.count !== expected || !r.ok) throw new Error(`received ${r.count} of ${expected} (ok=${r.ok})`)
  // First to last message received: count - 1 intervals.
  return {
    rate: (r.count - 1) / (r.recvNs / 1e9),
    e2e: r.count / (r.totalNs / 1e9),
  }
}
const lat = (r: LatResult): Sample => ({
  p50: r.p50,
  p99: r.p99,
  p999: r.p999,
  mean: r.mean,
  n: r.n,
  ...(r.streamBps === undefined ? {} : { streamBps: r.streamBps }),
})

/** m.run(), with the CPU time its two OS processes spent meanwhile (Measure.sides). */
async function runMeasure(m: Measure): Promise<Sample> {
  const before = m.sides?.map(c => cpuNsOf(c.proc.pid))
  const sample = await m.run()
  const after = m.sides?.map(c => cpuNsOf(c.proc.pid))
  const per = m.per ?? sample.n
  if (before === undefined || after === undefined || per === undefined) return sample
  const [s0, r0] = before
  const [s1, r1] = after
  if (s0 === undefined || r0 === undefined || s1 === undefined || r1 === undefined) return sample
  const cpuSend = (s1 - s0) / per
  const cpuRecv = (r1 - r0) / per
  return { ...sample, cpuSend, cpuRecv, cpu: cpuSend + cpuRecv }
}

/** The bench's busy-wait window (startNode's busyWait 'medium': OTP's default +sbwt is medium). */
const BUSY_WAIT_US = BUSY_WAIT_PRESETS.medium

/** Run `f` with both peers' event loops polling for BUSY_WAIT_US after traffic, as startNode's busyWait does. */
async function busyWaiting(s: Setup, f: () => Promise<LatResult>): Promise<Sample> {
  const set = (us: number): Promise<unknown> =>
    Promise.all([s.sender, s.receiver].map(c => c.ask(`busywait ${JSON.stringify({ us })}`, 'OK')))
  await set(BUSY_WAIT_US)
  try {
    return lat(await f())
  } finally {
    await set(0)
  }
}

/** The bare codec loop: encode the SEND frame, push it through the frame decoder, decode it. */
function codecLoop(n: number, size: number, pid: Pid): Sample {
  const codec = createCodec('netkernel')
  const msg = Buffer.alloc(size, 0x78)
  const dec = new FrameDecoder({ maxFrameSize: 256 * 1024 * 1024 })
  let last: unknown
  const onFrame = (body: Buffer): void => {
    last = codec.decode(body)
  }
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) dec.push(codec.encodeFrame([1, pid, msg]), onFrame)
  const ns = Number(process.hrtime.bigint() - t0)
  if (!Array.isArray(last) || !Buffer.isBuffer(last[2]) || last[2].length !== size) throw new Error('codec loop: wrong frame decoded')
  return { rate: n / (ns / 1e9) }
}

// ---- set-up ------------------------------------------------------------------------------

const tag = `nkb${process.pid}`
const cookie = randomBytes(12).toString('hex')
const peerEntry = fileURLToPath(new URL('./peer.ts', import.meta.url))
let epmd: EpmdDaemon | undefined
let pgBench: PgBench | undefined
let pgRound = 0
const tmp = mkdtempSync(join(tmpdir(), 'nkbench-'))
let cleaning: Promise<void> | undefined
const progress = (s: string): void => void process.stderr.write(s + '\n')

async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Peers and OTP nodes first, then the port mappers and sshd (they serve the others' goodbyes).
    const late = new Set(['epmd', 'sshd'])
    await pgBench?.stop().catch(() => {})
    await Promise.all(children.filter(c => !late.has(c.label)).map(c => c.stop().catch(() => {})))
    await Promise.all(children.filter(c => late.has(c.label)).map(c => c.stop().catch(() => {})))
    await epmd?.close().catch(() => {})
    rmSync(tmp, { recursive: true, force: true })
  })()
  return cleaning
}
// Last resort (an exception, a broken stdout): nothing started may outlive the bench.
process.on('exit', () => {
  for (const c of children) if (c.running) c.proc.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)))

interface Setup {
  sender: Child
  receiver: Child
  recvNodes: Partial<Record<TransportName, string>>
  rawPort: number
  rawEchoPort: number
  otp: Map<OtpVariant, OtpPair>
  otpRelease?: string
  /** netkernel→OTP: the sender's erl node is connected to the OTP receiver's sink. */
  nkToOtp: boolean
  /** OTP→netkernel: an erl node running nkbench's sender toward the receiver's erl node. */
  otpToNk?: Child
  /** The same over TLS: the erl-tls nodes and the OTP inet_tls pair's receiver. */
  nkToOtpTls: boolean
  otpTlsToNk?: Child
  notes: string[]
}

/** The Erlang/OTP bridge (startNode's erlang: true) is in this tree. */
function hasBridge(): boolean {
  return ['../lib/kernel/otp/otp-handshake.ts', '../lib/kernel/otp/otp-wire.ts'].every(f =>
    existsSync(fileURLToPath(new URL(f, import.meta.url))),
  )
}

async function setup(): Promise<Setup> {
  const t0 = Date.now()
  const notes: string[] = []
  epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
  const host = hostname().split('.')[0]!

  // Transports present in the tree.
  const transports: TransportName[] = ['tcp']
  const exists = async (m: string): Promise<boolean> =>
    import(m).then(
      () => true,
      () => false,
    )
  if (!flag('no-tls')) {
    if ((await exists('../transports/tls.js')) && (await exists('../lib/certs/index.js'))) transports.push('tls')
    else notes.push('tls: not measured (transports/tls.ts or lib/certs/ missing)')
  }
  let sshd: Awaited<ReturnType<typeof startSshd>> | undefined
  if (!flag('no-ssh')) {
    const missing = (await exists('../transports/ssh.js')) ? sshdMissing() : 'transports/ssh.ts missing'
    if (missing === undefined) {
      sshd = await startSshd(tmp)
      transports.push('ssh')
    } else notes.push(`ssh: not measured (${missing})`)
  }

  const recvNodes: PeerNodeConfig[] = []
  const sendNodes: PeerNodeConfig[] = []
  for (const t of transports) {
    const r: PeerNodeConfig = { transport: t, name: t === 'ssh' ? `${tag}_r_ssh@gw` : `${tag}_r_${t}` }
    const s: PeerNodeConfig = { transport: t, name: `${tag}_s_${t}` }
    if (t === 'tls') {
      const { createCa, issueNodeCert } = await import('../lib/certs/index.js')
      const ca = createCa({ commonName: 'nkbench CA' })
      writeFileSync(join(tmp, 'ca.pem'), ca.cert)
      for (const c of [r, s]) {
        const leaf = issueNodeCert(ca, c.name, { hosts: [host, '127.0.0.1', 'localhost'] })
        writeFileSync(join(tmp, `${c.name}.pem`), leaf.cert)
        writeFileSync(join(tmp, `${c.name}.key`), leaf.key)
        c.tls = { ca: join(tmp, 'ca.pem'), cert: join(tmp, `${c.name}.pem`), key: join(tmp, `${c.name}.key`) }
      }
    }
    if (t === 'ssh')
      s.ssh = {
        gateway: 'gw',
        host: sshd!.host,
        port: sshd!.port,
        username: sshd!.username,
        privateKey: sshd!.privateKey,
        hostKey: sshd!.hostKey,
        target: '127.0.0.1',
      }
    recvNodes.push(r)
    sendNodes.push(s)
  }
  // OTP↔netkernel: a netkernel node with erlang: true on each side, registered with the
  // Erlang nodes' port mapper (so that erl finds it, and it finds them).
  const otpWanted = !flag('no-otp') && hasErlang()
  let otpSetup: OtpSetup | undefined
  if (otpWanted) otpSetup = await setupOtp(tmp)
  // inet_tls's certificates, made before the peers start: the erl-tls nodes use them too.
  let otpTls: OtpTls | undefined
  if (otpSetup !== undefined) {
    if (flag('no-tls')) notes.push('OTP inet_tls: not measured (--no-tls)')
    else {
      try {
        otpTls = await otpTlsConfig(tmp, otpSetup.env)
      } catch (err) {
        notes.push(`OTP inet_tls: not measured (${(err as Error).message.split('\n')[0]})`)
      }
    }
  }
  let otpNk = false
  let otpNkTls = false
  if (otpSetup !== undefined && !flag('no-otp-nk')) {
    if (hasBridge()) {
      otpNk = true
      recvNodes.push({ transport: 'erl', name: `${tag}_r_erl`, epmdPort: otpSetup.epmdPort })
      sendNodes.push({ transport: 'erl', name: `${tag}_s_erl`, epmdPort: otpSetup.epmdPort })
      // Over TLS too, when both netkernel's tls and OTP's inet_tls are measured.
      if (otpTls !== undefined && transports.includes('tls')) {
        otpNkTls = true
        const files = { ca: otpTls.ca, cert: otpTls.cert, key: otpTls.key }
        recvNodes.push({ transport: 'erl-tls', name: `${tag}_r_erltls`, epmdPort: otpSetup.epmdPort, tls: files })
        sendNodes.push({ transport: 'erl-tls', name: `${tag}_s_erltls`, epmdPort: otpSetup.epmdPort, tls: files })
      }
    } else notes.push('OTP↔netkernel: not measured (this tree has no Erlang/OTP bridge: lib/kernel/otp/)')
  } else if (flag('no-otp-nk')) notes.push('OTP↔netkernel: not measured (--no-otp-nk)')

  const peerArgs = await compiled(peerEntry)
  const peer = (role: 'recv' | 'send', nodes: PeerNodeConfig[]): Child => {
    const prof = [...peerFlags, ...(cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, role)}`])]
    const cfg: PeerConfig = { role, cookie, epmdPort: epmd!.port, nodes }
    return startChild(
      role === 'recv' ? 'receiver' : 'sender',
      process.execPath,
      [...prof, ...peerArgs, JSON.stringify(cfg)],
      undefined,
      'inherit',
      role,
    )
  }

  const otp = new Map<OtpVariant, OtpPair>()
  let otpRelease: string | undefined
  const startOtp = async (): Promise<void> => {
    const s = otpSetup!
    otpRelease = s.release
    const variants: OtpVariant[] = [
      'default',
      'tuned',
      ...(otpTls === undefined ? [] : ['tls' as const]),
      ...(want('ping') || want('call') ? ['nobw' as const] : []),
    ]
    await Promise.all(
      variants.map(async v => {
        try {
          otp.set(v, await startOtpPair(s, v, tag, cookie, otpTls))
        } catch (err) {
          notes.push(`OTP ${v}: not measured (${(err as Error).message})`)
        }
      }),
    )
  }

  const receiver = peer('recv', recvNodes)
  const sender = peer('send', sendNodes)
  const starting: Promise<unknown>[] = [sender.expect('READY', 120_000)]
  if (otpWanted) starting.push(startOtp())
  else notes.push(flag('no-otp') ? 'Erlang/OTP: not measured (--no-otp)' : 'Erlang/OTP: not measured (erl, erlc or epmd not installed)')
  const ready = JSON.parse(await receiver.expect('READY', 120_000)) as {
    nodes: Partial<Record<TransportName, string>>
    rawPort: number
    rawEchoPort: number
  }
  await Promise.all(starting)
  for (const t of transports) {
    const ok = await sender.ask<boolean>(`connect ${JSON.stringify({ t, node: ready.nodes[t] })}`, 'CONNECTED', 60_000)
    if (!ok) throw new Error(`${t}: cannot connect to ${ready.nodes[t]}`)
  }
  /** The sender's `t` node connected to `pair`'s receiving erl node, and an erl sender toward the receiver's `t` node. */
  const bridge = async (t: 'erl' | 'erl-tls', pair: OtpVariant, flags: string[]): Promise<[boolean, Child | undefined]> => {
    const what = t === 'erl' ? '' : ' over TLS'
    let to = false
    let from: Child | undefined
    const target = otp.get(pair)?.recvNode
    try {
      if (target === undefined) throw new Error(`no OTP ${pair} receiver`)
      to = await sender.ask<boolean>(`connect ${JSON.stringify({ t, node: target, otp: true })}`, 'CONNECTED', 60_000)
      if (!to) throw new Error(`cannot connect to ${target}`)
    } catch (err) {
      notes.push(`netkernel→OTP${what}: not measured (${(err as Error).message})`)
    }
    try {
      from = await startOtpSender(otpSetup!, `${tag}_otpnk_${t === 'erl' ? '' : 'tls'}send`, ready.nodes[t]!, cookie, flags)
    } catch (err) {
      notes.push(`OTP→netkernel${what}: not measured (${(err as Error).message})`)
    }
    return [to, from]
  }
  const [nkToOtp, otpToNk] = otpNk ? await bridge('erl', 'default', []) : [false, undefined]
  const [nkToOtpTls, otpTlsToNk] = otpNkTls ? await bridge('erl-tls', 'tls', inetTlsFlags(otpTls!)) : [false, undefined]
  const bridged = [
    [nkToOtp, 'netkernel→OTP'],
    [otpToNk, 'OTP→netkernel'],
    [nkToOtpTls, 'netkernel→OTP over TLS'],
    [otpTlsToNk, 'OTP→netkernel over TLS'],
  ] as const
  progress(
    `started in ${((Date.now() - t0) / 1000).toFixed(1)} s: netkernel ${transports.join(', ')}; OTP ${[...otp.keys()].join(', ') || 'none'}` +
      `; OTP↔netkernel ${
        bridged
          .filter(([on]) => on !== false && on !== undefined)
          .map(([, name]) => name)
          .join(', ') || 'none'
      }`,
  )
  if (want('pg')) {
    try {
      pgBench = await startPgBench({ members: PG_MEMBERS, otp: otpSetup ?? false, tag: `${tag}pg` })
      notes.push(...pgBench.notes)
    } catch (err) {
      notes.push(`pg group send: not measured (${(err as Error).message})`)
    }
  }
  for (const n of notes) progress(`  note: ${n}`)
  return {
    sender,
    receiver,
    recvNodes: ready.nodes,
    rawPort: ready.rawPort,
    rawEchoPort: ready.rawEchoPort,
    otp,
    otpRelease,
    nkToOtp,
    otpToNk,
    nkToOtpTls,
    otpTlsToNk,
    notes,
  }
}

function measures(s: Setup): Measure[] {
  const out: Measure[] = []
  const nk = (Object.keys(s.recvNodes) as TransportName[])
    .filter(t => t !== 'erl' && t !== 'erl-tls')
    .map(t => [t, `nk-${t}` as Variant] as const)
  // OTP +sbwt none is measured in ping-pong and calls only (it differs from the default only in how the schedulers sleep).
  const otpAll = [...s.otp].map(([v, pair]) => [pair, v === 'default' ? 'otp' : (`otp-${v}` as Variant)] as const)
  const otp = otpAll.filter(([, v]) => v !== 'otp-nobw')
  const pid = new Pid(s.recvNodes.tcp ?? 'bench@localhost', 4711, 0, 1700000000)
  const nkSides: [Child, Child] = [s.sender, s.receiver]
  // netkernel→OTP: the sender's erl node talks to the default pair's receiving VM, its erl-tls
  // node to the inet_tls pair's. OTP→netkernel: an erl sender to the receiver's erl (erl-tls) node.
  const toOtp: { t: TransportName; variant: Variant; sides?: [Child, Child] }[] = []
  for (const [on, t, variant, pair] of [
    [s.nkToOtp, 'erl', 'nk-otp', 'default'],
    [s.nkToOtpTls, 'erl-tls', 'nk-otp-tls', 'tls'],
  ] as const) {
    const receiver = s.otp.get(pair)?.receiver
    if (on) toOtp.push({ t, variant, ...(receiver === undefined ? {} : { sides: [s.sender, receiver] }) })
  }
  const fromOtp: { erl: Child; variant: Variant }[] = []
  if (s.otpToNk !== undefined) fromOtp.push({ erl: s.otpToNk, variant: 'otp-nk' })
  if (s.otpTlsToNk !== undefined) fromOtp.push({ erl: s.otpTlsToNk, variant: 'otp-nk-tls' })
  if (want('tput')) {
    for (const size of SIZES) {
      const n = COUNT[size]!
      const sc = `tput-${size}`
      out.push({
        scenario: sc,
        variant: 'raw',
        run: async () => tput(await s.sender.ask(`raw ${JSON.stringify({ n, size, port: s.rawPort })}`), n),
        sides: nkSides,
        per: n,
      })
      // The ceiling for messages handed out whole: the raw pipe whose reader copies each body once.
      out.push({
        scenario: sc,
        variant: 'raw-copy',
        run: async () => tput(await s.sender.ask(`raw ${JSON.stringify({ n, size, port: s.rawPort, copy: true })}`), n),
        sides: nkSides,
        per: n,
      })
      out.push({ scenario: sc, variant: 'codec', run: async () => codecLoop(n, size, pid) })
      for (const [t, v] of nk)
        out.push({
          scenario: sc,
          variant: v,
          run: async () => tput(await s.sender.ask(`tput ${JSON.stringify({ t, n, size, procs: 1 })}`), n),
          sides: nkSides,
          per: n,
        })
      for (const [pair, v] of otp)
        out.push({
          scenario: sc,
          variant: v,
          run: async () => tput(await pair.sender.ask(`tput ${n} ${size} 1`), n),
          sides: [pair.sender, pair.receiver],
          per: n,
        })
      for (const { t, variant, sides } of toOtp)
        out.push({
          scenario: sc,
          variant,
          run: async () => tput(await s.sender.ask(`tput ${JSON.stringify({ t, n, size, procs: 1 })}`), n),
          sides,
          per: n,
        })
      for (const { erl, variant } of fromOtp)
        out.push({
          scenario: sc,
          variant,
          run: async () => tput(await erl.ask(`tput ${n} ${size} 1`), n),
          sides: [erl, s.receiver],
          per: n,
        })
    }
  }
  if (want('m2o')) {
    const sc = 'm2o-100'
    for (const [t, v] of nk)
      out.push({
        scenario: sc,
        variant: v,
        run: async () => tput(await s.sender.ask(`tput ${JSON.stringify({ t, n: M2O, size: 100, procs: M2O_PROCS })}`), M2O),
        sides: nkSides,
        per: M2O,
      })
    for (const [pair, v] of otp)
      out.push({
        scenario: sc,
        variant: v,
        run: async () => tput(await pair.sender.ask(`tput ${M2O} 100 ${M2O_PROCS}`), M2O),
        sides: [pair.sender, pair.receiver],
        per: M2O,
      })
    for (const { t, variant, sides } of toOtp)
      out.push({
        scenario: sc,
        variant,
        run: async () => tput(await s.sender.ask(`tput ${JSON.stringify({ t, n: M2O, size: 100, procs: M2O_PROCS })}`), M2O),
        sides,
        per: M2O,
      })
    for (const { erl, variant } of fromOtp)
      out.push({
        scenario: sc,
        variant,
        run: async () => tput(await erl.ask(`tput ${M2O} 100 ${M2O_PROCS}`), M2O),
        sides: [erl, s.receiver],
        per: M2O,
      })
  }
  if (want('local')) {
    out.push({
      scenario: 'local-100',
      variant: 'local',
      run: async () => tput(await s.receiver.ask(`local ${JSON.stringify({ n: LOCAL, size: 100 })}`), LOCAL),
    })
  }
  /**
   * A round-trip family, PINGS round trips of PING_SIZE bytes each ('ping': to the echo
   * process; 'call': gen_server calls to the server): netkernel's transports, tcp again with
   * busyWait, OTP's variants (+sbwt none included), and OTP↔netkernel each way.
   */
  const roundTrips = (sc: 'ping' | 'call'): void => {
    const nkTrips = (t: TransportName) => (): Promise<LatResult> =>
      s.sender.ask(`${sc} ${JSON.stringify({ t, k: PINGS, size: PING_SIZE })}`, 'LAT')
    for (const [t, v] of nk) out.push({ scenario: sc, variant: v, run: async () => lat(await nkTrips(t)()), sides: nkSides })
    if (nk.some(([t]) => t === 'tcp'))
      out.push({ scenario: sc, variant: 'nk-tcp-bw', run: () => busyWaiting(s, nkTrips('tcp')), sides: nkSides })
    for (const [pair, v] of otpAll)
      out.push({
        scenario: sc,
        variant: v,
        run: async () => lat(await pair.sender.ask(`${sc} ${PINGS} ${PING_SIZE}`, 'LAT')),
        sides: [pair.sender, pair.receiver],
      })
    for (const { t, variant, sides } of toOtp) out.push({ scenario: sc, variant, run: async () => lat(await nkTrips(t)()), sides })
    for (const { erl, variant } of fromOtp)
      out.push({
        scenario: sc,
        variant,
        run: async () => lat(await erl.ask(`${sc} ${PINGS} ${PING_SIZE}`, 'LAT')),
        sides: [erl, s.receiver],
      })
  }
  if (want('ping')) {
    roundTrips('ping')
    out.push({
      scenario: 'ping',
      variant: 'raw',
      run: async () => lat(await s.sender.ask(`rawping ${JSON.stringify({ k: PINGS, size: PING_SIZE, port: s.rawEchoPort })}`, 'LAT')),
      sides: nkSides,
    })
    out.push({
      scenario: 'ping',
      variant: 'raw-bw',
      run: () => busyWaiting(s, () => s.sender.ask(`rawping ${JSON.stringify({ k: PINGS, size: PING_SIZE, port: s.rawEchoPort })}`, 'LAT')),
      sides: nkSides,
    })
  }
  if (want('call')) roundTrips('call')
  if (want('hol')) {
    for (const [t, v] of nk.filter(([t]) => t === 'tcp')) {
      const hol = (): Promise<LatResult> => s.sender.ask(`hol ${JSON.stringify({ t, m: HOL_M, size: HOL_SIZE, psize: PING_SIZE })}`, 'LAT')
      out.push({ scenario: 'hol', variant: v, run: async () => lat(await hol()) })
      out.push({ scenario: 'hol', variant: 'nk-tcp-bw', run: () => busyWaiting(s, hol) })
    }
    for (const [pair, v] of otp.filter(([, v]) => v !== 'otp-tls'))
      out.push({ scenario: 'hol', variant: v, run: async () => lat(await pair.sender.ask(`hol ${HOL_M} ${HOL_SIZE} ${PING_SIZE}`, 'LAT')) })
  }
  if (want('pg') && pgBench !== undefined) {
    const b = pgBench
    for (const v of b.variants) {
      out.push({
        scenario: 'pg-10k',
        variant: v,
        run: async () => {
          const ns = await b.run(v, ++pgRound)
          return { rate: PG_MEMBERS / (ns / 1e9), ms: ns / 1e6 }
        },
      })
    }
  }
  return out
}

// ---- report ------------------------------------------------------------------------------

type Rounds = Map<string, Sample>[] // per round: `${scenario}|${variant}` → sample

const SCENARIO_LABEL = (sc: string): string =>
  sc.startsWith('tput-')
    ? `throughput ${SIZE_LABEL[Number(sc.slice(5))]}`
    : sc === 'm2o-100'
      ? `many-to-one (${M2O_PROCS}→1) 100 B`
      : sc === 'local-100'
        ? 'local send 100 B (one node)'
        : sc === 'pg-10k'
          ? `pg group send to ${PG_MEMBERS} members`
          : sc

interface Summary {
  /** Median over rounds of each figure. */
  figures: Record<string, Record<string, number>>
  /**
   * Median over rounds of per-round ratios: `${scenario}|${metric}|${a}/${b}`; and for
   * `call/ping` (each variant's call ÷ its own ping in the round: what a call's monitor and
   * demonitor add), `call/ping|${metric}|${v}` and, across variants, `call/ping|${metric}|${a}/${b}`.
   */
  ratios: Record<string, { median: number; min: number; max: number }>
}

const LAT_METRICS = ['p50', 'p99', 'p999']
/** The latency table's figures: the percentiles, and the CPU time of both OS processes per round trip. */
const LAT_ROWS = [...LAT_METRICS, 'cpu']

/** A round's `call/ping|${variant}` samples: each latency figure of its call ÷ that of its ping. */
function callOverPing(round: Map<string, Sample>): Map<string, Sample> {
  const out = new Map<string, Sample>()
  for (const [k, call] of round) {
    const ping = k.startsWith('call|') ? round.get(`ping|${k.slice(5)}`) : undefined
    if (ping !== undefined) out.set(`call/ping|${k.slice(5)}`, Object.fromEntries(LAT_METRICS.map(m => [m, call[m]! / ping[m]!])))
  }
  return out
}

function summarize(rounds: Rounds): Summary {
  const keys = new Set(rounds.flatMap(r => [...r.keys()]))
  const figures: Summary['figures'] = {}
  for (const k of keys) {
    const metrics = new Set(rounds.flatMap(r => Object.keys(r.get(k) ?? {})))
    figures[k] = Object.fromEntries(
      [...metrics].map(m => [m, median(rounds.map(r => r.get(k)?.[m]).filter((x): x is number => x !== undefined))]),
    )
  }
  const ratios: Summary['ratios'] = {}
  const spread = (xs: number[]): Summary['ratios'][string] | undefined =>
    xs.length === 0 ? undefined : { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
  const withDerived = rounds.map(r => new Map([...r, ...callOverPing(r)]))
  const pairs: [Variant, Variant][] = [
    ['nk-tcp', 'otp'],
    ['nk-tcp-bw', 'otp'],
    ['nk-tcp', 'otp-nobw'],
    ['nk-tcp', 'nk-tcp-bw'],
    ['otp', 'otp-nobw'],
    ['raw', 'otp-nobw'],
    ['raw-bw', 'otp'],
    ['nk-tcp-bw', 'raw-bw'],
    ['nk-tcp', 'otp-tuned'],
    ['nk-tcp', 'raw'],
    ['nk-tcp', 'raw-copy'],
    ['nk-tcp', 'codec'],
    ['nk-tls', 'otp-tls'],
    ['nk-ssh', 'nk-tls'],
    ['nk-tls', 'nk-tcp'],
    ['otp-tuned', 'otp'],
    ['nk-tls', 'otp'],
    ['nk-ssh', 'otp'],
    ['nk-otp', 'otp'],
    ['otp-nk', 'otp'],
    ['nk-otp', 'nk-tcp'],
    ['otp-nk', 'nk-tcp'],
    ['nk-otp-tls', 'otp-tls'],
    ['otp-nk-tls', 'otp-tls'],
    ['nk-otp-tls', 'nk-tls'],
    ['otp-nk-tls', 'nk-tls'],
    ['pg-relay', 'otp-pg'],
    ['pg-each', 'otp-pg'],
    ['pg-relay', 'pg-each'],
  ]
  const derived = new Set(withDerived.flatMap(r => [...r.keys()]).filter(k => k.startsWith('call/ping|')))
  for (const k of derived) {
    for (const metric of LAT_METRICS) {
      const x = spread(withDerived.map(r => r.get(k)?.[metric] ?? NaN).filter(Number.isFinite))
      if (x !== undefined) ratios[`call/ping|${metric}|${k.slice(10)}`] = x
    }
  }
  const scenarios = new Set([...keys, ...derived].map(k => k.split('|')[0]!))
  for (const sc of scenarios) {
    for (const metric of ['rate', ...LAT_ROWS]) {
      for (const [a, b] of pairs) {
        const x = spread(
          withDerived.map(r => (r.get(`${sc}|${a}`)?.[metric] ?? NaN) / (r.get(`${sc}|${b}`)?.[metric] ?? NaN)).filter(Number.isFinite),
        )
        if (x !== undefined) ratios[`${sc}|${metric}|${a}/${b}`] = x
      }
    }
  }
  return { figures, ratios }
}

interface Target {
  name: string
  value: number
  goal: string
  pass: boolean
}

function targets(s: Summary): Target[] {
  const r = (k: string): number => s.ratios[k]?.median ?? NaN
  const list: [string, number, '>=' | '<=', number][] = [
    ['TCP 100 B ≥ 3× OTP default', r('tput-100|rate|nk-tcp/otp'), '>=', 3],
    ['TLS 100 B ≥ 3× OTP default', r('tput-100|rate|nk-tls/otp'), '>=', 3],
    ['SSH 100 B ≥ 3× OTP default', r('tput-100|rate|nk-ssh/otp'), '>=', 3],
    ['TCP 100 B ≥ 1.2× OTP tuned (+zdbbl 32768)', r('tput-100|rate|nk-tcp/otp-tuned'), '>=', 1.2],
    ['TCP 100 B ≥ 0.8× bare codec loop', r('tput-100|rate|nk-tcp/codec'), '>=', 0.8],
    ['TLS 100 B ≥ 2× OTP inet_tls', r('tput-100|rate|nk-tls/otp-tls'), '>=', 2],
    ['TLS 1 MB ≥ 8× OTP inet_tls MB/s', r('tput-1048576|rate|nk-tls/otp-tls'), '>=', 8],
    ['SSH 100 B ≥ 50% of TLS', r('tput-100|rate|nk-ssh/nk-tls'), '>=', 0.5],
    ['SSH 1 MB ≥ 50% of TLS', r('tput-1048576|rate|nk-ssh/nk-tls'), '>=', 0.5],
    ['TCP 1 MB ≥ 0.8× raw pipe copying each body once', r('tput-1048576|rate|nk-tcp/raw-copy'), '>=', 0.8],
    ['TCP 1 MB ≥ 0.5× OTP MB/s (stretch)', r('tput-1048576|rate|nk-tcp/otp'), '>=', 0.5],
    // OTP's schedulers busy-wait before they sleep (+sbwt, medium by default); a Node event
    // loop sleeps at once unless startNode's busyWait asks it to poll. Like is compared with like.
    ['ping-pong p50 ≤ OTP (both busy-wait: busyWait medium, OTP default)', r('ping|p50|nk-tcp-bw/otp'), '<=', 1],
    ['ping-pong p99 ≤ 1.2× OTP (both busy-wait)', r('ping|p99|nk-tcp-bw/otp'), '<=', 1.2],
    ['ping-pong p999 ≤ 1.5× OTP (both busy-wait)', r('ping|p999|nk-tcp-bw/otp'), '<=', 1.5],
    ['ping-pong p50 ≤ OTP (neither busy-waits: default, +sbwt none)', r('ping|p50|nk-tcp/otp-nobw'), '<=', 1],
    ['ping-pong p99 ≤ 1.2× OTP (neither busy-waits)', r('ping|p99|nk-tcp/otp-nobw'), '<=', 1.2],
    ['ping-pong p999 ≤ 1.5× OTP (neither busy-waits)', r('ping|p999|nk-tcp/otp-nobw'), '<=', 1.5],
    // What a call adds to a ping (its monitor and demonitor, the {'$gen_call', …} wrapping),
    // in proportion to each side's own ping: netkernel's share of it in line with OTP's.
    ['call ÷ ping p50 ≤ 1.5× OTP call ÷ ping (neither busy-waits)', r('call/ping|p50|nk-tcp/otp-nobw'), '<=', 1.5],
    ['ping during 1 MB stream p99 ≤ 0.5× OTP', r('hol|p99|nk-tcp/otp'), '<=', 0.5],
    ['ping during 1 MB stream p99 ≤ 5× idle p99', (s.figures['hol|nk-tcp']?.p99 ?? NaN) / (s.figures['ping|nk-tcp']?.p99 ?? NaN), '<=', 5],
  ]
  return list.map(([name, value, op, goal]) => ({
    name,
    value,
    goal: `${op} ${goal}`,
    pass: Number.isFinite(value) && (op === '>=' ? value >= goal : value <= goal),
  }))
}

function render(s: Summary, scenarios: string[]): string {
  const cols: Variant[] = TPUT_VARIANTS.filter(v => scenarios.some(sc => s.figures[`${sc}|${v}`] !== undefined))
  const ratioCols: [string, string][] = [
    ['tcp/OTP', 'nk-tcp/otp'],
    ['tcp/tuned', 'nk-tcp/otp-tuned'],
    ['tcp/raw', 'nk-tcp/raw'],
    ['tcp/copy', 'nk-tcp/raw-copy'],
    ['tcp/codec', 'nk-tcp/codec'],
    ['tls/OTP tls', 'nk-tls/otp-tls'],
    ['ssh/tls', 'nk-ssh/nk-tls'],
    ['nk→OTP/OTP', 'nk-otp/otp'],
    ['OTP→nk/OTP', 'otp-nk/otp'],
    ['nk→OTP tls/OTP tls', 'nk-otp-tls/otp-tls'],
    ['OTP tls→nk/OTP tls', 'otp-nk-tls/otp-tls'],
  ]
  const rows: string[][] = [['scenario', 'unit', ...cols.map(c => VARIANT_LABEL[c]), ...ratioCols.map(c => c[0])]]
  const fig = (sc: string, v: string, m: string): number | undefined => s.figures[`${sc}|${v}`]?.[m]
  const ratio = (sc: string, m: string, pair: string): string => {
    const x = s.ratios[`${sc}|${m}|${pair}`]
    return x === undefined ? '' : x.median.toFixed(2)
  }
  for (const sc of scenarios) {
    if (sc === 'pg-10k' || sc === 'ping' || sc === 'call' || sc === 'hol') continue // their own tables (renderPg, renderLatency)
    if (sc === 'local-100') {
      rows.push([
        SCENARIO_LABEL(sc),
        'msgs/s',
        fmtRate(fig(sc, 'local', 'rate') ?? NaN),
        ...cols.slice(1).map(() => ''),
        ...ratioCols.map(() => ''),
      ])
      continue
    }
    const size = sc.startsWith('tput-') ? Number(sc.slice(5)) : 100
    const mb = size >= 65536
    rows.push([
      SCENARIO_LABEL(sc),
      mb ? 'MB/s' : 'msgs/s',
      ...cols.map(c => {
        const x = fig(sc, c, 'rate')
        return x === undefined ? '' : mb ? String(Math.round((x * size) / 1e6)) : fmtRate(x)
      }),
      ...ratioCols.map(([, p]) => ratio(sc, 'rate', p)),
    ])
    // The CPU time of both OS processes per message (Measure.sides), where measured.
    const cpu = cols.map(c => fig(sc, c, 'cpu'))
    if (cpu.some(x => x !== undefined)) {
      rows.push([
        `${SCENARIO_LABEL(sc)} CPU`,
        'µs/msg',
        ...cpu.map(x => (x === undefined ? '' : x >= 100_000 ? String(Math.round(x / 1000)) : (x / 1000).toFixed(2))),
        ...ratioCols.map(([, p]) => ratio(sc, 'cpu', p)),
      ])
    }
  }
  return table(rows)
}

/**
 * Round-trip latencies (ping-pong idle, gen_server calls, ping-pong during a 1 MB stream), µs,
 * and the CPU time (user + system) the sending and the echoing OS process spent per round trip
 * of a ping or call, together; then each variant's call ÷ its own ping (×), whose ratio columns
 * compare those; ratios below 1 are better.
 */
function renderLatency(s: Summary): string | undefined {
  const cols = LATENCY_VARIANTS.filter(v => ['ping', 'call', 'hol'].some(sc => s.figures[`${sc}|${v}`] !== undefined))
  if (cols.length === 0) return undefined
  const ratioCols: [string, string][] = [
    ['tcp/OTP', 'nk-tcp/otp'],
    ['tcp bw/OTP', 'nk-tcp-bw/otp'],
    ['tcp/OTP sbwt none', 'nk-tcp/otp-nobw'],
    ['tcp/raw', 'nk-tcp/raw'],
    ['tcp bw/raw bw', 'nk-tcp-bw/raw-bw'],
    ['tls/OTP tls', 'nk-tls/otp-tls'],
    ['OTP/OTP sbwt none', 'otp/otp-nobw'],
    ['nk→OTP tls/OTP tls', 'nk-otp-tls/otp-tls'],
    ['OTP tls→nk/OTP tls', 'otp-nk-tls/otp-tls'],
  ]
  const rows: string[][] = [['latency', 'unit', ...cols.map(c => VARIANT_LABEL[c]), ...ratioCols.map(c => c[0])]]
  const label: Record<string, string> = {
    ping: `ping-pong ${PING_SIZE} B`,
    call: `gen_server call ${PING_SIZE} B`,
    'call/ping': 'call ÷ ping',
    hol: 'ping during 1 MB stream',
  }
  for (const sc of ['ping', 'call', 'call/ping', 'hol']) {
    for (const m of LAT_ROWS) {
      const figs = cols.map(c => {
        if (sc === 'call/ping') return s.ratios[`${sc}|${m}|${c}`]?.median
        const x = s.figures[`${sc}|${c}`]?.[m]
        return m === 'cpu' && x !== undefined ? x / 1000 : x // (cpu: ns per round trip, shown in µs)
      })
      if (figs.every(x => x === undefined)) continue
      rows.push([
        m === 'cpu' ? `${label[sc]} CPU` : `${label[sc]} ${m}`,
        sc === 'call/ping' ? '×' : m === 'cpu' ? 'µs/trip' : 'µs',
        ...figs.map(x => (x === undefined ? '' : sc === 'call/ping' ? x.toFixed(2) : x >= 100 ? String(Math.round(x)) : x.toFixed(1))),
        ...ratioCols.map(([, p]) => s.ratios[`${sc}|${m}|${p}`]?.median.toFixed(2) ?? ''),
      ])
    }
  }
  return table(rows)
}

/** pg group send: time until every member has the message, and members reached per second. */
function renderPg(s: Summary): string | undefined {
  const vs = (['pg-relay', 'pg-each', 'otp-pg'] as const).filter(v => s.figures[`pg-10k|${v}`] !== undefined)
  if (vs.length === 0) return undefined
  const r = (pair: string): string => s.ratios[`pg-10k|rate|${pair}`]?.median.toFixed(2) ?? ''
  return table([
    [`pg group send to ${PG_MEMBERS} members on 3 nodes`, 'ms until all received', 'members/s', 'speed vs OTP', 'speed vs per member'],
    ...vs.map(v => {
      const f = s.figures[`pg-10k|${v}`]!
      return [
        VARIANT_LABEL[v],
        f.ms!.toFixed(1),
        fmtRate(f.rate!),
        v === 'otp-pg' ? '' : r(`${v}/otp-pg`),
        v === 'pg-relay' ? r('pg-relay/pg-each') : '',
      ]
    }),
  ])
}

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now()
  const s = await setup()
  const all = measures(s)
  const scenarios = [...new Set(all.map(m => m.scenario))]
  const rounds: Rounds = []
  progress(`${quick ? 'quick: ' : ''}warm-up + ${RUNS} round${RUNS > 1 ? 's' : ''} of ${all.length} measurements`)
  for (let round = 0; round <= RUNS; round++) {
    const got = new Map<string, Sample>()
    for (const sc of scenarios) {
      const ms = all.filter(m => m.scenario === sc)
      // Rotate the order, so that no variant always runs first (or right after the slowest).
      const order = ms.map((_, i) => ms[(i + round) % ms.length]!)
      for (const m of order) {
        let sample: Sample
        try {
          sample = await runMeasure(m)
        } catch (err) {
          progress(`  ${sc} ${m.variant}: FAILED ${(err as Error).message}`)
          continue
        }
        got.set(`${sc}|${m.variant}`, sample)
        const what =
          sample.rate !== undefined
            ? `${fmtRate(sample.rate)} msgs/s${sc.startsWith('tput-') && Number(sc.slice(5)) >= 1024 ? ` (${Math.round((sample.rate * Number(sc.slice(5))) / 1e6)} MB/s)` : ''}`
            : `p50 ${sample.p50!.toFixed(1)} µs, p99 ${sample.p99!.toFixed(1)} µs, p999 ${sample.p999!.toFixed(1)} µs (${sample.n} round trips${sample.streamBps === undefined ? '' : `; stream ${Math.round(sample.streamBps / 1e6)} MB/s`}${sample.cpu === undefined ? '' : `; CPU ${(sample.cpu / 1000).toFixed(1)} µs a trip`})`
        progress(
          `  ${round === 0 ? 'warm-up' : `round ${round}`}  ${SCENARIO_LABEL(sc).padEnd(28)} ${VARIANT_LABEL[m.variant].padEnd(14)} ${what}`,
        )
      }
    }
    if (round > 0) rounds.push(got)
  }

  const summary = summarize(rounds)
  const tg = targets(summary)
  const header = `Distribution side by side: ${RUNS} round${RUNS > 1 ? 's' : ''}${quick ? ' (--quick)' : ''}, Node ${process.version}${s.otpRelease ? `, Erlang/OTP ${s.otpRelease}` : ''}${peerFlags.length > 0 ? `, netkernel peers: node ${peerFlags.join(' ')}` : ''}${pin !== undefined ? `, pinned: ${pin === 'same' ? 'both sides on CPU 0' : 'receiver on CPU 0, sender on CPU 1'}` : ''}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}; median of rounds, ratios per round`
  console.log(`\n${header}`)
  console.log(render(summary, scenarios))
  const latTable = renderLatency(summary)
  if (latTable !== undefined) console.log(`\n${latTable}`)
  const pgTable = renderPg(summary)
  if (pgTable !== undefined) console.log(`\n${pgTable}`)
  const hol = summary.figures['hol|nk-tcp']
  const idle = summary.figures['ping|nk-tcp']
  if (hol !== undefined && idle !== undefined) {
    console.log(
      `head-of-line: netkernel tcp ping p99 ${hol.p99!.toFixed(0)} µs during a 1 MB stream (${Math.round(hol.streamBps! / 1e6)} MB/s) vs ${idle.p99!.toFixed(0)} µs idle (×${(hol.p99! / idle.p99!).toFixed(1)})` +
        (summary.figures['hol|otp']
          ? `; OTP ${summary.figures['hol|otp'].p99!.toFixed(0)} µs during (${Math.round(summary.figures['hol|otp'].streamBps! / 1e6)} MB/s) vs ${summary.figures['ping|otp']?.p99?.toFixed(0)} µs idle`
          : ''),
    )
  }
  for (const n of s.notes) console.log(`note: ${n}`)
  console.log('')
  // A target whose variants this run left out (--only, --no-otp, …) is neither met nor missed.
  for (const t of tg)
    console.log(
      `${!Number.isFinite(t.value) ? 'SKIP' : t.pass ? 'PASS' : 'MISS'}  ${t.name}: ${Number.isFinite(t.value) ? t.value.toFixed(2) : 'not measured'} (${t.goal})`,
    )
  const elapsed = (Date.now() - started) / 1000
  console.log(`\n(${elapsed.toFixed(0)} s)`)

  mkdirSync(outDir, { recursive: true })
  const meta = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    peerFlags,
    pin: pin ?? null,
    rounds: RUNS,
    node: process.version,
    otp: s.otpRelease ?? null,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: loadavg(),
    elapsedS: Math.round(elapsed),
    counts: {
      tput: COUNT,
      manyToOne: M2O,
      manyToOneProcs: M2O_PROCS,
      local: LOCAL,
      pings: PINGS,
      pingSize: PING_SIZE,
      holMessages: HOL_M,
      holSize: HOL_SIZE,
      pgMembers: PG_MEMBERS,
    },
    notes: s.notes,
  }
  const json = { meta, figures: summary.figures, ratios: summary.ratios, targets: tg, rounds: rounds.map(r => Object.fromEntries(r)) }
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(json, null, 1) + '\n')
  writeFileSync(join(outDir, 'latest.svg'), chart(summary.figures, header))
  progress(`results: ${join(outDir, 'latest.json')}, ${join(outDir, 'latest.svg')}`)
}

try {
  await main()
} catch (err) {
  process.exitCode = 1
  console.error(err)
} finally {
  await cleanup()
}
