// The net kernel: the node table. It owns every connection, connects on first use, runs the
// handshake in both directions, settles simultaneous dials (the greater name wins, as in
// OTP), and turns connection loss into nodedown. What crosses a connection is in
// dispatch.ts (inbound) and remote-ops.ts (outbound); what the kernel is built with is in
// kernel-options.ts, the record of a connection being set up in pending.ts.
import type { Conn, Listener } from './strategy.js'
import { DEFAULT_LIMITS, type KernelLimits, type KernelOptions } from './kernel-options.js'
import type { Pending } from './pending.js'
import { Connection, type DownReason } from './connection.js'
import { DEFAULT_HIGH_WATER, type OrderKey } from './outbox.js'
import { initiateHandshake, respondHandshake, type Admission, type Established, type HandshakeDeps } from './handshake.js'
import { FailureLimiter } from './failure-limiter.js'
import { HandshakeSlots } from './handshake-slots.js'
import { fullNameProblem } from './node-name.js'
import { HandshakeError, NetkernelError, TransportError } from '../errors.js'
import { NODES } from './frames.js'
import { publishingEmit } from './kernel-events.js'

export type { KernelLimits, KernelOptions, KernelPolicy } from './kernel-options.js'

export class NetKernel {
  readonly up: Map<string, Connection>
  private readonly pending = new Map<string, Pending>()
  private readonly limiter: FailureLimiter
  private readonly limits: KernelLimits
  private readonly slots: HandshakeSlots
  /** Our dials under way (bounded by limits.pendingDials). */
  private dialling = 0
  private dialLimitReported = false
  /** Dials under way that each peer's gossip started (bounded by limits.gossipDialsPerPeer). */
  private readonly hinted = new Map<string, number>()
  private listener: Listener | undefined
  private accepting = false
  private stopped = false
  creation = 0
  private readonly highWater: number
  private readonly o: KernelOptions

  constructor(o: KernelOptions) {
    this.o = { ...o, emit: publishingEmit(o.name, o.emit) }
    this.up = o.connections ?? new Map()
    this.limiter = new FailureLimiter(o.clock, o.stepTimeout)
    this.limits = { ...DEFAULT_LIMITS, ...o.limits }
    this.slots = new HandshakeSlots(this.limits.handshakes, this.limits.handshakesPerAddress)
    this.highWater = o.highWater ?? DEFAULT_HIGH_WATER
  }

  get name(): string {
    return this.o.name
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
    const p = this.ensure(node)
    p.queue.push([frame, key])
    p.bytes += frame.length
    return p.bytes <= this.highWater
  }

  /** Encode and queue a term for `node` (straight into the connection's batch when up). */
  send(node: string, value: unknown, key?: OrderKey): boolean {
    const c = this.up.get(node)
    if (c !== undefined) return c.send(value, key)
    return this.write(node, this.o.codec.encodeFrame(value), key)
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
    let p = this.pending.get(node)
    if (p === undefined) {
      p = this.newPending(node)
      if (this.stopped) return p
      if (this.dialling >= this.limits.pendingDials) this.refuseDial(p)
      else void this.dial(p)
    } else if (!p.requested) {
      p.requested = true
    }
    return p
  }

  /** Connection setups this node is dialling now. */
  get dialsInFlight(): number {
    return this.dialling
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
    this.stopped = true
    this.accepting = false
    for (const p of this.pending.values()) this.fail(p, new NetkernelError('ERR_NODE_STOPPED', `${this.o.name} is stopping`), false)
    for (const c of [...this.up.values()]) c.close('node_stopped')
    await this.listener?.close()
  }

  private newPending(node: string): Pending {
    const p: Pending = { node, queue: [], bytes: 0, requested: true, dial: undefined, superseded: false, inbound: false, timer: undefined, waiters: [] }
    p.timer = this.o.clock.setTimeout(() => {
      const at = p.address === undefined ? '' : ` (dialled ${p.address})`
      this.fail(p, new TransportError('ERR_CONNECT_TIMEOUT', `connection setup to ${node}${at} did not finish within ${this.o.setupTimeout} ms`))
    }, this.o.setupTimeout)
    this.pending.set(node, p)
    return p
  }

  private deps(admit: (name: string, creation: number) => Admission): HandshakeDeps {
    const o = this.o
    return {
      localName: o.name, hidden: o.hidden, longNames: o.longNames, creation: this.creation, codec: o.codec,
      auth: o.auth, cookies: o.cookies, stepTimeout: o.stepTimeout,
      allowNode: o.policy.allowNode ?? (() => true),
      admit,
    }
  }

  /** Over limits.pendingDials: the dial is not started and fails at once (ERR_LIMIT). */
  private refuseDial(p: Pending): void {
    const err = new NetkernelError('ERR_LIMIT', `${this.o.name} is already dialling ${this.dialling} nodes (limits.pendingDials): not dialling ${p.node}`)
    if (!this.dialLimitReported) {
      this.dialLimitReported = true
      this.o.logger.warn({ node: p.node, code: err.code, limit: this.limits.pendingDials }, err.message)
    }
    this.o.clock.clearTimeout(p.timer)
    // Not at once: the caller (connect, send) has yet to take its place in the queue.
    p.timer = this.o.clock.setTimeout(() => {
      this.o.emit('connectError', p.node, { direction: 'out', error: err, code: err.code })
      this.fail(p, err)
    }, 0)
  }

  private async dial(p: Pending): Promise<void> {
    const ac = new AbortController()
    p.dial = ac
    let conn: Conn | undefined
    this.dialling++
    try {
      const addr = await this.o.resolve(p.node, ac.signal)
      p.address = `${addr.host}:${addr.port}`
      conn = await this.o.transport.dial(addr, { signal: ac.signal })
      const deps: HandshakeDeps = {
        ...this.deps(() => 'ok'),
        // The peer still holds a connection to us: replace it, unless this dial is obsolete.
        stillWanted: () => !p.superseded && !p.inbound && !ac.signal.aborted && this.pending.get(p.node) === p && !this.up.has(p.node),
      }
      const est = await initiateHandshake(deps, conn, p.node, ac.signal)
      if (p.superseded || this.pending.get(p.node) !== p) {
        conn.destroy()
        return
      }
      this.established(est)
    } catch (err) {
      conn?.destroy()
      if (p.dial === ac) p.dial = undefined
      const e = err as NetkernelError
      // Lost a simultaneous connect: the peer's own dial to us becomes the connection.
      if (p.superseded || e.code === 'ERR_ALREADY_CONNECTED') {
        p.superseded = true
        if (this.up.has(p.node)) this.settle(p, true)
        return
      }
      this.o.logger.warn({ node: p.node, err: e, code: e.code }, `connection setup to ${p.node} failed`)
      this.o.emit('connectError', p.node, { direction: 'out', address: p.address, error: e, code: e.code })
      this.fail(p, e)
    } finally {
      if (--this.dialling < this.limits.pendingDials / 2) this.dialLimitReported = false
    }
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
        const e = new NetkernelError('ERR_LIMIT', `${this.o.name}: ${refused.limit} handshakes already under way ${where}; refusing more (reported once)`)
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
    let admitted: Pending | undefined
    const ac = new AbortController()
    const timer = this.o.clock.setTimeout(() => ac.abort(new TransportError('ERR_CONNECT_TIMEOUT', `inbound connection from ${address} did not finish its handshake within ${this.o.setupTimeout} ms`)), this.o.setupTimeout)
    try {
      const est = await respondHandshake({
        ...this.deps((name, creation) => this.admit(name, creation)),
        throttle: (name, signal) => {
          claimed = name
          return this.limiter.wait(address, name, signal)
        },
        commit: (name, creation, replace) => {
          const a = this.commit(name, creation, replace)
          if (a === 'ok') admitted = this.pending.get(name)
          return a
        },
      }, conn, ac.signal)
      this.limiter.success(address, est.peer)
      this.established(est)
    } catch (err) {
      const e = err as NetkernelError
      if (e.code !== 'ERR_ALREADY_CONNECTED') this.limiter.failure(address, claimed)
      this.o.logger.warn({ address, err: e, code: e.code }, `inbound connection from ${address} refused`)
      this.o.emit('connectError', admitted?.node, { direction: 'in', address, error: e, code: e.code })
      conn.destroy()
      if (admitted !== undefined && this.pending.get(admitted.node) === admitted) {
        admitted.inbound = false
        if (admitted.dial === undefined) this.fail(admitted, e, admitted.requested)
      }
    } finally {
      this.o.clock.clearTimeout(timer)
    }
  }

  /**
   * Responder, before the peer has authenticated: may a connection from `name` go ahead?
   * Only decides; commit() makes it so once the peer is proven.
   */
  private admit(name: string, creation: number): Admission {
    if (this.stopped) return 'alive'
    const c = this.up.get(name)
    // Connected although it dials: the handshake asks the peer whether our connection is
    // stale, as OTP's 'alive' status does. Another creation: the node restarted (if proven).
    if (c !== undefined) return c.creation === creation ? 'up' : 'ok'
    const p = this.pending.get(name)
    if (p === undefined) return 'ok'
    if (p.inbound) return 'alive'
    // Simultaneous connect: the greater name's dial wins.
    if (p.dial !== undefined && this.o.name > name) return 'nok'
    return 'ok'
  }

  /**
   * Responder, the peer authenticated as `name`: take its connection. A connection up to it
   * is dropped when the peer restarted (another creation) or confirmed ours is stale
   * (`replace`); our own dial to it gives way when the peer's name is greater.
   */
  private commit(name: string, creation: number, replace: boolean): Admission {
    if (this.stopped) return 'alive'
    const c = this.up.get(name)
    if (c !== undefined) {
      if (c.creation === creation && !replace) return 'alive'
      const why = c.creation === creation ? 'reconnects: dropping the stale connection' : 'restarted: dropping the old connection'
      this.o.logger.info({ node: name }, `${name} ${why}`)
      c.destroy('connection_closed')
    }
    let p = this.pending.get(name)
    if (p === undefined) {
      p = this.newPending(name)
      p.requested = false
    } else if (p.inbound) {
      return 'alive'
    } else if (p.dial !== undefined) {
      if (this.o.name > name) return 'nok'
      p.superseded = true
      p.dial.abort(new HandshakeError('ERR_ALREADY_CONNECTED', `simultaneous connect: ${name} wins`))
    }
    p.inbound = true
    return 'ok'
  }

  private established(est: Established): void {
    const { peer } = est
    const p = this.pending.get(peer)
    if (this.stopped || this.up.has(peer)) {
      est.conn.destroy()
      return
    }
    // As in OTP, a connection is hidden when either end is a hidden node: a hidden node's
    // peers are never in its nodes(), and it is never in theirs.
    const hidden = est.hidden || this.o.hidden
    const info = { type: hidden ? 'hidden' : 'visible', transport: est.conn.transport, ...est.auth.info }
    const c = new Connection(peer, est.creation, hidden, est.conn, est.decoder, this.o.codec, {
      onFrame: this.o.onFrame,
      onDown: (conn, reason, error) => this.down(conn, reason, error),
      onNodes: (conn, names) => this.meshHint(conn, names),
    }, this.o.tickTime, this.o.clock, info, this.highWater)
    this.up.set(peer, c)
    this.o.logger.info({ node: peer, type: c.type }, `nodeup ${peer}`)
    this.o.emit('nodeup', peer, { ...info })
    if (p !== undefined) {
      for (const [f, key] of p.queue) c.write(f, key)
      p.queue = []
      p.bytes = 0
      this.settle(p, true)
    }
    c.start(est.leftover)
    if (c.isUp) this.gossip(c)
  }

  /** Mesh: tell a new visible peer which visible nodes we know; it connects to the rest. */
  private gossip(c: Connection): void {
    if (c.type !== 'visible' || this.o.hidden) return
    c.send([NODES, this.nodes('visible').filter(n => n !== c.peer)])
  }

  /**
   * A NODES frame arrived from `from`: connect to the visible nodes we lack. Illegal names
   * are dropped; one peer's gossip has at most limits.gossipDialsPerPeer dials under way.
   */
  private meshHint(from: Connection, names: unknown): void {
    if (!this.o.connectAll || this.o.hidden || from.type !== 'visible' || !Array.isArray(names)) return
    let room = this.limits.gossipDialsPerPeer - (this.hinted.get(from.peer) ?? 0)
    let illegal = 0
    let skipped = 0
    for (const n of names) {
      if (fullNameProblem(n, this.o.longNames) !== undefined) {
        illegal++
        continue
      }
      const name = n as string
      if (name === this.o.name || this.up.has(name) || this.pending.has(name)) continue
      if (room <= 0 || this.dialling >= this.limits.pendingDials) {
        skipped++
        continue
      }
      const p = this.ensure(name)
      p.requested = false
      p.hint = from.peer
      room--
      this.hinted.set(from.peer, (this.hinted.get(from.peer) ?? 0) + 1)
    }
    if (illegal > 0 || skipped > 0) {
      this.o.logger.warn({ node: from.peer, illegal, skipped }, `gossip from ${from.peer}: ${illegal} illegal node names dropped, ${skipped} names not dialled (bound)`)
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

  private fail(p: Pending, err: NetkernelError, report = p.requested): void {
    if (this.pending.get(p.node) !== p) return
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
    if (this.up.get(c.peer) === c) this.up.delete(c.peer)
    const otp = reason === 'protocol_error' || reason === 'node_stopped' ? 'connection_closed' : reason
    this.o.logger.info({ node: c.peer, reason: otp, err: error }, `nodedown ${c.peer}: ${otp}`)
    this.o.runtime.nodeDown(c.peer)
    this.o.onNodeGone(c.peer)
    this.o.emit('nodedown', c.peer, { reason: otp, type: c.type, ...(error ? { error } : {}) })
  }
}
