// Nodes over the SSH transport, on loopback, through a real OpenSSH sshd: nodes behind one
// gateway share one SSH connection (port mapper and node ports through forwarded channels),
// the cookie authenticator runs unchanged over it, a dropped SSH connection takes its nodes
// down with 'connection_closed' and the next reference reconnects; a node listens through
// the sshd (reverse); host key pinning refuses at node level too.
import t from 'tap'
import type { Node } from '../lib/node.js'
import { ssh, SshHostKeyError, type SshTransport } from '../transports/ssh.js'
import { lookupNode, registerNode } from '../lib/epmd/client.js'
import { testEpmd, testNode, inProcess, nextEvent } from './fixtures/cluster.js'
import { sshdSkip, startSshd, makeKey } from './fixtures/sshd.js'
import { waitFor } from './fixtures/epmd-real.js'

const skip = sshdSkip()
if (skip) t.comment(`skipping the SSH node tests: ${skip}`)

interface Teardown {
  teardown(fn: () => unknown): void
}

function sshTransport(t: Teardown, ...args: Parameters<typeof ssh>): SshTransport {
  const tr = ssh(...args)
  t.teardown(() => tr.close())
  return tr
}

/** Spawn the seed's echo server s:s on `on`, send it `msg`, resolve with what comes back. */
function echoThrough(from: Node, on: string, msg: unknown): Promise<unknown> {
  return inProcess(from, async proc => {
    const echo = await proc.spawn(on, 's', 's', [])
    proc.send(echo, [msg, proc.self])
    const got = await proc.receive(undefined, { timeout: 10_000 })
    proc.send(echo, 'stop')
    return got
  })
}

/** What the connection from `a` to `peer` was made with (kernel internals, for the test only). */
function connOf(a: Node, peer: string): { transport: string; encrypted: boolean } | undefined {
  const k = (a as unknown as { kernel: { up: Map<string, { conn: { transport: string; encrypted: boolean } }> } }).kernel
  return k.up.get(peer)?.conn
}

const errorOf = (e: unknown): Error & { code?: string; cause?: unknown } => e as Error & { code?: string }

/** The error itself, its cause, its cause's cause, ... */
function causes(e: unknown): unknown[] {
  const out: unknown[] = []
  for (let c = e; c !== undefined && c !== null && out.length < 10; c = (c as { cause?: unknown }).cause) out.push(c)
  return out
}

t.test('nodes behind one gateway: one shared SSH connection, cookies unchanged, reconnect after a drop', { skip }, async t => {
  const sshd = await startSshd(t)
  const epmd = await testEpmd(t)
  // bee and cow live "behind" gateway gw: their names say @gw; only the sshd knows where.
  const [bee, cow] = await Promise.all([
    testNode(t, epmd, { name: 'bee@gw', connectAll: false }),
    testNode(t, epmd, { name: 'cow@gw', connectAll: false }),
  ])
  const transport = sshTransport(t, { gateways: { gw: sshd.gateway({ target: '127.0.0.1' }) } })
  const ant = await testNode(t, epmd, { name: 'ant', transport, connectAll: false })
  const loginsBefore = sshd.logins()

  await t.test('messages both ways to two nodes behind the gateway', async t => {
    t.equal(await echoThrough(ant, bee.name, 'hi bee'), 'hi bee', 'bee echoed')
    t.equal(await echoThrough(ant, cow.name, 'hi cow'), 'hi cow', 'cow echoed')
    // And from the far side: bee spawns on ant over the connection ant made.
    const fromBee = await inProcess(bee, async proc => {
      await proc.spawn(ant.name, 's', 'send_node', [proc.self])
      return proc.receive(undefined, { timeout: 10_000 })
    })
    t.equal(fromBee, ant.name, 'bee spawned on ant and heard back')
    t.same(ant.nodes().sort(), [bee.name, cow.name].sort())
    // bee and cow cannot reach each other. With connectAll: false the global name server meets
    // no peer (as OTP's -connect_all false); when it did, ~0.2 s after a nodeup bee and cow
    // dialled each other, failed, and ant cut both off to prevent overlapping partitions.
    await new Promise(r => setTimeout(r, 1000))
    t.same(ant.nodes().sort(), [bee.name, cow.name].sort(), 'still connected to both a second later')
    t.same(bee.nodes(), [ant.name], 'bee made no connection of its own')
    t.same(connOf(ant, bee.name), { ...connOf(ant, bee.name), transport: 'ssh', encrypted: true }, 'the connection is an SSH channel')
    t.equal(sshd.logins() - loginsBefore, 1, 'one SSH login carried both port-mapper lookups and both connections')
  })

  await t.test('bursts through the channel: every message intact and in order while the write buffers are reused', async t => {
    // The SSH Conn says its stream copies what it is given (ssh2 packs it into SSH packets
    // before the write's callback), so the outbox writes each batch from a reused buffer: a
    // buffer taken back too early would show here as a message with another's bytes.
    const conn = connOf(ant, bee.name) as { copiesWrites?: boolean } | undefined
    t.equal(conn?.copiesWrites, true, 'the channel Conn says it copies writes')
    const n = 6000
    const body = (i: number): Buffer => Buffer.alloc(150 + (i % 97), i & 0xff)
    let ready!: () => void
    const registered = new Promise<void>(r => (ready = r))
    const checked = inProcess(bee, async proc => {
      bee.register('burst_sink', proc.self)
      ready()
      const bad: number[] = []
      for (let i = 0; i < n; i++) {
        const m = (await proc.receive(undefined, { timeout: 30_000 })) as [number, Buffer]
        const want = body(i)
        if (m[0] !== i || !Buffer.isBuffer(m[1]) || !m[1].equals(want)) bad.push(i)
      }
      return bad
    })
    await registered
    const batchBuffers = await inProcess(ant, async proc => {
      const outbox = (ant as unknown as { kernel: { up: Map<string, { outbox: { batch: { buf: Buffer } } }> } }).kernel.up.get(
        bee.name,
      )!.outbox
      const seen = new Set<ArrayBufferLike>()
      for (let i = 0; i < n; i++) {
        proc.send(['burst_sink', bee.name], [i, body(i)])
        seen.add(outbox.batch.buf.buffer)
        if (i % 400 === 399) await new Promise(r => setImmediate(r)) // one batch of ~100 KB a turn
      }
      return seen.size
    })
    t.same(await checked, [], `all ${n} messages arrived intact and in order`)
    t.ok(batchBuffers < n / 400 / 2, `batch buffers reused (${batchBuffers} distinct for ${n / 400} batches)`)
  })

  await t.test('the cookie authenticator runs unchanged over SSH: a wrong cookie is refused', async t => {
    const dog = await testNode(t, epmd, { name: 'dog@gw', cookie: 'another-cookie', connectAll: false })
    const err = nextEvent<[string, { code: string }]>(ant, 'connectError', n => n === dog.name)
    t.equal(await ant.connect(dog.name), false, 'not connected')
    t.equal((await err)[1].code, 'ERR_AUTH_FAILED', 'refused by the cookie check')
    ant.setCookie(dog.name, 'another-cookie')
    t.equal(await ant.connect(dog.name), true, 'with the right per-node cookie it connects')
    t.equal(sshd.logins() - loginsBefore, 1, 'still the same SSH connection')
    await dog.stop()
  })

  await t.test('the SSH connection drops: its nodes go down with connection_closed, the next reference reconnects', async t => {
    const downs = [bee, cow].map(n => nextEvent<[string, { reason: string }]>(ant, 'nodedown', d => d === n.name))
    const beeSide = nextEvent<[string, { reason: string }]>(bee, 'nodedown', d => d === ant.name)
    t.ok(sshd.dropConnections() >= 1, 'sshd had a connection to drop')
    for (const d of await Promise.all(downs)) t.equal(d[1].reason, 'connection_closed', `${d[0]} down: connection_closed`)
    t.equal((await beeSide)[1].reason, 'connection_closed', 'bee saw ant go too')
    t.same(ant.nodes(), [])
    t.equal(await echoThrough(ant, bee.name, 'again'), 'again', 'the next message reconnected')
    // sshd logs the login on its own pipe, which may be read after the message came back
    await waitFor(() => sshd.logins() - loginsBefore >= 2, 2000, 'the second login logged').catch(() => {})
    t.equal(sshd.logins() - loginsBefore, 2, 'over a new SSH connection')
  })
})

t.test('a node listens through the sshd (reverse) and a plain tcp node reaches it there', { skip }, async t => {
  const sshd = await startSshd(t)
  const epmd = await testEpmd(t)
  const transport = sshTransport(t, { gateways: { relay: sshd.gateway() }, reverse: { gateway: 'relay', host: '127.0.0.1' } })
  const rat = await testNode(t, epmd, { name: 'rat', transport })
  const hen = await testNode(t, epmd, { name: 'hen' })
  // rat registered the port the sshd listens on: hen's TCP dial lands in the sshd, which hands
  // the connection to rat over its SSH connection.
  t.equal(await echoThrough(hen, rat.name, 'through the relay'), 'through the relay')
  const back = await inProcess(rat, async proc => {
    await proc.spawn(hen.name, 's', 'send_node', [proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.equal(back, hen.name, 'and back over the same connection')
  t.same(connOf(rat, hen.name), { ...connOf(rat, hen.name), transport: 'ssh', encrypted: true })

  // Registration through the relay (what a NATed node uses to be found on the relay's host):
  // the relay's port mapper takes it, as it comes from the relay's loopback.
  const reg = await registerNode({
    host: '127.0.0.1',
    port: epmd.port,
    name: 'viarelay',
    nodePort: 4242,
    connect: (addr, { signal }) => transport.portMapperStream(addr, { signal, purpose: 'announce' }),
  })
  t.same(
    await lookupNode({ host: '127.0.0.1', port: epmd.port, name: 'viarelay' }).then(f => f?.port),
    4242,
    'registered through the SSH connection',
  )

  // The SSH connection drops: hen sees rat go, and rat listens again through a new one.
  const down = nextEvent<[string, { reason: string }]>(hen, 'nodedown', n => n === rat.name)
  const logins = sshd.logins()
  sshd.dropConnections()
  t.equal((await down)[1].reason, 'connection_closed')
  await reg.closed
  t.pass('the registration ended with its SSH connection')
  const until = Date.now() + 10_000
  while (sshd.logins() === logins && Date.now() < until) await new Promise(r => setTimeout(r, 50))
  t.equal(sshd.logins(), logins + 1, 'the reverse listener logged in again')
  let echoed: unknown
  while (Date.now() < until) {
    echoed = await echoThrough(hen, rat.name, 'relay again').catch((e: unknown) => e)
    if (echoed === 'relay again') break
    await new Promise(r => setTimeout(r, 100))
  }
  t.equal(echoed, 'relay again', 'reachable through the relay again, on the same port')
})

t.test('host key pinning at node level: a wrong key refuses the connection', { skip }, async t => {
  const sshd = await startSshd(t)
  const epmd = await testEpmd(t)
  const eel = await testNode(t, epmd, { name: 'eel@gw' })
  const wrong = makeKey(sshd.dir, 'wrong').fingerprint
  const transport = sshTransport(t, { gateways: { gw: sshd.gateway({ target: '127.0.0.1', hostKey: wrong }) } })

  await t.test('through the port mapper lookup', async t => {
    const fox = await testNode(t, epmd, { name: 'fox', transport })
    const err = nextEvent<[string, { error: Error; code: string }]>(fox, 'connectError', n => n === eel.name)
    t.equal(await fox.connect(eel.name), false)
    const e = (await err)[1].error
    t.ok(
      causes(e).some(c => c instanceof SshHostKeyError),
      'an SshHostKeyError behind it',
      { found: e },
    )
    t.match(errorOf(e).message, /ssh gateway 'gw'/)
  })

  await t.test('with a resolve option (no lookup): the dial itself fails with SshHostKeyError', async t => {
    const gnu = await testNode(t, epmd, { name: 'gnu', transport, resolve: async () => ({ host: 'gw', port: eel.address!.port }) })
    const err = nextEvent<[string, { error: Error; code: string }]>(gnu, 'connectError', n => n === eel.name)
    t.equal(await gnu.connect(eel.name), false)
    const e = (await err)[1]
    t.ok(e.error instanceof SshHostKeyError, { found: e.error })
    t.equal(e.code, 'ERR_CONNECT')
    t.equal((e.error as SshHostKeyError).gateway, 'gw')
    t.equal((e.error as SshHostKeyError).presented, sshd.hostKey.fingerprint)
    t.equal(sshd.logins(), 0, 'never logged in')
  })
})
