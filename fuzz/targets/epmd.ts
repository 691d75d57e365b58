// The port mapper's parsers (lib/epmd/protocol-requests.ts, protocol-responses.ts): the
// daemon's incremental request parser, fed in chunks, and the client's reply decoders, called
// as the client calls them (on every chunk's accumulated bytes, and once more at the end).
import {
  createRequestParser,
  decodeAlive2Response,
  decodeKillResponse,
  decodeNamesResponse,
  decodePort2Response,
  decodeRequest,
  decodeStopResponse,
  encodeRequest,
  encodeAlive2Response,
  encodePort2Response,
  encodeNamesResponse,
  encodeDumpResponse,
} from '../../lib/epmd/protocol.js'
import { EpmdError } from '../../lib/errors.js'
import { corpus, hexes } from '../corpus.js'
import { chunks } from '../mutate.js'
import { InvariantViolation, type FuzzTarget } from '../target.js'

export const epmdRequests: FuzzTarget = {
  name: 'epmd-requests',
  seeds: () => [
    ...hexes(corpus().epmdRequests),
    encodeRequest({ type: 'dump' }),
    encodeRequest({ type: 'kill' }),
    encodeRequest({ type: 'stop', name: 'n' }),
    encodeRequest({
      type: 'alive2',
      name: 'ä'.repeat(10),
      port: 1,
      nodeType: 72,
      protocol: 0,
      highestVersion: 6,
      lowestVersion: 5,
      extra: Buffer.from('xy'),
    }),
  ],
  run(input, variant) {
    const parser = createRequestParser()
    let finished = false
    for (const c of chunks(input, variant)) {
      const r = parser.push(c)
      if (r.status === 'error' && !(r.error instanceof EpmdError))
        throw new InvariantViolation('the request parser reported a non-EpmdError', { cause: r.error })
      if (r.status !== 'incomplete') {
        if (finished && r.status === 'request') throw new InvariantViolation('a second request on one connection')
        finished = true
      }
    }
    const end = parser.end()
    if (end.status === 'error' && !(end.error instanceof EpmdError)) throw new InvariantViolation('end() reported a non-EpmdError')
    if (input.length > 2) decodeRequest(input.subarray(2))
  },
}

/** The reply decoders by the request they answer: the first byte of an input picks one. */
const REPLIES = [
  (b: Buffer) => decodeAlive2Response(b),
  (b: Buffer) => decodePort2Response(b),
  (b: Buffer, ended: boolean) => (ended ? decodeNamesResponse(b) : undefined),
  (b: Buffer) => decodeKillResponse(b),
  (b: Buffer) => decodeStopResponse(b),
]

export const epmdResponses: FuzzTarget = {
  name: 'epmd-responses',
  seeds: () => [
    ...hexes(corpus().epmdResponses),
    Buffer.concat([Buffer.of(0), encodeAlive2Response({ result: 0, creation: 3, extended: false })]),
    Buffer.concat([Buffer.of(1), encodePort2Response(undefined)]),
    Buffer.concat([
      Buffer.of(1),
      encodePort2Response({ name: 'n', port: 9, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 5, extra: Buffer.from('e') }),
    ]),
    Buffer.concat([Buffer.of(2), encodeDumpResponse(4369, [{ name: 'a', port: 1, fd: 3 }])]),
    Buffer.concat([Buffer.of(2), encodeNamesResponse(4369, [])]),
    Buffer.from('\x03NO'),
    Buffer.from('\x04STOPPED'),
  ],
  run(input, variant) {
    if (input.length === 0) return
    const decode = REPLIES[input[0]! % REPLIES.length]!
    const parts: Buffer[] = []
    for (const c of chunks(input.subarray(1), variant)) {
      parts.push(c)
      if (decode(Buffer.concat(parts), false) !== undefined) return
    }
    decode(Buffer.concat(parts), true)
  },
}
