// The processes a BEAM node has and an Erlang/OTP peer talks to (those a C node must emulate),
// served by the kernel when no local process is registered under their name:
//
//   net_kernel  {'$gen_call', {Pid, Tag}, {is_auth, Node}}  → Pid ! {Tag, yes}   (net_adm:ping)
//   rex         {From, features_request}                   → From ! {features_reply, Node, [erpc]}
//               {'$gen_call', {Pid, Tag}, {call | block_call, M, F, A, GL}}  → Pid ! {Tag, Result}
//               {'$gen_cast', {cast, M, F, A, GL}}         → run, no answer
//               {From, {call, M, F, A, GL}}                → From ! {rex, Result}
//
// Result is rpc:call's: the value, a thrown value, {badrpc, {'EXIT', …}} (erpc.ts), and
// {badrpc, {'EXIT', system_limit}} past limits.processesPerPeer. The tag of
// a gen_call is copied verbatim: since OTP 24 it is an improper list [alias | Ref].
import { Atom, atom } from '../../terms/atom.js'
import { Tuple, tuple } from '../../terms/tuple.js'
import { Pid } from '../../terms/pid.js'
import { SEND } from '../frames.js'
import { A, errorTerm, rexResult, rexUndef } from './erpc.js'
import type { OtpServiceDeps, OtpConn } from './otp-dispatch.js'

const GEN_CALL = atom('$gen_call')
const GEN_CAST = atom('$gen_cast')
const IS_AUTH = atom('is_auth')
const FEATURES_REQUEST = atom('features_request')
const FEATURES_REPLY = atom('features_reply')
const CALL = atom('call')
const BLOCK_CALL = atom('block_call')
const CAST = atom('cast')
const REX = atom('rex')

/** The names the kernel answers for when no local process has them. */
export const SERVICE_NAMES: ReadonlySet<string> = new Set(['net_kernel', 'rex'])

export class OtpServices {
  constructor(private readonly d: OtpServiceDeps) {}

  /** A message to `name` (net_kernel or rex) from `peer`; true when it was one of the services' (else it is dropped). */
  regSend(conn: OtpConn, name: string, msg: unknown): boolean {
    if (name === 'net_kernel') return this.netKernel(conn, msg)
    return this.rex(conn, msg)
  }

  private netKernel(conn: OtpConn, msg: unknown): boolean {
    const call = this.genCall(conn, msg)
    if (call === undefined) return false
    const req = call.request
    if (!(req instanceof Tuple) || req[0] !== IS_AUTH) return false
    this.reply(conn, call.pid, tuple(call.tag, A.yes))
    return true
  }

  private rex(conn: OtpConn, msg: unknown): boolean {
    if (!(msg instanceof Tuple)) return false
    if (msg.length === 2 && msg[1] === FEATURES_REQUEST) {
      const from = this.peerPid(conn, msg[0])
      if (from === undefined) return false
      this.reply(conn, from, tuple(FEATURES_REPLY, atom(this.d.localName()), [A.erpc]))
      return true
    }
    if (msg[0] === GEN_CAST && msg.length === 2) {
      const req = msg[1]
      if (!(req instanceof Tuple) || req.length !== 5 || req[0] !== CAST) return false
      this.run(conn, undefined, req[1], req[2], req[3], undefined)
      return true
    }
    const call = this.genCall(conn, msg)
    if (call !== undefined) {
      const req = call.request
      if (!(req instanceof Tuple) || req.length !== 5 || (req[0] !== CALL && req[0] !== BLOCK_CALL)) return false
      this.run(conn, call.pid, req[1], req[2], req[3], result => tuple(call.tag, result))
      return true
    }
    // The hidden/C-node form: {From, {call, M, F, A, GL}} → From ! {rex, Result}.
    if (msg.length === 2 && msg[1] instanceof Tuple) {
      const from = this.peerPid(conn, msg[0])
      const req = msg[1]
      if (from === undefined || req.length !== 5 || req[0] !== CALL) return false
      this.run(conn, from, req[1], req[2], req[3], result => tuple(REX, result))
      return true
    }
    return false
  }

  /** {'$gen_call', {Pid, Tag}, Request} from a process of the peer. */
  private genCall(conn: OtpConn, msg: unknown): { pid: Pid; tag: unknown; request: unknown } | undefined {
    if (!(msg instanceof Tuple) || msg.length !== 3 || msg[0] !== GEN_CALL) return undefined
    const from = msg[1]
    if (!(from instanceof Tuple) || from.length !== 2) return undefined
    const pid = this.peerPid(conn, from[0])
    return pid === undefined ? undefined : { pid, tag: from[1], request: msg[2] }
  }

  /** A pid of the peer's node: a peer speaks only for its own processes. */
  private peerPid(conn: OtpConn, v: unknown): Pid | undefined {
    return v instanceof Pid && v.node === conn.peer ? v : undefined
  }

  private reply(conn: OtpConn, to: Pid, msg: unknown): void {
    try {
      conn.send([SEND, to, msg]) // (a service's answer: no process's order key, outbound.ts)
    } catch (err) {
      // The answer cannot be written (a JS value with no Erlang form): say so instead.
      this.d.logger.warn({ node: conn.peer, err }, `answer to ${to.toString()} on ${conn.peer} cannot be sent`)
      if (msg instanceof Tuple && msg.length === 2) conn.send([SEND, to, tuple(msg[0], tuple(A.badrpc, errorTerm(err as Error)))])
    }
  }

  /**
   * rpc:call's M:F(A) for the rex server: the policy (op 'rpc', then allowSpawn), then the
   * module function in a new process; `answer` wraps the result (undefined: a cast).
   */
  private run(
    conn: OtpConn,
    from: Pid | undefined,
    m: unknown,
    f: unknown,
    a: unknown,
    answer: ((result: unknown) => unknown) | undefined,
  ): void {
    const send = (result: unknown): void => {
      if (answer !== undefined && from !== undefined) this.reply(conn, from, answer(result))
    }
    if (!(m instanceof Atom) || !(f instanceof Atom) || !Array.isArray(a)) {
      send(tuple(A.badrpc, tuple(A.EXIT, tuple(A.badarg, []))))
      return
    }
    void this.d
      .callService(conn, from, m, f, a)
      .then(async r => {
        if (r.kind === 'refused') send(tuple(A.badrpc, A.notsup))
        // What rpc:call gives when erpc's spawn request is answered system_limit.
        else if (r.kind === 'limit') send(tuple(A.badrpc, tuple(A.EXIT, A.system_limit)))
        else if (r.kind === 'undef') send(rexUndef(m, f, a))
        else send(rexResult(await r.outcome, m, f, a))
      })
      .catch((err: unknown) => this.d.logger.warn({ node: conn.peer, err }, `rpc ${m.name}:${f.name} from ${conn.peer} failed`))
  }
}
