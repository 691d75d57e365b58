// fast-check arbitraries for structured inputs: terms of every kind the codec knows, and
// control frames (SEND ... NODES, plus unknown kinds) whose pids name the local node, the
// peer or a third node. Sampled with a fixed seed and encoded by the real encoder, they
// join the captured corpus as seeds.
import fc from 'fast-check'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { atom } from '../lib/terms/atom.js'
import { Tuple } from '../lib/terms/tuple.js'
import { ImproperList } from '../lib/terms/improper-list.js'
import { BitBinary, OpaqueTerm, Port } from '../lib/terms/otp-terms.js'

function errorOf(name: string, message: string, code: string | number | undefined): Error {
  const e = new Error(message)
  Object.defineProperty(e, 'name', { value: name, writable: true, enumerable: false, configurable: true })
  if (code !== undefined) (e as Error & { code?: unknown }).code = code
  return e
}

export function termArb(nodes: readonly string[]): fc.Arbitrary<unknown> {
  const node = fc.constantFrom(...nodes, '', 'x@y')
  const pid = fc.tuple(node, fc.nat(20), fc.nat(3), fc.nat(3)).map(([n, i, s, c]) => new Pid(n, i, s, c))
  const ref = fc.tuple(node, fc.nat(), fc.nat(3)).map(([n, i, c]) => new Ref(n, i, c))
  const leaf = fc.oneof(
    fc.integer(),
    fc.nat(300),
    fc.double(),
    fc.bigInt(),
    fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 300 }).map(u => Buffer.from(u)),
    pid,
    ref,
    fc
      .tuple(
        fc.string({ maxLength: 10 }),
        fc.string({ maxLength: 20 }),
        fc.option(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { nil: undefined }),
      )
      .map(([n, m, c]) => errorOf(n, m, c)),
  )
  const { term } = fc.letrec<{ term: unknown }>(tie => ({
    term: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('term'), { maxLength: 6 }),
      fc.dictionary(fc.string({ maxLength: 8 }), tie('term'), { maxKeys: 5 }),
      fc.array(fc.tuple(tie('term'), tie('term')), { maxLength: 4 }).map(kv => new Map(kv)),
    ),
  }))
  return term
}

/**
 * Terms with the Erlang/OTP bridge's kinds as well: atoms, tuples, improper lists, bitstrings,
 * ports, funs (as opaque bytes) and refs of several words, nested in the ordinary ones.
 */
export function otpTermArb(nodes: readonly string[]): fc.Arbitrary<unknown> {
  const node = fc.constantFrom(...nodes, '', 'x@y', 'é@h')
  const u32 = fc.nat({ max: 0xffffffff })
  const leaf = fc.oneof(
    termArb(nodes),
    fc.string({ maxLength: 12 }).map(s => atom(s)),
    fc.constantFrom(atom('ok'), atom('EXIT'), atom('undefined'), atom('true')),
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 8 }))
      .map(([b, n]) => new BitBinary(Buffer.from(b), n)),
    fc.tuple(node, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), u32).map(([n, i, c]) => new Port(n, i, c)),
    fc.tuple(node, u32, fc.array(u32, { minLength: 2, maxLength: 5 })).map(([n, c, ids]) => new Ref(n, ids[0]!, c, ids)),
    fc.constant(new OpaqueTerm(113, Buffer.from('7701' + '6d' + '7701' + '66' + '6102', 'hex'))),
  )
  const { term } = fc.letrec<{ term: unknown }>(tie => ({
    term: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('term'), { maxLength: 5 }).map(a => Tuple.from(a)),
      fc.array(tie('term'), { maxLength: 5 }),
      fc.tuple(fc.array(tie('term'), { minLength: 1, maxLength: 3 }), leaf).map(([items, tail]) => new ImproperList(items, tail)),
      fc.array(fc.tuple(tie('term'), tie('term')), { maxLength: 3 }).map(kv => new Map(kv)),
    ),
  }))
  return term
}

/** Control frames as dispatch.ts reads them: [kind, ...fields], fields right or wrong. */
export function controlFrameArb(local: string, peer: string, third: string): fc.Arbitrary<unknown[]> {
  const nodes = [local, peer, third]
  const pidOn = (n: fc.Arbitrary<string>): fc.Arbitrary<Pid> =>
    fc.tuple(n, fc.nat(6), fc.nat(2), fc.nat(2)).map(([a, i, s, c]) => new Pid(a, i, s, c))
  const anyNode = fc.constantFrom(...nodes)
  const localPid = pidOn(fc.constant(local))
  const peerPid = pidOn(fc.constant(peer))
  const somePid = pidOn(anyNode)
  const ref = fc.tuple(anyNode, fc.nat(), fc.nat(2)).map(([n, i, c]) => new Ref(n, i, c))
  const term = termArb(nodes)
  const field = fc.oneof(term, somePid, ref, fc.string({ maxLength: 8 }), fc.constant(null))
  const name = fc.oneof(
    fc.constantFrom('server', 'frequency', 'fuzz', 'quick', 'crash', 'constructor', '__proto__', ''),
    fc.string({ maxLength: 6 }),
  )
  return fc.oneof(
    fc.tuple(fc.constant(1), fc.oneof(localPid, field), term),
    fc.tuple(fc.constant(2), fc.oneof(peerPid, fc.constant(null), field), fc.oneof(name, field), term),
    fc.tuple(fc.constantFrom(3, 4), fc.oneof(peerPid, field), fc.oneof(localPid, field)),
    fc.tuple(fc.constantFrom(5, 6), fc.oneof(peerPid, field), fc.oneof(localPid, field), term),
    fc.tuple(fc.constant(7), fc.oneof(peerPid, field), fc.oneof(localPid, name, field), fc.oneof(ref, field)),
    fc.tuple(fc.constant(8), fc.oneof(peerPid, field), fc.oneof(localPid, name, field), fc.oneof(ref, field)),
    fc.tuple(fc.constant(9), fc.oneof(localPid, field), fc.oneof(ref, field), term),
    fc.tuple(
      fc.constant(10),
      fc.oneof(fc.nat(), field),
      fc.oneof(peerPid, fc.constant(null), field),
      fc.oneof(name, field),
      fc.oneof(name, field),
      fc.oneof(fc.array(term, { maxLength: 3 }), field),
      fc.oneof(fc.boolean(), field),
    ),
    fc.tuple(
      fc.constant(11),
      fc.oneof(fc.nat(5), field),
      fc.oneof(fc.boolean(), field),
      fc.oneof(
        somePid,
        fc.record({
          code: fc.oneof(
            fc.constantFrom('ERR_SPAWN_NOT_ALLOWED', 'ERR_SPAWN_BOGUS', 'ERR_SPAWN', 'constructor'),
            fc.string({ maxLength: 25 }),
          ),
          message: fc.string({ maxLength: 10 }),
        }),
        field,
      ),
    ),
    fc.tuple(fc.constant(12), fc.oneof(fc.array(fc.oneof(anyNode, fc.string({ maxLength: 12 }), term), { maxLength: 5 }), field)),
    fc.tuple(fc.constant(17), fc.oneof(peerPid, fc.constant(null), field), fc.oneof(ref, field), term),
    fc.array(field, { maxLength: 6 }).chain(rest => fc.oneof(fc.integer({ min: -2, max: 20 }), term).map(k => [k, ...rest])),
  ) as fc.Arbitrary<unknown[]>
}

/** `n` samples of `arb`, the same for the same seed. */
export function sample<T>(arb: fc.Arbitrary<T>, n: number, seed: number): T[] {
  return fc.sample(arb, { seed, numRuns: n })
}

/**
 * Handshake messages as handshake.ts and the cookie authenticator read them: the known types
 * and fields, with right, wrong and prototype-named values.
 */
export function handshakeMessageArb(names: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const tricky = fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', '')
  const name = fc.oneof(fc.constantFrom(...names), tricky, fc.string({ maxLength: 300 }))
  const status = fc.oneof(
    fc.constantFrom('ok', 'up', 'nok', 'alive', 'not_allowed', 'name_form', 'wrong_node', 'version'),
    tricky,
    fc.string({ maxLength: 8 }),
  )
  const value = fc.oneof(
    termArb(names),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map(u => Buffer.from(u)),
  )
  const auth = fc.record(
    {
      t: fc.oneof(fc.constantFrom('challenge', 'reply', 'answer', 'ok', 'refused'), tricky),
      c: value,
      d: value,
    },
    { requiredKeys: ['t'] },
  )
  return fc.oneof(
    fc.record(
      { t: fc.constant('hello'), v: fc.oneof(fc.constant(1), value), name, to: name, hidden: value, long: value, creation: value },
      { requiredKeys: ['t'] },
    ),
    fc.record({ t: fc.constant('status'), s: status, name, hidden: value, creation: value }, { requiredKeys: ['t', 's'] }),
    fc.record({ t: fc.constant('up'), replace: value }),
    fc.record({ t: fc.constant('a'), m: fc.oneof(auth, value) }),
    fc.record({ t: fc.oneof(fc.constantFrom('ready', 'refused'), tricky, fc.string({ maxLength: 6 })) }),
    fc.dictionary(fc.oneof(tricky, fc.string({ maxLength: 4 })), value, { maxKeys: 4 }),
  )
}
