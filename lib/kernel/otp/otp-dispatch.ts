// What an Erlang/OTP peer asks that netkernel's native frames do not carry: spawn requests
// (spawn/4 and erpc, as a BEAM answers them), the net_kernel and rex services
// (otp-services.ts), and the replies to erpc calls this node made (erpc-client.ts). node.ts
// hands every frame from an OTP connection here first; what this returns false for goes on to
// the native dispatcher (dispatch.ts), with its trust checks and policy.
//
// SPAWN_REQUEST {29, ReqId, From, GL, {M, F, Arity}, Opts} + Args, From a process of the peer:
//
//   {erpc, execute_call, 4} [Ref, M, F, A]  → SPAWN_REPLY {31, ReqId, From, 2, Pid}, then, when
//        M:F(A) has ended, PAYLOAD_MONITOR_P_EXIT {28, Pid, From, ReqId} + {Ref, return, R} |
//        {Ref, throw, V} | {Ref, exit, R} | {Ref, error, R, Stack}; unknown code →
//        {Ref, error, undef, [{M, F, A, []}]}, which rpc:call shows as {badrpc, {'EXIT', {undef, …}}}
//   {erpc, execute_cast, 3} [M, F, A]       → SPAWN_REPLY with the pid; M:F(A) runs, nobody is told
//   M:F/Arity of the node's modules         → SPAWN_REPLY {31, ReqId, From, Flags, Pid}, linked
//        (flag 1) and monitored (flag 2, the DOWN with ReqId) as Opts asked; unknown code still
//        gets a pid, which then exits with {undef, [{M, F, A, []}]}, as on a BEAM
//
// A call is policy op 'rpc' and a spawn op 'spawn' (allowSignal), then policy.allowSpawn; a
// refusal answers SPAWN_REPLY with the atom notsup (no process). Then limits.processesPerPeer
// (process-limit.ts): past it SPAWN_REPLY answers system_limit, as a BEAM whose process table
// is full (rpc:call shows {badrpc, {'EXIT', system_limit}}). A malformed request is counted
// as a protocol refusal and answered badarg when it names a requester.
//
// Registered sends to net_kernel and rex, and monitors of those names, go to the services
// unless a local process is registered under the name.
import { Atom } from '../../terms/atom.js'
import { Tuple, tuple } from '../../terms/tuple.js'
import { Pid } from '../../terms/pid.js'
import { Ref } from '../../terms/ref.js'
import type { Logger } from '../../logger.js'
import type { RemoteInbound } from '../../process/remote.js'
import type { RpcOutcome } from '../../process/rpc.js'
import { SpawnError, type NetkernelError } from '../../errors.js'
import type { KernelPolicy } from '../net-kernel.js'
import type { Refusals } from '../refusals.js'
import type { Permit } from '../dispatch.js'
import { DEFAULT_LIMITS } from '../limits.js'
import { ProcessLimit } from '../process-limit.js'
import { DEMONITOR, MONITOR, REG_SEND } from '../frames.js'
import { OtpMessage } from './otp-message.js'
import { OtpServices, SERVICE_NAMES } from './otp-services.js'
import type { ErpcClient } from './erpc-client.js'
import { A, erpcReason, errorTerm, reasonOut, undefStack } from './erpc.js'

const DOP_SPAWN_REQUEST = 29
const DOP_SPAWN_REPLY = 31
const DOP_MONITOR_P_EXIT = 21
const DOP_PAYLOAD_MONITOR_P_EXIT = 28
const FLAG_LINK = 1
const FLAG_MONITOR = 2

/** What the OTP dispatcher needs of a connection. */
export interface OtpConn {
  readonly peer: string
  send(value: unknown, key?: number | string): boolean
}

/** How a call the services or the erpc server run came out. */
export type ServiceCall =
  | { kind: 'refused' }
  /** Past limits.processesPerPeer: no process (system_limit). */
  | { kind: 'limit' }
  | { kind: 'undef' }
  | { kind: 'ok'; pid: Pid; outcome: Promise<RpcOutcome> }

export interface OtpServiceDeps {
  localName(): string
  logger: Logger
  /** Run M:F(A) for `conn`'s peer through the policy (op 'rpc', allowSpawn) in a new process. */
  callService(conn: OtpConn, from: Pid | undefined, m: Atom, f: Atom, a: unknown[]): Promise<ServiceCall>
}

export interface OtpDispatchDeps {
  localName(): string
  runtime: RemoteInbound
  policy: KernelPolicy
  /** policy.allowSignal as the native dispatcher asks it (dispatch.ts createPermit); undefined: no firewall. */
  permit: Permit | undefined
  refusals: Refusals
  logger: Logger
  erpc: ErpcClient
  /** limits.processesPerPeer's door, shared with the native dispatcher. Default: DEFAULT_LIMITS' bound. */
  processLimit?: ProcessLimit
}

/** Handles a frame from an OTP connection; false: not this dispatcher's, the native one takes it. */
export type OtpDispatcher = (conn: OtpConn, frame: unknown) => boolean

export function createOtpDispatcher(d: OtpDispatchDeps): OtpDispatcher {
  const { runtime, refusals } = d
  const permitted = d.permit ?? (() => true)
  const processLimit =
    d.processLimit ?? new ProcessLimit({ localName: d.localName, runtime, limit: DEFAULT_LIMITS.processesPerPeer, refusals })

  const allowSpawn = async (peer: string, op: 'rpc' | 'spawn', m: string, f: string, detail: object): Promise<boolean> => {
    if (d.policy.allowSpawn === undefined) return true
    try {
      if (await d.policy.allowSpawn(peer, m, f)) return true
    } catch (err) {
      d.logger.warn({ node: peer, err }, `policy.allowSpawn threw for ${m}:${f} from ${peer}`)
    }
    refusals.refuse(peer, op, 'ERR_SPAWN_NOT_ALLOWED', detail, 'refused by policy.allowSpawn')
    return false
  }

  const callService = async (conn: OtpConn, from: Pid | undefined, m: Atom, f: Atom, a: unknown[]): Promise<ServiceCall> => {
    const peer = conn.peer
    const detail = { from, module: m.name, function: f.name, args: a }
    if (!permitted(peer, 'rpc', detail)) return { kind: 'refused' }
    if (!(await allowSpawn(peer, 'rpc', m.name, f.name, detail))) return { kind: 'refused' }
    // (Before the code is looked up: a BEAM cannot start erpc's process to find undef.)
    if (processLimit.refusal(peer, 'rpc', detail) !== undefined) return { kind: 'limit' }
    try {
      const call = runtime.callModule(m.name, f.name, a, peer)
      return { kind: 'ok', pid: call.pid, outcome: call.outcome }
    } catch (err) {
      if (err instanceof SpawnError) return { kind: 'undef' }
      throw err
    }
  }

  const services = new OtpServices({ localName: d.localName, logger: d.logger, callService })

  const spawnReply = (conn: OtpConn, reqId: Ref, to: Pid, flags: number, result: Pid | Atom): void => {
    // (ahead of what the new process sends: its order key, outbound.ts)
    conn.send(new OtpMessage(tuple(DOP_SPAWN_REPLY, reqId, to, flags, result)), result instanceof Pid ? result.id : undefined)
  }

  /** The DOWN of a monitor the requester made with its spawn request (the ref is the ReqId). */
  const down = (conn: OtpConn, pid: Pid, to: Pid, reqId: Ref, reason: unknown): void => {
    try {
      conn.send(new OtpMessage(tuple(DOP_PAYLOAD_MONITOR_P_EXIT, pid, to, reqId), reason), pid.id)
    } catch (err) {
      // A reason with no Erlang form: the requester still learns that the process ended, and why not more.
      const e = err as NetkernelError
      d.logger.warn({ node: conn.peer, err }, `DOWN for ${pid.toString()} to ${conn.peer} cannot carry its reason`)
      conn.send(new OtpMessage(tuple(DOP_PAYLOAD_MONITOR_P_EXIT, pid, to, reqId), errorTerm(e)), pid.id)
    }
  }

  const erpcCall = async (conn: OtpConn, reqId: Ref, from: Pid, args: unknown[], monitor: boolean): Promise<void> => {
    const [ref, m, f, a] = args
    if (!(m instanceof Atom) || !(f instanceof Atom) || !Array.isArray(a)) {
      spawnReply(conn, reqId, from, 0, A.badarg)
      return
    }
    const call = await callService(conn, from, m, f, a)
    if (call.kind === 'refused' || call.kind === 'limit') {
      spawnReply(conn, reqId, from, 0, call.kind === 'limit' ? A.system_limit : A.notsup)
      return
    }
    const flags = monitor ? FLAG_MONITOR : 0
    if (call.kind === 'undef') {
      const reason = tuple(ref, A.error, A.undef, undefStack(m, f, a))
      const pid = runtime.spawnFailing(reason, { forPeer: conn.peer })
      spawnReply(conn, reqId, from, flags, pid)
      if (monitor) down(conn, pid, from, reqId, reason)
      return
    }
    spawnReply(conn, reqId, from, flags, call.pid)
    const o = await call.outcome
    if (!monitor) return
    let reason: Tuple
    try {
      reason = erpcReason(ref, o, m, f, a)
    } catch (err) {
      reason = tuple(ref, A.error, errorTerm(err as Error), [])
    }
    try {
      conn.send(new OtpMessage(tuple(DOP_PAYLOAD_MONITOR_P_EXIT, call.pid, from, reqId), reason), call.pid.id)
    } catch (err) {
      // The result has no Erlang form (a function, too large): erpc raises it as an error.
      d.logger.warn({ node: conn.peer, err }, `the result of ${m.name}:${f.name} cannot be sent to ${conn.peer}`)
      down(conn, call.pid, from, reqId, tuple(ref, A.error, errorTerm(err as Error), undefStack(m, f, a)))
    }
  }

  const erpcCast = async (conn: OtpConn, reqId: Ref, from: Pid, args: unknown[], flags: number): Promise<void> => {
    const [m, f, a] = args
    if (!(m instanceof Atom) || !(f instanceof Atom) || !Array.isArray(a)) {
      spawnReply(conn, reqId, from, 0, A.badarg)
      return
    }
    const call = await callService(conn, from, m, f, a)
    if (call.kind === 'refused') spawnReply(conn, reqId, from, 0, A.notsup)
    else if (call.kind === 'limit') spawnReply(conn, reqId, from, 0, A.system_limit)
    else if (call.kind === 'undef') {
      spawnReply(conn, reqId, from, 0, runtime.spawnFailing(tuple(A.undef, undefStack(m, f, a)), { forPeer: conn.peer }))
    } else spawnReply(conn, reqId, from, flags & ~FLAG_LINK & ~FLAG_MONITOR, call.pid)
  }

  const spawn = async (conn: OtpConn, reqId: Ref, from: Pid, m: Atom, f: Atom, args: unknown[], link: boolean, monitor: boolean) => {
    const peer = conn.peer
    const detail = { from, module: m.name, function: f.name, args, link }
    if (!permitted(peer, 'spawn', detail) || !(await allowSpawn(peer, 'spawn', m.name, f.name, detail))) {
      spawnReply(conn, reqId, from, 0, A.notsup)
      return
    }
    if (processLimit.refusal(peer, 'spawn', detail) !== undefined) {
      spawnReply(conn, reqId, from, 0, A.system_limit)
      return
    }
    const opts = {
      linkTo: link ? from : undefined,
      onExit: monitor ? (reason: unknown) => down(conn, pid, from, reqId, reasonOut(reason)) : undefined,
      forPeer: peer,
    }
    let pid: Pid
    try {
      pid = runtime.spawnModule(m.name, f.name, args, opts)
    } catch (err) {
      if (!(err instanceof SpawnError)) throw err
      pid = runtime.spawnFailing(tuple(A.undef, undefStack(m, f, args)), opts)
    }
    spawnReply(conn, reqId, from, (link ? FLAG_LINK : 0) | (monitor ? FLAG_MONITOR : 0), pid)
  }

  const spawnRequest = (conn: OtpConn, msg: OtpMessage): void => {
    const peer = conn.peer
    const [, reqId, from, , mfa, opts] = msg.control
    const args = msg.payload
    const bad = (why: string): void => {
      refusals.refuse(peer, 'spawn_request', 'ERR_PROTOCOL', { reason: why }, why)
      if (reqId instanceof Ref && from instanceof Pid && from.node === peer) spawnReply(conn, reqId, from, 0, A.badarg)
    }
    if (!(reqId instanceof Ref) || !(from instanceof Pid) || from.node !== peer)
      return bad('a spawn request not from a process of the peer')
    if (!(mfa instanceof Tuple) || mfa.length !== 3 || !(mfa[0] instanceof Atom) || !(mfa[1] instanceof Atom)) {
      return bad('a spawn request without {Module, Function, Arity}')
    }
    if (!Array.isArray(args) || mfa[2] !== args.length) return bad('a spawn request whose arguments are not a list of its arity')
    if (!Array.isArray(opts)) return bad('a spawn request whose options are not a list')
    const link = opts.includes(A.link)
    const monitor = opts.some(o => o === A.monitor || (o instanceof Tuple && o[0] === A.monitor))
    const [m, f] = mfa as unknown as [Atom, Atom, number]
    let work: Promise<void>
    if (m === A.erpc && f === A.execute_call && args.length === 4) work = erpcCall(conn, reqId, from, args, monitor)
    else if (m === A.erpc && f === A.execute_cast && args.length === 3) work = erpcCast(conn, reqId, from, args, 0)
    else work = spawn(conn, reqId, from, m, f, args, link, monitor)
    work.catch((err: unknown) => {
      d.logger.warn({ node: peer, err }, `spawn request ${m.name}:${f.name}/${args.length} from ${peer} failed`)
      spawnReply(conn, reqId, from, 0, A.badarg)
    })
  }

  return (conn, frame) => {
    if (frame instanceof OtpMessage) {
      const op = frame.op
      if (op === DOP_SPAWN_REQUEST) spawnRequest(conn, frame)
      else if (op === DOP_SPAWN_REPLY || op === DOP_MONITOR_P_EXIT || op === DOP_PAYLOAD_MONITOR_P_EXIT) {
        if (!d.erpc.message(conn.peer, frame)) {
          const why = `a reply (${op}) to no erpc call this node made to ${conn.peer}`
          refusals.refuse(conn.peer, 'spawn_reply', 'ERR_PROTOCOL', { reason: why }, why)
        }
      } else {
        const why = `an Erlang control message (${op}) netkernel does not handle`
        refusals.refuse(conn.peer, 'unknown', 'ERR_PROTOCOL', { reason: why }, why)
      }
      return true
    }
    if (!Array.isArray(frame) || typeof frame[2] !== 'string' || !SERVICE_NAMES.has(frame[2])) return false
    // net_kernel or rex, with no local process of that name: the built-in services.
    if (runtime.whereis(frame[2]) !== undefined) return false
    switch (frame[0]) {
      case REG_SEND:
        if (!services.regSend(conn, frame[2], frame[3])) {
          d.logger.debug({ node: conn.peer, name: frame[2] }, `a message to ${frame[2]} from ${conn.peer} that it does not answer: dropped`)
        }
        return true
      case MONITOR:
      case DEMONITOR:
        // gen:call monitors the server first (net_adm:ping does): a service is there as long
        // as the connection is, so the monitor is taken and never fires (the connection's loss
        // tells the watcher noconnection). A DOWN 'noproc' would make every ping 'pang'.
        return true
      default:
        return false
    }
  }
}
