// `netkernel top NODE`: a hidden node that asks a running node (here in its own OS process)
// for its stats. --once prints one snapshot (its connections, message counts, processes,
// registered names); the live view, driven through a pseudo-terminal, shows message rates
// while traffic flows and quits on 'q' or Ctrl+C, leaving the terminal as it found it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { full, inProcess, testEpmd, testNode } from './fixtures/cluster.js'
import { startPeer } from './fixtures/peers.js'
import { startShell, tmuxSkip } from './fixtures/shell-tmux.js'
import type { Node, NodeStats } from '../lib/node.js'
import { duration, renderTop } from '../lib/cli/top-view.js'

const MAIN = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function top(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'top', ...args], { timeout: 20_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The cells of the table row for `peer` (columns are two or more spaces apart). */
function row(screen: string, peer: string): string[] | undefined {
  const line = screen.split('\n').find(l => l.startsWith(peer + ' '))
  return line?.trim().split(/\s{2,}/)
}

/** '950' → 950, '12.3k' → 12300. */
function num(s: string): number {
  const m = /^([\d.]+)([kMGT]?)$/.exec(s)
  if (m === null) return NaN
  return Number(m[1]) * 1000 ** ' kMGT'.indexOf(m[2] || ' ')
}

/** foo spawns a waiter registered as `name` on `bar` and sends it `n` messages; resolves once bar has taken them all. */
async function traffic(foo: Node, bar: string, name: string, n: number): Promise<void> {
  await inProcess(foo, async proc => {
    await proc.spawn(bar, 't', 'register_wait', [name, proc.self])
    await proc.receive(m => Array.isArray(m) && m[0] === 'registered', { timeout: 10_000 })
    for (let i = 0; i < n; i++) proc.send([name, bar], i)
    // A spawn request behind them on the same connection: its reply means they were dispatched.
    await proc.spawn(bar, 's', 'send_node', [proc.self])
    await proc.receive(m => m === bar, { timeout: 10_000 })
  })
}

// One node to observe, in its own OS process, for every test.
const epmd = await testEpmd(t)
const bar = await startPeer(t, { name: 'bar', cookie: 'test-cookie', epmdPort: epmd.port })

t.test('--once: a snapshot of a node in another OS process', async t => {
  const foo = await testNode(t, epmd, { name: 'foo' })
  await traffic(foo, bar.name, 'waiter', 50)

  const r = await top([bar.name, '--once', '--cookie', 'test-cookie', '--epmd-port', String(epmd.port)])
  t.equal(r.code, 0, r.stderr)
  t.match(
    r.stdout,
    new RegExp(`^netkernel top  ${esc(bar.name)}  \\(observed from top_\\d+@`),
    'the title names the node and the hidden observer',
  )
  const procs = /processes (\d+)/.exec(r.stdout)
  t.ok(procs !== null && Number(procs[1]) >= 1, `process count shown (${procs?.[1]})`)
  t.match(
    r.stdout,
    /registered 3: global_name_server pg waiter/,
    "registered names (global_name_server and pg, the default process group scope, are the node's own)",
  )
  t.match(r.stdout, /connections 2 \(1 hidden\)/, 'foo and top itself')
  t.match(r.stdout, /PEER\s+TYPE\s+TRANSPORT\s+MSG\/S IN\s+MSG\/S OUT\s+B\/S IN\s+B\/S OUT\s+MSGS IN\s+MSGS OUT\s+QUEUED\s+BUSY\s+UP/)
  const f = row(r.stdout, foo.name)
  t.ok(f, `a row for ${foo.name}:\n${r.stdout}`)
  const [, type, transport, rateIn, , , , msgsIn, msgsOut, queued, busy, up] = f as string[]
  t.same([type, transport, rateIn, queued, busy], ['visible', 'tcp', '-', '0 B', '-'], 'no rates from one snapshot')
  t.ok(num(msgsIn as string) >= 52, `bar counted foo's 50 messages and 2 spawn requests (${msgsIn})`)
  t.ok(num(msgsOut as string) >= 3, `and its replies (${msgsOut})`)
  t.match(up, /^\d+s$/)
  const self = r.stdout.split('\n').find(l => /^top_\d+@\S+\s+hidden\s+tcp\s/.test(l))
  t.ok(self, 'top itself shows as a hidden connection')
  t.match(r.stdout, /refused: nothing/)
})

t.test('--once: a node that cannot be reached, bad usage', async t => {
  const wrong = await top([bar.name, '--once', '--cookie', 'not-the-cookie', '--epmd-port', String(epmd.port)])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, new RegExp(`cannot get the stats of ${esc(bar.name)}: ERR_AUTH_FAILED`), 'the cause is named')
  const none = await top([full('nobody'), '--once', '--cookie', 'c', '--epmd-port', String(epmd.port)])
  t.equal(none.code, 1)
  t.match(none.stderr, /ERR_NODE_NOT_FOUND/)
  t.equal((await top([])).code, 2, 'no NODE')
  t.equal((await top([bar.name, '--interval', '0'])).code, 2, 'a bad interval')
  const help = await top(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: netkernel top NODE/)
})

const skip = tmuxSkip()
t.test('the live view: rates while traffic flows; q quits and restores the terminal', { skip }, async t => {
  const foo = await testNode(t, epmd, { name: 'foo2' })
  await traffic(foo, bar.name, 'sink', 1)
  const pump = setInterval(() => {
    for (let i = 0; i < 20; i++) foo.send(['sink', bar.name], i)
  }, 20)
  t.teardown(() => clearInterval(pump))

  const sh = await startShell(t, [bar.name, '--cookie', 'test-cookie', '--epmd-port', String(epmd.port), '--interval', '300'], {
    command: 'top',
  })
  await sh.waitFor(new RegExp(`netkernel top  ${esc(bar.name)}.*q quits`))
  let rate = 0
  const deadline = Date.now() + 15_000
  while (!(rate > 0) && Date.now() < deadline) {
    const cells = row(await sh.screen(), foo.name)
    rate = cells === undefined ? 0 : num(cells[3] as string)
    if (!(rate > 0)) await new Promise(r => setTimeout(r, 100))
  }
  t.ok(rate > 0, `MSG/S IN from ${foo.name} is ${rate}`)
  clearInterval(pump)
  await sh.keys(['q'], true)
  t.equal(await sh.exitStatus(), 0, 'q quits with status 0')
  t.notMatch(await sh.screen(), /MSG\/S IN/, 'the main screen is back (the view was on the alternate screen)')
})

t.test('the live view quits on Ctrl+C too', { skip }, async t => {
  const sh = await startShell(t, [bar.name, '--cookie', 'test-cookie', '--epmd-port', String(epmd.port)], { command: 'top' })
  await sh.waitFor(/processes \d+/)
  await sh.keys(['C-c'])
  t.equal(await sh.exitStatus(), 0)
})

t.test("the view: rates are deltas over the node's clock; a reconnection starts over", async t => {
  const c = {
    peer: 'foo@h',
    type: 'visible' as const,
    transport: 'tcp',
    protocol: 'netkernel' as const,
    queuedBytes: 2048,
    busy: true,
    upSince: 0,
  }
  const snap = (at: number, n: number, upSince = 0): NodeStats => ({
    node: 'bar@h',
    at,
    processes: 3,
    registered: ['b', 'a'],
    refused: { 'baz@h': { spawn: 2, send: 1 } },
    connections: [{ ...c, upSince, messagesIn: n, messagesOut: n / 2, bytesIn: n * 100, bytesOut: n * 50 }],
  })
  const screen = (prev: NodeStats | undefined, cur: NodeStats): string[] =>
    renderTop({ target: 'bar@h', self: 'top_1@h', interval: 500, prev, cur, width: 0 })
  const lines = screen(snap(10_000, 1000), snap(12_000, 3000))
  t.same(row(lines.join('\n'), 'foo@h'), [
    'foo@h',
    'visible',
    'tcp',
    '1.0k',
    '500',
    '97.7 KB',
    '48.8 KB',
    '3.0k',
    '1.5k',
    '2.0 KB',
    'BUSY',
    '12s',
  ])
  t.match(lines[1], 'processes 3   connections 1 (0 hidden)   registered 2: a b')
  t.ok(lines.includes('  baz@h  spawn 2  send 1'), 'refusals per peer and operation')
  t.equal(row(screen(snap(10_000, 1000), snap(12_000, 10, 11_000)).join('\n'), 'foo@h')?.[3], '-', 'no rate across a reconnection')
  t.ok(
    renderTop({ target: 'bar@h', self: 'top_1@h', interval: 500, prev: undefined, cur: snap(1, 1), width: 20 }).every(l => l.length <= 20),
    'cut to the width',
  )
  t.equal(duration(185_000), '3m05s')
  t.equal(duration(100_800_000), '1d04h')
})
