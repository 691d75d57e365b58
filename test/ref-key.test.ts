// Ref.key, the Map key of monitors, calls and pg's books: equal exactly when the refs are.
// Node names may end in dotted digits (IP long names), and refs have one word (an older
// netkernel node's) or three to five (OTP's, and netkernel's own now): a key that put the node
// first let a 3-word ref of a@10.0.0 collide with a 1-word ref of a@10.0.0.1, and a peer's
// DOWN with such a ref removed our monitor.
import t from 'tap'
import fc from 'fast-check'
import { Ref } from '../lib/terms/ref.js'

t.test('the collision that was: a 3-word ref of a@10.0.0 and a 1-word ref of a@10.0.0.1', async t => {
  const theirs = new Ref('a@10.0.0', 1, 7, [1, 3])
  const ours = new Ref('a@10.0.0.1', 3, 7)
  t.notOk(theirs.equals(ours))
  t.not(theirs.key, ours.key)
})

t.test('keys are equal exactly when the refs are', async t => {
  const node = fc.constantFrom('a@1', 'a@1.0', 'a@1.0.1', 'a@1.0.1.2', 'a@1.0.1.2.3', 'n@h')
  // Few values, so that colliding keys come up; 32-bit words are keyed as code units, larger
  // ones (a 1-word ref's id may be any count) in digits: both forms, and pairs across them.
  const word = fc.constantFrom(0, 1, 2, 3, 0xffff, 0x10000, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 2 ** 40)
  const ref = fc
    .tuple(node, fc.oneof(fc.tuple(word), fc.tuple(word, word, word), fc.tuple(word, word, word, word, word)), word)
    .map(([n, ids, creation]) => new Ref(n, ids[0], creation, ids))
  fc.assert(
    fc.property(ref, ref, (a, b) => (a.key === b.key) === a.equals(b)),
    { numRuns: 20_000, seed: 20261205 },
  )
  t.pass('20,000 pairs')
})
