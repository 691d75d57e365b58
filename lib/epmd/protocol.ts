// The EPMD wire protocol (Erlang/OTP erl_dist_protocol, "EPMD Protocol"), pure: bytes in,
// objects or bytes out, no sockets. Every request is a 2-byte big-endian length and a body
// whose first byte is the request tag. Responses carry no length prefix: ALIVE2 and PORT2
// replies have a fixed layout, NAMES/DUMP replies run until the daemon closes the connection.

import { EpmdError } from '../errors.js'

export const EPMD_DEFAULT_PORT = 4369

export const ALIVE2_REQ = 120 // 'x'
export const ALIVE2_X_RESP = 118 // 'v' (32-bit creation, highest version >= 6)
export const ALIVE2_RESP = 121 // 'y' (16-bit creation, older nodes)
export const PORT_PLEASE2_REQ = 122 // 'z'
export const PORT2_RESP = 119 // 'w'
export const NAMES_REQ = 110 // 'n'
export const DUMP_REQ = 100 // 'd'
export const KILL_REQ = 107 // 'k'
export const STOP_REQ = 115 // 's'

/** Node types: OTP registers hidden nodes as 77 too; 72 is used by C nodes. */
export const NODE_TYPE_NORMAL = 77
export const NODE_TYPE_HIDDEN = 72
export const PROTOCOL_TCP_IPV4 = 0
export const HIGHEST_VERSION = 6
export const LOWEST_VERSION = 5

/** A node name is at most 255 characters, UTF-8 encoded (so at most 1020 bytes). */
export const MAX_NAME_CHARS = 255
export const MAX_NAME_BYTES = 255 * 4
export const MAX_EXTRA_BYTES = 255 * 4
/** Largest request body epmd accepts (its input buffer is 3 * 1020 bytes, header included). */
export const MAX_REQUEST_SIZE = 3 * MAX_NAME_BYTES - 3

export interface NodeInfo {
  name: string
  port: number
  nodeType: number
  protocol: number
  highestVersion: number
  lowestVersion: number
  extra: Buffer
}

export type EpmdRequest =
  | ({ type: 'alive2' } & NodeInfo)
  | { type: 'port-please2'; name: string }
  | { type: 'names' }
  | { type: 'dump' }
  | { type: 'kill' }
  | { type: 'stop'; name: string }

export interface Alive2Response {
  /** 0 = registered; anything else = refused (name in use or invalid). */
  result: number
  creation: number
  /** true for ALIVE2_X_RESP (32-bit creation), false for the old ALIVE2_RESP. */
  extended: boolean
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function protocolError(message: string): EpmdError {
  return new EpmdError('ERR_EPMD', message)
}

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + body.length)
  out.writeUInt16BE(body.length, 0)
  body.copy(out, 2)
  return out
}

function checkU16(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new EpmdError('ERR_BAD_ARGUMENT', `${what} must be an integer 0..65535, got ${value}`)
  }
}

function checkU8(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new EpmdError('ERR_BAD_ARGUMENT', `${what} must be an integer 0..255, got ${value}`)
  }
}

/**
 * Why a node name (alive part) cannot be registered, or undefined if it can: empty, a NUL,
 * invalid UTF-8, over 255 characters.
 */
export function nodeNameProblem(name: string | Buffer): string | undefined {
  const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name
  if (bytes.length === 0) return 'empty name'
  if (bytes.includes(0)) return 'name contains a NUL byte'
  if (bytes.length > MAX_NAME_BYTES) return `name longer than ${MAX_NAME_BYTES} bytes`
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return 'name is not valid UTF-8'
  }
  if ([...text].length > MAX_NAME_CHARS) return `name longer than ${MAX_NAME_CHARS} characters`
  return undefined
}

// ---------------------------------------------------------------------------- requests

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
  | { status: 'incomplete' }
  | { status: 'request'; request: EpmdRequest }
  | { status: 'error'; error: EpmdError }

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

// ---------------------------------------------------------------------------- responses

export function encodeAlive2Response(res: Alive2Response): Buffer {
  if (res.extended) {
    const out = Buffer.allocUnsafe(6)
    out[0] = ALIVE2_X_RESP
    out[1] = res.result
    out.writeUInt32BE(res.creation >>> 0, 2)
    return out
  }
  const out = Buffer.allocUnsafe(4)
  out[0] = ALIVE2_RESP
  out[1] = res.result
  out.writeUInt16BE(res.creation & 0xffff, 2)
  return out
}

/** undefined = more bytes needed. Throws on an unknown tag. */
export function decodeAlive2Response(buf: Buffer): Alive2Response | undefined {
  if (buf.length < 1) return undefined
  const tag = buf[0]
  if (tag === ALIVE2_X_RESP) {
    if (buf.length < 6) return undefined
    return { result: buf[1]!, creation: buf.readUInt32BE(2), extended: true }
  }
  if (tag === ALIVE2_RESP) {
    if (buf.length < 4) return undefined
    return { result: buf[1]!, creation: buf.readUInt16BE(2), extended: false }
  }
  throw protocolError(`unexpected reply to ALIVE2_REQ (tag ${tag})`)
}

/** PORT2_RESP for a found node, or the error reply (result 1) for undefined. */
export function encodePort2Response(info: NodeInfo | undefined): Buffer {
  if (!info) return Buffer.of(PORT2_RESP, 1)
  const name = Buffer.from(info.name, 'utf8')
  const out = Buffer.allocUnsafe(14 + name.length + info.extra.length)
  out[0] = PORT2_RESP
  out[1] = 0
  out.writeUInt16BE(info.port, 2)
  out[4] = info.nodeType
  out[5] = info.protocol
  out.writeUInt16BE(info.highestVersion, 6)
  out.writeUInt16BE(info.lowestVersion, 8)
  out.writeUInt16BE(name.length, 10)
  name.copy(out, 12)
  out.writeUInt16BE(info.extra.length, 12 + name.length)
  info.extra.copy(out, 14 + name.length)
  return out
}

/** undefined = more bytes needed; null = the node is not registered. Throws on a bad tag. */
export function decodePort2Response(buf: Buffer): NodeInfo | null | undefined {
  if (buf.length < 2) return undefined
  if (buf[0] !== PORT2_RESP) throw protocolError(`unexpected reply to PORT_PLEASE2_REQ (tag ${buf[0]})`)
  if (buf[1] !== 0) return null
  if (buf.length < 12) return undefined
  const nameLen = buf.readUInt16BE(10)
  if (buf.length < 14 + nameLen) return undefined
  const extraLen = buf.readUInt16BE(12 + nameLen)
  if (buf.length < 14 + nameLen + extraLen) return undefined
  return {
    port: buf.readUInt16BE(2),
    nodeType: buf[4]!,
    protocol: buf[5]!,
    highestVersion: buf.readUInt16BE(6),
    lowestVersion: buf.readUInt16BE(8),
    name: buf.toString('utf8', 12, 12 + nameLen),
    extra: Buffer.from(buf.subarray(14 + nameLen, 14 + nameLen + extraLen)),
  }
}

export interface NameEntry {
  name: string
  port: number
}

/** NAMES reply: the daemon's own port (4 bytes) and one `name N at port P\n` line per node. */
export function encodeNamesResponse(epmdPort: number, names: readonly NameEntry[]): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(epmdPort >>> 0, 0)
  const lines = names.map(n => `name ${n.name} at port ${n.port}\n`).join('')
  return Buffer.concat([head, Buffer.from(lines, 'utf8')])
}

/** Decode a complete NAMES reply (read until the daemon closed). Lines that do not parse are skipped, as erl_epmd does. */
export function decodeNamesResponse(buf: Buffer): { epmdPort: number; names: NameEntry[] } {
  if (buf.length < 4) throw protocolError(`NAMES reply too short (${buf.length} bytes)`)
  const epmdPort = buf.readUInt32BE(0)
  if (epmdPort > 0xffff) throw protocolError('not a NAMES reply (the port field exceeds 65535)')
  const names: NameEntry[] = []
  const text = buf.toString('utf8', 4)
  for (const line of text.split('\n')) {
    const m = /^name (.+) at port (\d+)$/.exec(line)
    if (m) names.push({ name: m[1]!, port: Number(m[2]) })
  }
  return { epmdPort, names }
}

/** DUMP reply lines, as epmd writes them (each NUL-terminated). */
export function encodeDumpResponse(epmdPort: number, names: readonly (NameEntry & { fd: number })[]): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(epmdPort >>> 0, 0)
  const lines = names.map(n => `active name     <${n.name}> at port ${n.port}, fd = ${n.fd}\n\0`).join('')
  return Buffer.concat([head, Buffer.from(lines, 'utf8')])
}

export type KillReply = 'OK' | 'NO'
export type StopReply = 'STOPPED' | 'NOEXIST'

/** undefined = more bytes needed. Throws on anything but OK / NO. */
export function decodeKillResponse(buf: Buffer): KillReply | undefined {
  if (buf.length < 2) return undefined
  const s = buf.toString('latin1', 0, 2)
  if (s === 'OK' || s === 'NO') return s
  throw protocolError(`unexpected reply to KILL_REQ: ${JSON.stringify(s)}`)
}

/** undefined = more bytes needed. Throws on anything but STOPPED / NOEXIST. */
export function decodeStopResponse(buf: Buffer): StopReply | undefined {
  if (buf.length < 7) return undefined
  const s = buf.toString('latin1', 0, 7)
  if (s === 'STOPPED' || s === 'NOEXIST') return s
  throw protocolError(`unexpected reply to STOP_REQ: ${JSON.stringify(s)}`)
}
