// Process aliases (Erlang/OTP 24's alias/0,1 and unalias/1): a reference a process makes so
// that others can send to it without knowing its pid, and that it can deactivate — after which
// whatever is sent to it is dropped, as a message to a dead pid is. A request/reply protocol
// gives the requester's alias instead of its pid; a reply that comes after the requester gave
// up (it unaliased) never lands in its mailbox.
//
// An alias is a ref of this node (three words, two of them random: ref-words.ts), so a peer
// cannot reach a process through an alias it was not given. Only the process that made an
// alias can deactivate it; its exit deactivates all of its aliases.
import type { Ref } from '../terms/ref.js'
import type { Process } from './process.js'

export interface AliasOptions {
  /**
   * Deactivate the alias once one message has come through it (alias([reply]) in Erlang): for
   * a request that has one answer. Default false: active until unalias() or the process exits.
   */
  reply?: boolean
}

interface Entry {
  readonly p: Process
  readonly once: boolean
}

export class Aliases {
  /** Active aliases by ref key. */
  private readonly table = new Map<string, Entry>()

  /** Number of active aliases (node.stats). */
  get size(): number {
    return this.table.size
  }

  /** `ref` (a fresh ref of this node) becomes an alias of `p`. */
  add(p: Process, ref: Ref, opts: AliasOptions | undefined): void {
    const key = ref.key
    this.table.set(key, { p, once: opts?.reply === true })
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

  /** Alias ! Msg: true when an active alias took it (a reply alias is spent by it). */
  deliver(ref: Ref, msg: unknown): boolean {
    const key = ref.key
    const e = this.table.get(key)
    if (e === undefined || e.p.dead) return false
    if (e.once) {
      this.table.delete(key)
      e.p.aliases?.delete(key)
    }
    e.p.deliver(msg)
    return true
  }

  /** `p` exited: its aliases are gone. */
  onExit(p: Process): void {
    const keys = p.aliases
    if (keys === undefined) return
    for (const key of keys) this.table.delete(key)
    p.aliases = undefined
  }
}
