// Global names: registration (register + unregister, each taking the cluster lock) and
// lookup latency, in one run, side by side:
//   netkernel↔netkernel   two netkernel nodes: node.global.register/unregister, whereis
//   OTP↔OTP               two erl nodes: global:register_name/unregister_name, whereis_name
//   OTP↔netkernel         an erl node and a netkernel node: the same from each side
// Real epmd on a private port; erl nodes driven by test/fixtures/erl.ts (the loops run inside
// erl, timed there, so the driver's stdin round trip is not counted).
//
//   npx tsx bench/global.ts [N]     (N registrations per variant, default 200)
import { startRealEpmd } from '../test/fixtures/epmd-real.js'
import { startErl, startErlangNode } from '../test/fixtures/erl.js'
import type { Node } from '../lib/node.js'

const N = Number(process.argv[2] ?? 200)
const LOOKUPS = 100_000
const cookie = 'bench-global'

async function jsLoop(reg: Node, n: number): Promise<number> {
  const pids = Array.from({ length: n }, () => reg.spawn(async proc => void (await proc.receive())))
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    if (!(await reg.global.register(`b${i}`, pids[i]!))) throw new Error('register refused')
    await reg.global.unregister(`b${i}`)
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n
  for (const p of pids) reg.exit(p, 'kill')
  return us
}

function jsWhereis(node: Node, name: string): number {
  const t0 = process.hrtime.bigint()
  let hit = 0
  for (let i = 0; i < LOOKUPS; i++) if (node.global.whereis(name) !== undefined) hit++
  if (hit !== LOOKUPS) throw new Error('whereis missed')
  return Number(process.hrtime.bigint() - t0) / LOOKUPS // ns
}

const ERL_LOOP = (n: number): string =>
  `fun() -> P = spawn(fun() -> receive _ -> ok end end), T0 = erlang:monotonic_time(microsecond), ` +
  `lists:foreach(fun(I) -> yes = global:register_name({b, I}, P), global:unregister_name({b, I}) end, lists:seq(1, ${n})), ` +
  `(erlang:monotonic_time(microsecond) - T0) / ${n} end().`
const ERL_WHEREIS = (name: string): string =>
  `fun() -> T0 = erlang:monotonic_time(nanosecond), ` +
  `lists:foreach(fun(_) -> true = is_pid(global:whereis_name(${name})) end, lists:seq(1, ${LOOKUPS})), ` +
  `(erlang:monotonic_time(nanosecond) - T0) / ${LOOKUPS} end().`

const epmd = await startRealEpmd()
const rows: [string, string, number, string][] = []
const stops: (() => Promise<void>)[] = []
try {
  // netkernel↔netkernel
  const a = await startErlangNode(undefined, epmd.port, { name: `bga${process.pid}`, cookie })
  const b = await startErlangNode(undefined, epmd.port, { name: `bgb${process.pid}`, cookie })
  stops.push(
    () => a.stop(),
    () => b.stop(),
  )
  await a.ping(b.name)
  await a.global.sync()
  rows.push(['netkernel↔netkernel', 'register+unregister (JS)', await jsLoop(a, N), 'µs'])
  await a.global.register(
    'looked_up',
    b.spawn(async proc => void (await proc.receive())),
  )
  rows.push(['netkernel↔netkernel', 'whereis (JS)', jsWhereis(a, 'looked_up'), 'ns'])
  await a.stop()
  await b.stop()

  // OTP↔OTP
  const e1 = await startErl(undefined, { name: `bge1${process.pid}`, epmdPort: epmd.port, cookie })
  const e2 = await startErl(undefined, { name: `bge2${process.pid}`, epmdPort: epmd.port, cookie })
  stops.push(
    () => e1.stop(),
    () => e2.stop(),
  )
  await e1.eval(`pong = net_adm:ping('${e2.node}'), global:sync().`)
  rows.push(['OTP↔OTP', 'register+unregister (erl)', Number(await e1.eval(ERL_LOOP(N), 600_000)), 'µs'])
  await e1.eval(`yes = global:register_name(looked_up, spawn(fun() -> receive _ -> ok end end)).`)
  rows.push(['OTP↔OTP', 'whereis_name (erl)', Number(await e1.eval(ERL_WHEREIS('looked_up'), 600_000)), 'ns'])
  await e2.stop()

  // OTP↔netkernel: e1 and a netkernel node.
  const j = await startErlangNode(undefined, epmd.port, { name: `bgj${process.pid}`, cookie })
  stops.push(() => j.stop())
  await e1.eval(`pong = net_adm:ping('${j.name}'), global:sync().`)
  await j.global.sync()
  rows.push(['OTP↔netkernel', 'register+unregister (erl)', Number(await e1.eval(ERL_LOOP(N), 600_000)), 'µs'])
  rows.push(['OTP↔netkernel', 'register+unregister (JS)', await jsLoop(j, N), 'µs'])
  rows.push(['OTP↔netkernel', 'whereis_name (erl)', Number(await e1.eval(ERL_WHEREIS('looked_up'), 600_000)), 'ns'])
  rows.push(['OTP↔netkernel', 'whereis (JS)', jsWhereis(j, 'looked_up'), 'ns'])
} finally {
  for (const s of stops.reverse()) await s().catch(() => {})
  await epmd.stop()
}

const base = (what: string): number | undefined => rows.find(r => r[0] === 'OTP↔OTP' && r[1].startsWith(what))?.[2]
console.log(`global names, N=${N} registrations, ${LOOKUPS} lookups (node ${process.version})`)
console.log('| cluster | operation | per op | / OTP↔OTP |')
console.log('|---|---|---|---|')
for (const [cluster, op, v, unit] of rows) {
  const b = base(op.startsWith('register') ? 'register' : 'whereis')
  console.log(`| ${cluster} | ${op} | ${v.toFixed(1)} ${unit} | ${b === undefined ? '' : (v / b).toFixed(2)} |`)
}
