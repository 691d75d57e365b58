// The port mapper as a Discovery: resolve asks the port mapper on the node's host
// (PORT_PLEASE2) where the node listens and, from the entry's Extra, whether it is a
// netkernel node or an Erlang/OTP one; announce registers with this node's own (ALIVE2, kept while the node runs:
// KeptRegistration), starting one first when asked to. The streams to the port mappers come
// from the transport's portMapperStream when it has one (SSH reaches them through its
// tunnels), else plain TCP.
import { Buffer } from 'node:buffer'
import type { Discovery, NodeAddress, Announcement, AnnounceOptions } from '../discovery.js'
import type { Transport } from '../transport.js'
import type { Logger } from '../logger.js'
import type { Clock } from '../clock.js'
import { EpmdError } from '../errors.js'
import { aliveOf, hostOf } from '../node-name.js'
import { registerNode, lookupNode, listNames, type RawConnect, type Registration } from './client.js'
import { KeptRegistration } from './kept-registration.js'
import { ensureEpmd } from './ensure.js'

export interface EpmdDiscoveryOptions {
  /** This node's own port mapper (where it registers). */
  host: string
  /** The port mapper port, here and on every other host. */
  port: number
  /** Start a port mapper on `host` when none answers before registering. */
  autoStart: boolean
  /** The address a started port mapper listens on. */
  listenHost: string
  onSpawn?: (pid: number) => void
  /** Supplies the streams to the port mappers (its portMapperStream); default plain TCP. */
  transport: Pick<Transport, 'portMapperStream'>
  logger: Logger
  clock: Clock
}

/**
 * The Extra a netkernel node registers with (ALIVE2_REQ), returned by the port mapper in
 * PORT2_RESP: Erlang/OTP nodes register none (and ignore ours), so a lookup tells which
 * protocol a node speaks. The version after the slash is the marker's, not the wire's.
 */
export const NETKERNEL_EXTRA = Buffer.from('netkernel/1', 'latin1')

/** The protocol a port mapper entry's Extra says its node speaks: 'netkernel' when it carries our marker, else 'erlang'. */
export function protocolOfExtra(extra: Buffer): 'netkernel' | 'erlang' {
  return extra.subarray(0, 9).equals(NETKERNEL_EXTRA.subarray(0, 9)) ? 'netkernel' : 'erlang'
}

export function epmdDiscovery(o: EpmdDiscoveryOptions): Discovery {
  const { transport, port } = o
  const streams = (purpose: 'lookup' | 'announce'): RawConnect | undefined =>
    transport.portMapperStream === undefined ? undefined : (addr, { signal }) => transport.portMapperStream!(addr, { signal, purpose })
  const lookup = streams('lookup')
  const announcing = streams('announce')

  async function resolve(node: string, signal: AbortSignal): Promise<NodeAddress> {
    const host = hostOf(node)
    const found = await lookupNode({ host, port, name: aliveOf(node), signal, connect: lookup })
    if (found === undefined)
      throw new EpmdError('ERR_NODE_NOT_FOUND', `no node ${node}: the port mapper on ${host}:${port} does not know '${aliveOf(node)}'`)
    return { host, port: found.port, protocol: protocolOfExtra(found.extra) }
  }

  async function announce(a: AnnounceOptions): Promise<Announcement> {
    const { logger, clock } = o
    if (o.autoStart) await ensureEpmd({ host: o.host, port, listenHost: o.listenHost, onSpawn: o.onSpawn, logger, signal: a.signal })
    const name = aliveOf(a.name)
    const register = (signal?: AbortSignal): Promise<Registration> =>
      registerNode({ host: o.host, port, name, nodePort: a.port, hidden: a.hidden, extra: NETKERNEL_EXTRA, signal, connect: announcing })
    const names = async (): Promise<string[]> =>
      (await listNames({ host: o.host, port, timeout: 2000, connect: announcing })).names.map(n => n.name)
    return new KeptRegistration(await register(a.signal), { name, register: () => register(), names, logger, clock })
  }

  return { resolve, announce }
}
