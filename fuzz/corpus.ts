// The captured seed corpus (fuzz/corpus/seeds.json, written by fuzz/capture-seeds.ts): hex
// strings of bytes real nodes and a real port mapper exchanged on loopback.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface Corpus {
  note: string
  /** Handshake frames one side received, prefixed by one role byte: 00 responder, 01 initiator. */
  handshake: string[]
  /** Distribution frames (control frames, ticks, fragments, acknowledgements), each length-prefixed. */
  dist: string[]
  /** Port-mapper requests, each with its 2-byte length prefix. */
  epmdRequests: string[]
  /** Port-mapper replies, prefixed by one byte naming the request they answer (see epmd-responses.ts). */
  epmdResponses: string[]
}

export const CORPUS_PATH = fileURLToPath(new URL('./corpus/seeds.json', import.meta.url))

let cached: Corpus | undefined

export function corpus(): Corpus {
  cached ??= JSON.parse(readFileSync(CORPUS_PATH, 'utf8')) as Corpus
  return cached
}

export function hexes(list: readonly string[]): Buffer[] {
  return list.map(h => Buffer.from(h, 'hex'))
}
