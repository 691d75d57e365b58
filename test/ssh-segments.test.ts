// A large message over the SSH transport, through a real OpenSSH sshd: the SSH packets of one
// write to a channel leave together (transports/ssh-channel-stream.ts corks the SSH
// connection's socket). A piece of a large message and its header make three SSH packets (the
// header's, and two of the sshd's 32 KiB maximum); written one system call each, with
// TCP_NODELAY, they went out as three TCP segments, and the sshd woke and read for each. The
// kernel's own count of the connection's data segments (`ss -ti`: data_segs_out) says which.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { ssh } from '../transports/ssh.js'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { dataSegsOut, segmentsSkip } from './fixtures/tcp-segments.js'
import { sshdSkip, startSshd } from './fixtures/sshd.js'
import { CHUNK } from '../lib/kernel/outbox.js'

const skip = sshdSkip() || segmentsSkip
if (skip) t.comment(`skipping: ${skip}`)

t.test('over ssh, the SSH packets of one piece leave in one TCP segment', { skip }, async t => {
  const sshd = await startSshd(t)
  const epmd = await testEpmd(t)
  const far = await testNode(t, epmd, { name: 'ssf@gw', connectAll: false })
  const transport = ssh({ gateways: { gw: sshd.gateway({ target: '127.0.0.1' }) } })
  t.teardown(() => transport.close())
  const near = await testNode(t, epmd, { name: 'ssn', transport, connectAll: false })
  const inbox = sink(far, 'inbox')
  near.send(['inbox', far.name], 'hello')
  await waitFor(() => inbox.length === 1, 20_000, 'the first message')

  const before = dataSegsOut(sshd.port)
  const messages = Array.from({ length: 16 }, () => randomBytes(1 << 20))
  for (const m of messages) near.send(['inbox', far.name], m)
  await waitFor(() => inbox.length === 1 + messages.length, 60_000, 'the 16 large messages')
  const segments = dataSegsOut(sshd.port) - before

  t.ok(
    inbox.slice(1).every((m, i) => Buffer.isBuffer(m) && m.equals(messages[i]!)),
    '16 messages of 1 MB, whole and in order',
  )
  const pieces = messages.length * Math.ceil((1 << 20) / CHUNK)
  // Corked, a piece's three packets (~65,170 bytes with their SSH framing) fit one loopback
  // segment; one system call per packet makes about three segments a piece.
  t.ok(segments <= pieces * 1.5, `${pieces} pieces left in ${segments} data segments (a packet a segment: ~${3 * pieces})`)
})
