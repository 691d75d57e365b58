// Before a command-line node starts with tls-cert authentication: does its own certificate
// name it? A certificate made for another node would be refused by every peer, so the
// command refuses to start instead, saying which names the certificate carries.
import { X509Certificate } from 'node:crypto'
import { certificateNamesNode, describeNames } from '../certs/names.js'
import { parseNodeName } from '../node-name.js'
import type { NodeCliValues } from './node-options-from-cli.js'
import { UsageError, type BuiltTransport } from './transport-options.js'

/** The subject as node:tls presents it ({ CN: 'foo@vm' }, arrays for repeated fields). */
function subjectOf(x509: X509Certificate): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const line of x509.subject.split('\n')) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const [k, v] = [line.slice(0, eq), line.slice(eq + 1)]
    const had = out[k]
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]
  }
  return out
}

/**
 * Throws UsageError when the transport authenticates with certificates (tls-cert) and its
 * own certificate does not name the node these values start. Other transports: no check.
 */
export function checkOwnCertificate(v: NodeCliValues, built: BuiltTransport): void {
  const { spec, ownCert: pem } = built
  if (spec.kind !== 'tls' || spec.auth === 'cookie' || pem === undefined) return
  const name = parseNodeName(v.name ?? v.sname, v.name !== undefined).full
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(pem)
  } catch (err) {
    throw new UsageError(`--tls-cert ${spec.cert} is not a PEM certificate: ${(err as Error).message}`)
  }
  const cert = { subject: subjectOf(x509), subjectaltname: x509.subjectAltName }
  if (certificateNamesNode(cert, name)) return
  throw new UsageError(
    `--tls-cert ${spec.cert} does not name this node ${name} (${describeNames(cert)}): ` +
      `with --tls-cert-auth every peer would refuse it. Make one for ${name}, e.g. netkernel certs node ${name} --ca ca --out certs`,
  )
}
