// A call's answer is `{Tag, Reply}` sent to the caller's pid. Pids are sequential; when refs
// were too, a connected peer that had once been called (so it knew a caller's pid and one of
// its tags) could answer that process's next call in the real server's place by trying the
// next few refs. A node's refs now carry 64 random bits (lib/process/ref-words.ts): the peer's
// guesses land in the mailbox as ordinary messages and the call takes the server's reply.
// Real nodes over TCP, a hand-made authenticated peer.
import t from 'tap'
import { REG_SEND, SEND } from '../lib/kernel/frames.js'
import { asCall } from '../lib/process/gen-call.js'
import { Ref } from '../lib/terms/ref.js'
import { Pid } from '../lib/terms/pid.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'
import { rawPeer } from './fixtures/raw-peer.js'
import { waitUntil } from './fixtures/mesh-helpers.js'

/** What an attacker tries after seeing `seen`: the refs that follow it, each word's way. */
function guessesAfter(seen: Ref, n: number): Ref[] {
  const out: Ref[] = []
  for (let k = 1; k <= n; k++) {
    if (seen.ids.length === 1) {
      out.push(new Ref(seen.node, seen.id + k, seen.creation))
      continue
    }
    for (let w = 0; w < seen.ids.length; w++) {
      const ids = [...seen.ids]
      ids[w] = ((ids[w] as number) + k) >>> 0
      out.push(new Ref(seen.node, ids[0] as number, seen.creation, ids))
    }
  }
  return out
}

t.test('a peer that saw one tag cannot answer the next call in the server’s place', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a' })
  const b = await testNode(t, epmd, { name: 'b' })
  t.equal(await a.connect(b.name), true)
  const rogue = await rawPeer(t, a)

  // The real server, on b: it answers once told to, so the caller waits while the peer guesses.
  let called = false
  const server = b.spawn(async proc => {
    const c = asCall(await proc.receive(m => asCall(m) !== undefined))!
    called = true
    await proc.receive(m => m === 'go')
    proc.reply(c.from, 'real')
  })
  b.register('real', server)

  const answers = inProcess(a, async proc => {
    const first = await proc.call(['svc', rogue.name], 'first', { timeout: 5000 })
    const second = await proc.call(['real', b.name], 'second', { timeout: 10_000 })
    return [first, second]
  })

  // The caller's first call reaches the peer: now it knows the caller's pid and a tag.
  const frame = await rogue.next(f => f[0] === REG_SEND && f[2] === 'svc')
  const call = asCall(frame[3])
  t.ok(call, 'the peer got a gen_server call')
  const [caller, tag] = call!.from as [Pid, Ref]
  t.ok(tag instanceof Ref && caller instanceof Pid)
  rogue.send([SEND, caller, [tag, 'ok']])

  await waitUntil(() => called, 'the second call at the real server')
  const guesses = guessesAfter(tag, 512)
  for (const g of guesses) rogue.send([SEND, caller, [g, 'forged']])
  // A marker behind the guesses: once it is in, every guess was delivered.
  let marked = false
  const sink = a.spawn(async proc => {
    await proc.receive(m => m === 'marker')
    marked = true
  })
  rogue.send([SEND, sink, 'marker'])
  await waitUntil(() => marked, 'the marker behind the forged replies')

  b.send(server, 'go')
  t.same(await answers, ['ok', 'real'], 'the second call took the server’s reply')
  t.ok(rogue.up, 'the peer’s messages were only messages')
  t.equal(tag.ids.length, 3, 'a tag has three words, as an Erlang/OTP ref')
})

t.test('refs carry random words beside their counter', async t => {
  const epmd = await testEpmd(t)
  const a = await testNode(t, epmd, { name: 'a' })
  const refs = await inProcess(a, async proc => Array.from({ length: 10_000 }, () => proc.makeRef()))
  const first = refs[0]!.id
  t.ok(
    refs.every((r, i) => r.ids.length === 3 && r.id === (first + i) % 0x40000),
    'the first word counts (its low 18 bits, as OTP keeps)',
  )
  const pairs = new Set(refs.map(r => `${r.ids[1]}.${r.ids[2]}`))
  t.equal(pairs.size, refs.length, 'no two refs share their random words')
  let steps = 0
  for (let i = 1; i < refs.length; i++) {
    const d1 = ((refs[i]!.ids[1] as number) - (refs[i - 1]!.ids[1] as number)) >>> 0
    const d2 = ((refs[i]!.ids[2] as number) - (refs[i - 1]!.ids[2] as number)) >>> 0
    if (d1 < 1024 || d2 < 1024) steps++
  }
  // Uniform words differ by less than 1024 one time in 2^22 (each way): a handful at most.
  t.ok(steps < 5, `the random words do not follow each other (${steps} small steps of ${refs.length - 1})`)
  const keys = new Set(refs.map(r => r.key))
  t.equal(keys.size, refs.length, 'every ref has its own key')
})
