// The transport options shared by `netkernel shell` and `netkernel node`:
//
//   --transport tcp|tls|ssh
//   tls: --tls-ca FILE --tls-cert FILE --tls-key FILE [--tls-cert-auth] [--tls-cert-auth-cookie]
//   ssh: --ssh-gateway HOSTKEY=[user@]host[:port] ... --ssh-key FILE
//        (--ssh-host-key SHA256:... ... | --ssh-known-hosts FILE) [--ssh-target ADDR]
//
// parseTransportOptions() checks the combination (pure: no file is read) and returns a
// TransportSpec; buildTransport() reads the files and makes the Transport (and Authenticator).
// Both throw UsageError, which the commands report with exit code 2.
import { accessSync, constants, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Transport } from '../transport.js'
import type { Authenticator } from '../authenticator.js'
import { tcp } from '../../transports/tcp.js'
import { tls } from '../../transports/tls.js'
import { ssh, type SshGateway } from '../../transports/ssh.js'
import { expandHome, isFingerprint } from '../../transports/ssh-host-key.js'
import { tlsCert } from '../../auth/tls-cert.js'
import { UsageError } from './usage.js'

/** parseArgs option definitions; spread them into a command's own. */
export const transportArgs = {
  transport: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-cert-auth': { type: 'boolean' },
  'tls-cert-auth-cookie': { type: 'boolean' },
  'ssh-gateway': { type: 'string', multiple: true },
  'ssh-key': { type: 'string' },
  'ssh-host-key': { type: 'string', multiple: true },
  'ssh-known-hosts': { type: 'string' },
  'ssh-target': { type: 'string' },
} as const

export const TRANSPORT_HELP = `transport (default tcp):
  --transport tcp|tls|ssh
  tls: TLS 1.3 with certificates verified both ways (files as 'netkernel certs' writes them)
  --tls-ca FILE        the cluster CA certificate (ca/ca.pem); the only CA trusted
  --tls-cert FILE      this node's certificate (certs/NAME@HOST.pem)
  --tls-key FILE       its private key (certs/NAME@HOST.key)
  --tls-cert-auth      authenticate with the certificates instead of the cookie: a peer's
                       certificate must name the node it claims to be (tlsCert())
  --tls-cert-auth-cookie  the certificates and the cookie, both (tlsCert({ cookie: true }))
  ssh: reach the nodes on some hosts through those hosts' sshd
  --ssh-gateway HOSTKEY=[USER@]HOST[:PORT]
                       nodes whose host part is HOSTKEY are reached through the sshd at
                       HOST:PORT (default port 22, user: the local user); repeatable. Other
                       hosts are dialled directly (tcp)
  --ssh-key FILE       the private key to log in with (OpenSSH or PEM, unencrypted)
  --ssh-host-key SHA256:...  the sshd's host key fingerprint, as 'ssh-keygen -lf' prints it
                       (repeatable: any one may match, for every gateway) ...
  --ssh-known-hosts FILE  ... or an OpenSSH known_hosts file listing the gateways' keys
  --ssh-target ADDR    where the gateways forward to, e.g. 127.0.0.1 when the nodes listen
                       on their host's loopback (default: the node's host as the gateway
                       resolves it)`

/** The commands' usage error (usage.ts), for the callers of these functions. */
export { UsageError }

/** The values parseArgs returns for transportArgs. */
export interface TransportValues {
  transport?: string
  'tls-ca'?: string
  'tls-cert'?: string
  'tls-key'?: string
  'tls-cert-auth'?: boolean
  'tls-cert-auth-cookie'?: boolean
  'ssh-gateway'?: string[]
  'ssh-key'?: string
  'ssh-host-key'?: string[]
  'ssh-known-hosts'?: string
  'ssh-target'?: string
}

export interface GatewaySpec {
  /** The host part of the node names behind it. */
  key: string
  host: string
  port: number
  username?: string
}

export type TransportSpec =
  | { kind: 'tcp' }
  | { kind: 'tls'; ca: string; cert: string; key: string; auth: 'cookie' | 'tls-cert' | 'tls-cert+cookie' }
  | { kind: 'ssh'; gateways: GatewaySpec[]; keyFile: string; hostKeys?: string[]; knownHosts?: string; target?: string }

export const TRANSPORTS = ['tcp', 'tls', 'ssh'] as const

const TLS_OPTIONS = ['tls-ca', 'tls-cert', 'tls-key', 'tls-cert-auth', 'tls-cert-auth-cookie'] as const
const SSH_OPTIONS = ['ssh-gateway', 'ssh-key', 'ssh-host-key', 'ssh-known-hosts', 'ssh-target'] as const

const given = (v: TransportValues, k: keyof TransportValues): boolean => {
  const x = v[k]
  return x !== undefined && x !== false && !(Array.isArray(x) && x.length === 0)
}

const list = (names: readonly string[]): string => {
  const flags = names.map(n => `--${n}`)
  return flags.length <= 1 ? flags.join('') : `${flags.slice(0, -1).join(', ')} and ${flags[flags.length - 1]}`
}

function port(text: string, what: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`${what}: bad port '${text}'`)
  return n
}

/** 'work=nk@10.0.8.2:22', 'gw=127.0.0.1', 'h=[::1]:2222' → a GatewaySpec. */
export function parseGateway(text: string): GatewaySpec {
  const what = `--ssh-gateway '${text}'`
  const shape = `${what}: expected HOSTKEY=[USER@]HOST[:PORT], e.g. --ssh-gateway work=nk@10.0.8.2:22`
  const eq = text.indexOf('=')
  if (eq <= 0) throw new UsageError(shape)
  const key = text.slice(0, eq)
  let rest = text.slice(eq + 1)
  if (/[@\s]/.test(key)) throw new UsageError(`${what}: HOSTKEY '${key}' is the host part of node names (no '@')`)
  let username: string | undefined
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    username = rest.slice(0, at)
    rest = rest.slice(at + 1)
    if (username === '') throw new UsageError(`${shape} (empty user name)`)
  }
  let host: string
  let p = 22
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close < 0) throw new UsageError(shape)
    host = rest.slice(1, close)
    const after = rest.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) throw new UsageError(shape)
      p = port(after.slice(1), what)
    }
  } else if (rest.split(':').length > 2) {
    host = rest // a bare IPv6 address: port 22
  } else {
    const colon = rest.indexOf(':')
    host = colon < 0 ? rest : rest.slice(0, colon)
    if (colon >= 0) p = port(rest.slice(colon + 1), what)
  }
  if (host === '') throw new UsageError(`${shape} (no HOST)`)
  return { key, host, port: p, ...(username === undefined ? {} : { username }) }
}

/** Check the transport options (no file is read). Throws UsageError. */
export function parseTransportOptions(v: TransportValues): TransportSpec {
  const kind = v.transport ?? 'tcp'
  if (!(TRANSPORTS as readonly string[]).includes(kind)) {
    throw new UsageError(`unknown transport '${kind}' (--transport ${TRANSPORTS.join('|')})`)
  }
  const stray = [
    ...(kind === 'tls' ? [] : TLS_OPTIONS.filter(k => given(v, k)).map(k => [k, 'tls'] as const)),
    ...(kind === 'ssh' ? [] : SSH_OPTIONS.filter(k => given(v, k)).map(k => [k, 'ssh'] as const)),
  ]
  if (stray.length > 0) {
    const wants = [...new Set(stray.map(([, t]) => t))]
    const now = v.transport === undefined ? 'no --transport was given: tcp' : `the transport is ${kind}`
    throw new UsageError(
      `${list(stray.map(([k]) => k))} ${stray.length === 1 ? 'is an option' : 'are options'} of --transport ${wants.join(' / ')} (${now})`,
    )
  }
  if (kind === 'tcp') return { kind }

  if (kind === 'tls') {
    const missing = (['tls-ca', 'tls-cert', 'tls-key'] as const).filter(k => !given(v, k) || v[k] === '')
    if (missing.length > 0) {
      throw new UsageError(
        `--transport tls needs --tls-ca FILE, --tls-cert FILE and --tls-key FILE (as 'netkernel certs' writes them): ${list(missing)} missing`,
      )
    }
    const auth = v['tls-cert-auth-cookie'] ? 'tls-cert+cookie' : v['tls-cert-auth'] ? 'tls-cert' : 'cookie'
    return { kind, ca: v['tls-ca'] as string, cert: v['tls-cert'] as string, key: v['tls-key'] as string, auth }
  }

  // ssh
  const texts = v['ssh-gateway'] ?? []
  if (texts.length === 0) throw new UsageError('--transport ssh needs at least one --ssh-gateway HOSTKEY=[USER@]HOST[:PORT]')
  const gateways = texts.map(parseGateway)
  const seen = new Set<string>()
  for (const g of gateways) {
    const k = g.key.toLowerCase()
    if (seen.has(k)) throw new UsageError(`--ssh-gateway: two gateways for host '${g.key}'`)
    seen.add(k)
  }
  if (!given(v, 'ssh-key') || v['ssh-key'] === '')
    throw new UsageError('--transport ssh needs --ssh-key FILE (the private key to log in to the gateways with)')
  const hostKeys = v['ssh-host-key'] ?? []
  const knownHosts = v['ssh-known-hosts']
  if (hostKeys.length > 0 && knownHosts !== undefined) {
    throw new UsageError('give either --ssh-host-key or --ssh-known-hosts, not both')
  }
  if (hostKeys.length === 0 && (knownHosts === undefined || knownHosts === '')) {
    throw new UsageError(
      "--transport ssh needs --ssh-host-key SHA256:... (as 'ssh-keygen -lf' prints it) or --ssh-known-hosts FILE: host keys are never accepted unverified",
    )
  }
  for (const h of hostKeys) {
    if (!isFingerprint(h))
      throw new UsageError(
        `--ssh-host-key '${h}' is not a SHA256 fingerprint as 'ssh-keygen -lf' prints it (SHA256: and 43 base64 characters)`,
      )
  }
  const target = v['ssh-target']
  if (target !== undefined && target.trim() === '') throw new UsageError('--ssh-target: give an address (e.g. 127.0.0.1)')
  return {
    kind: 'ssh' as const,
    gateways,
    keyFile: v['ssh-key'] as string,
    ...(hostKeys.length > 0 ? { hostKeys } : { knownHosts: knownHosts as string }),
    ...(target === undefined ? {} : { target }),
  }
}

export interface BuiltTransport {
  spec: TransportSpec
  transport: Transport
  /** undefined = the default (cookie). */
  auth?: Authenticator
  /** tls: this node's own certificate (PEM), as read from --tls-cert. */
  ownCert?: Buffer
  /** For banners: 'tcp', 'tls, tls-cert auth', 'ssh via gateways work (nk@10.0.8.2:22)'. */
  summary: string
  /** Ends what the transport keeps open (SSH connections); call after the node stopped. */
  close(): Promise<void>
}

function readOption(file: string, flag: string, read: (path: string) => Buffer): Buffer {
  try {
    return read(resolve(expandHome(file)))
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new UsageError(`cannot read ${flag} ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)
  }
}

/** Read the files the spec names and make the transport. Throws UsageError. */
export function buildTransport(spec: TransportSpec, io: { readFile?: (path: string) => Buffer } = {}): BuiltTransport {
  const read = io.readFile ?? ((p: string) => readFileSync(p))
  const wrap = <T>(what: string, make: () => T): T => {
    try {
      return make()
    } catch (err) {
      throw new UsageError(`${what}: ${(err as Error).message}`)
    }
  }
  if (spec.kind === 'tcp') return { spec, transport: tcp(), summary: 'tcp', close: async () => {} }

  if (spec.kind === 'tls') {
    const ca = readOption(spec.ca, '--tls-ca', read)
    const cert = readOption(spec.cert, '--tls-cert', read)
    const key = readOption(spec.key, '--tls-key', read)
    const transport = wrap('--transport tls', () => tls({ ca, cert, key }))
    const auth = spec.auth === 'cookie' ? undefined : tlsCert({ cookie: spec.auth === 'tls-cert+cookie' })
    const summary =
      spec.auth === 'cookie' ? 'tls, cookie auth' : spec.auth === 'tls-cert' ? 'tls, tls-cert auth' : 'tls, tls-cert + cookie auth'
    return { spec, transport, ...(auth ? { auth } : {}), ownCert: cert, summary, close: async () => {} }
  }

  const privateKey = readOption(spec.keyFile, '--ssh-key', read)
  let knownHosts: string | undefined
  if (spec.knownHosts !== undefined) {
    knownHosts = resolve(expandHome(spec.knownHosts))
    try {
      accessSync(knownHosts, constants.R_OK)
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      throw new UsageError(`cannot read --ssh-known-hosts ${spec.knownHosts}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)
    }
  }
  const gateways: Record<string, SshGateway> = {}
  for (const g of spec.gateways) {
    gateways[g.key] = {
      host: g.host,
      port: g.port,
      ...(g.username === undefined ? {} : { username: g.username }),
      privateKey,
      ...(spec.hostKeys ? { hostKey: spec.hostKeys } : { knownHosts }),
      ...(spec.target === undefined ? {} : { target: spec.target }),
    }
  }
  const transport = wrap('--transport ssh', () => ssh({ gateways }))
  const names = spec.gateways.map(
    g => `${g.key} (${g.username === undefined ? '' : `${g.username}@`}${g.host.includes(':') ? `[${g.host}]` : g.host}:${g.port})`,
  )
  return { spec, transport, summary: `ssh via gateway${names.length > 1 ? 's' : ''} ${names.join(', ')}`, close: () => transport.close() }
}

/** parseTransportOptions + buildTransport. Throws UsageError. */
export function transportFromOptions(v: TransportValues, io: { readFile?: (path: string) => Buffer } = {}): BuiltTransport {
  return buildTransport(parseTransportOptions(v), io)
}
