// Messages sent to a node before the connection to it is up (the first send starts the
// connection) are queued and written right behind the handshake's last message. They often
// reach the peer in the same read as that message: those bytes belong to the authenticated
// connection, so a large message there must not meet the handshake's 4 KB frame limit.
// Every transport, a few fresh connections each, every message in order.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import { ssh } from '../transports/ssh.js'
import { testEpmd, testNode, full } from './fixtures/cluster.js'
import { testPki } from './fixtures/tls-certs.js'
import { sshdSkip, startSshd } from './fixtures/sshd.js'

const TRIES = 3

/** A process registered as 'sink' on `node`; resolves with the first `n` messages it gets. */
function sink(node: Node, n: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = []
    const timer = setTimeout(() => reject(new Error(`${node.name}: only ${got.length} of ${n} messages arrived`)), 10_000)
    node.register(
      'sink',
      node.spawn(async proc => {
        while (got.length < n) got.push(await proc.receive())
        clearTimeout(timer)
        resolve(got)
      }),
    )
  })
}

const big = (n: number, fill: number): Buffer => Buffer.alloc(n, fill)
const sequences: [string, unknown[]][] = [
  ['100 KB, small, 5 KB', [big(100_000, 1), 'small', big(5_000, 2)]],
  ['1 KB, small, 5 KB', [big(1_000, 3), 'small', big(5_000, 4)]],
  ['many small, then large ones', [...Array.from({ length: 50 }, (_, i) => `m${i}`), big(8_000, 5), big(300_000, 6), 'last']],
]

async function queuedSends(t: Test, from: Node, receiver: (name: string) => Promise<Node>): Promise<void> {
  let i = 0
  for (let k = 0; k < TRIES; k++) {
    for (const [label, msgs] of sequences) {
      const to = await receiver(`rcv${i++}`)
      t.notOk(from.nodes().includes(to.name), 'not connected yet')
      const arrived = sink(to, msgs.length)
      for (const m of msgs) from.send(['sink', to.name], m)
      const got = await arrived.catch((e: Error) => e)
      t.same(got, msgs, `${label} (try ${k + 1}): every message arrived, in order`)
      t.ok(from.nodes().includes(to.name), 'and the connection stayed up')
      await to.stop()
    }
  }
}

t.test('tcp', async t => {
  const epmd = await testEpmd(t)
  const from = await testNode(t, epmd, { name: 'snd', connectAll: false })
  await queuedSends(t, from, name => testNode(t, epmd, { name, connectAll: false }))
})

t.test('tls', async t => {
  const pki = testPki()
  const epmd = await testEpmd(t)
  const from = await testNode(t, epmd, { name: 'snd', connectAll: false, transport: pki.transport(full('snd')) })
  await queuedSends(t, from, name => testNode(t, epmd, { name, connectAll: false, transport: pki.transport(full(name)) }))
})

const skip = sshdSkip()
t.test('ssh (through a real sshd)', { skip }, async t => {
  const sshd = await startSshd(t)
  const epmd = await testEpmd(t)
  const transport = ssh({ gateways: { gw: sshd.gateway({ target: '127.0.0.1' }) } })
  t.teardown(() => transport.close())
  const from = await testNode(t, epmd, { name: 'snd', transport, connectAll: false })
  await queuedSends(t, from, name => testNode(t, epmd, { name: `${name}@gw`, connectAll: false }))
})
