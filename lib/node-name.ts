// Node names: 'alive@host'. Short names (erl -sname) take the short hostname; long names
// (erl -name) need a fully qualified (dotted) host. Short- and long-name nodes never connect.
import { Buffer } from 'node:buffer'
import { hostname } from 'node:os'
import { NodeNameError } from './errors.js'

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
  const r = parse(name, longNames, false)
  if ('why' in r) throw new NodeNameError(r.shown, r.why)
  return r
}

/**
 * Why a full name a peer sent (hello, status, gossip) is illegal, or undefined when it is
 * legal: parseNodeName's rules, '@host' required, in the given name form (any form when
 * longNames is undefined).
 */
export function fullNameProblem(name: unknown, longNames: boolean | undefined): string | undefined {
  const r = parse(name, longNames, true)
  return 'why' in r ? r.why : undefined
}

/** A name from a peer, fit for a message: at most 64 characters, quoted. */
export function preview(name: unknown): string {
  const s = String(name)
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s)
}

function parse(name: unknown, longNames: boolean | undefined, needHost: boolean): NodeName | { why: string; shown: unknown } {
  const bad = (why: string, shown: unknown = name): { why: string; shown: unknown } => ({ why, shown })
  if (typeof name !== 'string' || name.length === 0) return bad('it must be a non-empty string')
  if (name.includes('\0')) return bad('it contains a NUL byte')
  if (Buffer.byteLength(name) > 255) return bad('it is longer than 255 bytes')
  const parts = name.split('@')
  if (parts.length > 2) return bad("it contains more than one '@'")
  const alive = parts[0] as string
  if (!ALIVE_RE.test(alive)) return bad('the part before @ must be letters, digits, _ - . +')
  let host: string | undefined = parts[1]
  if (host === undefined) {
    if (needHost) return bad("it has no '@host' part")
    host = longNames ? longHostname() : shortHostname()
    if (host === undefined) {
      return bad(`long names need a fully qualified host; this host is '${hostname()}': give 'name@host.domain'`)
    }
  }
  if (host.length === 0 || !HOST_RE.test(host)) return bad('the host part is empty or has illegal characters')
  const full = `${alive}@${host}`
  if (Buffer.byteLength(full) > 255) return bad('it is longer than 255 bytes', full)
  const form = longNames === undefined ? undefined : formProblem(full, longNames)
  if (form !== undefined) return bad(form, full)
  return { full, alive, host }
}

/** Throws when a name does not fit the form (short or long) this node uses. */
export function checkNameForm(full: string, longNames: boolean): void {
  const why = formProblem(full, longNames)
  if (why !== undefined) throw new NodeNameError(full, why)
}

function formProblem(full: string, longNames: boolean): string | undefined {
  const host = full.slice(full.indexOf('@') + 1)
  const dotted = host.includes('.') && !/^\d+\.\d+\.\d+\.\d+$/.test(host)
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':')
  if (longNames && !dotted && !ip) return 'a long-name node (longNames: true) needs a fully qualified host such as name@host.domain'
  if (!longNames && (dotted || ip)) return 'a short-name node cannot have a dotted host; use longNames: true for name@host.domain'
  return undefined
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
