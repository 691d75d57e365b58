// startNode's scavengeEvery: a process taking in large message bodies asks V8 for a scavenge
// each time the interval's bytes have come in, so that the bodies it already dropped are freed
// young (lib/kernel/scavenge-assist.ts); the interval is the process's, the shortest of the
// running nodes', and goes with them.
import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import { runInNewContext } from 'node:vm'
import { Worker } from 'node:worker_threads'
import {
  DEFAULT_SCAVENGE_EVERY,
  MAX_SCAVENGE_EVERY,
  largeBodyTaken,
  scavengeEveryBytes,
  scavengeInterval,
  scavengesAsked,
  setScavengeEvery,
} from '../lib/kernel/scavenge-assist.js'
import { resolveOptions } from '../lib/node-options.js'
import { NetkernelError } from '../lib/errors.js'
import { inProcess, testEpmd, testNode } from './fixtures/cluster.js'
import { waitFor } from './fixtures/epmd-real.js'

const MiB = 1024 * 1024

t.test('4 MiB by default; false and 0 turn it off; anything else is ERR_BAD_ARGUMENT', async t => {
  t.equal(resolveOptions({ name: 'sc' }).scavengeEvery, DEFAULT_SCAVENGE_EVERY)
  t.equal(DEFAULT_SCAVENGE_EVERY, 4 * MiB)
  t.equal(resolveOptions({ name: 'sc', scavengeEvery: false }).scavengeEvery, 0)
  t.equal(resolveOptions({ name: 'sc', scavengeEvery: 0 }).scavengeEvery, 0)
  t.equal(resolveOptions({ name: 'sc', scavengeEvery: MAX_SCAVENGE_EVERY }).scavengeEvery, MAX_SCAVENGE_EVERY)
  for (const bad of [-1, 1.5, MAX_SCAVENGE_EVERY + 1, NaN, Infinity, true, '4096']) {
    let err: unknown
    try {
      scavengeEveryBytes(bad as never)
    } catch (e) {
      err = e
    }
    t.ok(err instanceof NetkernelError && err.code === 'ERR_BAD_ARGUMENT' && err.message.includes(String(bad)), `${String(bad)} is refused`)
  }
})

t.test('the interval is the shortest of the running nodes, and goes with them', async t => {
  const epmd = await testEpmd(t)
  t.equal(scavengeInterval(), 0, 'no node running: off')
  const a = await testNode(t, epmd, { name: 'sc_a' })
  const b = await testNode(t, epmd, { name: 'sc_b', scavengeEvery: MiB })
  const c = await testNode(t, epmd, { name: 'sc_c', scavengeEvery: false })
  t.equal(scavengeInterval(), MiB)
  await b.stop()
  t.equal(scavengeInterval(), DEFAULT_SCAVENGE_EVERY, "b's interval went with it")
  await c.stop()
  t.equal(scavengeInterval(), DEFAULT_SCAVENGE_EVERY, 'a node with false changes nothing')
  await a.stop()
  t.equal(scavengeInterval(), 0)
})

t.test('once the interval is full, a scavenge frees the bodies already dropped', async t => {
  const owner = {}
  t.teardown(() => setScavengeEvery(owner, 0))
  setScavengeEvery(owner, 8 * MiB)
  // Eight bodies of 1 MiB, dropped at once, as a program does with messages it has handled.
  const drop = (): void => {
    for (let i = 0; i < 8; i++) Buffer.allocUnsafeSlow(MiB)[0] = i
  }
  const asked = scavengesAsked()
  largeBodyTaken(8 * MiB - 1)
  t.equal(scavengesAsked(), asked, 'one byte short of the interval: nothing asked')
  // A collection of V8's own in between would free them first: drop them again then.
  let held = 0
  for (let tries = 0; tries < 5 && held < 8 * MiB; tries++) {
    const before = process.memoryUsage().arrayBuffers
    drop()
    await tick()
    held = process.memoryUsage().arrayBuffers
    if (held - before < 8 * MiB) held = 0
  }
  t.ok(held >= 8 * MiB, `the dropped bodies still count (${held} bytes of ArrayBuffers)`)
  largeBodyTaken(1)
  t.equal(scavengesAsked(), asked + 1, 'the interval full: one scavenge asked')
  await waitFor(() => process.memoryUsage().arrayBuffers < held - 7 * MiB, 5000, 'the dropped bodies to be freed')
  t.pass(`ArrayBuffers fell from ${held} to ${process.memoryUsage().arrayBuffers} bytes`)
  largeBodyTaken(8 * MiB - 1)
  t.equal(scavengesAsked(), asked + 1, 'the count starts again after each scavenge')
})

t.test("V8's flag is turned off again: no context made later sees a gc global", async t => {
  const owner = {}
  t.teardown(() => setScavengeEvery(owner, 0))
  setScavengeEvery(owner, 1)
  largeBodyTaken(1)
  t.ok(scavengesAsked() > 0, 'a scavenge was asked (so the function was taken)')
  t.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'not in this context')
  t.equal(runInNewContext('typeof gc'), 'undefined', 'not in a new vm context')
  const inWorker = await new Promise<unknown>((resolve, reject) => {
    const w = new Worker("require('node:worker_threads').parentPort.postMessage(typeof gc)", { eval: true })
    w.once('message', resolve)
    w.once('error', reject)
  })
  t.equal(inWorker, 'undefined', 'not in a worker started later')
})

t.test('a node taking in large messages asks for scavenges; with false it does not', async t => {
  const epmd = await testEpmd(t)
  const body = Buffer.alloc(MiB, 7)
  let pair = 0
  const stream = async (recvOpts: { scavengeEvery?: number | false }, sendOpts: { scavengeEvery?: number | false }): Promise<number> => {
    pair++
    const b = await testNode(t, epmd, { name: `sc_recv${pair}`, ...recvOpts })
    const a = await testNode(t, epmd, { name: `sc_send${pair}`, ...sendOpts })
    const before = scavengesAsked()
    let got = 0
    const sink = b.spawn(async proc => {
      for (;;) {
        const m = await proc.receive()
        if (Buffer.isBuffer(m) && m.length === MiB) got++
      }
    })
    await inProcess(a, async proc => {
      for (let i = 0; i < 12; i++) if (!proc.send(sink, body)) await proc.drain(sink)
    })
    await waitFor(() => got === 12, 20_000, 'twelve 1 MiB messages')
    const asked = scavengesAsked() - before
    await a.stop()
    await b.stop()
    return asked
  }
  const on = await stream({ scavengeEvery: 2 * MiB }, { scavengeEvery: 2 * MiB })
  t.ok(on >= 5, `12 MiB taken in at a 2 MiB interval: ${on} scavenges asked`)
  const off = await stream({ scavengeEvery: false }, { scavengeEvery: false })
  t.equal(off, 0, 'scavengeEvery false on every running node: none asked')
})
