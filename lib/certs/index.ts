// `netkernel/certs`: make a cluster CA and node certificates for the tls transport and the
// tls-cert authenticator (node-forge; RSA 2048, SHA-256).
export { createCa } from './ca.js'
export { issueNodeCert } from './node-cert.js'
export { nodeUri, certificateNamesNode } from './names.js'
export type { CertAndKey, CreateCaOptions } from './ca.js'
export type { IssueNodeCertOptions } from './node-cert.js'
