// Outbound: the net kernel's side of the runtime seam. Each signal becomes one control frame
// (frames.ts) queued on the connection to the target's node, connecting on first use.
import type { Remote, RemoteName, SpawnOptions } from '../process/remote.js'
import type { Codec } from '../terms/codec.js'
import type { NetKernel } from './net-kernel.js'
import type { SpawnRequests } from './spawn-requests.js'
import type { Ref } from '../terms/ref.js'
import { Pid } from '../terms/pid.js'
import { DEMONITOR, DOWN, EXIT, EXIT2, LINK, MONITOR, REG_SEND, SEND, SPAWN_REQUEST, UNLINK } from './frames.js'

export class KernelRemote implements Remote {
  constructor(
    private readonly k: NetKernel,
    private readonly codec: Codec,
    private readonly spawns: SpawnRequests,
  ) {}

  send(_from: Pid | undefined, to: Pid, msg: unknown): void {
    this.k.send(to.node, [SEND, to, msg])
  }

  regSend(from: Pid | undefined, name: string, node: string, msg: unknown): void {
    this.k.write(node, this.codec.encodeFrame([REG_SEND, from ?? null, name, msg]))
  }

  link(from: Pid, to: Pid): void {
    this.k.write(to.node, this.codec.encodeFrame([LINK, from, to]))
  }

  unlink(from: Pid, to: Pid): void {
    this.k.write(to.node, this.codec.encodeFrame([UNLINK, from, to]))
  }

  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    this.k.write(to.node, this.codec.encodeFrame([viaLink ? EXIT : EXIT2, from, to, reason]))
  }

  monitor(from: Pid, target: Pid | RemoteName, ref: Ref): void {
    const [node, t] = target instanceof Pid ? [target.node, target] : [target[1], target[0]]
    this.k.write(node, this.codec.encodeFrame([MONITOR, from, t, ref]))
  }

  demonitor(from: Pid, target: Pid | RemoteName, ref: Ref): void {
    const [node, t] = target instanceof Pid ? [target.node, target] : [target[1], target[0]]
    this.k.write(node, this.codec.encodeFrame([DEMONITOR, from, t, ref]))
  }

  down(watcher: Pid, ref: Ref, _target: Pid | string, reason: unknown): void {
    // A DOWN only makes sense on a live connection: if it is gone, the watcher's side has
    // already seen 'noconnection'.
    if (this.k.isConnected(watcher.node)) this.k.write(watcher.node, this.codec.encodeFrame([DOWN, watcher, ref, reason]))
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
    this.k.write(node, frame)
    return promise
  }

  ensureConnected(node: string): void {
    if (!this.k.isConnected(node)) this.k.ensure(node)
  }

  isConnected(node: string): boolean {
    return this.k.isConnected(node)
  }
}
