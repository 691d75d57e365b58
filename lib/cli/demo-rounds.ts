// The demo's TLS and SSH rounds: what each adds to the common steps of lib/cli/demo.ts
// (certificates made with netkernel/certs; a private sshd on a free loopback port).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Node } from '../node.js'
import type { StartNodeOptions } from '../node-options.js'
import { tls } from '../../transports/tls.js'
import { ssh, type SshTransport } from '../../transports/ssh.js'
import { tlsCert } from '../../auth/tls-cert.js'
import { startDemoSshd } from './demo-sshd.js'

export type Say = (line: string) => void

/** What a round adds to the common steps. */
export interface RoundSetup {
  /** Extra `netkernel node` arguments for bar and baz: [as run, as printed]. */
  childArgs(name: string): [string[], string[]]
  /** foo's transport and authenticator. */
  foo: Pick<StartNodeOptions, 'transport' | 'auth' | 'listen'>
  /** Printed before foo starts. */
  fooLine: string
  /** Runs after the port mapper is up, before the children start: a reason = skip the round. */
  check?(epmdPort: number): Promise<string | undefined>
  /** Printed after the examples. */
  after?(f: Node, seen: Map<string, string>): void
  /** What else there is to stop, for the closing line. */
  alsoStopping: string[]
  cleanup(): Promise<void>
}

export const q = (s: string): string => (/^[\w@%+=:,./$-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

export async function tlsSetup(dir: string, host: string, say: Say, dropTempDir: (d: string) => void): Promise<RoundSetup> {
  // node-forge is loaded only when certificates are made.
  const { createCa, issueNodeCert } = await import('../certs/index.js')
  const D = (p: string): string => `$D/${p}`
  say(`$ D=$(mktemp -d)        # here ${dir}`)
  say(`$ netkernel certs ca --out $D/ca        # done in this process: createCa()`)
  const ca = createCa({ commonName: 'netkernel demo CA', days: 1 })
  mkdirSync(join(dir, 'ca'))
  mkdirSync(join(dir, 'certs'))
  writeFileSync(join(dir, 'ca', 'ca.pem'), ca.cert)
  writeFileSync(join(dir, 'ca', 'ca.key'), ca.key, { mode: 0o600 })
  const files = (n: string): { cert: string; key: string } => ({
    cert: join(dir, 'certs', `${n}@${host}.pem`),
    key: join(dir, 'certs', `${n}@${host}.key`),
  })
  const pems = new Map<string, { cert: string; key: string }>()
  for (const n of ['foo', 'bar', 'baz']) {
    say(`$ netkernel certs node ${n}@${host} --ca $D/ca --out $D/certs --host 127.0.0.1 --days 1   # issueNodeCert()`)
    const c = issueNodeCert(ca, `${n}@${host}`, { hosts: ['127.0.0.1', 'localhost'], days: 1 })
    writeFileSync(files(n).cert, c.cert)
    writeFileSync(files(n).key, c.key, { mode: 0o600 })
    pems.set(n, c)
  }
  const foo = pems.get('foo')!
  return {
    childArgs: n => {
      const args = (p: (s: string) => string): string[] => [
        '--transport',
        'tls',
        '--tls-ca',
        p(join(dir, 'ca', 'ca.pem')),
        '--tls-cert',
        p(files(n).cert),
        '--tls-key',
        p(files(n).key),
        '--tls-cert-auth',
      ]
      return [args(s => s), args(s => D(s.slice(dir.length + 1)))]
    },
    foo: { transport: tls({ ca: ca.cert, cert: foo.cert, key: foo.key }), auth: tlsCert() },
    fooLine: `%% foo, in this process: startNode({ name: 'foo', transport: tls({ ca, cert, key }), auth: tlsCert() })`,
    after: (f, seen) => {
      say(
        `%% foo's connections: ${f
          .nodes()
          .map(n => `${n} over ${seen.get(n) ?? '?'}`)
          .join(', ')}; each peer's certificate, issued by the demo CA, names it`,
      )
    },
    alsoStopping: [],
    cleanup: async () => dropTempDir(dir),
  }
}

export async function sshSetup(
  dir: string,
  host: string,
  sshdPath: string | undefined,
  say: Say,
  dropTempDir: (d: string) => void,
): Promise<RoundSetup | { skipped: string }> {
  const sshd = await startDemoSshd(dir, { sshd: sshdPath })
  if ('skipped' in sshd) {
    dropTempDir(dir)
    return sshd
  }
  let cleaned = false
  const cleanup = async (): Promise<void> => {
    if (cleaned) return
    cleaned = true
    await transport.close()
    await sshd.stop()
    dropTempDir(dir)
  }
  let transport: SshTransport
  try {
    transport = ssh({
      gateways: {
        [host]: {
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          privateKey: sshd.privateKey,
          hostKey: sshd.hostKeyFingerprint,
          target: '127.0.0.1',
          readyTimeout: 5000,
        },
      },
    })
  } catch (err) {
    await sshd.stop()
    dropTempDir(dir)
    return { skipped: `cannot use the sshd: ${(err as Error).message}` }
  }
  say(`$ D=$(mktemp -d)        # here ${dir}`)
  say(`$ ssh-keygen -t ed25519 -f $D/host_ed25519; ssh-keygen -t ed25519 -f $D/client_ed25519   # host and client keys`)
  say(
    `$ ${sshd.path} -D -e -f $D/sshd_config   # AllowTcpForwarding yes, only $D/client_ed25519.pub may log in; on ${sshd.host}:${sshd.port}, user ${sshd.username}`,
  )
  const gatewayArg = `${host}=${sshd.username}@${sshd.host}:${sshd.port}`
  return {
    async check(epmdPort) {
      // Log in and reach the port mapper through the gateway once, before anything else runs.
      try {
        const s = await transport.portMapperStream({ host, port: epmdPort }, { signal: AbortSignal.timeout(8000), purpose: 'lookup' })
        s.destroy()
        return undefined
      } catch (err) {
        const e = err as Error & { code?: string }
        return `cannot log in to the private sshd or forward through it (${e.code ? `${e.code}: ` : ''}${e.message}${sshd.tail() ? `; sshd: ${sshd.tail(2)}` : ''})`
      }
    },
    childArgs: () => [
      ['--listen-host', '127.0.0.1'],
      ['--listen-host', '127.0.0.1'],
    ],
    foo: { transport, listen: { host: '127.0.0.1' } },
    fooLine:
      `%% foo, in this process, as 'netkernel shell --sname foo --transport ssh --ssh-gateway ${gatewayArg}\n` +
      `%%   --ssh-key $D/client_ed25519 --ssh-host-key ${sshd.hostKeyFingerprint} --ssh-target 127.0.0.1' would be:\n` +
      `%% startNode({ name: 'foo', transport: ssh({ gateways: { '${host}': { host, port, username, privateKey, hostKey, target: '127.0.0.1' } } }) })`,
    after: (f, seen) => {
      const logins = sshd.logins()
      say(
        `%% foo's connections: ${f
          .nodes()
          .map(n => `${n} over ${seen.get(n) ?? '?'}`)
          .join(', ')}; sshd accepted ${logins} login${logins === 1 ? '' : 's'}: ` +
          'one SSH connection carries the port-mapper lookups and both node connections',
      )
    },
    alsoStopping: ['sshd'],
    cleanup,
  }
}
