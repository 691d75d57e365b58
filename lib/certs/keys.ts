// RSA key pairs for certificates. node:crypto makes the key (OpenSSL: milliseconds, where
// node-forge's pure-JS keygen takes seconds); node-forge takes it over to build and sign the
// certificate.
import { generateKeyPairSync } from 'node:crypto'
import forge from 'node-forge'

export interface KeyPair {
  /** The private key as PKCS#8 PEM ('-----BEGIN PRIVATE KEY-----'), what node:tls reads. */
  pem: string
  privateKey: forge.pki.rsa.PrivateKey
  publicKey: forge.pki.rsa.PublicKey
}

/** A fresh RSA key pair (2048 bits by default). */
export function rsaKeyPair(bits = 2048): KeyPair {
  const { privateKey: pem } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  })
  const privateKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e)
  return { pem, privateKey, publicKey }
}
