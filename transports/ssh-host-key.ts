// Host key verification for the SSH transport: a pinned fingerprint (as `ssh-keygen -lf`
// prints it) or an OpenSSH known_hosts file. Pure functions over the key blob the sshd
// presents; an unknown or changed key is refused, never added.
import { Buffer } from 'node:buffer'
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { homedir } from 'node:os'

/** 'SHA256:' + unpadded base64 of the SHA-256 of the key blob (as `ssh-keygen -lf`). */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')
}

/** The key type named at the start of a key blob ('ssh-ed25519', 'ssh-rsa', ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return ''
  const n = blob.readUInt32BE(0)
  return n > 0 && 4 + n <= blob.length ? blob.subarray(4, 4 + n).toString('latin1') : ''
}

const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}=?$/

/** true when `s` looks like a SHA256 fingerprint as `ssh-keygen -lf` prints it. */
export function isFingerprint(s: unknown): s is string {
  return typeof s === 'string' && FINGERPRINT_RE.test(s)
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'host-key-unknown' | 'host-key-changed'; detail: string }

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Accept exactly the pinned fingerprint(s). */
export function checkPinned(blob: Buffer, pins: readonly string[]): HostKeyVerdict {
  const presented = fingerprintOf(blob)
  if (pins.some(p => sameText(p.replace(/=+$/, ''), presented))) return { ok: true }
  return { ok: false, reason: 'host-key-changed', detail: `it is not the pinned key (${pins.join(', ')})` }
}

/** '~/x' → '<home>/x'. */
export function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? homedir() + file.slice(1) : file
}

interface KnownHostsEntry {
  marker: '' | '@revoked' | '@cert-authority'
  patterns: string
  keyType: string
  key: Buffer
}

/** The entries of a known_hosts file (comments, blank and malformed lines skipped). */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const out: KnownHostsEntry[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    let marker: KnownHostsEntry['marker'] = ''
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostsEntry['marker']
    const [patterns, keyType, b64] = fields
    if (patterns === undefined || keyType === undefined || b64 === undefined || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue
    out.push({ marker, patterns, keyType, key: Buffer.from(b64, 'base64') })
  }
  return out
}

/** OpenSSH's wildcard match: `*` any run, `?` one character (case-insensitive). */
function wildcard(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${re}$`, 'i').test(name)
}

/** Does a host-pattern field (comma-separated, `!negated`, or one `|1|salt|hash`) name `name`? */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|')
    if (salt === undefined || hash === undefined) return false
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest()
    const want = Buffer.from(hash, 'base64')
    return want.length === mac.length && timingSafeEqual(want, mac)
  }
  let matched = false
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false
    } else if (wildcard(p, name)) {
      matched = true
    }
  }
  return matched
}

/** The name a host is listed under: 'host', or '[host]:port' when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** Check a presented key against a known_hosts file's text for `host`:`port`. */
export function checkKnownHosts(blob: Buffer, text: string, host: string, port: number): HostKeyVerdict {
  const name = knownHostsName(host, port)
  const entries = parseKnownHosts(text)
  if (entries.some(e => e.marker === '@revoked' && e.key.equals(blob))) {
    return { ok: false, reason: 'host-key-changed', detail: 'the key is marked @revoked in known_hosts' }
  }
  const forHost = entries.filter(e => e.marker === '' && hostMatches(e.patterns, name))
  if (forHost.some(e => e.key.equals(blob))) return { ok: true }
  const type = keyTypeOf(blob)
  if (forHost.some(e => e.keyType === type)) {
    return {
      ok: false,
      reason: 'host-key-changed',
      detail: `known_hosts lists a different ${type} key for ${name} (REMOTE HOST IDENTIFICATION HAS CHANGED?)`,
    }
  }
  return { ok: false, reason: 'host-key-unknown', detail: `known_hosts has no ${type} key for ${name}` }
}

/** Host key algorithms for the key types known_hosts lists for `host`:`port` (preferring them). */
export function knownHostKeyAlgorithms(text: string, host: string, port: number): string[] {
  const name = knownHostsName(host, port)
  const out: string[] = []
  for (const e of parseKnownHosts(text)) {
    if (e.marker !== '' || !hostMatches(e.patterns, name)) continue
    const algos = e.keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [e.keyType]
    for (const a of algos) if (SUPPORTED_HOST_KEY_ALGORITHMS.has(a) && !out.includes(a)) out.push(a)
  }
  return out
}

const SUPPORTED_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
])
