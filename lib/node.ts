// startNode(): wires the layers together and returns the public Node.
import { EventEmitter } from 'node:events'
import type { Listener } from './transport.js'
import type { StartNodeOptions } from './node-options.js'
import { resolveOptions } from './node-options.js'
import { setBusyWait } from './kernel/busy-wait.js'
import { setScavengeEvery } from './kernel/scavenge-assist.js'
import { Runtime, type Proc, type ModuleDef } from './process/runtime.js'
import type { Pid } from './terms/pid.js'
import type { Ref } from './terms/ref.js'
import { createCodec } from './terms/codec.js'
import { NetKernel } from './kernel/net-kernel.js'
import { KernelRemote } from './kernel/outbound.js'
import { SpawnRequests } from './kernel/spawn-requests.js'
import { RpcRequests } from './kernel/rpc-requests.js'
import type { RpcOptions } from './process/rpc.js'
import { castMessage, describeDest, type CallOptions } from './process/gen-call.js'
import { createDispatcher, createPermit } from './kernel/dispatch.js'
import { ErpcClient } from './kernel/otp/erpc-client.js'
import { createOtpDispatcher } from './kernel/otp/otp-dispatch.js'
import { ProcessLimit } from './kernel/process-limit.js'
import { groupLeader } from './kernel/otp/group-leader.js'
import type { ErlangRpc } from './kernel/outbound.js'
import { Refusals } from './kernel/refusals.js'
import type { Connection } from './kernel/connection.js'
import { StatsRequests } from './kernel/stats-requests.js'
import { collectStats, type NodeStats } from './kernel/stats.js'
import { Cookies } from './kernel/cookie-store.js'
import { readOrCreateCookieSync } from './kernel/cookie-file.js'
import { nodeDiscovery } from './node-discovery.js'
import type { Announcement } from './discovery.js'
import { NetkernelError, TransportError } from './errors.js'
import { OtpWire, otpWire } from './kernel/otp/otp-wire.js'
import { randomBytes, randomInt } from 'node:crypto'
import { ProcessGroups } from './pg/process-groups.js'
import { GlobalNames } from './global/global.js'

export type { NodeStats, ConnectionStats } from './kernel/stats.js'
import type { Dest } from './process/types.js'
export type { Dest }
export type NodeKind = 'visible' | 'hidden' | 'connected'

export interface NodeEvents {
  nodeup: [name: string, info: { type: 'visible' | 'hidden'; [k: string]: unknown }]
  nodedown: [name: string, info: { reason: string; type: 'visible' | 'hidden'; [k: string]: unknown }]
  connectError: [name: string | undefined, info: { direction: 'in' | 'out'; code: string; error: Error; [k: string]: unknown }]
}

export class Node extends EventEmitter<NodeEvents> {
  /** Where this node accepts connections (undefined for a purely local node). */
  readonly address: { host: string; port: number } | undefined
  /** Global names across the cluster (OTP's `global`): register, whereis, send (docs/global.md). */
  readonly global: GlobalNames
  private stopped = false
  /** node.call()s waiting for their reply: failed with ERR_NODE_STOPPED when stop() begins. */
  private readonly calls = new Set<() => void>()

  /** @internal use startNode() */
  constructor(
    readonly name: string,
    readonly creation: number,
    /** What the kernel reports (nodeup, nodedown, connectError): the node emits it as its own. */
    events: EventEmitter,
    private readonly runtime: Runtime,
    private readonly kernel: NetKernel,
    private readonly cookies: Cookies,
    private readonly listener: Listener | undefined,
    private readonly registration: Announcement | undefined,
    private readonly spawns: SpawnRequests,
    private readonly rpcs: RpcRequests,
    private readonly remote: KernelRemote,
    /** @internal What this node refused its peers (policy and protocol), per peer; for stats. */
    readonly refusals: Refusals,
    private readonly statsRequests: StatsRequests,
    /** Process groups: OTP's pg, across netkernel and Erlang/OTP nodes (docs/pg.md). */
    readonly pg: ProcessGroups,
    global: GlobalNames,
  ) {
    super()
    this.address = listener?.address
    this.global = global
    events.on('nodeup', (peer: string, info: NodeEvents['nodeup'][1]) => this.emit('nodeup', peer, info))
    events.on('nodedown', (peer: string, info: NodeEvents['nodedown'][1]) => this.emit('nodedown', peer, info))
    events.on('connectError', (peer: string | undefined, info: NodeEvents['connectError'][1]) => this.emit('connectError', peer, info))
  }

  /** spawn(fn) → Pid at once; spawn(node, mod, fun, args) → Promise<Pid>. */
  spawn(fn: (proc: Proc) => unknown): Pid
  spawn(node: string, mod: string, fun: string, args?: unknown[]): Promise<Pid>
  spawn(a: string | ((proc: Proc) => unknown), mod?: string, fun?: string, args: unknown[] = []): Pid | Promise<Pid> {
    if (typeof a === 'function') return this.runtime.spawn(a)
    if (a === this.name) {
      try {
        return Promise.resolve(this.runtime.spawnModule(mod as string, fun as string, args, {}))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return this.remote.spawn(undefined, a, mod as string, fun as string, args, {})
  }

  /**
   * rpc:call / erpc:call: run `modules[mod][fun](proc, ...args)` in a new process on `node` and
   * resolve with its return value (awaited if a promise); `node` may be this node. Rejects with
   * RpcError (code ERR_RPC; `kind` 'error' when the function threw an Error, 'throw' for any
   * other thrown value, 'exit' when its process exited or was killed, 'badrpc' when the call
   * could not run or its result could not come back), SpawnError ERR_SPAWN_UNKNOWN_MODULE /
   * ERR_SPAWN_UNKNOWN_FUNCTION / ERR_SPAWN_NOT_ALLOWED, ERR_SIGNAL_NOT_ALLOWED (the peer's
   * allowSignal refused op 'rpc'), ERR_LIMIT (this node has as many processes running on
   * `node` as its limits.processesPerPeer), ERR_RPC_TIMEOUT after `timeout` ms (default
   * Infinity, as erpc), ERR_CONNECTION_CLOSED when the node cannot be reached or the
   * connection is lost.
   */
  rpc<T = any>(node: string, mod: string, fun: string, args: unknown[] = [], opts?: RpcOptions): Promise<T> {
    if (this.stopped) {
      return Promise.reject(new NetkernelError('ERR_NODE_STOPPED', `${this.name} is stopped: cannot call ${mod}:${fun} on ${node}`))
    }
    return this.runtime.rpc(node, mod, fun, args, opts) as Promise<T>
  }

  /**
   * gen_server:call(Dest, Request, Timeout) from outside any process (in a process of its own):
   * resolves with the reply of an Erlang/OTP gen_server, an Elixir GenServer or a process here
   * that answers calls (`proc.reply`). Rejects as `proc.call` does: CallError (ERR_CALL) when
   * the server is gone, ERR_CALL_TIMEOUT after `timeout` ms (default 5000); and with
   * ERR_NODE_STOPPED when this node is stopped, or stop() begins while the call waits.
   */
  call<T = any>(dest: Dest, request: unknown, opts?: CallOptions): Promise<T> {
    if (this.stopped) {
      return Promise.reject(new NetkernelError('ERR_NODE_STOPPED', `${this.name} is stopped: cannot call ${describeDest(dest)}`))
    }
    return new Promise<T>((resolve, reject) => {
      // stop() fails the call at once: its process would otherwise end it with what the stop
      // does to the server (a CallError 'shutdown' or 'noconnection') once the kernel is down.
      const fail = (): void => {
        this.calls.delete(fail)
        reject(new NetkernelError('ERR_NODE_STOPPED', `${this.name} is stopped: the call to ${describeDest(dest)} cannot complete`))
      }
      this.runtime.spawn(async proc => {
        try {
          resolve(await proc.call<T>(dest, request, opts))
        } catch (err) {
          reject(err)
        } finally {
          this.calls.delete(fail)
        }
      })
      this.calls.add(fail)
    })
  }

  /** gen_server:cast(Dest, Request): send `{'$gen_cast', request}`. */
  cast(dest: Dest, request: unknown): void {
    this.runtime.send(dest, castMessage(request))
  }

  /** net_adm:ping/1: 'pong' when a connection to `node` is (or can be) set up, else 'pang'. */
  async ping(node: string): Promise<'pong' | 'pang'> {
    if (typeof node !== 'string') throw new NetkernelError('ERR_BAD_ARGUMENT', 'ping: node must be a node name')
    if (node === this.name) return this.stopped ? 'pang' : 'pong'
    return (await this.connect(node)) ? 'pong' : 'pang'
  }

  /**
   * Pid ! Msg, {Name, Node} ! Msg, Name ! Msg, or Alias ! Msg (a process alias: proc.alias()).
   * Never blocks and never drops a message it could queue; returns false when the connection
   * to the destination's node is over its high-water mark — then `await node.drain(dest)`
   * before sending more (like a stream).
   */
  send(dest: Dest | Ref, msg: unknown): boolean {
    return this.runtime.send(dest, msg)
  }

  /** Resolves once the connection `dest` (a pid, [name, node] or node name) lives behind has drained. */
  drain(dest: Dest, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (typeof dest === 'string' && dest.includes('@')) return this.remote.drain(dest, opts.signal) // a node name
    return this.runtime.drain(dest, opts.signal)
  }

  register(name: string, pid: Pid): void {
    this.runtime.register(name, pid)
  }

  unregister(name: string): void {
    this.runtime.unregister(name)
  }

  whereis(name: string): Pid | undefined {
    return this.runtime.whereis(name)
  }

  registered(): string[] {
    return this.runtime.registered()
  }

  /** exit(Pid, Reason) from outside any process. */
  exit(pid: Pid, reason: unknown): void {
    this.runtime.exit(pid, reason)
  }

  /** nodes(): visible connected nodes; nodes('hidden'), nodes('connected'). */
  nodes(kind: NodeKind = 'visible'): string[] {
    return this.kernel.nodes(kind)
  }

  /** net_kernel:connect_node/1 */
  connect(node: string): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false)
    return this.kernel.connect(node)
  }

  /** disconnect_node/1 */
  disconnect(node: string): boolean {
    return this.kernel.disconnect(node)
  }

  /** set_cookie/1 and set_cookie/2. */
  setCookie(cookieOrNode: string, cookie?: string): void {
    if (cookie === undefined) this.cookies.set(cookieOrNode)
    else this.cookies.setFor(cookieOrNode, cookie)
  }

  /** erlang:get_cookie/0 */
  getCookie(node?: string): string {
    return node === undefined ? this.cookies.own : this.cookies.cookieFor(node)
  }

  defineModule(name: string, mod: ModuleDef): void {
    this.runtime.defineModule(name, mod)
  }

  /**
   * What this node shows: its connections (peer, transport, bytes and messages in and out,
   * queued bytes, busy, up since), process count, registered names and refused operations
   * per peer (NodeStats). stats(node) asks a peer the same, over its connection (connecting
   * as for a send), as `netkernel top` does; it rejects when the peer cannot be reached
   * (ERR_CONNECTION_CLOSED), refuses (ERR_SIGNAL_NOT_ALLOWED) or does not answer within
   * `timeout` ms (ERR_RECEIVE_TIMEOUT, default 5000).
   */
  stats(): NodeStats
  stats(node: string, opts?: { timeout?: number; signal?: AbortSignal }): Promise<NodeStats>
  stats(node?: string, opts?: { timeout?: number; signal?: AbortSignal }): NodeStats | Promise<NodeStats> {
    if (node === undefined) return this.statsRequests.local()
    if (node === this.name) return Promise.resolve(this.statsRequests.local())
    if (this.stopped)
      return Promise.reject(new NetkernelError('ERR_NODE_STOPPED', `${this.name} is stopped: cannot ask ${node} for its stats`))
    return this.statsRequests.ask(this.kernel, node, opts)
  }

  /** Graceful stop: peers see nodedown, the port mapper entry goes, every process exits. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const fail of [...this.calls]) fail()
    setBusyWait(this, 0)
    setScavengeEvery(this, 0)
    this.registration?.close()
    this.spawns.failAll()
    this.rpcs.failAll()
    this.statsRequests.failAll()
    this.global.stop()
    await this.kernel.stop()
    this.runtime.shutdown('shutdown')
  }
}

/** The OTP wire's set of erpc ReqIds whose replies come to the OTP dispatcher; undefined for a native connection. */
function claimedOf(conn: Connection): Set<string> | undefined {
  return conn.wire instanceof OtpWire ? conn.wire.claimed : undefined
}

async function listenInRange(kernel: NetKernel, host: string, min: number, max: number): Promise<Listener> {
  let last: unknown
  for (let port = min; port <= max; port++) {
    try {
      return await kernel.listen(host, port)
    } catch (err) {
      last = err
    }
  }
  const range = min === max ? `port ${min}` : `ports ${min}-${max}`
  throw new TransportError('ERR_LISTEN', `cannot listen on ${host} ${range}: ${(last as Error)?.message ?? 'no port free'}`, {
    cause: last,
  })
}

/** Start a node. Rejects with a NetkernelError when the name, cookie, port or port mapper is wrong. */
export async function startNode(opts: StartNodeOptions): Promise<Node> {
  const o = resolveOptions(opts)
  const { name, clock, logger, transport, listen } = o
  const discovery = nodeDiscovery(o)
  // The cookie file is read when the cookie is first needed: at once for an authenticator that
  // uses it (a bad file fails the start), else maybe never (a tlsCert() node leaves it alone).
  const cookies = new Cookies(o.cookie ?? (o.distributed ? () => readOrCreateCookieSync(o.cookieFile) : randomBytes(16).toString('hex')))
  if (o.auth.needsCookie === true) void cookies.own
  const codec = createCodec(o.codec, { maxFrameBody: o.maxMessageSize, maxTerms: o.maxMessageTerms })
  // Built in the order each part needs the others: the kernel reports to `events` (the Node
  // relays them), keeps its connections in `connections` (the stats read them), and hands
  // frames to the dispatcher; mesh gossip reaches it back through the connection.
  const events = new EventEmitter()
  const connections = new Map<string, Connection>()
  const runtime = new Runtime({ node: name, creation: 0, logger, timers: o.processTimers })
  for (const [m, def] of Object.entries(o.modules)) runtime.defineModule(m, def)
  const spawns = new SpawnRequests(clock, o.spawnTimeout)
  const rpcs = new RpcRequests(clock)
  const refusals = new Refusals(name, logger)
  const stats = new StatsRequests({
    localName: () => runtime.node,
    clock,
    logger,
    collect: () =>
      collectStats({
        name: () => runtime.node,
        clock,
        connections: () => connections.values(),
        processCount: () => runtime.processCount,
        registered: () => runtime.registered(),
        refusals,
      }),
  })
  // One door for limits.processesPerPeer, whichever wire a peer speaks.
  const processLimit = new ProcessLimit({ localName: () => runtime.node, runtime, limit: o.limits.processesPerPeer, refusals })
  const dispatch = createDispatcher({
    localName: name,
    runtime,
    spawns,
    rpcs,
    stats,
    policy: o.policy,
    logger,
    refusals,
    limits: o.limits,
    processLimit,
  })
  // Toward Erlang/OTP peers: the erpc client, and what they ask that native frames do not carry.
  let leader: Pid | undefined
  const groupLeaderPid = (): Pid | undefined => {
    try {
      if (leader === undefined || !runtime.isAlive(leader)) leader = runtime.spawn(groupLeader(logger))
    } catch {
      return undefined // stopped
    }
    return leader
  }
  const erpc = new ErpcClient({ localName: () => runtime.node, creation: () => runtime.creation, rpcs, groupLeader: groupLeaderPid })
  const otpDispatch = createOtpDispatcher({
    localName: () => runtime.node,
    runtime,
    policy: o.policy,
    permit: createPermit(o.policy, refusals),
    refusals,
    logger,
    erpc,
    processLimit,
  })
  const onFrame = (conn: Connection, frame: unknown): void => {
    if (conn.protocol === 'erlang' && otpDispatch(conn, frame)) return
    dispatch(conn, frame)
  }
  const erlangRpc: ErlangRpc = (peer, id, from, mod, fun, args, outcome) => {
    const conn = connections.get(peer)
    const claimed = conn === undefined ? undefined : claimedOf(conn)
    if (claimed === undefined) return false
    erpc.call(conn!, claimed, id, from, mod, fun, args, outcome)
    return true
  }
  // The global name server: started once the node has its identity; until then (and
  // without it: `global: false`) the node is hidden toward OTP (docs/global.md).
  const global = new GlobalNames({
    runtime,
    logger,
    connect: n => kernel.connect(n),
    disconnect: n => void kernel.disconnect(n),
    isVisible: n => connections.get(n)?.type === 'visible',
    visibleNodes: () => kernel.nodes('visible'),
    connectAll: o.connectAll,
  })
  const globalOn = o.global && !o.hidden
  events.on('nodeup', (peer: string, info: { type: string }) => {
    if (info.type === 'visible') global.nodeEvent('nodeup', peer)
  })
  events.on('nodedown', (peer: string, info: { type: string }) => {
    if (info.type === 'visible') global.nodeEvent('nodedown', peer)
  })
  const kernel: NetKernel = new NetKernel({
    name,
    hidden: o.hidden,
    // Published toward OTP only while the global name server runs (docs/global.md).
    otpHidden: () => o.hidden || !global.running,
    erlang: o.erlang,
    // Toward an OTP node the connection speaks OTP's distribution protocol (otp-wire.ts).
    erlangWire: est =>
      otpWire({
        peer: est.peer,
        flags: est.flags ?? 0n,
        localName: name,
        creation: kernel.creation,
        maxMessageSize: o.maxMessageSize,
        maxMessageTerms: o.maxMessageTerms,
        monitorsPerPeer: o.limits.monitorsPerPeer,
        logger,
        groupLeader: groupLeaderPid,
      }),
    longNames: o.longNames,
    connectAll: o.connectAll,
    transport,
    auth: o.auth,
    cookies,
    codec,
    runtime,
    logger,
    clock,
    connections,
    tickTime: o.tickTime,
    setupTimeout: o.setupTimeout,
    highWater: o.highWater,
    maxMessageSize: o.maxMessageSize,
    stepTimeout: o.handshakeStepTimeout,
    policy: o.policy,
    limits: o.limits,
    resolve: (node, signal) => discovery.resolve(node, signal),
    emit: (event: string, peer: string | undefined, info: Record<string, unknown>) => events.emit(event, peer, info),
    onFrame,
    onSend: dispatch.send,
    onNodeGone: node => {
      erpc.failNode(node)
      spawns.failNode(node)
      rpcs.failNode(node)
      stats.failNode(node)
    },
  })
  const remote = new KernelRemote(kernel, codec, spawns, rpcs, erlangRpc)
  runtime.setRemote(remote)

  let listener: Listener | undefined
  let registration: Announcement | undefined
  let creation: number
  try {
    if (listen !== false) listener = await listenInRange(kernel, listen.host, listen.portMin, listen.portMax)
    // Announced once it listens (the port mapper assigns the creation); kept until it stops.
    registration = listener === undefined ? undefined : await discovery.announce({ name, port: listener.address.port, hidden: o.hidden })
    creation = registration?.creation ?? randomInt(1, 2 ** 31)
  } catch (err) {
    await listener?.close()
    if (err instanceof NetkernelError) throw err
    throw new TransportError('ERR_LISTEN', `cannot start ${name}: ${(err as Error).message}`, { cause: err })
  }
  runtime.setIdentity(name, creation)
  const pg = new ProcessGroups({
    runtime,
    logger,
    connectedNodes: () => kernel.nodes('connected'),
    isConnected: peer => kernel.isConnected(peer),
    protocolOf: peer => connections.get(peer)?.protocol,
  })
  pg.startScope('pg')
  events.on('nodeup', (peer: string) => pg.nodeUp(peer))
  if (globalOn) {
    try {
      global.start()
    } catch (err) {
      logger.warn({ err }, `node ${name}: the global name server did not start, so the node is hidden toward Erlang/OTP peers`)
    }
  } else if (o.erlang && !o.hidden) {
    logger.info({}, `node ${name}: global is off (global: false), so the node is hidden toward Erlang/OTP peers`)
  }
  const node = new Node(
    name,
    creation,
    events,
    runtime,
    kernel,
    cookies,
    listener,
    registration,
    spawns,
    rpcs,
    remote,
    refusals,
    stats,
    pg,
    global,
  )
  kernel.startAccepting(creation)
  setBusyWait(node, o.busyWait)
  setScavengeEvery(node, o.scavengeEvery)
  logger.info({ address: listener?.address, creation }, `node ${name} started`)
  return node
}
