// startNode's busyWait: after a frame is read or written, the event loop keeps polling for the
// window instead of sleeping in the OS (as the BEAM's schedulers busy-wait), then sleeps again;
// the window is the process's, the longest any running node asked for, and nothing is left
// polling once the nodes that asked have stopped. The CLI's --busy-wait reaches the option.
import t from 'tap'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { BUSY_WAIT_PRESETS, busyWaitMicros, busyWaitWindow } from '../lib/kernel/busy-wait.js'
import { resolveOptions } from '../lib/node-options.js'
import { NetkernelError } from '../lib/errors.js'
import { testEpmd, testNode } from './fixtures/cluster.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { busyWaitOption, nodeOptionsFromCli } from '../lib/cli/node-options-from-cli.js'
import { UsageError } from '../lib/cli/transport-options.js'
import { tcp } from '../transports/tcp.js'

t.test('presets and µs resolve; anything else is ERR_BAD_ARGUMENT', async t => {
  t.equal(resolveOptions({ name: 'bw' }).busyWait, 0, 'off by default')
  for (const [name, us] of Object.entries(BUSY_WAIT_PRESETS)) t.equal(busyWaitMicros(name as keyof typeof BUSY_WAIT_PRESETS), us, name)
  t.equal(resolveOptions({ name: 'bw', busyWait: 'short' }).busyWait, 50)
  t.equal(resolveOptions({ name: 'bw', busyWait: 300 }).busyWait, 300)
  for (const bad of [-1, 100_001, NaN, Infinity, 'huge', 'toString', '50']) {
    let err: unknown
    try {
      resolveOptions({ name: 'bw', busyWait: bad as never })
    } catch (e) {
      err = e
    }
    t.ok(err instanceof NetkernelError && err.code === 'ERR_BAD_ARGUMENT' && err.message.includes(String(bad)), `${String(bad)} is refused`)
  }
})

t.test('the window is the longest of the running nodes, and goes with them', async t => {
  const epmd = await testEpmd(t)
  t.equal(busyWaitWindow(), 0)
  const a = await testNode(t, epmd, { name: 'bw_a', busyWait: 'medium' })
  const b = await testNode(t, epmd, { name: 'bw_b', busyWait: 1000 })
  const c = await testNode(t, epmd, { name: 'bw_c' })
  t.equal(busyWaitWindow(), 1000)
  await b.stop()
  t.equal(busyWaitWindow(), 200, "b's window went with it")
  await c.stop()
  t.equal(busyWaitWindow(), 200, 'a node without busyWait changes nothing')
  await a.stop()
  t.equal(busyWaitWindow(), 0)
})

/** Echo `[from, msg]` back to `from` on `node`; the pid. */
function echo(node: Node): Pid {
  return node.spawn(async proc => {
    for (;;) {
      const [from, msg] = (await proc.receive()) as [Pid, unknown]
      proc.send(from, msg)
    }
  })
}

/** Event-loop utilisation (share of time not waiting in the OS) over the next `ms`. */
async function utilisation(ms: number): Promise<number> {
  const start = performance.eventLoopUtilization()
  await sleep(ms)
  return performance.eventLoopUtilization(start).utilization
}

/** Wait until no frame moves on `node`'s connections for 200 ms (the nodes' own start-up traffic: global, pg). */
async function quiet(node: Node): Promise<void> {
  const moved = (): number => node.stats().connections.reduce((n, c) => n + c.bytesIn + c.bytesOut, 0)
  const deadline = Date.now() + 10_000
  for (let before = moved(); Date.now() < deadline;) {
    await sleep(200)
    const now = moved()
    if (now === before) return
    before = now
  }
  throw new Error(`${node.name}: its connections never went quiet`)
}

/** A round trip from a process on `a` to the echo process `e`, and back. */
function roundTrip(a: Node, e: Pid, msg: unknown): Promise<unknown> {
  return new Promise((resolve, reject) =>
    a.spawn(async proc => {
      try {
        proc.send(e, [proc.self, msg])
        resolve(await proc.receive(undefined, { timeout: 5000 }))
      } catch (err) {
        reject(err)
      }
    }),
  )
}

/** Two nodes, `<prefix>_a` (with `busyWait`) and `<prefix>_b` running an echo process. */
async function pair(t: Parameters<typeof testEpmd>[0], prefix: string, busyWait?: number): Promise<{ a: Node; e: Pid }> {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: `${prefix}_a`, ...(busyWait === undefined ? {} : { busyWait }) })
  const b = await testNode(t, epmd, { name: `${prefix}_b` })
  return { a, e: echo(b) }
}

const immediates = (): number => process.getActiveResourcesInfo().filter(r => r === 'Immediate').length

t.test('after a round trip the loop polls for the window, then sleeps', async t => {
  // A window of 100 ms, long enough to see on a loaded machine.
  const { a, e } = await pair(t, 'bw_poll', 100_000)
  t.equal(await roundTrip(a, e, 0), 0)
  await quiet(a)
  t.equal(immediates(), 0, 'quiet: nothing polls')
  t.equal(await roundTrip(a, e, 1), 1)
  t.ok(immediates() > 0, 'polling right after the reply')
  const within = await utilisation(40)
  t.ok(within > 0.6, `the loop stayed busy within the window (utilisation ${within.toFixed(2)})`)
  await sleep(150)
  t.equal(immediates(), 0, 'the polling stopped once the window passed')
  const after = await utilisation(40)
  t.ok(after < 0.5, `then the loop sleeps (utilisation ${after.toFixed(2)})`)
})

t.test('a node without busyWait lets the loop sleep between messages', async t => {
  const { a, e } = await pair(t, 'bw_idle')
  t.equal(await roundTrip(a, e, 'x'), 'x')
  t.equal(immediates(), 0, 'nothing polls')
  await quiet(a)
  t.equal(await roundTrip(a, e, 'y'), 'y')
  const after = await utilisation(40)
  t.ok(after < 0.5, `the loop sleeps (utilisation ${after.toFixed(2)})`)
})

t.test('stopping the node that asked ends the polling at once', async t => {
  const { a, e } = await pair(t, 'bw_stop', 100_000)
  t.equal(await roundTrip(a, e, 1), 1)
  t.ok(immediates() > 0, 'polling')
  await a.stop()
  await sleep(5)
  t.equal(immediates(), 0, 'no longer polling, well within the 100 ms window')
})

t.test('netkernel node/shell --busy-wait: a preset or µs reaches startNode; anything else is a usage error', async t => {
  const built = { spec: { kind: 'tcp' as const }, transport: tcp(), summary: 'tcp', close: async () => {} }
  const ports = { epmdPort: undefined, portMin: undefined, portMax: undefined }
  const opts = (v: string | undefined): unknown => nodeOptionsFromCli({ sname: 'x', 'busy-wait': v }, ports, built, {}).busyWait
  t.equal(opts(undefined), undefined, 'absent: startNode decides')
  t.equal(opts('medium'), 'medium')
  t.equal(opts('300'), 300)
  for (const bad of ['fast', '-5', '1e3', '100001', '']) t.throws(() => busyWaitOption(bad), UsageError, `'${bad}' is a usage error`)
})
