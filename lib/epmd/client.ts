// Port mapper client: register a node (the registration lives as long as its connection),
// look a node up, list names, kill a daemon or drop a name. Works against Erlang's epmd and
// ours alike. Every call is bounded by `timeout` (default 5000 ms) and its `signal`.

import { Buffer } from 'node:buffer'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { EpmdError, NetkernelError, abortError } from '../errors.js'
import {
  decodeAlive2Response,
  decodeKillResponse,
  decodeNamesResponse,
  decodePort2Response,
  decodeStopResponse,
  encodeRequest,
  nodeNameProblem,
  ALIVE2_FULL,
  HIGHEST_VERSION,
  LOWEST_VERSION,
  NODE_TYPE_NORMAL,
  PROTOCOL_TCP_IPV4,
  type EpmdRequest,
  type NameEntry,
  type NodeInfo,
} from './protocol.js'
import { tcpConnect } from '../net/tcp-connect.js'

/** Opens a raw byte stream to a port mapper (default: a TCP connection). */
export type RawConnect = (addr: { host: string; port: number }, opts: { signal: AbortSignal }) => Promise<Duplex>

export interface EpmdClientOptions {
  host: string
  port: number
  signal?: AbortSignal
  /** Deadline for the whole request in ms: connect, send, reply. Default 5000. */
  timeout?: number
  connect?: RawConnect
}

export interface RegisterOptions extends EpmdClientOptions {
  /** The alive part of the node name ('foo' for foo@host). */
  name: string
  /** The node's distribution port. */
  nodePort: number
  /** Accepted for symmetry with the node; OTP registers hidden nodes as type 77 as well. */
  hidden?: boolean
  highestVersion?: number
  lowestVersion?: number
  /** Extra bytes stored with the registration (default none). */
  extra?: Buffer
}

export interface Registration {
  /** The creation the port mapper assigned (32-bit from ALIVE2_X_RESP, 1..3 from ALIVE2_RESP). */
  creation: number
  /** Drop the registration (closes its connection). */
  close(): void
  /** Resolves when the registration connection has closed, whichever side closed it. */
  closed: Promise<void>
  /**
   * Once closed: true when the path to the port mapper broke under it (a stream that exposes
   * `connectionLost`, as the SSH transport's channels do) rather than the port mapper closing it.
   */
  lost(): boolean
}

export type LookupResult = NodeInfo

type Decode<T> = (buf: Buffer, ended: boolean) => T | undefined

/**
 * Connect, send one request and read its reply with `decode` (called on every chunk, and
 * once more when the peer ends). With keep, the stream is handed back open.
 */
async function exchange<T>(
  opts: EpmdClientOptions,
  what: string,
  req: EpmdRequest,
  decode: Decode<T>,
  keep = false,
): Promise<{ value: T; stream: Duplex }> {
  const where = `${opts.host}:${opts.port}`
  if (opts.signal?.aborted) throw abortError(opts.signal, what)
  const bytes = encodeRequest(req)
  const timeout = opts.timeout ?? 5000
  const connect = opts.connect ?? tcpConnect
  let phase: 'connect' | 'reply' = 'connect'
  const ac = new AbortController()
  const timer = setTimeout(() => {
    ac.abort(
      phase === 'connect'
        ? new EpmdError('ERR_EPMD_UNREACHABLE', `no port mapper answered at ${where} within ${timeout} ms`)
        : new EpmdError('ERR_EPMD', `the port mapper at ${where} did not answer ${what} within ${timeout} ms`),
    )
  }, timeout)
  const onAbort = (): void => ac.abort(abortError(opts.signal!, what))
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const cleanup = (): void => {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  }

  let stream: Duplex
  try {
    stream = await new Promise<Duplex>((resolve, reject) => {
      const onAbortConnect = (): void => reject(ac.signal.reason)
      ac.signal.addEventListener('abort', onAbortConnect, { once: true })
      connect({ host: opts.host, port: opts.port }, { signal: ac.signal }).then(
        s => {
          ac.signal.removeEventListener('abort', onAbortConnect)
          if (ac.signal.aborted) {
            s.destroy()
            reject(ac.signal.reason)
          } else resolve(s)
        },
        err => {
          ac.signal.removeEventListener('abort', onAbortConnect)
          reject(ac.signal.aborted ? ac.signal.reason : err)
        },
      )
    })
  } catch (err) {
    cleanup()
    if (ac.signal.aborted) throw ac.signal.reason
    throw new EpmdError('ERR_EPMD_UNREACHABLE', `cannot reach the port mapper at ${where}: ${(err as Error).message}`, { cause: err })
  }
  phase = 'reply'

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let settled = false
    const finish = (err: unknown, value?: T): void => {
      if (settled) return
      settled = true
      cleanup()
      ac.signal.removeEventListener('abort', onAbortReply)
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('close', onEnd)
      stream.off('error', onError)
      if (err !== undefined) {
        stream.on('error', () => {})
        stream.destroy()
        reject(err)
        return
      }
      if (!keep) stream.destroy()
      resolve({ value: value as T, stream })
    }
    const attempt = (ended: boolean): void => {
      if (settled) return
      try {
        const value = decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), ended)
        if (value !== undefined) finish(undefined, value)
        else if (ended) {
          finish(new EpmdError('ERR_EPMD', `the port mapper at ${where} closed the connection without answering ${what}`))
        }
      } catch (err) {
        finish(err instanceof EpmdError ? new EpmdError(err.code, `${err.message} (port mapper at ${where})`) : err)
      }
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      attempt(false)
    }
    const onEnd = (): void => attempt(true)
    const onError = (err: Error): void =>
      finish(new EpmdError('ERR_EPMD', `${what} to the port mapper at ${where} failed: ${err.message}`, { cause: err }))
    const onAbortReply = (): void => finish(ac.signal.reason)
    ac.signal.addEventListener('abort', onAbortReply, { once: true })
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('close', onEnd)
    stream.on('error', onError)
    stream.write(bytes)
  })
}

function checkName(name: string, what: string): void {
  const problem = typeof name === 'string' ? nodeNameProblem(name) : 'not a string'
  if (problem) throw new NetkernelError('ERR_BAD_ARGUMENT', `${what}: bad node name ${JSON.stringify(name)}: ${problem}`)
  if (name.includes('@')) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `${what}: give the alive part of the name only, not ${JSON.stringify(name)}`)
  }
}

/**
 * Register a node (ALIVE2_REQ). Rejects with ERR_NAME_IN_USE when the port mapper refuses
 * the name, ERR_LIMIT when our daemon's table is full (result ALIVE2_FULL). The registration lasts until close() or until the connection drops.
 */
export async function registerNode(opts: RegisterOptions): Promise<Registration> {
  checkName(opts.name, 'registerNode')
  const { value: res, stream } = await exchange(
    opts,
    'ALIVE2_REQ',
    {
      type: 'alive2',
      name: opts.name,
      port: opts.nodePort,
      nodeType: NODE_TYPE_NORMAL,
      protocol: PROTOCOL_TCP_IPV4,
      highestVersion: opts.highestVersion ?? HIGHEST_VERSION,
      lowestVersion: opts.lowestVersion ?? LOWEST_VERSION,
      extra: opts.extra ?? Buffer.alloc(0),
    },
    buf => decodeAlive2Response(buf),
    true,
  )
  if (res.result === ALIVE2_FULL) {
    stream.destroy()
    throw new NetkernelError(
      'ERR_LIMIT',
      `the port mapper at ${opts.host}:${opts.port} refused to register '${opts.name}' (result ${res.result}): it has as many nodes registered as it takes`,
    )
  }
  if (res.result !== 0) {
    stream.destroy()
    throw new EpmdError(
      'ERR_NAME_IN_USE',
      `the port mapper at ${opts.host}:${opts.port} refused to register '${opts.name}' (result ${res.result}): the name is in use`,
    )
  }
  const closed = new Promise<void>(resolve => {
    if (stream.destroyed) resolve()
    stream.once('close', () => resolve())
  })
  stream.on('error', () => {}) // the registration just ends; `closed` reports it
  stream.on('data', () => {}) // keep flowing so that 'end' is seen
  stream.once('end', () => stream.destroy())
  if (stream instanceof net.Socket) stream.setKeepAlive(true)
  return {
    creation: res.creation,
    close: () => {
      stream.destroy()
    },
    closed,
    lost: () => (stream as { connectionLost?: unknown }).connectionLost === true,
  }
}

/** Look a node up (PORT_PLEASE2_REQ): undefined when the port mapper does not know it. */
export async function lookupNode(opts: EpmdClientOptions & { name: string }): Promise<LookupResult | undefined> {
  checkName(opts.name, 'lookupNode')
  const { value } = await exchange(opts, 'PORT_PLEASE2_REQ', { type: 'port-please2', name: opts.name }, buf => decodePort2Response(buf))
  return value ?? undefined
}

/** The names a port mapper knows (NAMES_REQ), and the port it says it listens on. */
export async function listNames(opts: EpmdClientOptions): Promise<{ epmdPort: number; names: NameEntry[] }> {
  const { value } = await exchange(opts, 'NAMES_REQ', { type: 'names' }, (buf, ended) => (ended ? decodeNamesResponse(buf) : undefined))
  return value
}

/**
 * Ask the port mapper to exit (KILL_REQ). true = it answered OK; false = it refused because
 * nodes are still registered (Erlang's epmd without -relaxed_command_check).
 */
export async function killEpmd(opts: EpmdClientOptions): Promise<boolean> {
  const { value } = await exchange(opts, 'KILL_REQ', { type: 'kill' }, buf => decodeKillResponse(buf))
  return value === 'OK'
}

/**
 * Drop a registration (STOP_REQ). true = it was registered and is now gone; false = no such
 * name. Erlang's epmd only serves this with -relaxed_command_check (else: ERR_EPMD).
 */
export async function stopName(opts: EpmdClientOptions & { name: string }): Promise<boolean> {
  checkName(opts.name, 'stopName')
  const { value } = await exchange(opts, 'STOP_REQ', { type: 'stop', name: opts.name }, buf => decodeStopResponse(buf))
  return value === 'STOPPED'
}
