// Seeds shared by the targets: the captured corpus split into frames and bodies, the node
// names it contains, and terms sampled from the fast-check arbitraries, encoded by the real
// encoder (seed 1: the same terms on every run).
import { corpus, hexes } from './corpus.js'
import { createCodec } from '../lib/terms/codec.js'
import { FRAGMENT_MARK } from '../lib/kernel/fragments.js'
import { otpTermArb, sample, termArb } from './terms-arb.js'

const codec = createCodec()

/** Each captured distribution frame, length prefix included. */
export function distFrames(): Buffer[] {
  return hexes(corpus().dist)
}

/** Each side's captured handshake: a role byte (00 responder, 01 initiator), then the frames it received. */
export function handshakeStreams(): Buffer[] {
  return hexes(corpus().handshake)
}

/** Split length-prefixed frames into bodies (a cut last frame is dropped). */
export function bodiesOf(stream: Buffer): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  while (at + 4 <= stream.length) {
    const n = stream.readUInt32BE(at)
    if (at + 4 + n > stream.length) break
    out.push(stream.subarray(at + 4, at + 4 + n))
    at += 4 + n
  }
  return out
}

/** The node names the captured hellos carry (names the other seeds' pids use). */
export function corpusNames(): string[] {
  const names = new Set<string>()
  for (const s of handshakeStreams()) {
    for (const body of bodiesOf(s.subarray(1))) {
      const m = codec.decode(body) as Record<string, unknown>
      for (const k of ['name', 'to']) if (typeof m[k] === 'string') names.add(m[k] as string)
    }
  }
  return [...names].sort()
}

/** Concatenations of a few consecutive captured frames: streams as a socket delivers them. */
export function frameStreams(): Buffer[] {
  const frames = distFrames()
  const out: Buffer[] = [...frames]
  for (let i = 0; i + 3 <= frames.length; i += 3) out.push(Buffer.concat(frames.slice(i, i + 3)))
  return out
}

/** Term bodies: captured control frames and handshake messages, plus sampled terms encoded. */
export function termBodies(samples = 300): Buffer[] {
  const captured = distFrames()
    .map(f => f.subarray(4))
    .filter(b => b.length > 0 && b[0] !== FRAGMENT_MARK)
  const hs = handshakeStreams().flatMap(s => bodiesOf(s.subarray(1)))
  const sampled = sample(termArb(corpusNames()), samples, 1).map(t => codec.encode(t))
  const otp = sample(otpTermArb(corpusNames()), samples / 3, 2).map(t => codec.encode(t))
  return [...captured, ...hs, ...sampled, ...otp]
}
