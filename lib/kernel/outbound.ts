// Outbound signals: the net kernel's side of the runtime seam (KernelRemote implements the
// runtime's Remote, remote.ts). Each signal to a process on another node becomes one control
// frame (frames.ts) queued on the connection to that node, connecting on first use; inbound
// ones are dispatch.ts's.
import type { Remote, RemoteName, SpawnOptions } from '../process/remote.js'
import type { Codec } from '../terms/codec.js'
import type { NetKernel } from './net-kernel.js'
import type { SpawnRequests } from './spawn-requests.js'
import type { RpcRequests } from './rpc-requests.js'
import { describeCall, outcomeResult, type RpcOptions, type RpcOutcome } from '../process/rpc.js'

/** Start an rpc toward an Erlang/OTP node (erpc); false when `node` is not one (see KernelRemote). */
export type ErlangRpc = (
  node: string,
  id: number,
  from: Pid | undefined,
  mod: string,
  fun: string,
  args: unknown[],
  outcome: Promise<RpcOutcome>,
) => boolean
import type { Ref } from '../terms/ref.js'
import { Pid } from '../terms/pid.js'
import { NetkernelError, abortError } from '../errors.js'
import { ALIAS_SEND, DEMONITOR, DOWN, EXIT, EXIT2, LINK, MONITOR, REG_SEND, RPC_CALL, SEND, SPAWN_REQUEST, UNLINK } from './frames.js'

export class KernelRemote implements Remote {
  constructor(
    private readonly k: NetKernel,
    private readonly codec: Codec,
    private readonly spawns: SpawnRequests,
    private readonly rpcs: RpcRequests,
    /**
     * The erpc client (otp/erpc-client.ts): starts call `id` and returns true when `node` is
     * an Erlang/OTP node (connected), false to send a native RPC_CALL.
     */
    private readonly erlangRpc?: ErlangRpc,
  ) {}

  // Every signal carries an order key, its sender's (orderKey): a signal never overtakes a
  // large message its sender sent before, still in flight, whatever either was addressed to —
  // a pid or a registered name may be the same process (keys by destination let a message to a
  // pid overtake a large one sent to its name, and an EXIT the message before it). As on OTP's
  // connections, a process's signals leave in the order it sent them; other processes' small
  // messages still pass its large ones.

  // A message is urgent (net-kernel.ts send): its sender may be about to wait for the reply.
  // The other signals wait for the end of the turn or for a message after them.

  send(from: Pid | undefined, to: Pid, msg: unknown): boolean {
    return this.k.send(to.node, [SEND, to, msg], orderKey(from), true)
  }

  regSend(from: Pid | undefined, name: string, node: string, msg: unknown): boolean {
    return this.k.send(node, [REG_SEND, from ?? null, name, msg], orderKey(from), true)
  }

  aliasSend(from: Pid | undefined, alias: Ref, msg: unknown, fallback?: Pid): boolean {
    if (fallback !== undefined && this.k.up.get(alias.node)?.aliasSend !== true) return this.send(from, fallback, msg)
    return this.k.sendAlias(alias.node, [ALIAS_SEND, from ?? null, alias, msg], orderKey(from))
  }

  link(from: Pid, to: Pid): void {
    this.k.send(to.node, [LINK, from, to], from.id)
  }

  unlink(from: Pid, to: Pid): void {
    this.k.send(to.node, [UNLINK, from, to], from.id)
  }

  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    this.k.send(to.node, [viaLink ? EXIT : EXIT2, from, to, reason], from.id)
  }

  monitor(from: Pid, target: Pid | RemoteName, ref: Ref): void {
    if (target instanceof Pid) this.k.send(target.node, [MONITOR, from, target, ref], from.id)
    else this.k.send(target[1], [MONITOR, from, target[0], ref], from.id)
  }

  demonitor(from: Pid, target: Pid | RemoteName, ref: Ref): void {
    if (target instanceof Pid) this.k.send(target.node, [DEMONITOR, from, target, ref], from.id)
    else this.k.send(target[1], [DEMONITOR, from, target[0], ref], from.id)
  }

  drain(node: string, signal?: AbortSignal): Promise<void> {
    return this.k.drain(node, signal)
  }

  busy(node: string): boolean {
    return this.k.busy(node)
  }

  down(watcher: Pid, ref: Ref, _target: Pid | string, reason: unknown, from?: Pid): void {
    // A DOWN only makes sense on a live connection: if it is gone, the watcher's side has
    // already seen 'noconnection'. It comes after what the process that died sent.
    if (this.k.isConnected(watcher.node)) this.k.send(watcher.node, [DOWN, watcher, ref, reason], orderKey(from))
  }

  spawn(from: Pid | undefined, node: string, mod: string, fun: string, args: unknown[], opts: SpawnOptions): Promise<Pid> {
    const id = this.spawns.nextId()
    let frame: Buffer
    try {
      frame = this.codec.encodeFrame([SPAWN_REQUEST, id, from ?? null, mod, fun, args, opts.link === true])
    } catch (err) {
      return Promise.reject(err) // e.g. an argument that is not a term: ERR_ENCODE
    }
    const promise = this.spawns.open(node, id, `${mod}:${fun}/${args.length}`)
    this.k.write(node, frame, orderKey(from)) // (after what `from` sent before: OTP's spawn_request is its signal)
    return promise
  }

  rpc(from: Pid | undefined, node: string, mod: string, fun: string, args: unknown[], opts: RpcOptions): Promise<unknown> {
    const what = describeCall(node, mod, fun, args)
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal, `rpc ${what}`))
    const id = this.rpcs.nextId()
    const outcome = this.rpcs.open(node, id, what, opts)
    const start = (): void => {
      try {
        // Toward an Erlang/OTP node the call is erpc's (otp/erpc-client.ts); else an RPC_CALL frame.
        if (this.erlangRpc?.(node, id, from, mod, fun, args, outcome) !== true) {
          this.k.send(node, [RPC_CALL, id, from ?? null, mod, fun, args], orderKey(from))
        }
      } catch (err) {
        this.rpcs.fail(node, id, err as Error) // e.g. an argument that is not a term: ERR_ENCODE
      }
    }
    // Which protocol the node speaks is known once connected: the call waits for the connection
    // (a failed setup fails it through onNodeGone), queued behind what was sent before it.
    if (this.k.isConnected(node)) start()
    else
      void this.k.connect(node).then(up => {
        if (up) start()
        else this.rpcs.fail(node, id, new NetkernelError('ERR_CONNECTION_CLOSED', `rpc ${what}: noconnection`))
      })
    return outcome.then(o => outcomeResult(o, what))
  }

  ensureConnected(node: string): void {
    if (!this.k.isConnected(node)) this.k.ensure(node)
  }

  isConnected(node: string): boolean {
    return this.k.isConnected(node)
  }
}

/** The order key of signals no process sent (pid ids are never negative). */
const NO_SENDER = -1

/**
 * The order key of the signals of `from`: its pid's id (unique among this node's processes),
 * or NO_SENDER for what is sent from outside any process (node.send), ordered among itself.
 */
function orderKey(from: Pid | undefined): number {
  return from === undefined ? NO_SENDER : from.id
}
