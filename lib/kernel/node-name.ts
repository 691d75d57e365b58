// Node names: 'alive@host'. Short names (erl -sname) take the short hostname; long names
// (erl -name) need a fully qualified (dotted) host. Short- and long-name nodes never connect.
import { hostname } from 'node:os'
import { NodeNameError } from '../errors.js'

export interface NodeName {
  /** 'foo@vm' */
  full: string
  /** 'foo' */
  alive: string
  /** 'vm' */
  host: string
}

const ALIVE_RE = /^[A-Za-z0-9_\-.+]+$/
const HOST_RE = /^[A-Za-z0-9_\-.:[\]]+$/

/** The host part a short-name node uses: the hostname up to its first dot (as erl -sname). */
export function shortHostname(): string {
  return hostname().split('.')[0] as string
}

/** The host part a long-name node uses when none is given: the hostname, if fully qualified. */
export function longHostname(): string | undefined {
  const h = hostname()
  return h.includes('.') ? h : undefined
}

/**
 * Parse and check a node name. 'foo' gets the local host part; 'foo@host' is taken as given
 * but must match the name form (no dot in a short name's host, a dot in a long name's).
 */
export function parseNodeName(name: unknown, longNames: boolean): NodeName {
  if (typeof name !== 'string' || name.length === 0) throw new NodeNameError(name, 'it must be a non-empty string')
  if (name.includes('\0')) throw new NodeNameError(name, 'it contains a NUL byte')
  if (Buffer.byteLength(name) > 255) throw new NodeNameError(name, 'it is longer than 255 bytes')
  const parts = name.split('@')
  if (parts.length > 2) throw new NodeNameError(name, "it contains more than one '@'")
  const alive = parts[0] as string
  if (!ALIVE_RE.test(alive)) throw new NodeNameError(name, 'the part before @ must be letters, digits, _ - . +')
  let host: string | undefined = parts[1]
  if (host === undefined) {
    host = longNames ? longHostname() : shortHostname()
    if (host === undefined) {
      throw new NodeNameError(name, `long names need a fully qualified host; this host is '${hostname()}': give 'name@host.domain'`)
    }
  }
  if (host.length === 0 || !HOST_RE.test(host)) throw new NodeNameError(name, 'the host part is empty or has illegal characters')
  const full = `${alive}@${host}`
  if (Buffer.byteLength(full) > 255) throw new NodeNameError(full, 'it is longer than 255 bytes')
  checkNameForm(full, longNames)
  return { full, alive, host }
}

/** Throws when a name does not fit the form (short or long) this node uses. */
export function checkNameForm(full: string, longNames: boolean): void {
  const host = full.slice(full.indexOf('@') + 1)
  const dotted = host.includes('.') && !/^\d+\.\d+\.\d+\.\d+$/.test(host)
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':')
  if (longNames && !dotted && !ip) {
    throw new NodeNameError(full, 'a long-name node (longNames: true) needs a fully qualified host such as name@host.domain')
  }
  if (!longNames && (dotted || ip)) {
    throw new NodeNameError(full, 'a short-name node cannot have a dotted host; use longNames: true for name@host.domain')
  }
}

/** The host part of a full node name. */
export function hostOf(full: string): string {
  return full.slice(full.indexOf('@') + 1)
}

/** The alive part of a full node name. */
export function aliveOf(full: string): string {
  const at = full.indexOf('@')
  return at < 0 ? full : full.slice(0, at)
}
