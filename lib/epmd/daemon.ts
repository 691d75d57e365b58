// The port mapper daemon: speaks the EPMD protocol so Erlang's own nodes and tools can use it.
// A registration lives as long as the TCP connection that made it; every other connection
// carries one request, gets its reply and is closed. Bad input closes the offending
// connection only; the daemon keeps serving the others. This file owns the listeners and
// the connections; how each request is answered is in daemon-requests.ts.

import process from 'node:process'
import net from 'node:net'
import { NetkernelError, TransportError, abortError } from '../errors.js'
import { childLogger, silentLogger, type Logger } from '../logger.js'
import { createRequestParser, type NameEntry } from './protocol.js'
import { createPortMapperTable, type Registration } from './port-mapper-table.js'
import { handleRequest, type RequestContext } from './daemon-requests.js'

export interface EpmdDaemonOptions {
  /**
   * Address(es) to listen on; default '0.0.0.0' (plus '::' when the system has IPv6, as
   * epmd listens on both). A specific non-loopback address also gets the loopback listener,
   * as `epmd -address` does, so that local nodes can register.
   */
  host?: string | readonly string[]
  /** 0 = any free port (read daemon.port). */
  port: number
  logger?: Logger
  /** A connection must deliver its whole request within this many ms (default 5000). */
  requestTimeout?: number
  /** Aborts starting; once running, aborting closes the daemon gracefully. */
  signal?: AbortSignal
  /**
   * epmd -relaxed_command_check: serve KILL_REQ while nodes are registered and STOP_REQ (from
   * loopback peers). Default false, as epmd: KILL_REQ answers "NO" while nodes are
   * registered, and STOP_REQ is closed without an answer. (`netkernel epmd --relaxed`, or the
   * environment variable ERL_EPMD_RELAXED_COMMAND_CHECK, set to anything.)
   */
  relaxed?: boolean
  /** @deprecated strict is the default; `strict: false` is read as `relaxed: true`. */
  strict?: boolean
  /**
   * The most nodes registered at once (default DEFAULT_MAX_NAMES, 1024). One more ALIVE2_REQ
   * is answered with result 2 (any non-zero result is a refusal to an Erlang node; our client
   * reports this one as EpmdError ERR_LIMIT) and its connection closed.
   */
  maxNames?: number
}

/** How many nodes a daemon registers at once unless told otherwise. */
export const DEFAULT_MAX_NAMES = 1024

/** epmd's rule: the variable set (to anything, even empty) means -relaxed_command_check. */
export function relaxedFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ERL_EPMD_RELAXED_COMMAND_CHECK !== undefined
}

export interface EpmdDaemon {
  /** The port the daemon listens on. */
  readonly port: number
  /** Every address actually listened on. */
  readonly addresses: readonly { host: string; port: number }[]
  /** Registered nodes (alive part of the name and distribution port). */
  names(): NameEntry[]
  /** Stop listening, close every connection (registrations end), wait for them to close. */
  close(): Promise<void>
  /** Stop at once: every socket destroyed. */
  destroy(): void
  /** Resolves when the daemon has stopped, whatever stopped it (close, destroy, KILL_REQ). */
  readonly closed: Promise<void>
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x: the only peers allowed to register, kill or stop. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false
  if (address === '::1') return true
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address
  return net.isIPv4(v4) && v4.startsWith('127.')
}

interface ListenSpec {
  host: string
  ipv6Only: boolean
  required: boolean
}

/** Which sockets to open for the requested hosts (see EpmdDaemonOptions.host). */
export function listenPlan(hosts: readonly string[]): ListenSpec[] {
  const plan: ListenSpec[] = hosts.map(host => ({ host, ipv6Only: false, required: true }))
  const has = (pred: (h: string) => boolean): boolean => hosts.some(pred)
  if (has(h => h === '0.0.0.0') && !has(h => h === '::')) {
    plan.push({ host: '::', ipv6Only: true, required: false })
  }
  if (!has(h => h === '0.0.0.0' || h === '::' || isLoopbackAddress(h))) {
    plan.unshift({ host: '127.0.0.1', ipv6Only: false, required: true })
    if (!has(h => h === '::1')) plan.push({ host: '::1', ipv6Only: false, required: false })
  }
  return plan
}

function listenOne(server: net.Server, spec: ListenSpec, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening)
      reject(err)
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host: spec.host, port, ipv6Only: spec.ipv6Only, exclusive: true })
  })
}

export async function startEpmd(opts: EpmdDaemonOptions): Promise<EpmdDaemon> {
  const signal = opts.signal
  signal?.throwIfAborted()
  const hosts = typeof opts.host === 'string' ? [opts.host] : [...(opts.host ?? ['0.0.0.0'])]
  if (hosts.length === 0) throw new NetkernelError('ERR_BAD_ARGUMENT', 'startEpmd: no host to listen on')
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 0xffff) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `startEpmd: bad port ${opts.port}`)
  }
  const requestTimeout = opts.requestTimeout ?? 5000
  const relaxed = opts.relaxed ?? opts.strict === false
  const maxNames = opts.maxNames ?? DEFAULT_MAX_NAMES
  if (!Number.isInteger(maxNames) || maxNames < 0) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `startEpmd: maxNames must be a non-negative integer, got ${String(opts.maxNames)}`)
  }
  const log = childLogger(opts.logger ?? silentLogger, { component: 'epmd' })
  const table = createPortMapperTable<net.Socket>()
  const sockets = new Set<net.Socket>()
  const servers: net.Server[] = []
  const addresses: { host: string; port: number }[] = []
  let port = opts.port
  let state: 'starting' | 'running' | 'closing' | 'closed' = 'starting'
  let connectionSeq = 0
  let resolveClosed!: () => void
  const closed = new Promise<void>(resolve => (resolveClosed = resolve))

  const onConnection = (socket: net.Socket): void => {
    if (state !== 'running') {
      socket.destroy()
      return
    }
    const id = ++connectionSeq
    const local = isLoopbackAddress(socket.remoteAddress)
    const parser = createRequestParser()
    let reg: Registration<net.Socket> | undefined
    sockets.add(socket)
    socket.setNoDelay(true)
    const timer = setTimeout(() => {
      log.debug({ conn: id, buffered: parser.buffered }, 'connection closed: request timed out')
      socket.destroy()
    }, requestTimeout)

    const dropRegistration = (why: string): void => {
      if (reg && table.get(reg.name) === reg) {
        table.unregister(reg.name)
        log.info({ name: reg.name, conn: id, why }, 'node unregistered')
      }
      reg = undefined
    }

    socket.on('data', chunk => {
      if (reg) {
        dropRegistration('unexpected data on the registration connection')
        socket.destroy()
        return
      }
      const r = parser.push(chunk)
      if (r.status === 'incomplete') return
      if (r.status === 'error') {
        log.warn({ conn: id, peer: socket.remoteAddress, err: r.error.message }, 'bad request: connection closed')
        socket.destroy()
        return
      }
      handleRequest(ctx, socket, r.request, local, id, registration => {
        reg = registration
        clearTimeout(timer)
      })
    })
    socket.on('end', () => {
      const r = parser.end()
      if (r.status === 'error') log.debug({ conn: id, err: r.error.message }, 'partial request')
      if (reg) {
        dropRegistration('connection closed')
        socket.destroy()
      }
    })
    socket.on('error', err => log.debug({ conn: id, err: err.message }, 'socket error'))
    socket.on('close', () => {
      clearTimeout(timer)
      sockets.delete(socket)
      dropRegistration('connection closed')
      maybeFinished()
    })
  }

  let serversOpen = 0
  const maybeFinished = (): void => {
    if (state === 'closing' && sockets.size === 0 && serversOpen === 0) {
      state = 'closed'
      signal?.removeEventListener('abort', onAbort)
      log.info({ port }, 'port mapper stopped')
      resolveClosed()
    }
  }

  let closing: Promise<void> | undefined
  let stopping = false
  const beginClose = (): void => {
    if (stopping) return
    stopping = true
    state = 'closing'
    for (const server of servers) {
      server.close(() => {
        serversOpen--
        maybeFinished()
      })
    }
  }

  const daemon: EpmdDaemon = {
    get port() {
      return port
    },
    addresses,
    closed,
    names() {
      return table.list().map(r => ({ name: r.name, port: r.port }))
    },
    close() {
      if (closing) return closing
      if (state === 'closed') return closed
      beginClose()
      for (const socket of sockets) socket.end()
      const force = setTimeout(() => {
        for (const socket of sockets) socket.destroy()
      }, requestTimeout)
      closing = closed.then(() => clearTimeout(force))
      maybeFinished()
      return closing
    },
    destroy() {
      if (state === 'closed') return
      beginClose()
      for (const socket of sockets) socket.destroy()
      maybeFinished()
    },
  }

  const ctx: RequestContext = { log, table, relaxed, maxNames, daemon }

  const onAbort = (): void => {
    void daemon.close()
  }

  try {
    let first = true
    for (const spec of listenPlan(hosts)) {
      if (signal?.aborted) throw abortError(signal, 'starting the port mapper')
      const server = net.createServer({ noDelay: true }, onConnection)
      try {
        await listenOne(server, spec, port)
      } catch (err) {
        if (!spec.required) {
          log.debug({ host: spec.host, port, err: (err as Error).message }, 'optional listener skipped')
          continue
        }
        throw new TransportError('ERR_LISTEN', `port mapper cannot listen on ${spec.host}:${port}: ${(err as Error).message}`, {
          cause: err,
        })
      }
      servers.push(server)
      serversOpen++
      server.on('error', err => log.error({ err: err.message }, 'listener error'))
      const addr = server.address() as net.AddressInfo
      if (first) port = addr.port
      first = false
      addresses.push({ host: addr.address, port: addr.port })
    }
    if (signal?.aborted) throw abortError(signal, 'starting the port mapper')
  } catch (err) {
    for (const server of servers) server.close()
    throw err
  }
  state = 'running'
  signal?.addEventListener('abort', onAbort, { once: true })
  log.info({ port, addresses }, 'port mapper listening')
  return daemon
}
