// `netkernel certs`: make a cluster CA and node certificates (PEM files) for the tls
// transport and the tls-cert authenticator. Private keys are written with mode 0600, and an
// existing file is never overwritten unless --force is given.
import process from 'node:process'
import { parseArgs } from 'node:util'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { join, resolve } from 'node:path'
import type { Writable } from 'node:stream'
import { createCa, type CertAndKey } from '../certs/ca.js'
import { fullNodeName, issueNodeCert } from '../certs/node-cert.js'
import { UsageError, parseArgsMessage, usageError } from './usage.js'

export const CERTS_HELP = `Usage: netkernel certs <ca|node> [options]

Make certificates for the tls transport and the tls-cert authenticator (RSA 2048, SHA-256).

  netkernel certs ca --out DIR [--cn NAME] [--days N]
      a new cluster CA: DIR/ca.pem (give it to every node as \`ca\`) and DIR/ca.key (keep
      it secret: whoever holds it can add nodes to the cluster)

  netkernel certs node NAME --ca DIR --out DIR [--host H ...] [--days N]
      a certificate for node NAME ('foo@host'; 'foo' = foo@<short hostname>), signed by the
      CA in DIR/ca.pem + DIR/ca.key: OUT/NAME.pem and OUT/NAME.key. It names the node
      (CN and URI SAN netkernel:NAME) and its host; --host adds a host name or IP address
      it is dialled at (repeatable, e.g. --host 127.0.0.1 --host node1.example.com)

Options:
  --out DIR     where to write (created if missing)
  --days N      lifetime in days (default: 3650 for a CA, 365 for a node)
  --force       overwrite existing files
  --help, -h    this text

Private keys are written with mode 0600.

Example:
  netkernel certs ca --out ca && netkernel certs node foo@host --ca ca --out certs
`

export interface CertsMainIo {
  stdout?: Writable
  stderr?: Writable
}

class CliError extends Error {}

/** Write `files` (path → [data, mode]); unless forced, none may exist yet. */
function writeAll(files: Array<[string, string, number]>, force: boolean): void {
  if (!force) {
    const there = files.filter(([p]) => existsSync(p)).map(([p]) => p)
    if (there.length > 0)
      throw new CliError(`${there.join(' and ')} already exist${there.length === 1 ? 's' : ''} (use --force to overwrite)`)
  }
  for (const [path, data, mode] of files) {
    writeFileSync(path, data, { mode, flag: force ? 'w' : 'wx' })
    chmodSync(path, mode) // also when an existing file was overwritten, and whatever the umask
  }
}

function days(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!/^\d+$/.test(text) || n <= 0) throw new UsageError(`bad --days ${JSON.stringify(text)}: a positive whole number of days`)
  return n
}

/** NAME in full ('foo' → foo@<short hostname>); an illegal one is a usage error. */
function nodeName(text: string): string {
  try {
    return fullNodeName(text)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/**
 * The CA in `dir` (--ca DIR): ca.pem and ca.key, as `netkernel certs ca --out DIR` writes
 * them. A file that is missing, unreadable, not PEM, not a CA or not its key is a usage
 * error naming the file.
 */
function readCa(dir: string): CertAndKey {
  if (statSync(dir, { throwIfNoEntry: false })?.isFile())
    throw new UsageError(`--ca ${dir} is a file: give the directory that holds ca.pem and ca.key`)
  const made = `as 'netkernel certs ca --out ${dir}' writes it`
  const certPath = join(resolve(dir), 'ca.pem')
  const keyPath = join(resolve(dir), 'ca.key')
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8')
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? e.message)
      throw new UsageError(`--ca ${dir}: cannot read ${path} (${why}); expected ${what} there, ${made}`)
    }
  }
  const parse = <T>(path: string, what: string, make: () => T): T => {
    try {
      return make()
    } catch {
      throw new UsageError(`--ca ${dir}: ${path} is not ${what} in PEM; expected it ${made}`)
    }
  }
  const cert = read(certPath, "the CA's certificate")
  const key = read(keyPath, "the CA's private key")
  const x509 = parse(certPath, "the CA's certificate", () => new X509Certificate(cert))
  const privateKey = parse(keyPath, "the CA's private key", () => createPrivateKey(key))
  if (!x509.ca) throw new UsageError(`--ca ${dir}: ${certPath} is not a CA certificate (${x509.subject.replace(/\n/g, ', ')})`)
  if (!x509.checkPrivateKey(privateKey)) throw new UsageError(`--ca ${dir}: ${keyPath} is not the private key of ${certPath}`)
  return { cert, key }
}

/** `netkernel certs ...`; resolves with the exit code. */
export async function certsMain(argv: string[], io: CertsMainIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout
  const stderr = io.stderr ?? process.stderr
  let values
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        ca: { type: 'string' },
        host: { type: 'string', multiple: true },
        cn: { type: 'string' },
        days: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }))
  } catch (err) {
    return usageError('certs', parseArgsMessage(err), stderr)
  }
  if (values.help) {
    stdout.write(CERTS_HELP)
    return 0
  }
  const [what, ...rest] = positionals
  try {
    if (values.out === undefined) throw new UsageError('--out DIR is required')
    const out = resolve(values.out)
    const force = values.force === true
    const lifetime = days(values.days)
    if (what === 'ca') {
      if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`)
      const stray = (['ca', 'host'] as const).filter(k => values[k] !== undefined)
      if (stray.length > 0) throw new UsageError(`--${stray[0]} is an option of 'netkernel certs node', not of 'certs ca'`)
      const ca = createCa({ commonName: values.cn, days: lifetime })
      mkdirSync(out, { recursive: true })
      writeAll(
        [
          [join(out, 'ca.key'), ca.key, 0o600],
          [join(out, 'ca.pem'), ca.cert, 0o644],
        ],
        force,
      )
      stdout.write(`wrote ${join(out, 'ca.pem')} and ${join(out, 'ca.key')} (mode 0600)\n`)
      return 0
    }
    if (what === 'node') {
      if (rest.length !== 1) throw new UsageError('give exactly one node name: netkernel certs node NAME --ca DIR --out DIR')
      if (values.ca === undefined) throw new UsageError('--ca DIR is required (the directory with ca.pem and ca.key)')
      if (values.cn !== undefined)
        throw new UsageError("--cn is an option of 'netkernel certs ca' (a node certificate's CN is its node name)")
      const name = nodeName(rest[0] as string)
      if (values.host?.includes('')) throw new UsageError('--host: give a host name or IP address')
      const ca = readCa(values.ca)
      const issued = issueNodeCert(ca, name, { hosts: values.host ?? [], days: lifetime })
      mkdirSync(out, { recursive: true })
      writeAll(
        [
          [join(out, `${name}.key`), issued.key, 0o600],
          [join(out, `${name}.pem`), issued.cert, 0o644],
        ],
        force,
      )
      stdout.write(`wrote ${join(out, `${name}.pem`)} and ${join(out, `${name}.key`)} (mode 0600) for node ${name}\n`)
      return 0
    }
    throw new UsageError(what === undefined ? 'say what to make: ca or node' : `unknown subcommand ${JSON.stringify(what)}: ca or node`)
  } catch (err) {
    if (err instanceof UsageError) return usageError('certs', err.message, stderr)
    const e = err as Error & { code?: string }
    stderr.write(`netkernel certs: ${e.code?.startsWith('ERR_') ? `${e.code}: ` : ''}${e.message}\n`)
    return 1
  }
}
