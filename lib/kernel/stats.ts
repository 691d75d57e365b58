// What a running node shows about itself: node.stats() locally, and the answer to a peer's
// stats request (stats-requests.ts, used by `netkernel top`). A snapshot is a plain object
// of strings and numbers, so it crosses a connection as any term does.
import type { Clock } from '../clock.js'
import type { Connection } from './connection.js'

/** One connection of a node, as node.stats() reports it. */
export interface ConnectionStats {
  /** The peer node's name. */
  peer: string
  /** 'hidden' when either end is a hidden node (it is then not in nodes()). */
  type: 'visible' | 'hidden'
  /** The name of the transport that carries it ('tcp', 'tls', 'ssh', or a custom one). */
  transport: string
  /** The distribution protocol spoken on it: 'netkernel' (the native protocol) or 'erlang' (Erlang/OTP's, toward an OTP node). */
  protocol: 'netkernel' | 'erlang'
  /** Bytes read from the connection since it came up (ticks and fragments included). */
  bytesIn: number
  /** Bytes written to the connection since it came up. */
  bytesOut: number
  /** Frames received: messages and signals (links, monitors, spawn requests...), not ticks. */
  messagesIn: number
  /** Frames queued to send: messages and signals, not ticks or acknowledgements. */
  messagesOut: number
  /** Bytes waiting to be written: in the outbox and in the socket's own buffer. */
  queuedBytes: number
  /** True while queuedBytes is over the high-water mark (sends to the peer return false). */
  busy: boolean
  /** When the connection came up: the node clock's time in ms (Date.now() by default). */
  upSince: number
  /**
   * The version of netkernel's protocol the two nodes agreed on (docs/protocol.md,
   * "Versioning"): during a rolling upgrade, which connections still speak the older one.
   * Absent toward an Erlang/OTP node, and from nodes older than 0.2.0.
   */
  protocolVersion?: number
  /**
   * Messages the peer sent to process aliases of this node that were not active (unaliased, or
   * their process gone): dropped, as Erlang drops them. (Absent from the stats of a node
   * older than 0.2.0, asked with node.stats(peer).)
   */
  aliasSendsDropped?: number
}

/** A snapshot of one node: its connections, processes, names and refusals. */
export interface NodeStats {
  /** The node's name. */
  node: string
  /** When the snapshot was taken, on the node's clock (ms): rates are deltas over this. */
  at: number
  /** Its connections that are up (visible and hidden), in the order they came up. */
  connections: ConnectionStats[]
  /** Live local processes. */
  processes: number
  /** Registered names (registered()). */
  registered: string[]
  /**
   * Operations refused per peer since the node started: peer → operation → count. The
   * operations are the signal names policy and protocol checks use ('spawn', 'send',
   * 'link', 'exit', 'stats', ...); empty when nothing was refused.
   */
  refused: Record<string, Record<string, number>>
}

/** Where refusal counts come from (the node's per-peer refusal counters). */
export interface RefusalSource {
  /** peer → operation → number of refusals (the node's Refusals, kernel/refusals.ts). */
  counts(): ReadonlyMap<string, Readonly<Partial<Record<string, number>>>>
}

/** What a snapshot is taken from. */
export interface StatsSources {
  name(): string
  clock: Clock
  connections(): Iterable<Connection>
  processCount(): number
  registered(): string[]
  refusals: RefusalSource
}

export function connectionStats(c: Connection): ConnectionStats {
  return {
    peer: c.peer,
    type: c.type,
    transport: c.conn.transport,
    protocol: c.protocol,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    messagesIn: c.messagesIn,
    messagesOut: c.messagesOut,
    queuedBytes: c.outbox.queued,
    busy: c.outbox.busy,
    upSince: c.upSince,
    ...(c.wire === undefined ? { protocolVersion: c.version } : {}),
    aliasSendsDropped: c.aliasSendsDropped,
  }
}

export function collectStats(s: StatsSources): NodeStats {
  const refused: Record<string, Record<string, number>> = {}
  for (const [peer, ops] of s.refusals.counts()) refused[peer] = { ...ops } as Record<string, number>
  return {
    node: s.name(),
    at: s.clock.now(),
    connections: [...s.connections()].map(connectionStats),
    processes: s.processCount(),
    registered: s.registered(),
    refused,
  }
}
