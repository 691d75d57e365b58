// node.global: global names (OTP's `global`), cluster-wide, over both protocols. Reads
// (whereis, registered, send) use this node's replica, as in OTP; register and unregister
// take the cluster's global lock and tell every known node, so they are asynchronous.
//
//   await node.global.register('db', pid)       // true, or false when the name is taken
//   node.global.whereis('db')                   // Pid | undefined
//   node.global.send('db', msg)                 // throws ERR_GLOBAL_NOT_REGISTERED when unknown
//   await node.global.unregister('db')
//   node.global.registered()                    // string[]
//   await node.global.sync()                    // global:sync(): every visible node synced
//
// Names are strings here and atoms toward OTP; names OTP registers as other terms show in
// registered() as erl prints them (see docs/global.md).
import { atom } from '../terms/atom.js'
import { Pid } from '../terms/pid.js'
import type { Runtime } from '../process/runtime.js'
import type { Logger } from '../logger.js'
import { NetkernelError } from '../errors.js'
import { theLocker } from './global-locker.js'
import { ServerEvent, globalServer, type GlobalServerState } from './global-server.js'
import { RegistrarRequest, registerFn, registrar, unregisterFn } from './global-registrar.js'
import { globalModule } from './global-resolve.js'
import { DEFAULT_TABLE_LIMITS, type GlobalTables, type TableLimits } from './global-tables.js'
import { G, exposeName, methodTerm, type ResolveMethod } from './global-terms.js'

export type { ResolveMethod } from './global-terms.js'

export interface GlobalRegisterOptions {
  /**
   * What happens to this name when a healed partition finds it registered on both sides
   * (OTP's resolve methods; docs/global.md): 'random_exit' (default) kills the process on the
   * node whose name sorts last; 'random_notify' sends it {global_name_conflict, Name};
   * 'notify_all' sends both {global_name_conflict, Name, OtherPid} and unregisters the name.
   */
  resolve?: ResolveMethod
  /** Milliseconds to get the cluster's lock (default 30 000). */
  timeout?: number
}

export interface GlobalDeps {
  runtime: Runtime
  logger: Logger
  connect(node: string): Promise<boolean>
  disconnect(node: string): void
  isVisible(node: string): boolean
  visibleNodes(): string[]
  limits?: Partial<TableLimits>
  /** The node's connectAll (default true): false meets no peer, as OTP's -connect_all false (global-server.ts). */
  connectAll?: boolean
}

const METHODS = new Set<ResolveMethod>(['random_exit', 'random_notify', 'notify_all'])

export class GlobalNames {
  private readonly holder: { tables?: GlobalTables; server?: GlobalServerState; locker?: Pid } = {}
  private serverPid: Pid | undefined
  private registrarPid: Pid | undefined
  /** Register/unregister/sync calls under way: failed when the node stops. */
  private readonly pending = new Set<(err: Error) => void>()

  /** @internal startNode() starts it (startGlobal). */
  constructor(private readonly d: GlobalDeps) {}

  /** @internal Spawn and register the server, its locker and the registrar; define module `global`. */
  start(): void {
    const { runtime, logger } = this.d
    runtime.defineModule('global', globalModule(logger))
    const limits = { ...DEFAULT_TABLE_LIMITS, ...this.d.limits }
    this.serverPid = runtime.spawn(
      globalServer(
        {
          logger,
          connectAll: this.d.connectAll ?? true,
          connect: n => this.d.connect(n),
          disconnect: n => this.d.disconnect(n),
          isVisible: n => this.d.isVisible(n),
          rpc: (n, args) => runtime.rpc(n, 'global', 'resolve_it', args, { timeout: 10_000 }),
          limits,
          maxListLength: limits.maxNamesPerNode * 4,
          maxKnownNodes: 1000,
        },
        this.holder,
        tables => runtime.spawn(theLocker(tables, logger)),
      ),
    )
    runtime.register(G.server, this.serverPid)
    this.registrarPid = runtime.spawn(registrar(() => this.holder.server))
  }

  /** True while the global name server runs (the node is then published toward OTP). */
  get running(): boolean {
    return this.serverPid !== undefined && this.d.runtime.isAlive(this.serverPid)
  }

  /** @internal The node stops: calls under way reject with ERR_NODE_STOPPED. */
  stop(): void {
    this.serverPid = undefined
    this.registrarPid = undefined
    const err = new NetkernelError('ERR_NODE_STOPPED', `${this.d.runtime.node} is stopped: global calls cannot complete`)
    for (const fail of [...this.pending]) fail(err)
  }

  /** @internal The kernel saw a visible node come up or go down. */
  nodeEvent(kind: 'nodeup' | 'nodedown', node: string): void {
    if (this.serverPid !== undefined) this.d.runtime.send(this.serverPid, new ServerEvent(kind, node))
  }

  /**
   * global:register_name/2,3: register `name` for `pid` across the cluster. Resolves true, or
   * false when the name is registered already or `pid` has a global name (OTP's check).
   */
  register(name: string, pid: Pid, opts: GlobalRegisterOptions = {}): Promise<boolean> {
    checkName(name)
    if (!(pid instanceof Pid)) throw new NetkernelError('ERR_BAD_ARGUMENT', 'global.register: expected a Pid')
    const method = opts.resolve ?? 'random_exit'
    if (!METHODS.has(method)) throw new NetkernelError('ERR_BAD_ARGUMENT', `global.register: unknown resolve method ${String(method)}`)
    return this.trans(
      registerFn(atom(name), pid, methodTerm(method), () => this.holder.server),
      opts.timeout,
    ) as Promise<boolean>
  }

  /** global:unregister_name/1: remove `name` across the cluster (nothing when it is not registered). */
  async unregister(name: string, opts: { timeout?: number } = {}): Promise<void> {
    checkName(name)
    if (this.whereis(name) === undefined) return
    await this.trans(unregisterFn(atom(name)), opts.timeout)
  }

  /** global:whereis_name/1 on this node's replica. */
  whereis(name: string): Pid | undefined {
    const e = this.holder.tables?.whereis(atom(name))
    if (e === undefined) return undefined
    if (e.pid.node === this.d.runtime.node && !this.d.runtime.isAlive(e.pid)) return undefined
    return e.pid
  }

  /** global:send/2: `msg` to the process registered as `name`; its pid. Throws ERR_GLOBAL_NOT_REGISTERED. */
  send(name: string, msg: unknown): Pid {
    const pid = this.whereis(name)
    if (pid === undefined) throw new NetkernelError('ERR_GLOBAL_NOT_REGISTERED', `global.send: ${name} is not a registered global name`)
    this.d.runtime.send(pid, msg)
    return pid
  }

  /** global:registered_names/0. */
  registered(): string[] {
    return [...(this.holder.tables?.names.values() ?? [])].map(e => exposeName(e.name))
  }

  /** global:sync/0: resolves once every visible node has been synced with (or went down). */
  sync(opts: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    const server = this.serverPid
    if (server === undefined) return Promise.reject(this.notRunning())
    return new Promise((resolve, reject) => {
      const timeout = opts.timeout ?? 30_000
      const done = (err?: Error): void => {
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
        this.pending.delete(done)
        if (err === undefined) resolve()
        else reject(err)
      }
      this.pending.add(done)
      const timer = setTimeout(
        () => done(new NetkernelError('ERR_GLOBAL_TIMEOUT', `global.sync: not synced within ${timeout} ms`)),
        timeout,
      )
      const onAbort = (): void => done(new NetkernelError('ERR_ABORTED', 'global.sync: aborted'))
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      this.d.runtime.send(server, new ServerEvent('sync', '', { nodes: this.d.visibleNodes(), done: () => done() }))
    })
  }

  /** @internal Table sizes (tests: no leak). */
  sizes(): { names: number; locks: number; holders: number; monitors: number; known: number } {
    const t = this.holder.tables?.sizes() ?? { names: 0, locks: 0, holders: 0, monitors: 0 }
    return { ...t, known: this.holder.server?.known.size ?? 0 }
  }

  /** @internal Nodes this node's global knows (synced, or learnt from one). */
  known(): string[] {
    return [...(this.holder.server?.known.keys() ?? [])]
  }

  /** @internal Messages ignored as malformed, by kind. */
  ignored(): Map<string, number> {
    return new Map(this.holder.server?.ignored ?? [])
  }

  private notRunning(): NetkernelError {
    return new NetkernelError(
      'ERR_NODE_STOPPED',
      `global is not running on ${this.d.runtime.node} (a hidden node, global: false, or stopped)`,
    )
  }

  private trans(fn: RegistrarRequest['fn'], timeout = 30_000): Promise<unknown> {
    const reg = this.registrarPid
    if (reg === undefined) return Promise.reject(this.notRunning())
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        this.pending.delete(fail)
        reject(err)
      }
      this.pending.add(fail)
      const req = new RegistrarRequest(fn, Date.now() + timeout, (r, err) => {
        this.pending.delete(fail)
        if (err === undefined) resolve(r)
        else reject(err)
      })
      if (!this.d.runtime.isAlive(reg)) fail(this.notRunning())
      else this.d.runtime.send(reg, req)
    })
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name.length > 255) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', 'global: a name is a non-empty string of at most 255 characters')
  }
}
