// A large message's pieces on a real loopback connection: each piece leaves in one TCP
// segment (lib/kernel/fragments.ts PIECE). A piece of a whole 64 KiB with its header was 63
// bytes over Linux's loopback MSS, so each went out as a full segment and a runt: twice the
// packets, and two wake-ups and reads of the receiver per piece. The kernel's own count of the
// connection's data segments (`ss -ti`: data_segs_out) says which it is.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'
import { dataSegsOut, segmentsSkip } from './fixtures/tcp-segments.js'
import { CHUNK } from '../lib/kernel/outbox.js'

const skip = segmentsSkip

t.test('over tcp on loopback, each piece of a large message is one TCP segment', { skip }, async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'psa', connectAll: false })
  const b = await testNode(t, epmd, { name: 'psb', connectAll: false })
  const inbox = sink(b, 'inbox')
  a.send(['inbox', b.name], 'hello') // a dials b: a's socket is the one to b's listening port
  await waitFor(() => inbox.length === 1, 10_000, 'the first message')

  const port = b.address!.port
  const before = dataSegsOut(port)
  const messages = Array.from({ length: 16 }, () => randomBytes(1 << 20))
  for (const m of messages) a.send(['inbox', b.name], m)
  await waitFor(() => inbox.length === 1 + messages.length, 30_000, 'the 16 large messages')
  const segments = dataSegsOut(port) - before

  t.ok(
    inbox.slice(1).every((m, i) => Buffer.isBuffer(m) && m.equals(messages[i]!)),
    '16 messages of 1 MB, whole and in order',
  )
  const pieces = messages.length * Math.ceil((1 << 20) / CHUNK)
  // Pieces written while the socket still holds earlier ones coalesce into fewer segments; a
  // runt after each piece would make about twice as many.
  t.ok(segments <= pieces * 1.25, `${pieces} pieces left in ${segments} data segments (a runt after each: ~${2 * pieces})`)
})
