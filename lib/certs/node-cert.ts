// issueNodeCert(): a certificate for one node, signed by the cluster CA with node-forge.
// It names the node (CN and URI SAN, see names.ts) and its host (DNS or IP SAN), and serves
// both ends of mutual TLS (extended key usage serverAuth and clientAuth).
import forge from 'node-forge'
import { isIP } from 'node:net'
import { rsaKeyPair } from './keys.js'
import { serialNumber, validity } from './validity.js'
import { nodeAltNames } from './names.js'
import type { CertAndKey } from './ca.js'
import { parseNodeName } from '../node-name.js'
import { NetkernelError } from '../errors.js'

export interface IssueNodeCertOptions {
  /** Lifetime in days. Default 365. */
  days?: number
  /**
   * Extra host names and IP addresses the node is dialled at (the dialler checks the server
   * certificate against the host it dials). The host part of the node name is always included.
   */
  hosts?: string[]
  /** Start of validity. Default: a minute ago. */
  notBefore?: Date
  /** End of validity. Default: notBefore + days. A date in the past makes an expired certificate. */
  notAfter?: Date
}

function loadCa(ca: CertAndKey): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  if (ca === null || typeof ca !== 'object' || typeof ca.cert !== 'string' || typeof ca.key !== 'string') {
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'ca must be { cert, key } PEM strings, as createCa() returns')
  }
  try {
    const cert = forge.pki.certificateFromPem(ca.cert)
    const key = forge.pki.privateKeyFromPem(ca.key) as forge.pki.rsa.PrivateKey
    return { cert, key }
  } catch (err) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `cannot read the CA certificate and key: ${(err as Error).message}`, { cause: err })
  }
}

/** The full node name: 'foo' gets the local short host name, as startNode does. */
export function fullNodeName(nodeName: string): string {
  const host = nodeName.includes('@') ? nodeName.slice(nodeName.indexOf('@') + 1) : ''
  const long = host.includes('.') || host.includes(':') || isIP(host) !== 0
  return parseNodeName(nodeName, long).full
}

/**
 * A certificate and key for node `nodeName` ('foo@host'; 'foo' means foo@<short hostname>),
 * signed by `ca`. Subject CN = the node name; SANs = URI 'netkernel:foo@host', the host part
 * (DNS name or IP address) and `hosts`.
 */
export function issueNodeCert(ca: CertAndKey, nodeName: string, opts: IssueNodeCertOptions = {}): CertAndKey {
  const name = fullNodeName(nodeName)
  const hosts = opts.hosts ?? []
  if (!Array.isArray(hosts) || hosts.some(h => typeof h !== 'string' || h.length === 0)) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'hosts must be an array of non-empty host names or IP addresses')
  }
  const issuer = loadCa(ca)
  const keys = rsaKeyPair()
  const { notBefore, notAfter } = validity(opts, 365)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serialNumber()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
  cert.setSubject([{ name: 'commonName', value: name }])
  cert.setIssuer(issuer.cert.subject.attributes)
  const caKeyId = issuer.cert.generateSubjectKeyIdentifier().getBytes()
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: nodeAltNames(name, hosts) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caKeyId },
  ])
  cert.sign(issuer.key, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem }
}
