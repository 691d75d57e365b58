// The term decoders of both codecs (lib/terms/decoder.ts behind 'netkernel', codec-lite.ts
// behind 'msgpack-lite'): one frame body each. The 'netkernel' decoder is netkernel's own: a
// refusal that wraps a JavaScript error (a missing bounds check caught by its catch-all) is a
// finding. msgpack-lite's own errors are expected causes; a TypeError is not.
import { createCodec, type CodecKind } from '../../lib/terms/codec.js'
import { termBodies } from '../seeds.js'
import { checkCause, type FuzzTarget } from '../target.js'

function termTarget(name: CodecKind, allowed: (cause: unknown) => boolean): FuzzTarget {
  const codec = createCodec(name)
  let seeds: Buffer[] | undefined
  return {
    name: `term-${name}`,
    seeds: () => (seeds ??= termBodies()),
    run(input, variant) {
      try {
        codec.decode(input, (variant & 1) === 1)
      } catch (err) {
        checkCause(err, allowed)
        throw err
      }
    },
  }
}

/** Which causes a codec's refusal may carry: none of its own for netkernel's reader. */
export const ALLOWED_CAUSES: Record<CodecKind, (cause: unknown) => boolean> = {
  netkernel: () => false,
  'msgpack-lite': cause => !(cause instanceof TypeError || cause instanceof ReferenceError || cause instanceof SyntaxError),
}

export const termNetkernel = termTarget('netkernel', ALLOWED_CAUSES.netkernel)
export const termLite = termTarget('msgpack-lite', ALLOWED_CAUSES['msgpack-lite'])
