// How the port mapper daemon (daemon.ts) answers one decoded request on a connection: ALIVE2
// registers the node (the connection then holds the registration), PORT_PLEASE2, NAMES and
// DUMP are answered and the connection closed, KILL stops the daemon, STOP drops a name.
// Registering, DUMP, KILL and STOP are refused unless the peer is on a loopback address; as
// epmd without -relaxed_command_check, KILL answers "NO" while names are registered and STOP
// is closed unanswered unless the daemon is relaxed.

import type net from 'node:net'
import type { Logger } from '../logger.js'
import {
  encodeAlive2Response,
  encodeDumpResponse,
  encodeNamesResponse,
  encodePort2Response,
  nodeNameProblem,
  MAX_EXTRA_BYTES,
  ALIVE2_FULL,
  type EpmdRequest,
  type NameEntry,
} from './protocol.js'
import { oldCreation, type Registration, type PortMapperTable } from './port-mapper-table.js'

/** What a request may see of its daemon. */
export interface RequestContext {
  log: Logger
  table: PortMapperTable<net.Socket>
  /** epmd -relaxed_command_check (see EpmdDaemonOptions.relaxed). */
  relaxed: boolean
  /** The most nodes registered at once (EpmdDaemonOptions.maxNames). */
  maxNames: number
  daemon: { readonly port: number; names(): NameEntry[]; close(): Promise<void> }
}

/**
 * Answer `req`, which arrived on `socket` (connection number `id`; `local`: from a loopback
 * address). A successful ALIVE2 hands its registration to `keep`.
 */
export function handleRequest(
  ctx: RequestContext,
  socket: net.Socket,
  req: EpmdRequest,
  local: boolean,
  id: number,
  keep: (reg: Registration<net.Socket>) => void,
): void {
  const { log, table, relaxed } = ctx
  const peer = `${socket.remoteAddress}:${socket.remotePort}`
  if ((req.type === 'alive2' || req.type === 'kill' || req.type === 'stop' || req.type === 'dump') && !local) {
    log.warn({ peer, request: req.type }, 'request refused: not from a loopback address')
    socket.destroy()
    return
  }
  switch (req.type) {
    case 'alive2': {
      const extended = req.highestVersion >= 6
      if (table.size >= ctx.maxNames && table.get(req.name) === undefined) {
        log.warn({ peer, name: req.name, registered: table.size }, 'registration refused: the table is full')
        socket.end(encodeAlive2Response({ result: ALIVE2_FULL, creation: 99, extended }))
        return
      }
      const problem =
        nodeNameProblem(req.name) ?? (req.extra.length > MAX_EXTRA_BYTES ? `extra longer than ${MAX_EXTRA_BYTES} bytes` : undefined)
      const reg = problem
        ? undefined
        : table.register(
            {
              name: req.name,
              port: req.port,
              nodeType: req.nodeType,
              protocol: req.protocol,
              highestVersion: req.highestVersion,
              lowestVersion: req.lowestVersion,
              extra: req.extra,
            },
            socket,
          )
      if (!reg) {
        log.info({ peer, name: req.name, reason: problem ?? 'name in use' }, 'registration refused')
        socket.end(encodeAlive2Response({ result: 1, creation: 99, extended }))
        return
      }
      log.info({ name: reg.name, port: reg.port, creation: reg.creation, conn: id }, 'node registered')
      keep(reg)
      socket.write(
        encodeAlive2Response({
          result: 0,
          creation: extended ? reg.creation : oldCreation(reg.creation),
          extended,
        }),
      )
      return
    }
    case 'port-please2':
      log.debug({ peer, name: req.name }, 'PORT_PLEASE2_REQ')
      socket.end(encodePort2Response(table.get(req.name)))
      return
    case 'names':
      log.debug({ peer }, 'NAMES_REQ')
      socket.end(encodeNamesResponse(ctx.daemon.port, ctx.daemon.names()))
      return
    case 'dump':
      socket.end(
        encodeDumpResponse(
          ctx.daemon.port,
          table.list().map((r, i) => ({ name: r.name, port: r.port, fd: i })),
        ),
      )
      return
    case 'kill':
      if (!relaxed && table.size > 0) {
        log.warn({ peer }, 'KILL_REQ refused: nodes are registered')
        socket.end('NO')
        return
      }
      log.info({ peer }, 'KILL_REQ: stopping')
      socket.end('OK')
      void ctx.daemon.close()
      return
    case 'stop': {
      if (!relaxed) {
        // As epmd: no answer, the connection is closed.
        log.warn({ peer, name: req.name }, 'STOP_REQ refused: not relaxed')
        socket.destroy()
        return
      }
      const reg = table.unregister(req.name)
      if (!reg) {
        socket.end('NOEXIST')
        return
      }
      log.info({ peer, name: req.name }, 'STOP_REQ: registration dropped')
      reg.owner.destroy()
      socket.end('STOPPED')
      return
    }
  }
}
