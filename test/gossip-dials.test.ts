// GossipDials (lib/kernel/gossip-dials.ts) on a fake clock: a name whose gossip dial failed is
// held back for GOSSIP_RETRY_MS and then forgotten, the names remembered are bounded, a
// connection clears a name, and each peer's budget of new dials refills at its rate.
import t from 'tap'
import { GossipDials, GOSSIP_FAILED_MAX, GOSSIP_RETRY_MS } from '../lib/kernel/gossip-dials.js'
import { fakeClock } from './fixtures/fake-clock.js'

t.test('a failed name is held back for GOSSIP_RETRY_MS, then dialled again', async t => {
  const clock = fakeClock()
  const g = new GossipDials(clock, 32)
  t.notOk(g.recentlyFailed('x@h'))
  g.dialFailed('x@h')
  t.ok(g.recentlyFailed('x@h'))
  clock.advance(GOSSIP_RETRY_MS - 1)
  t.ok(g.recentlyFailed('x@h'), 'still held back just before it expires')
  clock.advance(1)
  t.notOk(g.recentlyFailed('x@h'), 'then gossip may dial it again')
  t.equal(g.failedNames, 0, 'and it is forgotten')
  g.dialFailed('y@h')
  g.connected('y@h')
  t.notOk(g.recentlyFailed('y@h'), 'a connection to the name clears it')
})

t.test('the names remembered are bounded, oldest forgotten first; expired ones go as new ones come', async t => {
  const clock = fakeClock()
  const g = new GossipDials(clock, 32)
  for (let i = 0; i < GOSSIP_FAILED_MAX + 100; i++) g.dialFailed(`n${i}@h`)
  t.equal(g.failedNames, GOSSIP_FAILED_MAX)
  t.notOk(g.recentlyFailed('n0@h'), 'the oldest went')
  t.ok(g.recentlyFailed(`n${GOSSIP_FAILED_MAX + 99}@h`))
  clock.advance(GOSSIP_RETRY_MS)
  g.dialFailed('late@h')
  t.equal(g.failedNames, 1, 'the expired names went when a new one came')
})

t.test("each peer's budget: one second's worth, refilled at the rate", async t => {
  const clock = fakeClock()
  const g = new GossipDials(clock, 10)
  const a = {}
  const b = {}
  t.equal(g.room(a), 10)
  g.spend(a, 10)
  t.equal(g.room(a), 0)
  t.equal(g.room(b), 10, 'another peer has its own')
  clock.advance(500)
  t.equal(g.room(a), 5, 'half a second: half the budget')
  clock.advance(10_000)
  t.equal(g.room(a), 10, 'never more than one second of it')
  t.ok(g.firstHoldBack(a))
  t.notOk(g.firstHoldBack(a), 'warned once per peer connection')
})
