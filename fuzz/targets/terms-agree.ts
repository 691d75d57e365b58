// The two codecs against each other: "both read each other's bytes" means that for any body
// both accept it with equal values or both refuse it. A disagreement is a finding (a term one
// node can send that a node on the other codec reads differently).
import { isDeepStrictEqual } from 'node:util'
import { createCodec } from '../../lib/terms/codec.js'
import { termBodies } from '../seeds.js'
import { InvariantViolation, type FuzzTarget } from '../target.js'

const ours = createCodec('netkernel')
const lite = createCodec('msgpack-lite')

function decodeOrError(decode: () => unknown): { value?: unknown; error?: unknown } {
  try {
    return { value: decode() }
  } catch (error) {
    return { error }
  }
}

let seeds: Buffer[] | undefined

export const termsAgree: FuzzTarget = {
  name: 'terms-agree',
  seeds: () => (seeds ??= termBodies()),
  run(input) {
    const a = decodeOrError(() => ours.decode(input))
    const b = decodeOrError(() => lite.decode(input))
    if ((a.error === undefined) !== (b.error === undefined)) {
      const [refuser, error] = a.error !== undefined ? ['netkernel', a.error] : ['msgpack-lite', b.error]
      throw new InvariantViolation(`only ${refuser} refuses: ${(error as Error).message}`)
    }
    if (a.error !== undefined) throw a.error
    if (!isDeepStrictEqual(a.value, b.value) && !(Number.isNaN(a.value) && Number.isNaN(b.value))) {
      throw new InvariantViolation('the codecs decode to different values')
    }
  },
}
