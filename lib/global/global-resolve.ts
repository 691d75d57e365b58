// Name conflicts (two processes registered under one name on two sides of a healed partition):
// OTP's global:resolve_it/4, run on the node of the process registered on the side that
// resolves (the side whose node name sorts first), with the method that process was
// registered with. The three methods OTP provides, exactly:
//   random_exit   (global:random_exit_name/3, the default): the process on the node whose name
//                 sorts last is killed (exit(Pid, kill)); the other keeps the name.
//   random_notify (random_notify_name/3): that process is sent {global_name_conflict, Name}
//                 and loses the name; the other keeps it.
//   notify_all    (notify_all_name/3): both are sent {global_name_conflict, Name, OtherPid};
//                 neither keeps the name.
// Despite the names, nothing is random: "min" and "max" compare the nodes of the two pids.
// A method that is not one of these (an Erlang fun this node cannot run) is treated as
// random_exit, and logged.
import type { Pid } from '../terms/pid.js'
import { tuple } from '../terms/tuple.js'
import type { Logger } from '../logger.js'
import type { ModuleDef, Proc } from '../process/types.js'
import { G, exposeName, methodOf } from './global-terms.js'

/** Which pid wins (or G.none), telling the loser(s) as the method says. */
export function resolveConflict(
  method: unknown,
  name: unknown,
  pid1: Pid,
  pid2: Pid,
  send: (to: Pid, msg: unknown) => void,
  exit: (pid: Pid, reason: unknown) => void,
  log: Logger,
): Pid | typeof G.none {
  const m = methodOf(method)
  if (m === undefined)
    log.warn({ name: exposeName(name) }, 'global: a name conflict with a resolve method this node cannot run: random_exit used')
  const [min, max] = pid1.node < pid2.node ? [pid1, pid2] : [pid2, pid1]
  if (m === 'notify_all') {
    send(pid1, tuple(G.conflict, name, pid2))
    send(pid2, tuple(G.conflict, name, pid1))
    return G.none
  }
  if (m === 'random_notify') {
    send(max, tuple(G.conflict, name))
    return min
  }
  log.info({ name: exposeName(name), pid: max.toString() }, `global: Name conflict terminating ${exposeName(name)} ${max.toString()}`)
  exit(max, 'kill')
  return min
}

/** The module `global` with resolve_it/4, which OTP nodes (and netkernel ones) call by rpc. */
export function globalModule(log: Logger): ModuleDef {
  return {
    resolve_it: (proc: Proc, method: unknown, name: unknown, pid1: Pid, pid2: Pid) =>
      resolveConflict(
        method,
        name,
        pid1,
        pid2,
        (to, msg) => proc.send(to, msg),
        (p, r) => proc.exit(p, r),
        log,
      ),
  }
}
