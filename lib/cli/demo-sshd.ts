// A private OpenSSH sshd for `netkernel demo`'s SSH round: its own config, host key and
// authorized (client) key in a directory the caller owns, on a free loopback port, in the
// foreground (-D -e), allowing only public-key logins and TCP forwarding. Nothing
// system-wide is touched except creating /run/sshd (sshd's privilege-separation directory)
// when running as root and it is missing. When this process dies, sshd gets SIGTERM
// (setpriv --pdeathsig, where available).
//
// startDemoSshd() resolves with the running sshd, or with { skipped: reason } when it cannot
// run here (not installed, no ssh-keygen, no user account, sshd refused to start).
import process from 'node:process'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { userInfo } from 'node:os'
import { delimiter, join } from 'node:path'

export interface DemoSshd {
  /** The sshd binary. */
  path: string
  host: string
  port: number
  username: string
  /** The client key (OpenSSH format) authorized to log in. */
  privateKey: string
  privateKeyFile: string
  /** The host key's fingerprint, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string
  /** How many logins sshd accepted so far. */
  logins(): number
  /** The last lines sshd wrote (for error messages). */
  tail(n?: number): string
  stop(): Promise<void>
}

function which(cmd: string, fallback: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const p = join(dir, cmd)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return existsSync(fallback) ? fallback : undefined
}

/** sshd's absolute path (it must be started by one), or undefined. */
export function findSshd(): string | undefined {
  return which('sshd', '/usr/sbin/sshd')
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

function keyPair(keygen: string, dir: string, name: string): { file: string; privateKey: string; publicKey: string; fingerprint: string } {
  const file = join(dir, name)
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', `netkernel-demo-${name}`, '-f', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const listed = execFileSync(keygen, ['-lf', `${file}.pub`], { encoding: 'utf8' })
  const fingerprint = /(SHA256:[A-Za-z0-9+/]+)/.exec(listed)?.[1]
  if (fingerprint === undefined) throw new Error(`ssh-keygen -lf printed no fingerprint: ${listed.trim()}`)
  return { file, privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint }
}

/** Every descendant of `pid` (sshd's per-connection processes), deepest first (Linux /proc). */
function descendantsOf(pid: number): number[] {
  const out: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return out
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(...descendantsOf(Number(entry)), Number(entry))
    } catch {}
  }
  return out
}

const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null

/** Start sshd with its files in `dir` (which the caller removes). */
export async function startDemoSshd(
  dir: string,
  opts: { sshd?: string; host?: string; startTimeout?: number } = {},
): Promise<DemoSshd | { skipped: string }> {
  const sshd = opts.sshd ?? findSshd()
  if (sshd === undefined) return { skipped: 'sshd is not installed (Debian package openssh-server)' }
  if (!existsSync(sshd)) return { skipped: `${sshd} does not exist` }
  const keygen = which('ssh-keygen', '/usr/bin/ssh-keygen')
  if (keygen === undefined) return { skipped: 'ssh-keygen is not installed (Debian package openssh-client)' }
  let username: string
  try {
    username = userInfo().username
  } catch {
    return { skipped: `this process's user (uid ${process.getuid?.()}) has no account for sshd to log in to` }
  }
  const host = opts.host ?? '127.0.0.1'
  const port = await freePort(host)
  let hostKey
  let clientKey
  try {
    hostKey = keyPair(keygen, dir, 'host_ed25519')
    clientKey = keyPair(keygen, dir, 'client_ed25519')
  } catch (err) {
    return { skipped: `ssh-keygen failed: ${(err as Error).message.split('\n')[0]}` }
  }
  writeFileSync(join(dir, 'authorized_keys'), clientKey.publicKey + '\n', { mode: 0o600 })
  const config = [
    `Port ${port}`,
    `ListenAddress ${host}`,
    `HostKey ${hostKey.file}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `AllowUsers ${username}`,
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    'PrintMotd no',
    'LogLevel VERBOSE',
  ]
  const configFile = join(dir, 'sshd_config')
  writeFileSync(configFile, config.join('\n') + '\n')
  if (process.getuid?.() === 0) {
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
    } catch {}
  }

  const setpriv = which('setpriv', '/usr/bin/setpriv')
  const argv: string[] = [...(setpriv ? [setpriv, '--pdeathsig', 'SIGTERM'] : []), sshd, '-D', '-e', '-f', configFile]
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
  const lines: string[] = []
  let buf = ''
  let onLine = (): void => {}
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i))
      buf = buf.slice(i + 1)
      onLine()
    }
  })
  const tail = (n = 3): string =>
    lines
      .filter(l => l.trim() !== '')
      .slice(-n)
      .join(' / ')

  const stop = async (): Promise<void> => {
    process.off('exit', onExit)
    if (!running(child)) return
    for (const pid of descendantsOf(child.pid!))
      try {
        process.kill(pid, 'SIGTERM')
      } catch {}
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await new Promise(r => child.once('exit', r))
    clearTimeout(timer)
  }
  const onExit = (): void => {
    if (running(child)) child.kill('SIGKILL')
  }
  process.once('exit', onExit)

  const started = await new Promise<true | string>(resolve => {
    const timer = setTimeout(
      () => done(`it did not start within ${(opts.startTimeout ?? 10_000) / 1000} s${lines.length ? `: ${tail()}` : ''}`),
      opts.startTimeout ?? 10_000,
    )
    const check = (): void => {
      if (lines.some(l => /Server listening on/.test(l))) done(true)
    }
    const exited = (code: number | null): void => done(`it exited with status ${code}${lines.length ? `: ${tail()}` : ''}`)
    const spawnFailed = (err: Error): void => done(`cannot run ${sshd}: ${err.message}`)
    const done = (r: true | string): void => {
      clearTimeout(timer)
      onLine = () => {}
      child.off('exit', exited)
      child.off('error', spawnFailed)
      resolve(r)
    }
    onLine = check
    child.once('exit', exited)
    child.once('error', spawnFailed)
    check()
  })
  if (started !== true) {
    await stop()
    return { skipped: `sshd could not start (${started})` }
  }
  return {
    path: sshd,
    host,
    port,
    username,
    privateKey: clientKey.privateKey,
    privateKeyFile: clientKey.file,
    hostKeyFingerprint: hostKey.fingerprint,
    logins: () => lines.filter(l => /Accepted publickey/.test(l)).length,
    tail,
    stop,
  }
}
