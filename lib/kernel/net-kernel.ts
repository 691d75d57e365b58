// The net kernel: the node table. It owns every connection, connects on first use, runs the
// handshake in both directions, and turns connection loss into nodedown. What is decided
// while a connection is set up — simultaneous dials (the greater name wins, as in OTP), a
// restarted or stale peer, a superseded dial, the setup deadline — is the setup machine's
// (setup-machine.ts): the kernel feeds it events and executes its actions. What crosses a
// connection is in dispatch.ts (inbound) and outbound.ts (outbound). Its bounds on what peers
// can make it hold are in limits.ts.
import type { Conn, Listener, Transport } from '../transport.js'
import type { Authenticator } from '../authenticator.js'
import type { Discovery } from '../discovery.js'
import type { Codec } from '../terms/codec.js'
import type { Logger } from '../logger.js'
import type { Clock } from '../clock.js'
import type { Cookies } from './cookie-store.js'
import type { RemoteInbound } from '../process/remote.js'
import type { AllowSignal } from './signal-policy.js'
import { DEFAULT_LIMITS, type KernelLimits } from './limits.js'
import { Connection, type DownReason } from './connection.js'
import { DEFAULT_HIGH_WATER, type OrderKey } from './outbox.js'
import { initiateHandshake, respondHandshake, type Established, type HandshakeDeps, type HandshakeEvent } from './handshake.js'
import { initiateOtpHandshake, respondOtpHandshake } from './otp/otp-handshake.js'
import { sniffProtocol } from './protocol-sniff.js'
import type { Wire } from './wire.js'
import { SetupMachine, verdictOf, type SetupAction, type SetupEvent, type Verdict } from './setup-machine.js'
import { FailureLimiter } from './failure-limiter.js'
import { HandshakeSlots } from './handshake-slots.js'
import { GossipDials, GOSSIP_RETRY_MS } from './gossip-dials.js'
import { fullNameProblem } from '../node-name.js'
import { HandshakeError, NetkernelError, TransportError } from '../errors.js'
import { NODES } from './frames.js'
import { publishingEmit } from './kernel-events.js'

export type { KernelLimits } from './limits.js'

export interface KernelPolicy {
  allowNode?: (name: string, info: { address: string; hidden: boolean }) => boolean | Promise<boolean>
  allowSpawn?: (fromNode: string, mod: string, fun: string) => boolean | Promise<boolean>
  /** The distribution firewall: may `fromNode` do this here? Read once, when the node starts. */
  allowSignal?: AllowSignal
}

/**
 * What a NetKernel is built with: the node's identity and mode, its transport, authenticator,
 * cookies and codec, timeouts, the admission policy, and the callbacks through which the
 * kernel reaches the rest of the node (name resolution, events, inbound frames, nodes gone).
 */
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
  /** Defaults: DEFAULT_LIMITS. */
  limits?: Partial<KernelLimits>
  /** The table of up connections by peer, which the kernel keeps (others may read it). Default: its own. */
  connections?: Map<string, Connection>
  /** Where a peer listens: the node's Discovery resolves it (lib/discovery.ts). */
  resolve: Discovery['resolve']
  /**
   * Speak Erlang/OTP's distribution protocol with OTP nodes (the node option `erlang`): dial
   * those the discovery reports as 'erlang', and take their inbound handshakes. Default false:
   * a dial to one fails with ERR_INCOMPATIBLE, an inbound one is answered not_allowed.
   */
  erlang?: boolean
  /** The wire for a connection set up by the OTP handshake (lib/kernel/otp/otp-wire.ts). */
  erlangWire?: (est: Established) => Wire
  /** @internal Tests: the distribution flags offered to OTP peers instead of DFLAGS_OFFERED. */
  otpFlags?: bigint
  /**
   * Hidden toward Erlang/OTP peers (no DFLAG_PUBLISHED) even when `hidden` is false; a
   * function is asked at each handshake (the node: while its global name server runs).
   */
  otpHidden?: boolean | (() => boolean)
  emit(event: 'nodeup' | 'nodedown', name: string, info: Record<string, unknown>): void
  emit(event: 'connectError', name: string | undefined, info: Record<string, unknown>): void
  /** Decoded frames from a connection go here (dispatch.ts). */
  onFrame(conn: Connection, frame: unknown): void
  /** Message frames of the native protocol, taken apart as decoded (ConnectionHooks.onSend); else onFrame. */
  onSend?(conn: Connection, to: unknown, msg: unknown): void
  /** A node went down or could not be reached: fail what waits on it (spawn replies). */
  onNodeGone(node: string): void
}

/**
 * What the kernel holds for a connection being set up, per node until the setup ends: the
 * frames queued for it meanwhile (and their bytes, for the high-water mark), the dial in
 * progress, the setup deadline, and who waits for the outcome (connect(), drain()). What the
 * setup is — requested, superseded, an inbound one finishing — is the setup machine's, under
 * the same setup number.
 */
export interface Pending {
  node: string
  /** The setup machine's number for this setup. */
  id: number
  /** `alias`: an ALIAS_SEND frame, written only if the connection carries them (sendAlias). */
  queue: [frame: Buffer, key: OrderKey, alias?: true][]
  bytes: number
  /** Where our dial went, once resolved (for messages). */
  address?: string
  /** Our dial, while it runs: aborting it ends it. */
  dial: AbortController | undefined
  /** The peer whose gossip started this dial (counted against its bound until settled). */
  hint?: string
  timer: unknown
  waiters: ((up: boolean) => void)[]
}

/** What an action is executed with: the error a setup failed with, the finished handshake, the dial. */
interface ActionContext {
  err?: NetkernelError
  est?: Established
  dial?: Pending
}

export class NetKernel {
  readonly up: Map<string, Connection>
  /** What the kernel holds for each setup under way (the machine's setups, by node). */
  private readonly pending = new Map<string, Pending>()
  private readonly machine: SetupMachine
  private readonly limiter: FailureLimiter
  private readonly limits: KernelLimits
  private readonly slots: HandshakeSlots
  private dialLimitReported = false
  /** Dials under way that each peer's gossip started (bounded by limits.gossipDialsPerPeer). */
  private readonly hinted = new Map<string, number>()
  /** How often gossip may start dials: failed names, each peer's budget (gossip-dials.ts). */
  private readonly gossipDials: GossipDials
  private listener: Listener | undefined
  private accepting = false
  creation = 0
  private readonly highWater: number
  private readonly o: KernelOptions

  constructor(o: KernelOptions) {
    this.o = { ...o, emit: publishingEmit(o.name, o.emit) }
    this.up = o.connections ?? new Map()
    this.limiter = new FailureLimiter(o.clock, o.stepTimeout)
    this.limits = { ...DEFAULT_LIMITS, ...o.limits }
    this.machine = new SetupMachine(o.name, this.limits.pendingDials)
    this.slots = new HandshakeSlots(this.limits.handshakes, this.limits.handshakesPerAddress)
    this.highWater = o.highWater ?? DEFAULT_HIGH_WATER
    this.gossipDials = new GossipDials(o.clock, this.limits.gossipDialsPerSecond)
  }

  get name(): string {
    return this.o.name
  }

  private get stopped(): boolean {
    return this.machine.table.stopped
  }

  async listen(host: string, port: number): Promise<Listener> {
    this.listener = await this.o.transport.listen({ host, port }, conn => this.accept(conn))
    return this.listener
  }

  /** Start answering inbound connections (once the node has its creation). */
  startAccepting(creation: number): void {
    this.creation = creation
    this.accepting = true
  }

  /**
   * Queue a frame for `node`: written now if up, else when the connection comes up. `key`
   * orders it behind a large frame to the same destination. False = over the high-water mark.
   */
  write(node: string, frame: Buffer, key?: OrderKey): boolean {
    const c = this.up.get(node)
    if (c !== undefined) return c.write(frame, key)
    return this.queue(node, frame, key)
  }

  /** Hold a frame until the connection to `node` is up (`alias`: only if it carries ALIAS_SEND). */
  private queue(node: string, frame: Buffer, key: OrderKey | undefined, alias?: true): boolean {
    const p = this.ensure(node)
    p.queue.push(alias === undefined ? [frame, key] : [frame, key, alias])
    p.bytes += frame.length
    return p.bytes <= this.highWater
  }

  /**
   * Encode and queue a term for `node` (straight into the connection's batch when up).
   * `urgent`: a message to a process, written at once when it can be (Outbox.send).
   */
  send(node: string, value: unknown, key?: OrderKey, urgent = false): boolean {
    try {
      const c = this.up.get(node)
      if (c !== undefined) return c.send(value, key, urgent)
      return this.write(node, this.o.codec.encodeFrame(value), key)
    } catch (err) {
      throw this.tooLarge(node, err)
    }
  }

  /**
   * send() for an ALIAS_SEND frame: dropped where the connection does not carry them (nobody
   * there made the alias), so one queued before the connection is up waits to learn that.
   */
  sendAlias(node: string, frame: unknown[], key: OrderKey): boolean {
    const c = this.up.get(node)
    if (c !== undefined) return c.aliasSend ? this.send(node, frame, key, true) : true
    try {
      return this.queue(node, this.o.codec.encodeFrame(frame), key, true)
    } catch (err) {
      throw this.tooLarge(node, err)
    }
  }

  /** A failed encode as send() rethrows it: over maxMessageSize, saying where the message was going (nothing was queued). */
  private tooLarge(node: string, err: unknown): unknown {
    if ((err as NetkernelError).code !== 'ERR_MESSAGE_TOO_LARGE') return err
    return new NetkernelError('ERR_MESSAGE_TOO_LARGE', `cannot send to ${node}: ${(err as Error).message}`, { cause: err })
  }

  /** Is the connection to `node` (or the queue waiting for it) over its high-water mark? */
  busy(node: string): boolean {
    const c = this.up.get(node)
    if (c !== undefined) return c.outbox.busy
    const p = this.pending.get(node)
    return p !== undefined && p.bytes > this.highWater
  }

  /** Wait until the connection to `node` has drained below half its high-water mark. */
  async drain(node: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const c = this.up.get(node)
      if (c !== undefined) return c.outbox.whenDrained(signal)
      const p = this.pending.get(node)
      if (p === undefined || p.bytes <= this.highWater / 2) return
      // Still connecting with a full queue: wait for the outcome, then look again.
      await new Promise<void>(resolve => p.waiters.push(() => resolve()))
      signal?.throwIfAborted()
    }
  }

  /** Start connecting to `node` if there is no connection or attempt yet. */
  ensure(node: string): Pending {
    const p = this.pending.get(node)
    if (p !== undefined && this.machine.setup(node)?.requested === true) return p
    this.run(this.machine.dispatch({ e: 'want', node, requested: true }))
    return this.pending.get(node) as Pending
  }

  /** Connection setups this node is dialling now. */
  get dialsInFlight(): number {
    return this.machine.table.dials
  }

  isConnected(node: string): boolean {
    return this.up.has(node)
  }

  /** net_kernel:connect_node: true once up, false when it cannot be set up. */
  connect(node: string): Promise<boolean> {
    if (node === this.o.name) return Promise.resolve(true)
    if (this.up.has(node)) return Promise.resolve(true)
    if (this.stopped) return Promise.resolve(false)
    const p = this.ensure(node)
    return new Promise(resolve => p.waiters.push(resolve))
  }

  disconnect(node: string): boolean {
    const c = this.up.get(node)
    if (c === undefined) return false
    c.close('disconnect')
    return true
  }

  nodes(kind: 'visible' | 'hidden' | 'connected' = 'visible'): string[] {
    const out: string[] = []
    for (const [name, c] of this.up) if (kind === 'connected' || c.type === kind) out.push(name)
    return out
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.accepting = false
    this.run(this.machine.dispatch({ e: 'stop' }), { err: new NetkernelError('ERR_NODE_STOPPED', `${this.o.name} is stopping`) })
    await this.listener?.close()
  }

  /** Execute the setup machine's actions for the kernel; the verdicts are the handshake's. */
  private run(actions: readonly SetupAction[], ctx: ActionContext = {}): void {
    for (const x of actions) {
      switch (x.a) {
        case 'open':
          this.open(x.node, x.setup)
          break
        case 'dial': {
          const p = this.current(x.node, x.setup)
          if (p !== undefined) void this.dial(p)
          break
        }
        case 'refuse_dial': {
          const p = this.current(x.node, x.setup)
          if (p !== undefined) this.refuseDial(p)
          break
        }
        case 'supersede':
          this.current(x.node, x.setup)?.dial?.abort(new HandshakeError('ERR_ALREADY_CONNECTED', `simultaneous connect: ${x.node} wins`))
          break
        case 'replace': {
          const c = this.up.get(x.node)
          if (c === undefined) break
          const why = x.why === 'stale' ? 'reconnects: dropping the stale connection' : 'restarted: dropping the old connection'
          this.o.logger.info({ node: x.node }, `${x.node} ${why}`)
          c.destroy('connection_closed')
          break
        }
        case 'up':
          this.bringUp(x.node, x.setup, ctx.est as Established)
          break
        case 'drop':
          ctx.est?.conn.destroy()
          break
        case 'settle': {
          const p = this.current(x.node, x.setup)
          if (p !== undefined) this.settle(p, true)
          break
        }
        case 'fail': {
          const p = this.current(x.node, x.setup)
          if (p !== undefined) this.fail(p, ctx.err as NetkernelError, x.report)
          break
        }
        case 'report_dial': {
          const e = ctx.err as NetkernelError
          const address = ctx.dial?.address
          this.o.logger.warn({ node: x.node, err: e, code: e.code }, `connection setup to ${x.node} failed`)
          this.o.emit('connectError', x.node, { direction: 'out', address, error: e, code: e.code })
          break
        }
        case 'close':
          this.up.get(x.node)?.close('node_stopped')
          break
        case 'accept':
        case 'refuse':
        case 'ask_alive':
        case 'answer_alive':
          break
      }
    }
  }

  /**
   * A handshake's event (of our dial `dial`, or an inbound handshake): execute what it
   * changes, return the handshake's verdict.
   */
  private decide(ev: HandshakeEvent, dial: Pending | undefined): Verdict {
    let full: SetupEvent
    if (ev.e !== 'alive_asked') full = ev
    else if (dial !== undefined) full = { ...ev, setup: dial.id }
    else return { a: 'answer_alive', node: ev.node, replace: false }
    const actions = this.machine.dispatch(full)
    this.run(actions)
    return verdictOf(actions)
  }

  /** Our resources for setup `id` of `node`, if that is the setup under way. */
  private current(node: string, id: number): Pending | undefined {
    const p = this.pending.get(node)
    return p !== undefined && p.id === id ? p : undefined
  }

  private open(node: string, id: number): void {
    const p: Pending = { node, id, queue: [], bytes: 0, dial: undefined, timer: undefined, waiters: [] }
    p.timer = this.o.clock.setTimeout(() => {
      const at = p.address === undefined ? '' : ` (dialled ${p.address})`
      const err = new TransportError(
        'ERR_CONNECT_TIMEOUT',
        `connection setup to ${node}${at} did not finish within ${this.o.setupTimeout} ms`,
      )
      this.run(this.machine.dispatch({ e: 'timeout', node, setup: id }), { err })
    }, this.o.setupTimeout)
    this.pending.set(node, p)
  }

  private deps(setup: (ev: HandshakeEvent) => Verdict): HandshakeDeps {
    const o = this.o
    return {
      localName: o.name,
      hidden: o.hidden,
      longNames: o.longNames,
      creation: this.creation,
      codec: o.codec,
      auth: o.auth,
      cookies: o.cookies,
      stepTimeout: o.stepTimeout,
      clock: o.clock,
      allowNode: o.policy.allowNode ?? (() => true),
      setup,
      erlang: o.erlang === true,
      dialling: node => this.machine.setup(node)?.dialling === true,
      otpFlags: o.otpFlags,
      otpHidden: typeof o.otpHidden === 'function' ? o.otpHidden() : (o.otpHidden ?? o.hidden),
    }
  }

  /** Over limits.pendingDials: the dial is not started and fails at once (ERR_LIMIT). */
  private refuseDial(p: Pending): void {
    const err = new NetkernelError(
      'ERR_LIMIT',
      `${this.o.name} is already dialling ${this.machine.table.dials} nodes (limits.pendingDials): not dialling ${p.node}`,
    )
    if (!this.dialLimitReported) {
      this.dialLimitReported = true
      this.o.logger.warn({ node: p.node, code: err.code, limit: this.limits.pendingDials }, err.message)
    }
    this.o.clock.clearTimeout(p.timer)
    // Not at once: the caller (connect, send) has yet to take its place in the queue.
    p.timer = this.o.clock.setTimeout(() => {
      this.o.emit('connectError', p.node, { direction: 'out', error: err, code: err.code })
      this.run(this.machine.dispatch({ e: 'timeout', node: p.node, setup: p.id }), { err })
    }, 0)
  }

  private async dial(p: Pending): Promise<void> {
    const ac = new AbortController()
    p.dial = ac
    let conn: Conn | undefined
    let est: Established
    try {
      const addr = await this.o.resolve(p.node, ac.signal)
      p.address = `${addr.host}:${addr.port}`
      const erlang = addr.protocol === 'erlang'
      if (erlang && this.o.erlang !== true) {
        throw new HandshakeError(
          'ERR_INCOMPATIBLE',
          `${p.node} is an Erlang/OTP node (${p.address}: its port mapper entry has no netkernel marker, or the discovery says so): start this node with erlang: true to connect to it`,
        )
      }
      conn = await this.o.transport.dial(addr, { signal: ac.signal })
      // The handshake's only question to us: the peer still holds a connection to us — is
      // this dial still wanted (then it replaces that connection)?
      est = await (erlang ? initiateOtpHandshake : initiateHandshake)(
        this.deps(ev => this.decide(ev, p)),
        conn,
        p.node,
        ac.signal,
      )
    } catch (err) {
      conn?.destroy()
      if (p.dial === ac) p.dial = undefined
      const e = err as NetkernelError
      // Lost a simultaneous connect (refused nok/alive, or aborted for the peer's connection).
      const lost =
        e.code === 'ERR_ALREADY_CONNECTED' || (ac.signal.reason as Partial<NetkernelError> | undefined)?.code === 'ERR_ALREADY_CONNECTED'
      this.run(this.machine.dispatch({ e: 'dial_failed', node: p.node, setup: p.id, lost }), { err: e, dial: p })
      this.dialEnded()
      return
    }
    try {
      this.run(this.machine.dispatch({ e: 'connected', node: p.node, creation: est.creation, setup: p.id }), { est })
    } finally {
      this.dialEnded()
    }
  }

  private dialEnded(): void {
    if (this.machine.table.dials < this.limits.pendingDials / 2) this.dialLimitReported = false
  }

  private accept(conn: Conn): void {
    if (!this.accepting) {
      conn.destroy()
      return
    }
    const address = conn.remoteAddress
    const refused = this.slots.take(address)
    if (refused !== undefined) {
      conn.destroy()
      if (refused.first) {
        const where = refused.bound === 'address' ? `from ${address}` : 'in total'
        const e = new NetkernelError(
          'ERR_LIMIT',
          `${this.o.name}: ${refused.limit} handshakes already under way ${where}; refusing more (reported once)`,
        )
        this.o.logger.warn({ address, code: e.code, limit: refused.limit }, e.message)
        this.o.emit('connectError', undefined, { direction: 'in', address, error: e, code: e.code })
      }
      return
    }
    void this.respond(conn).finally(() => this.slots.release(address))
  }

  private async respond(conn: Conn): Promise<void> {
    const address = conn.remoteAddress
    let claimed: string | undefined
    /** The setup an authenticated peer's connection took over (it fails if the handshake does). */
    let admitted: { node: string; setup: number } | undefined
    const ac = new AbortController()
    const timer = this.o.clock.setTimeout(
      () =>
        ac.abort(
          new TransportError(
            'ERR_CONNECT_TIMEOUT',
            `inbound connection from ${address} did not finish its handshake within ${this.o.setupTimeout} ms`,
          ),
        ),
      this.o.setupTimeout,
    )
    try {
      // Native or Erlang/OTP: the first bytes tell (under the same setup deadline).
      const protocol = await sniffProtocol(conn, ac.signal, { timeout: this.o.stepTimeout, clock: this.o.clock })
      const est = await (protocol === 'erlang' ? respondOtpHandshake : respondHandshake)(
        {
          ...this.deps(ev => {
            const v = this.decide(ev, undefined)
            if (ev.e === 'authenticated' && v.a === 'accept' && v.setup !== undefined) admitted = { node: ev.node, setup: v.setup }
            return v
          }),
          named: name => {
            claimed = name
          },
          throttle: (name, signal) => {
            claimed = name
            return this.limiter.wait(address, name, signal)
          },
        },
        conn,
        ac.signal,
      )
      this.limiter.success(address, est.peer)
      this.run(this.machine.dispatch({ e: 'connected', node: est.peer, creation: est.creation }), { est })
    } catch (err) {
      const e = err as NetkernelError
      if (e.code !== 'ERR_ALREADY_CONNECTED') this.limiter.failure(address, claimed)
      this.o.logger.warn({ address, err: e, code: e.code }, `inbound connection from ${address} refused`)
      this.o.emit('connectError', admitted?.node ?? claimed, { direction: 'in', address, error: e, code: e.code })
      conn.destroy()
      if (admitted !== undefined) this.run(this.machine.dispatch({ e: 'inbound_failed', ...admitted }), { err: e })
    } finally {
      this.o.clock.clearTimeout(timer)
    }
  }

  /** The setup machine says the finished handshake's connection is the node's. */
  private bringUp(peer: string, setup: number | undefined, est: Established): void {
    const p = setup === undefined ? undefined : this.current(peer, setup)
    // As in OTP, a connection is hidden when either end is a hidden node: a hidden node's
    // peers are never in its nodes(), and it is never in theirs.
    const hidden = est.hidden || this.o.hidden
    const info = { type: hidden ? 'hidden' : 'visible', transport: est.conn.transport, ...est.auth.info }
    const wire = est.protocol === 'erlang' ? this.o.erlangWire?.(est) : undefined
    const c = new Connection(
      peer,
      est.creation,
      hidden,
      est.conn,
      est.decoder,
      this.o.codec,
      {
        onFrame: this.o.onFrame,
        onSend: this.o.onSend,
        onDown: (conn, reason, error) => this.down(conn, reason, error),
        onNodes: (conn, names) => this.meshHint(conn, names),
      },
      this.o.tickTime,
      this.o.clock,
      info,
      this.highWater,
      this.o.maxMessageSize,
      wire,
      est.version,
    )
    this.up.set(peer, c)
    this.gossipDials.connected(peer)
    this.o.logger.info({ node: peer, type: c.type }, `nodeup ${peer}`)
    this.o.emit('nodeup', peer, { ...info })
    if (p !== undefined) {
      // (A message to an alias waited for the connection: dropped if the peer takes none.)
      for (const [f, key, alias] of p.queue) if (alias !== true || c.aliasSend) c.write(f, key)
      p.queue = []
      p.bytes = 0
      this.settle(p, true)
    }
    c.start(est.leftover)
    if (c.isUp) this.gossip(c)
  }

  /** Mesh: tell a new visible peer which visible nodes we know; it connects to the rest. */
  private gossip(c: Connection): void {
    // (An Erlang/OTP peer never gets NODES frames: its global connects the mesh.)
    if (c.type !== 'visible' || this.o.hidden || c.protocol === 'erlang') return
    c.send([NODES, this.nodes('visible').filter(n => n !== c.peer)])
  }

  /**
   * A NODES frame arrived from `from`: connect to the visible nodes we lack. Illegal names
   * are dropped; one peer's gossip has at most limits.gossipDialsPerPeer dials under way,
   * starts at most limits.gossipDialsPerSecond, and does not dial a name whose gossip-started
   * dial failed lately (gossip-dials.ts).
   */
  private meshHint(from: Connection, names: unknown): void {
    if (!this.o.connectAll || this.o.hidden || from.type !== 'visible' || !Array.isArray(names)) return
    const budget = this.gossipDials.room(from)
    let room = Math.min(this.limits.gossipDialsPerPeer - (this.hinted.get(from.peer) ?? 0), budget)
    let started = 0
    let illegal = 0
    let skipped = 0
    let failed = 0
    for (const n of names) {
      if (fullNameProblem(n, this.o.longNames) !== undefined) {
        illegal++
        continue
      }
      const name = n as string
      if (name === this.o.name || this.up.has(name) || this.pending.has(name)) continue
      if (this.gossipDials.recentlyFailed(name)) {
        failed++
        continue
      }
      if (room <= 0 || this.machine.table.dials >= this.limits.pendingDials) {
        skipped++
        continue
      }
      this.run(this.machine.dispatch({ e: 'want', node: name, requested: false }))
      const p = this.pending.get(name)
      if (p === undefined) continue
      p.hint = from.peer
      room--
      started++
      this.hinted.set(from.peer, (this.hinted.get(from.peer) ?? 0) + 1)
    }
    this.gossipDials.spend(from, started)
    if (illegal > 0 || skipped > 0 || failed > 0) {
      // Warned once per connection: a peer repeating its gossip must not flood the log either.
      const warn = illegal > 0 || this.gossipDials.firstHoldBack(from)
      this.o.logger[warn ? 'warn' : 'debug'](
        { node: from.peer, illegal, skipped, failed },
        `gossip from ${from.peer}: ${illegal} illegal node names dropped, ${skipped} names not dialled (bound), ` +
          `${failed} not dialled again (dialled for gossip and failed within ${GOSSIP_RETRY_MS / 1000} s)`,
      )
    }
  }

  private settle(p: Pending, up: boolean): void {
    this.o.clock.clearTimeout(p.timer)
    if (p.hint !== undefined) {
      const n = (this.hinted.get(p.hint) ?? 1) - 1
      if (n > 0) this.hinted.set(p.hint, n)
      else this.hinted.delete(p.hint)
      p.hint = undefined
    }
    if (this.pending.get(p.node) === p) this.pending.delete(p.node)
    for (const w of p.waiters) w(up)
    p.waiters = []
  }

  private fail(p: Pending, err: NetkernelError, report: boolean): void {
    if (p.hint !== undefined && err.code !== 'ERR_ALREADY_CONNECTED' && !this.up.has(p.node)) this.gossipDials.dialFailed(p.node)
    p.dial?.abort(err)
    const dropped = p.queue.length
    p.queue = []
    p.bytes = 0
    this.settle(p, false)
    if (!report) return
    this.o.logger.warn({ node: p.node, code: err.code, dropped }, `nodedown ${p.node}: connection_setup_failed (${err.message})`)
    this.o.runtime.nodeDown(p.node)
    this.o.onNodeGone(p.node)
    this.o.emit('nodedown', p.node, { reason: 'connection_setup_failed', type: 'visible', error: err, dropped })
  }

  private down(c: Connection, reason: DownReason, error?: Error): void {
    if (this.up.get(c.peer) === c) {
      this.up.delete(c.peer)
      this.machine.dispatch({ e: 'down', node: c.peer })
    }
    const otp = reason === 'protocol_error' || reason === 'node_stopped' ? 'connection_closed' : reason
    this.o.logger.info({ node: c.peer, reason: otp, err: error }, `nodedown ${c.peer}: ${otp}`)
    this.o.runtime.nodeDown(c.peer)
    this.o.onNodeGone(c.peer)
    this.o.emit('nodedown', c.peer, { reason: otp, type: c.type, ...(error ? { error } : {}) })
  }
}
