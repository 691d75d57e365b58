// What a NetKernel (net-kernel.ts) is built with: the node's identity and mode, its
// transport, authenticator, cookies and codec, timeouts, the admission policy, and the
// callbacks through which the kernel reaches the rest of the node (name resolution, events,
// inbound frames, nodes gone). Import it through net-kernel.ts.
import type { Authenticator, DialAddress, Transport } from './strategy.js'
import type { Codec } from '../terms/codec.js'
import type { Logger } from '../logger.js'
import type { Clock } from './clock.js'
import type { Cookies } from './cookie-store.js'
import type { RemoteInbound } from '../process/remote.js'
import type { Connection } from './connection.js'

export interface KernelPolicy {
  allowNode?: (name: string, info: { address: string; hidden: boolean }) => boolean | Promise<boolean>
  allowSpawn?: (fromNode: string, mod: string, fun: string) => boolean | Promise<boolean>
}

/** Default maxMessageSize: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

export interface KernelOptions {
  name: string
  hidden: boolean
  longNames: boolean
  connectAll: boolean
  transport: Transport
  auth: Authenticator
  cookies: Cookies
  codec: Codec
  runtime: RemoteInbound
  logger: Logger
  clock: Clock
  tickTime: number
  setupTimeout: number
  stepTimeout: number
  /** Bytes queued on one connection above which sends report busy. */
  highWater?: number
  /** The largest message (frame body) a connection takes from its peer; default DEFAULT_MAX_MESSAGE_SIZE. */
  maxMessageSize?: number
  policy: KernelPolicy
  resolve(node: string, signal: AbortSignal): Promise<DialAddress>
  emit(event: 'nodeup' | 'nodedown', name: string, info: Record<string, unknown>): void
  emit(event: 'connectError', name: string | undefined, info: Record<string, unknown>): void
  /** Decoded frames from a connection go here (dispatch.ts). */
  onFrame(conn: Connection, frame: unknown): void
  /** A node went down or could not be reached: fail what waits on it (spawn replies). */
  onNodeGone(node: string): void
}
