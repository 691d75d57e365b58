// The net kernel: the node table. It owns every connection, connects on first use, runs the
// handshake in both directions, settles simultaneous dials (the greater name wins, as in
// OTP), and turns connection loss into nodedown. What crosses a connection is in
// dispatch.ts (inbound) and remote-ops.ts (outbound); what the kernel is built with is in
// kernel-options.ts, the record of a connection being set up in pending.ts.
import type { Conn, Listener } from './strategy.js'
import type { KernelOptions } from './kernel-options.js'
import type { Pending } from './pending.js'
import { Connection, type DownReason } from './connection.js'
import { DEFAULT_HIGH_WATER, type OrderKey } from './outbox.js'
import { initiateHandshake, respondHandshake, type Admission, type Established, type HandshakeDeps } from './handshake.js'
import { FailureLimiter } from './failure-limiter.js'
import { NetkernelError, TransportError } from '../errors.js'
import { NODES } from './frames.js'

export type { KernelOptions, KernelPolicy } from './kernel-options.js'

export class NetKernel {
  readonly up = new Map<string, Connection>()
  private readonly pending = new Map<string, Pending>()
  private readonly limiter: FailureLimiter
  private listener: Listener | undefined
  private accepting = false
  private stopped = false
  creation = 0
  private readonly highWater: number

  constructor(private readonly o: KernelOptions) {
    this.limiter = new FailureLimiter(o.clock)
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
    try {
      const c = this.up.get(node)
      if (c !== undefined) return c.send(value, key)
      return this.write(node, this.o.codec.encodeFrame(value), key)
    } catch (err) {
      // Over maxMessageSize: nothing was queued; say where the message was going.
      if ((err as NetkernelError).code !== 'ERR_MESSAGE_TOO_LARGE') throw err
      throw new NetkernelError('ERR_MESSAGE_TOO_LARGE', `cannot send to ${node}: ${(err as Error).message}`, { cause: err })
    }
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
      if (!this.stopped) this.dial(p)
    } else if (!p.requested) {
      p.requested = true
    }
    return p
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

  private async dial(p: Pending): Promise<void> {
    const ac = new AbortController()
    p.dial = ac
    let conn: Conn | undefined
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
      this.o.emit('connectError', p.node, { direction: 'out', error: e, code: e.code })
      this.fail(p, e)
    }
  }

  private accept(conn: Conn): void {
    if (!this.accepting) {
      conn.destroy()
      return
    }
    void this.respond(conn)
  }

  private async respond(conn: Conn): Promise<void> {
    const address = conn.remoteAddress
    let admitted: Pending | undefined
    const ac = new AbortController()
    const timer = this.o.clock.setTimeout(() => ac.abort(new TransportError('ERR_CONNECT_TIMEOUT', `inbound connection from ${address} did not finish its handshake within ${this.o.setupTimeout} ms`)), this.o.setupTimeout)
    try {
      await this.limiter.wait(address, ac.signal)
      const track = (a: Admission, name: string): Admission => {
        if (a === 'ok') admitted = this.pending.get(name)
        return a
      }
      const est = await respondHandshake({
        ...this.deps((name, creation) => track(this.admit(name, creation), name)),
        replace: (name, creation) => track(this.replace(name, creation), name),
      }, conn, ac.signal)
      this.limiter.success(address)
      this.established(est)
    } catch (err) {
      const e = err as NetkernelError
      if (e.code !== 'ERR_ALREADY_CONNECTED') this.limiter.failure(address)
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

  /** Responder bookkeeping: may a connection from `name` go ahead? */
  private admit(name: string, creation: number): Admission {
    if (this.stopped) return 'alive'
    const c = this.up.get(name)
    if (c !== undefined) {
      // The peer dials although we are connected: the handshake asks it whether our
      // connection is stale (then replace() drops it), as OTP's 'alive' status does.
      if (c.creation === creation) return 'up'
      c.destroy('connection_closed') // the node restarted: its old connection is dead
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
      p.dial.abort(new NetkernelError('ERR_ALREADY_CONNECTED', `simultaneous connect: ${name} wins`))
    }
    p.inbound = true
    return 'ok'
  }

  /** The peer confirmed it has no connection to us: ours is stale, drop it and admit again. */
  private replace(name: string, creation: number): Admission {
    const c = this.up.get(name)
    if (c !== undefined && c.creation === creation) {
      this.o.logger.info({ node: name }, `${name} reconnects: dropping the stale connection`)
      c.destroy('connection_closed')
    }
    return this.admit(name, creation)
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
    }, this.o.tickTime, this.o.clock, info, this.highWater, this.o.maxMessageSize)
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

  /** A NODES frame arrived from `from`: connect to the visible nodes we lack. */
  meshHint(from: Connection, names: unknown): void {
    if (!this.o.connectAll || this.o.hidden || from.type !== 'visible' || !Array.isArray(names)) return
    for (const n of names) {
      if (typeof n === 'string' && n !== this.o.name && !this.up.has(n) && !this.pending.has(n)) {
        this.ensure(n).requested = false
      }
    }
  }

  private settle(p: Pending, up: boolean): void {
    this.o.clock.clearTimeout(p.timer)
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
