// A getter of a message that itself sends on the same connection, while the message is being
// encoded. The inner frame was once encoded into the batch the outer one was being written
// into: with a small inner message the peer got garbage and was dropped, with a large one the
// outer message vanished without a word. Now the inner send() is refused (ERR_BAD_ARGUMENT),
// which makes the outer send() throw too; nothing of either is queued, the connection stays
// up and what is sent next arrives intact.
import t from 'tap'
import { testEpmd, testNode } from './fixtures/cluster.js'
import { sink } from './fixtures/raw-stream.js'
import { waitFor } from './fixtures/epmd-real.js'

for (const [inner, outer] of [
  [100, 1000],
  [100_000, 100],
  [100, 200_000],
]) {
  t.test(`an inner message of ${inner} bytes sent from a getter of one of ${outer} bytes`, async t => {
    const epmd = await testEpmd(t)
    const a = await testNode(t, epmd, { name: 'a', connectAll: false })
    const b = await testNode(t, epmd, { name: 'b', connectAll: false })
    const got = sink(b, 'sink')
    t.ok(await a.connect(b.name))
    const downs: string[] = []
    b.on('nodedown', n => downs.push(n))
    const outcome = await new Promise<{ outer: unknown; innerErr: unknown }>(resolve => {
      a.spawn(async proc => {
        let innerErr: unknown
        const msg = {
          tag: 'outer',
          get payload() {
            try {
              proc.send(['sink', b.name], { tag: 'inner', p: Buffer.alloc(inner, 0x22) })
            } catch (err) {
              innerErr = err
              throw err
            }
            return Buffer.alloc(outer, 0x11)
          },
        }
        let outerErr: unknown
        try {
          proc.send(['sink', b.name], msg)
        } catch (err) {
          outerErr = err
        }
        proc.send(['sink', b.name], { tag: 'after', p: Buffer.alloc(outer, 0x33) })
        resolve({ outer: outerErr, innerErr })
      })
    })
    t.match(outcome.innerErr, { code: 'ERR_BAD_ARGUMENT', message: /while another message on the same connection was being encoded/ })
    t.match(outcome.outer, { code: 'ERR_BAD_ARGUMENT' }, 'the outer send() throws it as well')
    await waitFor(() => got.length === 1, 10_000, 'the message after')
    const after = got[0] as { tag: string; p: Buffer }
    t.equal(after.tag, 'after')
    t.ok(after.p.length === outer && after.p.every(x => x === 0x33), 'intact')
    await new Promise(r => setTimeout(r, 200))
    t.equal(got.length, 1, 'nothing of the refused messages arrived')
    t.same(downs, [], 'the connection stayed up')
  })
}
