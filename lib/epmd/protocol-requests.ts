// EPMD requests (client to daemon): encode a request with its 2-byte length prefix, decode a
// request body, and the incremental parser the daemon feeds a connection's bytes to. Import it
// through protocol.ts.

import { Buffer } from 'node:buffer'
import { type EpmdError, NetkernelError } from '../errors.js'
import {
  ALIVE2_REQ,
  DUMP_REQ,
  KILL_REQ,
  MAX_REQUEST_SIZE,
  NAMES_REQ,
  PORT_PLEASE2_REQ,
  STOP_REQ,
  nodeNameProblem,
  protocolError,
  utf8,
  type NodeInfo,
} from './protocol-defs.js'

export type EpmdRequest =
  | ({ type: 'alive2' } & NodeInfo)
  | { type: 'port-please2'; name: string }
  | { type: 'names' }
  | { type: 'dump' }
  | { type: 'kill' }
  | { type: 'stop'; name: string }

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + body.length)
  out.writeUInt16BE(body.length, 0)
  body.copy(out, 2)
  return out
}

function checkU16(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `${what} must be an integer 0..65535, got ${value}`)
  }
}

function checkU8(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `${what} must be an integer 0..255, got ${value}`)
  }
}

/** Encode a request with its 2-byte length prefix. */
export function encodeRequest(req: EpmdRequest): Buffer {
  switch (req.type) {
    case 'alive2': {
      checkU16(req.port, 'port')
      checkU8(req.nodeType, 'nodeType')
      checkU8(req.protocol, 'protocol')
      checkU16(req.highestVersion, 'highestVersion')
      checkU16(req.lowestVersion, 'lowestVersion')
      const name = Buffer.from(req.name, 'utf8')
      checkU16(name.length, 'name length')
      checkU16(req.extra.length, 'extra length')
      const body = Buffer.allocUnsafe(13 + name.length + req.extra.length)
      body[0] = ALIVE2_REQ
      body.writeUInt16BE(req.port, 1)
      body[3] = req.nodeType
      body[4] = req.protocol
      body.writeUInt16BE(req.highestVersion, 5)
      body.writeUInt16BE(req.lowestVersion, 7)
      body.writeUInt16BE(name.length, 9)
      name.copy(body, 11)
      body.writeUInt16BE(req.extra.length, 11 + name.length)
      req.extra.copy(body, 13 + name.length)
      return frame(body)
    }
    case 'port-please2':
      return frame(Buffer.concat([Buffer.of(PORT_PLEASE2_REQ), Buffer.from(req.name, 'utf8')]))
    case 'stop':
      return frame(Buffer.concat([Buffer.of(STOP_REQ), Buffer.from(req.name, 'utf8')]))
    case 'names':
      return frame(Buffer.of(NAMES_REQ))
    case 'dump':
      return frame(Buffer.of(DUMP_REQ))
    case 'kill':
      return frame(Buffer.of(KILL_REQ))
  }
}

/** A name that follows the tag (PORT_PLEASE2, STOP): one trailing NUL allowed, none inside. */
function decodeTrailingName(body: Buffer, what: string): string {
  let end = body.length
  if (end > 1 && body[end - 1] === 0) end--
  const bytes = body.subarray(1, end)
  const problem = nodeNameProblem(bytes)
  if (problem) throw protocolError(`${what}: ${problem}`)
  return utf8.decode(bytes)
}

/**
 * Decode one request body (without the length prefix). Throws EpmdError ERR_EPMD for a
 * malformed or unknown request. ALIVE2 names are decoded but not judged: the daemon refuses
 * a name that is too long with a reply, as epmd does (see nodeNameProblem).
 */
export function decodeRequest(body: Buffer): EpmdRequest {
  if (body.length === 0) throw protocolError('empty request')
  switch (body[0]) {
    case ALIVE2_REQ: {
      if (body.length <= 13) throw protocolError(`ALIVE2_REQ too short (${body.length} bytes)`)
      const nameLen = body.readUInt16BE(9)
      if (nameLen + 13 > body.length) throw protocolError('ALIVE2_REQ: name length exceeds the request')
      const extraLen = body.readUInt16BE(11 + nameLen)
      if (extraLen + nameLen + 13 > body.length) {
        throw protocolError('ALIVE2_REQ: extra length exceeds the request')
      }
      const nameBytes = body.subarray(11, 11 + nameLen)
      if (nameBytes.includes(0)) throw protocolError('ALIVE2_REQ: name contains a NUL byte')
      let name: string
      try {
        name = utf8.decode(nameBytes)
      } catch {
        throw protocolError('ALIVE2_REQ: name is not valid UTF-8')
      }
      return {
        type: 'alive2',
        port: body.readUInt16BE(1),
        nodeType: body[3]!,
        protocol: body[4]!,
        highestVersion: body.readUInt16BE(5),
        lowestVersion: body.readUInt16BE(7),
        name,
        extra: Buffer.from(body.subarray(13 + nameLen, 13 + nameLen + extraLen)),
      }
    }
    case PORT_PLEASE2_REQ:
      return { type: 'port-please2', name: decodeTrailingName(body, 'PORT_PLEASE2_REQ') }
    case STOP_REQ:
      return { type: 'stop', name: decodeTrailingName(body, 'STOP_REQ') }
    case NAMES_REQ:
      return { type: 'names' }
    case DUMP_REQ:
      return { type: 'dump' }
    case KILL_REQ:
      return { type: 'kill' }
    default:
      throw protocolError(`unknown request tag ${body[0]}`)
  }
}

export type RequestParseResult =
  { status: 'incomplete' } | { status: 'request'; request: EpmdRequest } | { status: 'error'; error: EpmdError }

export interface RequestParser {
  /** Feed bytes as they arrive. After a request or an error, every further push is an error. */
  push(chunk: Uint8Array): RequestParseResult
  /** The peer closed its side: an error if a request was begun but not finished. */
  end(): RequestParseResult
  /** Bytes buffered for the request in progress. */
  readonly buffered: number
}

/**
 * Incremental parser for the one request an EPMD connection carries. Chunks are kept as
 * received and joined once, when the request is complete. A zero length, a length over
 * maxSize, bytes beyond the announced length and bytes after the request are errors.
 */
export function createRequestParser(opts: { maxSize?: number } = {}): RequestParser {
  const maxSize = opts.maxSize ?? MAX_REQUEST_SIZE
  const chunks: Uint8Array[] = []
  let buffered = 0
  let want = -1 // body length once the 2-byte header is known
  let done = false

  const fail = (message: string): RequestParseResult => {
    done = true
    chunks.length = 0
    return { status: 'error', error: protocolError(message) }
  }

  const joined = (): Buffer => {
    const all = chunks.length === 1 ? Buffer.from(chunks[0]!) : Buffer.concat(chunks, buffered)
    chunks.length = 1
    chunks[0] = all
    return all
  }

  return {
    get buffered() {
      return buffered
    },
    push(chunk) {
      if (chunk.length === 0) return { status: 'incomplete' }
      if (done) return fail('data after the request')
      chunks.push(chunk)
      buffered += chunk.length
      if (want < 0) {
        if (buffered < 2) return { status: 'incomplete' }
        const head = joined()
        want = head.readUInt16BE(0)
        if (want === 0) return fail('zero-length request')
        if (want > maxSize) return fail(`request of ${want} bytes exceeds the ${maxSize}-byte limit`)
      }
      if (buffered - 2 < want) return { status: 'incomplete' }
      if (buffered - 2 > want) return fail(`got ${buffered - 2} bytes, the request announced ${want}`)
      const body = joined().subarray(2)
      done = true
      chunks.length = 0
      try {
        return { status: 'request', request: decodeRequest(body) }
      } catch (err) {
        return { status: 'error', error: err as EpmdError }
      }
    },
    end() {
      if (done || buffered === 0) return { status: 'incomplete' }
      return fail(`connection closed after ${buffered} bytes of a partial request`)
    },
  }
}
