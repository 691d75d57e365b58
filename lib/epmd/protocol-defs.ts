// The EPMD protocol's vocabulary, shared by protocol-requests.ts and protocol-responses.ts:
// the request and reply tags, node types and versions, size limits, the node record both
// directions carry, and the rule for a registrable node name. Import it through protocol.ts.

import { Buffer } from 'node:buffer'
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

/**
 * ALIVE2 result of our daemon when its table is full (epmd answers 1 to every refusal; an
 * Erlang node takes any non-zero result as a refusal).
 */
export const ALIVE2_FULL = 2

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

export const utf8 = new TextDecoder('utf-8', { fatal: true })

export function protocolError(message: string): EpmdError {
  return new EpmdError('ERR_EPMD', message)
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
