// A private OpenSSH sshd on loopback for the ssh transport's figures (bench/main.ts): its own
// config, host key and authorized key in the bench's temporary directory, started through a
// shell that stops it when its stdin closes (so it never outlives the bench).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort, has, run, startChild, waitForPort } from './util.js'

export interface BenchSshd {
  host: string
  port: number
  username: string
  /** The client's private key file. */
  privateKey: string
  /** The host key's fingerprint ('SHA256:...'). */
  hostKey: string
}

export function sshdPath(): string | undefined {
  return existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : undefined
}

/** Why the ssh figures cannot be measured here, or undefined. */
export function sshdMissing(): string | undefined {
  if (sshdPath() === undefined) return 'sshd not installed (openssh-server)'
  if (!has('ssh-keygen')) return 'ssh-keygen not installed (openssh-client)'
  return undefined
}

async function keygen(file: string): Promise<string> {
  const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nkbench', '-f', file])
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.output}`)
  const l = await run('ssh-keygen', ['-lf', `${file}.pub`])
  const fp = /(SHA256:[A-Za-z0-9+/]+)/.exec(l.output)?.[1]
  if (fp === undefined) throw new Error(`ssh-keygen -lf printed no fingerprint: ${l.output}`)
  return fp
}

export async function startSshd(dir: string): Promise<BenchSshd> {
  const sshd = sshdPath()!
  const host = '127.0.0.1'
  const port = await freePort()
  const f = (n: string): string => join(dir, n)
  const [hostKey] = await Promise.all([keygen(f('ssh_host_ed25519')), keygen(f('ssh_client_ed25519'))])
  writeFileSync(f('authorized_keys'), readFileSync(f('ssh_client_ed25519.pub'), 'utf8'))
  const config = [
    `Port ${port}`,
    `ListenAddress ${host}`,
    `HostKey ${f('ssh_host_ed25519')}`,
    `PidFile ${f('sshd.pid')}`,
    `AuthorizedKeysFile ${f('authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel ERROR',
  ]
  writeFileSync(f('sshd_config'), config.join('\n') + '\n')
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  startChild('sshd', 'sh', ['-c', `${sshd} -D -e -f ${f('sshd_config')} & p=$!; cat >/dev/null; kill $p; wait $p`], undefined, 'ignore')
  await waitForPort(port, 10_000)
  let username: string
  try {
    username = userInfo().username
  } catch {
    username = process.env.USER ?? 'root'
  }
  return { host, port, username, privateKey: f('ssh_client_ed25519'), hostKey }
}
