// How a certificate names a netkernel node (shared by issueNodeCert and the tls-cert
// authenticator; no node-forge here, so the authenticator does not load it).
//
// A node certificate for 'foo@host' has subject CN 'foo@host' and the subject alternative
// names URI 'netkernel:foo@host' (the node) and DNS 'host' or IP Address (the host part, so the
// dialler's servername check passes), plus any extra hosts.
import { isIP } from 'node:net'

/** The URI SAN that names node `name`: 'netkernel:' + name. */
export function nodeUri(name: string): string {
  return `netkernel:${name}`
}

/** A subject alternative name as node-forge takes it: 2 = DNS, 6 = URI, 7 = IP Address. */
export type AltName = { type: 2; value: string } | { type: 6; value: string } | { type: 7; ip: string }

/** The SAN for a host: an IP Address entry for an IPv4/IPv6 literal, else a DNS name. */
export function hostAltName(host: string): AltName {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return isIP(bare) !== 0 ? { type: 7, ip: bare } : { type: 2, value: bare }
}

/** The SANs of a node certificate: the node URI, its host part, then `hosts`, without repeats. */
export function nodeAltNames(name: string, hosts: readonly string[] = []): AltName[] {
  const host = name.slice(name.indexOf('@') + 1)
  const out: AltName[] = [{ type: 6, value: nodeUri(name) }]
  const seen = new Set<string>()
  for (const h of [host, ...hosts]) {
    const alt = hostAltName(h)
    const key = alt.type === 7 ? `ip:${alt.ip}` : `dns:${alt.value.toLowerCase()}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(alt)
  }
  return out
}

/**
 * Split node:tls's `subjectaltname` string ('DNS:a, URI:netkernel:x@h, IP Address:127.0.0.1')
 * into [type, value] pairs. Values with a comma or quote come JSON-quoted in newer Node versions.
 */
export function parseSubjectAltName(san: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = []
  if (!san) return out
  let i = 0
  while (i < san.length) {
    const colon = san.indexOf(':', i)
    if (colon < 0) break
    const type = san.slice(i, colon).trim()
    let j = colon + 1
    let value: string
    if (san[j] === '"') {
      // A JSON string: find its closing quote, skipping escapes.
      let k = j + 1
      while (k < san.length && san[k] !== '"') k += san[k] === '\\' ? 2 : 1
      try {
        value = JSON.parse(san.slice(j, k + 1)) as string
      } catch {
        value = san.slice(j + 1, k)
      }
      j = k + 1
    } else {
      const comma = san.indexOf(', ', j)
      const end = comma < 0 ? san.length : comma
      value = san.slice(j, end)
      j = end
    }
    out.push([type, value])
    const next = san.indexOf(', ', j)
    if (next < 0) break
    i = next + 2
  }
  return out
}

/** Where a certificate names a node: its subject CN and SAN entries, as readable strings. */
export interface CertificateNames {
  cn: string | undefined
  /** 'URI:netkernel:foo@host', 'DNS:host', ... */
  san: string[]
}

/**
 * Does the certificate name node `name`? Yes when its subject CN equals the name, or a SAN
 * does: URI 'netkernel:<name>', or a URI or DNS entry equal to the name itself. Exact,
 * case-sensitive comparison (node names are case-sensitive).
 */
export function certificateNamesNode(cert: { subject?: Record<string, unknown>; subjectaltname?: string }, name: string): boolean {
  const cn = commonNames(cert.subject)
  if (cn.includes(name)) return true
  for (const [type, value] of parseSubjectAltName(cert.subjectaltname)) {
    if (type === 'URI' && (value === nodeUri(name) || value === name)) return true
    if (type === 'DNS' && value === name) return true
  }
  return false
}

/** Subject CNs (node:tls gives a string, or an array when there are several). */
export function commonNames(subject: Record<string, unknown> | undefined): string[] {
  const cn = subject?.CN
  if (typeof cn === 'string') return [cn]
  if (Array.isArray(cn)) return cn.filter((c): c is string => typeof c === 'string')
  return []
}

/** For messages: what the certificate names. */
export function describeNames(cert: { subject?: Record<string, unknown>; subjectaltname?: string }): string {
  const cn = commonNames(cert.subject)
  const parts = [cn.length > 0 ? `CN ${cn.join(', ')}` : 'no CN']
  if (cert.subjectaltname) parts.push(`SAN ${cert.subjectaltname}`)
  return parts.join('; ')
}
