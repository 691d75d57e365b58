// node.rpc / proc.rpc toward an Erlang/OTP node: erpc's own protocol, as erpc:call speaks it.
//
//   → SPAWN_REQUEST {29, ReqId, From, GL, {erpc, execute_call, 4}, [monitor]} + [Ref, M, F, A]
//     (GL: a process of this node that takes the function's io, group-leader.ts)
//   ← SPAWN_REPLY {31, ReqId, From, Flags, Pid | Error}
//   ← (PAYLOAD_)MONITOR_P_EXIT {21|28, Pid, From, ReqId[, Reason]}: Reason is the answer,
//     {Ref, return | throw | exit, V} or {Ref, error, R, Stack} (erpc.ts)
//
// The call waits in RpcRequests like a native one (timeout, abort, the node lost). Its ReqId
// is added to the connection wire's `claimed` set, so the wire hands the reply and the DOWN
// to the OTP dispatcher (as OtpMessages), which brings them here.
import { Pid } from '../../terms/pid.js'
import { Ref } from '../../terms/ref.js'
import { Atom, atom } from '../../terms/atom.js'
import { tuple } from '../../terms/tuple.js'
import { SpawnError } from '../../errors.js'
import type { RpcRequests } from '../rpc-requests.js'
import { OtpMessage } from './otp-message.js'
import { A, erpcOutcome, reasonIn } from './erpc.js'

const DOP_SPAWN_REQUEST = 29
const DOP_SPAWN_REPLY = 31
const DOP_MONITOR_P_EXIT = 21
const DOP_PAYLOAD_MONITOR_P_EXIT = 28
const EXECUTE_CALL = tuple(A.erpc, A.execute_call, 4)
const OPTS = [A.monitor]

/** What the client needs of a connection to an OTP node. */
export interface ErpcConnection {
  readonly peer: string
  send(value: unknown, key?: number | string): boolean
}

export interface ErpcClientDeps {
  /** This node's name and creation (refs and the pid that calls for no process). */
  localName(): string
  creation(): number
  rpcs: RpcRequests
  /** The group leader the called Erlang function gets (its io goes there: group-leader.ts). */
  groupLeader?(): Pid | undefined
}

/** Calls given up on (timeout, abort) whose DOWN is still expected, at most (the oldest are forgotten). */
const ABANDONED_KEPT = 1024

interface Call {
  id: number
  node: string
  ref: Ref
  claimed: Set<string>
  mod: string
  fun: string
  arity: number
}

export class ErpcClient {
  private readonly calls = new Map<string, Call>()
  /** ReqId keys of calls given up on: their late reply and DOWN are taken here quietly. */
  private readonly abandoned = new Map<string, Call>()
  private nextRef = 1
  private readonly salt = (Math.random() * 0x100000000) >>> 0

  constructor(private readonly d: ErpcClientDeps) {}

  /** A reference of this node, three words like OTP's (erpc matches its answer on it). */
  private makeRef(): Ref {
    const n = this.nextRef++
    const id0 = n & 0x3ffff
    return new Ref(this.d.localName(), id0, this.d.creation(), [id0, (n / 0x40000) >>> 0, this.salt])
  }

  /**
   * Start call `id` (already open in RpcRequests) of mod:fun(args) on the OTP node behind
   * `conn`; `claimed`: that connection's wire set of ReqIds whose replies come back here.
   * Throws (ERR_ENCODE, ERR_BAD_ARGUMENT for a name that cannot be an atom) when it cannot be sent.
   */
  call(
    conn: ErpcConnection,
    claimed: Set<string>,
    id: number,
    from: Pid | undefined,
    mod: string,
    fun: string,
    args: unknown[],
    outcome: Promise<unknown>,
  ): void {
    const m = atom(mod)
    const f = atom(fun)
    const reqId = this.makeRef()
    const ref = this.makeRef()
    const caller = from ?? this.nobody()
    const gl = this.d.groupLeader?.() ?? caller
    const c: Call = { id, node: conn.peer, ref, claimed, mod, fun, arity: args.length }
    this.calls.set(reqId.key, c)
    claimed.add(reqId.key)
    try {
      conn.send(new OtpMessage(tuple(DOP_SPAWN_REQUEST, reqId, caller, gl, EXECUTE_CALL, OPTS), [ref, m, f, args]), caller.id)
    } catch (err) {
      this.forget(reqId.key)
      throw err
    }
    // Settled by its answer (already forgotten), or given up on: timeout, abort, the node lost.
    const done = (): void => this.giveUp(reqId.key)
    outcome.then(done, done)
  }

  /** The pid of this node that calls for no process (node.rpc outside any process). */
  private nobody(): Pid {
    return new Pid(this.d.localName(), 0, 0, this.d.creation())
  }

  /**
   * An OtpMessage the wire handed over because its ReqId is claimed: the spawn reply or the
   * DOWN of one of our calls. False when it is none of ours (the dispatcher counts it).
   */
  message(peer: string, m: OtpMessage): boolean {
    const op = m.op
    const reqId =
      op === DOP_SPAWN_REPLY ? m.control[1] : op === DOP_MONITOR_P_EXIT || op === DOP_PAYLOAD_MONITOR_P_EXIT ? m.control[3] : undefined
    if (!(reqId instanceof Ref)) return false
    const gone = this.abandoned.get(reqId.key)
    if (gone !== undefined && gone.node === peer) {
      // The late answer of a call given up on: dropped; once its DOWN came, nothing more will.
      if (op !== DOP_SPAWN_REPLY || m.control[4] instanceof Atom) {
        this.abandoned.delete(reqId.key)
        gone.claimed.delete(reqId.key)
      }
      return true
    }
    const c = this.calls.get(reqId.key)
    if (c === undefined || c.node !== peer) return false
    const what = `${c.mod}:${c.fun}/${c.arity} on ${peer}`
    if (op === DOP_SPAWN_REPLY) {
      const result = m.control[4]
      if (result instanceof Atom) {
        // No process: erpc:call raises {erpc, Reason} (notsup: the node has no spawn_request).
        this.forget(reqId.key)
        this.d.rpcs.settle(
          peer,
          c.id,
          'badrpc',
          { code: 'ERR_SPAWN_FAILED', message: `${peer} refused to run erpc:execute_call/4: ${result.name}` },
          undefined,
        )
      }
      return true // a pid: the answer comes with the DOWN
    }
    const reason = op === DOP_MONITOR_P_EXIT ? m.control[4] : m.payload
    this.forget(reqId.key)
    const o = erpcOutcome(c.ref, reason)
    if (o === undefined) {
      // It ended without an answer: killed, or an exit signal (erpc: exit({signal, Reason})).
      this.d.rpcs.settle(peer, c.id, 'exit', reasonIn(reason), undefined)
    } else if (o.kind === 'error' && isUndefOf(o, c)) {
      this.d.rpcs.fail(
        peer,
        c.id,
        new SpawnError(
          'ERR_SPAWN_UNKNOWN_FUNCTION',
          `rpc ${what}: undef (${peer} has no ${c.mod}:${c.fun}/${c.arity}, or no module ${c.mod})`,
        ),
      )
    } else {
      const value = o.kind === 'return' ? o.value : o.reason
      this.d.rpcs.settle(peer, c.id, o.kind, value, o.kind === 'error' ? o.stack : undefined)
    }
    return true
  }

  /** Calls waiting for an answer. */
  get size(): number {
    return this.calls.size
  }

  /** Forget the calls to `node`: the connection is gone (RpcRequests failed them), and its wire with it. */
  failNode(node: string): void {
    for (const [key, c] of this.calls) if (c.node === node) this.forget(key)
    for (const [key, c] of this.abandoned) if (c.node === node) this.abandoned.delete(key)
  }

  /** A call no longer waited for that has not been answered: keep taking its answer, quietly. */
  private giveUp(key: string): void {
    const c = this.calls.get(key)
    if (c === undefined) return
    this.calls.delete(key)
    this.abandoned.set(key, c)
    if (this.abandoned.size > ABANDONED_KEPT) {
      const [oldest, o] = this.abandoned.entries().next().value as [string, Call]
      this.abandoned.delete(oldest)
      o.claimed.delete(oldest)
    }
  }

  private forget(key: string): void {
    const c = this.calls.get(key)
    if (c === undefined) return
    this.calls.delete(key)
    c.claimed.delete(key)
  }
}

/** error:undef raised for the very function called: [{M, F, Args | Arity, _} | _]. */
function isUndefOf(o: { reason: unknown; stack?: unknown }, c: Call): boolean {
  if (o.reason !== A.undef || !Array.isArray(o.stack)) return false
  const top = o.stack[0] as unknown[] | undefined
  if (!Array.isArray(top) || top.length < 3) return false
  const arity = Array.isArray(top[2]) ? top[2].length : top[2]
  return top[0] === atom(c.mod) && top[1] === atom(c.fun) && arity === c.arity
}
