// The soak, short: 100,000 messages between two node processes while a third connects and
// disconnects in a loop and one of the two is killed with SIGKILL and restarted (soak/run.ts;
// `npm run soak` is the long one). And the checker it relies on, shown to catch each fault.
import t from 'tap'
import { SequenceCheck } from '../soak/sequence-check.js'
import { runSoak } from '../soak/run.js'

t.test('the checker: a clean stream, then each fault it must report', async t => {
  const ok = new SequenceCheck()
  ok.open(0, 0)
  for (let s = 0; s < 10; s++) ok.arrive(0, s)
  ok.close(0, 13) // 10, 11, 12 were in flight when the connection broke: allowed
  ok.open(1, 13)
  for (let s = 13; s < 20; s++) ok.arrive(1, s)
  t.same(ok.summary(), { delivered: 17, lost: 0, duplicated: 0, reordered: 0, foreign: 0, lostAtBreak: 3, connections: 2 })
  t.equal(ok.unfinished(1, 20), 0)

  const gap = new SequenceCheck()
  gap.open(0, 0)
  for (const s of [0, 1, 3, 4]) gap.arrive(0, s)
  t.equal(gap.summary().lost, 1, 'a gap on a live connection is a loss')

  const dup = new SequenceCheck()
  dup.open(0, 0)
  for (const s of [0, 1, 1, 2]) dup.arrive(0, s)
  t.equal(dup.summary().duplicated, 1)

  const swap = new SequenceCheck()
  swap.open(0, 0)
  for (const s of [0, 2, 1, 3]) swap.arrive(0, s)
  t.match(swap.summary(), { reordered: 1, lost: 0, delivered: 4 }, 'a late message is reordered, not lost')

  const late = new SequenceCheck()
  late.open(0, 0)
  late.arrive(0, 0)
  late.close(0, 2)
  late.open(1, 2)
  late.arrive(1, 2)
  late.arrive(0, 1) // from the old connection, after the new one's first
  t.equal(late.summary().reordered, 1)

  const head = new SequenceCheck()
  head.open(0, 0)
  head.close(0, 5)
  head.open(1, 5)
  head.arrive(1, 6) // 5 never came, though 6 did on the same connection
  t.equal(head.summary().lost, 1, 'a missing first message of a connection is lost')

  const tail = new SequenceCheck()
  tail.open(0, 0)
  tail.arrive(0, 0)
  t.equal(tail.unfinished(0, 3), 2, 'the open connection must deliver everything by the end')
  t.equal(new SequenceCheck().summary().foreign, 0)
  const foreign = new SequenceCheck()
  foreign.arrive(7, 0)
  t.equal(foreign.summary().foreign, 1, 'a connection the sender never opened')
})

t.test('100,000 messages, churn, one SIGKILL and restart: nothing lost, duplicated or reordered on a live connection', async t => {
  const r = await runSoak({ messages: 100_000, kills: 1, deadlineMs: 20_000 })
  t.equal(r.kills, 1, 'b was killed once')
  t.ok(r.connections >= 2, `a connected to b again after the kill (${r.connections} connections)`)
  t.ok(r.messages >= 100_000, `${r.messages} messages checked`)
  t.equal(r.lost, 0, 'lost')
  t.equal(r.duplicated, 0, 'duplicated')
  t.equal(r.reordered, 0, 'reordered')
  t.equal(r.foreign, 0, 'foreign')
  t.ok(r.churn.connected > 0 && r.churn.pinged === r.churn.connected, `c connected ${r.churn.connected} times, each answered`)
  t.ok(r.rss.a.end < r.rss.a.start + 200 * 2 ** 20, 'a did not grow by 200 MiB')
})
