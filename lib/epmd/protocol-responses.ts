// EPMD replies (daemon to client): ALIVE2 and PORT2 replies (fixed layout), NAMES and DUMP
// replies (text until the daemon closes), KILL and STOP replies. Decoders return undefined
// while more bytes are needed. Import it through protocol.ts.

import { Buffer } from 'node:buffer'
import { ALIVE2_RESP, ALIVE2_X_RESP, PORT2_RESP, protocolError, type NodeInfo } from './protocol-defs.js'

export interface Alive2Response {
  /** 0 = registered; anything else = refused (name in use or invalid). */
  result: number
  creation: number
  /** true for ALIVE2_X_RESP (32-bit creation), false for the old ALIVE2_RESP. */
  extended: boolean
}

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
