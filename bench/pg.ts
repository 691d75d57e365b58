// Group send fan-out (bench/README.md, "## pg group send"): one message to every member of a
// pg group of 10,000 processes spread over three nodes (three OS processes), timed from the
// send until every member has it (each node's members count what they received; the last one
// tells the sender). Three variants in each round, so that their ratios share the machine's
// state:
//
//   pg-relay  netkernel: node.pg.send — one message per remote node, relayed there by its scope
//   pg-each   netkernel: node.pg.send(…, { relay: false }) — one message per member
//   otp-pg    Erlang/OTP 25: [P ! Msg || P <- pg:get_members(bench)] on one of three erl nodes
//
//   node --import tsx bench/pg.ts [--members=10000] [--runs=5] [--no-otp]
//   npm run bench -- --only=pg          (the same scenario inside the side-by-side run)
//
// Child mode (started by this file, compiled: bench/compiled.ts): node pg.js --child NAME N EPMDPORT COOKIE
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, cpus, loadavg, hostname } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { startNode, type Node } from '../lib/node.js'
import { startEpmd, type EpmdDaemon } from '../lib/epmd/daemon.js'
import { atom } from '../lib/terms/atom.js'
import { tuple, Tuple } from '../lib/terms/tuple.js'
import { Pid } from '../lib/terms/pid.js'
import { type Child, children, startChild, run, median, table } from './util.js'
import { compiled } from './compiled.js'
import { erlNodeArgs, hasErlang, setupOtp, type OtpSetup } from './otp.js'

const MSG = atom('msg')
const DONE = atom('done')
const GROUP = 'bench'

const ERLANG_MODULE = String.raw`
-module(pgbench).
-export([member_node/1, sender/1]).

%% A node with N members of the group bench; it halts when stdin closes.
member_node([NS]) ->
    spawn(fun() -> members(list_to_integer(NS)), io:format("READY~n"), eof = skip_lines(), halt() end).

%% N members; the one that takes the count to a multiple of N tells the sender.
members(N) ->
    A = atomics:new(1, []),
    [ok = pg:join(bench, spawn(fun() -> member(A, N) end)) || _ <- lists:seq(1, N)],
    ok.

member(A, N) ->
    receive
        {msg, _R, From} ->
            case atomics:add_get(A, 1, 1) rem N of
                0 -> From ! {done, node()};
                _ -> ok
            end
    end,
    member(A, N).

skip_lines() ->
    case io:get_line("") of
        eof -> eof;
        _ -> skip_lines()
    end.

%% The sender node: its own N members, connected to the others, ready once it sees Total
%% members; then "send R" answers RESULT {"ns": …}: from the member lookup until every node's
%% members have the message.
sender([NS, TotalS | Others]) ->
    spawn(fun() ->
        members(list_to_integer(NS)),
        Nodes = [list_to_atom(O) || O <- Others],
        [true = net_kernel:connect_node(X) || X <- Nodes],
        wait_members(list_to_integer(TotalS)),
        io:format("READY~n"),
        loop(length(Nodes) + 1)
    end).

wait_members(Total) ->
    case length(pg:get_members(bench)) of
        Total -> ok;
        _ -> timer:sleep(20), wait_members(Total)
    end.

loop(K) ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            ["send", RS] = string:lexemes(string:trim(Line), " "),
            R = list_to_integer(RS),
            Self = self(),
            T0 = erlang:monotonic_time(nanosecond),
            Sent = length([P ! {msg, R, Self} || P <- pg:get_members(bench)]),
            ok = wait_done(K),
            T = erlang:monotonic_time(nanosecond) - T0,
            io:format("RESULT {\"ns\":~b,\"sent\":~b}~n", [T, Sent]),
            loop(K)
    end.

wait_done(0) -> ok;
wait_done(K) -> receive {done, _} -> wait_done(K - 1) after 60000 -> timeout end.
`

export type PgVariant = 'pg-relay' | 'pg-each' | 'otp-pg'
export const PG_VARIANT_LABEL: Record<PgVariant, string> = {
  'pg-relay': 'netkernel pg.send',
  'pg-each': 'netkernel per member',
  'otp-pg': 'OTP pg loop',
}

/** `n` members of GROUP on `node`; the one that takes the count to a multiple of n tells the sender. */
function joinMembers(node: Node, n: number): void {
  let got = 0
  const pids: Pid[] = []
  for (let i = 0; i < n; i++) {
    pids.push(
      node.spawn(async proc => {
        for (;;) {
          const m: unknown = await proc.receive()
          if (++got % n === 0 && m instanceof Tuple && m[2] instanceof Pid) proc.send(m[2], tuple(DONE, node.name))
        }
      }),
    )
  }
  node.pg.join(GROUP, pids)
}

async function childMain(name: string, n: number, epmdPort: number, cookie: string): Promise<void> {
  const node = await startNode({
    name,
    cookie,
    listen: { host: '127.0.0.1' },
    epmd: { host: '127.0.0.1', port: epmdPort, autoStart: false },
  })
  joinMembers(node, n)
  process.stdout.write(`READY ${node.name}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => void node.stop().then(() => process.exit(0)))
}

export interface PgBench {
  /** The members in the group (all nodes). */
  readonly members: number
  /** One fan-out; ns from the send until every member had it. */
  run(v: PgVariant, round: number): Promise<number>
  readonly variants: PgVariant[]
  readonly notes: string[]
  stop(): Promise<void>
}

/** Start both clusters: three netkernel nodes (this process and two children), three erl nodes. */
export async function startPgBench(opts: { members: number; otp?: OtpSetup | false; tag?: string }): Promise<PgBench> {
  const tag = opts.tag ?? `pgb${process.pid}`
  const cookie = randomBytes(12).toString('hex')
  const per = [0, 1, 2].map(i => Math.floor(opts.members / 3) + (i < opts.members % 3 ? 1 : 0))
  const notes: string[] = []
  const epmd: EpmdDaemon = await startEpmd({ host: '127.0.0.1', port: 0 })
  const childArgs = await compiled(fileURLToPath(import.meta.url))
  const kids: Child[] = [1, 2].map(i =>
    startChild(`pg-${i}`, process.execPath, [...childArgs, '--child', `${tag}_${i}`, String(per[i]), String(epmd.port), cookie]),
  )
  const node = await startNode({
    name: `${tag}_0`,
    cookie,
    listen: { host: '127.0.0.1' },
    epmd: { host: '127.0.0.1', port: epmd.port, autoStart: false },
  })
  joinMembers(node, per[0]!)
  const names = await Promise.all(kids.map(k => k.expect('READY', 60_000)))
  for (const n of names) if ((await node.ping(n)) !== 'pong') throw new Error(`pg bench: cannot reach ${n}`)
  await until(() => node.pg.members(GROUP).length === opts.members, 60_000, 'netkernel: every member known')

  const variants: PgVariant[] = ['pg-relay', 'pg-each']
  let erlSender: Child | undefined
  let otp = opts.otp
  // Standalone: a directory for the compiled module, removed at stop.
  const tmp = otp === undefined && hasErlang() ? mkdtempSync(join(tmpdir(), 'nkpg-')) : undefined
  if (otp === undefined) otp = tmp !== undefined ? await setupOtp(tmp) : false
  if (otp === false) notes.push('OTP pg: not measured (erl, erlc or epmd missing, or --no-otp)')
  else {
    writeFileSync(join(otp.dir, 'pgbench.erl'), ERLANG_MODULE)
    const c = await run('erlc', ['-o', otp.dir, join(otp.dir, 'pgbench.erl')])
    if (c.status !== 0) throw new Error(`erlc pgbench failed: ${c.output}`)
    const erl = (name: string, ...args: string[]): Child =>
      startChild(name, 'erl', [...erlNodeArgs(otp, name, cookie), '-kernel', 'start_pg', 'true', '-run', 'pgbench', ...args], otp.env)
    const others = [1, 2].map(i => erl(`${tag}_e${i}`, 'member_node', String(per[i])))
    await Promise.all(others.map(o => o.expect('READY', 60_000)))
    const host = hostname().split('.')[0]!
    erlSender = erl(`${tag}_e0`, 'sender', String(per[0]), String(opts.members), ...[1, 2].map(i => `${tag}_e${i}@${host}`))
    await erlSender.expect('READY', 60_000)
    variants.push('otp-pg')
  }

  // The sender: a process of node 0 that sends and waits for the three nodes' done.
  const fanout = (relay: boolean, round: number): Promise<number> =>
    new Promise((resolve, reject) => {
      node.spawn(async proc => {
        try {
          const t0 = process.hrtime.bigint()
          const sent = node.pg.send(GROUP, tuple(MSG, round, proc.self), { relay })
          if (sent !== opts.members) throw new Error(`pg.send reached ${sent} of ${opts.members}`)
          for (let i = 0; i < 3; i++) await proc.receive(m => m instanceof Tuple && m[0] === DONE, { timeout: 60_000 })
          resolve(Number(process.hrtime.bigint() - t0))
        } catch (err) {
          reject(err as Error)
        }
      })
    })
  return {
    members: opts.members,
    variants,
    notes,
    async run(v, round) {
      if (v === 'otp-pg') {
        const r = await erlSender!.ask<{ ns: number; sent: number }>(`send ${round}`)
        if (r.sent !== opts.members) throw new Error(`OTP sent to ${r.sent} of ${opts.members}`)
        return r.ns
      }
      return fanout(v === 'pg-relay', round)
    },
    async stop() {
      await Promise.all([...kids, ...(erlSender ? [erlSender] : [])].map(k => k.stop().catch(() => {})))
      await node.stop()
      await epmd.close()
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
    },
  }
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`pg bench: timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 20))
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const opt = (name: string, def: number): number => Number(argv.find(x => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def)
  const members = opt('members', 10_000)
  const runs = opt('runs', 5)
  const progress = (s: string): void => void process.stderr.write(s + '\n')
  const t0 = Date.now()
  const b = await startPgBench({ members, otp: argv.includes('--no-otp') ? false : undefined })
  progress(`started in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${b.variants.join(', ')}`)
  try {
    const per: Record<string, number[]> = {}
    const ratios: Record<string, number[]> = {}
    for (let round = 0; round <= runs; round++) {
      const got: Partial<Record<PgVariant, number>> = {}
      for (let i = 0; i < b.variants.length; i++) {
        const v = b.variants[(i + round) % b.variants.length]!
        got[v] = await b.run(v, round)
        progress(`  ${round === 0 ? 'warm-up' : `round ${round}`}  ${PG_VARIANT_LABEL[v].padEnd(22)} ${(got[v] / 1e6).toFixed(2)} ms`)
      }
      if (round === 0) continue
      for (const [v, ns] of Object.entries(got)) (per[v] ??= []).push(ns / 1e6)
      const ratio = (a: PgVariant, c: PgVariant): void => {
        if (got[a] !== undefined && got[c] !== undefined) (ratios[`${a}/${c}`] ??= []).push(got[a] / got[c])
      }
      ratio('pg-relay', 'pg-each')
      ratio('pg-relay', 'otp-pg')
      ratio('pg-each', 'otp-pg')
    }
    console.log(
      `\npg fan-out to ${members} members on 3 nodes: ${runs} rounds, Node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}; median (min–max)`,
    )
    const fmt = (xs: number[], d = 1): string => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`
    console.log(
      table([['variant', 'ms until all received'], ...Object.entries(per).map(([v, xs]) => [PG_VARIANT_LABEL[v as PgVariant], fmt(xs)])]),
    )
    console.log(table([['time ratio (per round)', 'median (min–max)'], ...Object.entries(ratios).map(([k, xs]) => [k, fmt(xs, 2)])]))
    for (const n of b.notes) console.log(`note: ${n}`)
  } finally {
    await b.stop()
    await Promise.all(children.map(c => c.stop().catch(() => {})))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  if (argv[0] === '--child') await childMain(argv[1]!, Number(argv[2]), Number(argv[3]), argv[4]!)
  else {
    try {
      await main()
    } catch (err) {
      process.exitCode = 1
      console.error(err)
      await Promise.all(children.map(c => c.stop().catch(() => {})))
    }
    process.exit()
  }
}
