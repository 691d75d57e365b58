// One SSH connection to one gateway, shared by every node behind it: opened lazily, verified
// against a pinned host key or known_hosts, multiplexed (a direct-tcpip channel per dial, a
// tcpip-forward per reverse listener), kept alive, and ended after it has been idle a while.
import { readFile } from 'node:fs/promises'
import { Socket } from 'node:net'
import type { Client, ClientChannel, ConnectConfig, TcpConnectionDetails } from 'ssh2'
import { abortError, TransportError } from '../lib/errors.js'
import { SshGatewayError, SshHostKeyError } from './ssh-errors.js'
import { checkKnownHosts, checkPinned, expandHome, fingerprintOf, knownHostKeyAlgorithms, type HostKeyVerdict } from './ssh-host-key.js'
import { formatAddress } from './tcp.js'

/** A gateway entry with its defaults filled in (see SshGateway in ssh.ts). */
export interface GatewayConfig {
  key: string
  host: string
  port: number
  username: string
  privateKey?: string | Buffer
  passphrase?: string | Buffer
  agent?: string
  hostKey?: readonly string[]
  knownHosts?: string
  target?: string
  readyTimeout: number
  keepaliveInterval: number
  keepaliveCountMax: number
}

type ClientCtor = new () => Client
export type TcpConnectionHandler = (details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void) => void

const ignore = (): void => {}

/** `'key' (user@host:port)`, for messages. */
export function describeGateway(g: GatewayConfig): string {
  return `ssh gateway '${g.key}' (${g.username}@${formatAddress(g.host, g.port)})`
}

export class SshSession {
  /** Resolves once logged in; rejects with an SshGatewayError. */
  readonly ready: Promise<void>
  closed = false
  /** end() was called: no new users (the next dial opens a new connection). */
  ending = false
  private users = 0
  private idleTimer: NodeJS.Timeout | undefined
  private readonly client: Client
  /**
   * The SSH connection's socket, ours rather than one ssh2 makes, so that a channel can cork
   * it while one write's packets are queued (ChannelStream); set once connecting starts.
   */
  socket: Socket | undefined
  private readonly forwards = new Map<string, TcpConnectionHandler>()
  private readonly goneHandlers = new Set<(err?: Error) => void>()
  private lastError: Error | undefined

  constructor(
    private readonly g: GatewayConfig,
    ClientClass: ClientCtor,
    /** How long the connection may sit with no user before it is ended (read each time it goes idle). */
    private readonly idleTimeout: () => number,
    onGone: (s: SshSession) => void,
  ) {
    this.client = new ClientClass()
    const client = this.client
    let settle: ((err?: Error) => void) | undefined
    this.ready = new Promise<void>((resolve, reject) => {
      settle = err => {
        settle = undefined
        if (err) reject(err)
        else resolve()
      }
    })
    this.ready.catch(ignore) // a waiter always attaches its own handler; never unhandled
    let hostKeyProblem: SshHostKeyError | undefined
    const what = describeGateway(g)

    client.on('ready', () => {
      client.setNoDelay(true)
      settle?.()
      this.idleCheck()
    })
    client.on('error', (err: Error & { level?: string }) => {
      this.lastError = err
      if (!settle) return // after login, 'close' follows and is what counts
      if (hostKeyProblem) settle(hostKeyProblem)
      else settle(loginError(g, what, err))
    })
    client.on('tcp connection', (details, accept, reject) => {
      const h = this.forwards.get(`${details.destIP}:${details.destPort}`) ?? this.forwardByPort(details.destPort)
      if (h && !this.closed) h(details, accept, reject)
      else reject()
    })
    client.on('close', () => {
      this.closed = true
      clearTimeout(this.idleTimer)
      settle?.(
        hostKeyProblem ??
          new SshGatewayError(
            'ERR_CONNECT',
            g.key,
            'closed',
            `${what} closed the connection during login${this.lastError ? `: ${this.lastError.message}` : ''}`,
            { cause: this.lastError },
          ),
      )
      onGone(this)
      for (const h of [...this.goneHandlers]) h(this.lastError)
      this.goneHandlers.clear()
    })

    void this.connect(verdict => {
      hostKeyProblem = verdict
    }).catch((err: Error) => {
      settle?.(
        err instanceof TransportError
          ? err
          : new SshGatewayError('ERR_CONNECT', g.key, 'ssh', `cannot use ${what}: ${err.message}`, { cause: err }),
      )
      this.closed = true
      onGone(this)
    })
  }

  private async connect(onHostKeyProblem: (e: SshHostKeyError) => void): Promise<void> {
    const g = this.g
    const what = describeGateway(g)
    let check: (blob: Buffer) => HostKeyVerdict
    let algorithms: ConnectConfig['algorithms']
    if (g.knownHosts !== undefined) {
      const file = expandHome(g.knownHosts)
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (err) {
        throw new SshGatewayError(
          'ERR_CONNECT',
          g.key,
          'host-key-unknown',
          `cannot verify ${what}: cannot read known_hosts file ${file}: ${(err as Error).message}`,
          { cause: err },
        )
      }
      check = blob => checkKnownHosts(blob, text, g.host, g.port)
      const algos = knownHostKeyAlgorithms(text, g.host, g.port)
      if (algos.length > 0) algorithms = { serverHostKey: algos as never }
    } else {
      const pins = g.hostKey ?? []
      check = blob => checkPinned(blob, pins)
    }
    if (this.closed) return
    const sock = new Socket()
    this.socket = sock
    sock.connect({ host: g.host, port: g.port })
    this.client.connect({
      sock,
      host: g.host,
      port: g.port,
      username: g.username,
      privateKey: g.privateKey,
      passphrase: g.passphrase,
      agent: g.agent,
      readyTimeout: g.readyTimeout,
      keepaliveInterval: g.keepaliveInterval,
      keepaliveCountMax: g.keepaliveCountMax,
      algorithms,
      // ssh2 accepts any host key unless told otherwise: refuse what we cannot verify.
      hostVerifier: (blob: Buffer): boolean => {
        const v = check(blob)
        if (v.ok) return true
        const fp = fingerprintOf(blob)
        onHostKeyProblem(new SshHostKeyError(g.key, v.reason, fp, `refusing ${what}: its host key ${fp} is not trusted: ${v.detail}`))
        return false
      },
    })
  }

  private forwardByPort(port: number): TcpConnectionHandler | undefined {
    for (const [k, h] of this.forwards) if (k.endsWith(`:${port}`)) return h
    return undefined
  }

  /** Count a user (open channel, forward, operation in flight): no idle close meanwhile. */
  acquire(): void {
    this.users++
    clearTimeout(this.idleTimer)
    this.idleTimer = undefined
  }

  release(): void {
    this.users--
    this.idleCheck()
  }

  /** Start the idle countdown if nothing uses the connection (again, with a shorter timeout). */
  idleCheck(): void {
    if (this.users > 0 || this.closed) return
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined
      if (this.users === 0) this.end()
    }, this.idleTimeout())
    this.idleTimer.unref()
  }

  /** Run `fn` when the SSH connection is gone (with the last error, if any). */
  onGone(fn: (err?: Error) => void): () => void {
    if (this.closed) {
      fn(this.lastError)
      return ignore
    }
    this.goneHandlers.add(fn)
    return () => this.goneHandlers.delete(fn)
  }

  /** Open a direct-tcpip channel: the sshd connects to host:port for us. */
  forwardOut(host: string, port: number, signal: AbortSignal): Promise<ClientChannel> {
    if (signal.aborted) return Promise.reject(abortError(signal, `dial ${formatAddress(host, port)} through ${describeGateway(this.g)}`))
    this.acquire()
    return new Promise<ClientChannel>((resolve, reject) => {
      let settled = false
      const onAbort = (): void => {
        settled = true
        this.release()
        reject(abortError(signal, `dial ${formatAddress(host, port)} through ${describeGateway(this.g)}`))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      const done = (err: Error | undefined, ch?: ClientChannel): void => {
        signal.removeEventListener('abort', onAbort)
        if (settled) {
          // Aborted meanwhile: drop the channel that opened too late.
          if (ch) {
            ch.on('error', ignore)
            ch.close()
            ch.resume()
          }
          return
        }
        settled = true
        if (err || !ch) {
          this.release()
          reject(err ?? new Error('no channel'))
        } else {
          resolve(ch) // the caller releases when the channel's stream is done
        }
      }
      try {
        this.client.forwardOut('127.0.0.1', 0, host, port, done)
      } catch (err) {
        done(err as Error)
      }
    })
  }

  /** Ask the sshd to listen on bindHost:port (tcpip-forward); resolves with the bound port. */
  forwardIn(bindHost: string, port: number, handler: TcpConnectionHandler): Promise<number> {
    this.acquire()
    return new Promise<number>((resolve, reject) => {
      const fail = (err: Error): void => {
        this.release()
        reject(err)
      }
      try {
        this.client.forwardIn(bindHost, port, (err, bound) => {
          if (err) return fail(err)
          this.forwards.set(`${bindHost}:${bound}`, handler)
          resolve(bound)
        })
      } catch (err) {
        fail(err as Error)
      }
    })
  }

  /** Stop a forwardIn (cancel-tcpip-forward). Connections already accepted are left alone. */
  unforwardIn(bindHost: string, port: number): Promise<void> {
    if (!this.forwards.delete(`${bindHost}:${port}`)) return Promise.resolve()
    return new Promise<void>(resolve => {
      const done = (): void => {
        this.release()
        resolve()
      }
      if (this.closed) return done()
      try {
        this.client.unforwardIn(bindHost, port, () => done())
      } catch {
        done()
      }
    })
  }

  /** Graceful: SSH disconnect; every channel closes. */
  end(): void {
    this.ending = true
    clearTimeout(this.idleTimer)
    this.client.end()
    // A connection still logging in has nothing to say goodbye to.
    if (!this.closed) setTimeout(() => this.client.destroy(), 2000).unref()
  }
}

function loginError(g: GatewayConfig, what: string, err: Error & { level?: string }): SshGatewayError {
  switch (err.level) {
    case 'client-socket':
    case 'client-dns':
      return new SshGatewayError('ERR_CONNECT', g.key, 'unreachable', `cannot connect to ${what}: ${err.message}`, { cause: err })
    case 'client-timeout':
      return new SshGatewayError(
        'ERR_CONNECT_TIMEOUT',
        g.key,
        'timeout',
        `${what} did not complete the SSH login within ${g.readyTimeout} ms`,
        { cause: err },
      )
    case 'client-authentication':
      return new SshGatewayError('ERR_CONNECT', g.key, 'auth', `${what} refused our SSH key (${err.message})`, { cause: err })
    default:
      return new SshGatewayError('ERR_CONNECT', g.key, 'ssh', `${what} failed: ${err.message}`, { cause: err })
  }
}
