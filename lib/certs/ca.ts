// createCa(): a certificate authority for a cluster — a self-signed RSA 2048 / SHA-256
// certificate that may sign node certificates, made with node-forge.
import forge from 'node-forge'
import { rsaKeyPair } from './keys.js'
import { serialNumber, validity } from './validity.js'
import { NetkernelError } from '../errors.js'

/** PEM certificate and private key (PKCS#8). Keep `key` secret: mode 0600 on disk. */
export interface CertAndKey {
  cert: string
  key: string
}

export interface CreateCaOptions {
  /** Subject CN. Default 'netkernel CA'. */
  commonName?: string
  /** Lifetime in days. Default 3650. */
  days?: number
}

/**
 * A new CA for a cluster. Give its `cert` to every node as the `ca` of the tls transport
 * (it is the only certificate those nodes trust) and keep its `key` to issue node
 * certificates with issueNodeCert(). Use a CA of its own for netkernel: any certificate it
 * signs can join the cluster.
 */
export function createCa(opts: CreateCaOptions = {}): CertAndKey {
  const commonName = opts.commonName ?? 'netkernel CA'
  if (typeof commonName !== 'string' || commonName.length === 0)
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'commonName must be a non-empty string')
  const keys = rsaKeyPair()
  const { notBefore, notAfter } = validity({ days: opts.days }, 3650)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serialNumber()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
  const subject = [{ name: 'commonName', value: commonName }]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem }
}
