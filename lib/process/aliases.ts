// Process aliases (Erlang/OTP 24's alias/0,1 and unalias/1): a reference a process makes so
// that others can send to it without knowing its pid, and that it can deactivate — after which
// whatever is sent to it is dropped, as a message to a dead pid is. A request/reply protocol
// gives the requester's alias instead of its pid; a reply that comes after the requester gave
// up (it unaliased) never lands in its mailbox.
//
// A monitor's ref can be an alias too (monitor/3's {alias, Mode}, how OTP's gen:call waits):
// 'demonitor' ties the alias to the monitor (demonitor() or its DOWN ends both), and
// 'reply_demonitor' also ends both at the first message through the alias — the reply.
//
// An alias is a ref of this node (three words, two of them random: ref-words.ts), so a peer
// cannot reach a process through an alias it was not given. Only the process that made an
// alias can deactivate it; its exit deactivates all of its aliases.
import type { Ref } from '../terms/ref.js'
import type { Process } from './process.js'

/** How a monitor's ref is also an alias (monitor/3's `{alias, Mode}`): see MonitorOptions. */
export type MonitorAlias = 'explicit_unalias' | 'demonitor' | 'reply_demonitor'

/** How an alias ends besides unalias() and its process's exit. */
type Mode = 'explicit' | 'once' | 'demonitor' | 'reply_demonitor'

export interface AliasOptions {
  /**
   * Deactivate the alias once one message has come through it (alias([reply]) in Erlang): for
   * a request that has one answer. Default false: active until unalias() or the process exits.
   */
  reply?: boolean
}

interface Entry {
  readonly p: Process
  readonly mode: Mode
  readonly ref: Ref
}

export class Aliases {
  /** Active aliases by ref key. */
  private readonly table = new Map<string, Entry>()

  /** `demonitor(p, ref)`: remove the monitor `ref` of `p`'s (a reply_demonitor alias's reply came). */
  constructor(private readonly demonitor: (p: Process, ref: Ref) => void) {}

  /** `ref` (a fresh ref of this node) becomes an alias of `p`: alias/1's options, or a monitor's mode. */
  add(p: Process, ref: Ref, how: AliasOptions | MonitorAlias | undefined): void {
    const key = ref.key
    const mode: Mode = typeof how === 'string' ? (how === 'explicit_unalias' ? 'explicit' : how) : how?.reply === true ? 'once' : 'explicit'
    this.table.set(key, { p, mode, ref })
    ;(p.aliases ??= new Set()).add(key)
  }

  /** unalias/1: true when `ref` was an active alias of `p` (another process's alias stays). */
  remove(p: Process, ref: Ref): boolean {
    const key = ref.key
    const e = this.table.get(key)
    if (e === undefined || e.p !== p) return false
    this.table.delete(key)
    p.aliases?.delete(key)
    return true
  }

  /** Alias ! Msg: true when an active alias took it (a reply alias is spent by it, and a reply_demonitor's monitor ends). */
  deliver(ref: Ref, msg: unknown): boolean {
    const key = ref.key
    const e = this.table.get(key)
    if (e === undefined || e.p.dead) return false
    if (e.mode === 'once' || e.mode === 'reply_demonitor') {
      this.table.delete(key)
      e.p.aliases?.delete(key)
      if (e.mode === 'reply_demonitor') this.demonitor(e.p, e.ref)
    }
    e.p.deliver(msg)
    return true
  }

  /** `p`'s monitor `ref` ended (demonitor, or its DOWN): an alias tied to it ends too. */
  monitorEnded(p: Process, ref: Ref): void {
    const key = ref.key
    const e = this.table.get(key)
    if (e === undefined || e.p !== p || (e.mode !== 'demonitor' && e.mode !== 'reply_demonitor')) return
    this.table.delete(key)
    p.aliases?.delete(key)
  }

  /** `p` exited: its aliases are gone. */
  onExit(p: Process): void {
    const keys = p.aliases
    if (keys === undefined) return
    for (const key of keys) this.table.delete(key)
    p.aliases = undefined
  }
}
