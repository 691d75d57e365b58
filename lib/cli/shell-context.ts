// The functions the shell defines, as in erl: self(), spawn(Node, Mod, Fun, Args), flush(),
// nodes(), net_kernel.connect_node(...)... bound to the node and the shell process. They take
// and return JavaScript terms: strings for atoms, arrays for tuples.
import type { Node, NodeKind, Dest } from '../node.js'
import type { Match, MonitorTarget, ProcessFn } from '../process/runtime.js'
import { NetkernelError, ReceiveTimeoutError } from '../errors.js'
import { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import { nodeOf } from '../terms/node-of.js'
import { OK, formatTerm } from './shell-format.js'
import { shellHelpText } from './shell-help.js'
import type { ShellProcess } from './shell-process.js'

export interface ShellIO {
  /** Print one line above the next prompt. */
  print(line: string): void
  /** Aborted when the person presses Ctrl+C during the current evaluation. */
  signal(): AbortSignal | undefined
  /** Leave the shell (after the current line's result is printed). */
  quit(): void
}

const KINDS: readonly string[] = ['visible', 'hidden', 'connected']

function bad(what: string): never {
  throw new NetkernelError('ERR_BAD_ARGUMENT', what)
}

function nodeName(v: unknown, fn: string): string {
  if (typeof v !== 'string' || v === '') bad(`${fn}: expected a node name such as 'bar@host', got ${formatTerm(v)}`)
  return v
}

export function shellContext(node: Node, shell: ShellProcess, io: ShellIO): Record<string, unknown> {
  const proc = () => shell.current

  function spawnWith(link: boolean, args: unknown[]): Pid | Promise<Pid> {
    const p = proc()
    const [a, b, c, d] = args
    if (typeof a === 'function') return link ? p.spawnLink(a as ProcessFn) : p.spawn(a as ProcessFn)
    // spawn(Mod, Fun, Args) on this node, or spawn(Node, Mod, Fun, Args)
    const local = args.length === 3 && Array.isArray(c)
    const [where, mod, fun, fargs] = local ? [node.name, a, b, c] : [a, b, c, d ?? []]
    if (typeof where !== 'string' || typeof mod !== 'string' || typeof fun !== 'string' || !Array.isArray(fargs)) {
      bad('spawn(node, mod, fun, args), spawn(mod, fun, args) or spawn(fn)')
    }
    return link ? p.spawnLink(where, mod, fun, fargs) : p.spawn(where, mod, fun, fargs)
  }

  async function receive(match?: Match | number, timeout?: number): Promise<unknown> {
    if (typeof match === 'number' && timeout === undefined) return receive(undefined, match)
    if (match !== undefined && typeof match !== 'function')
      bad("receive(match?, timeout?): match is a predicate, e.g. m => m[0] === 'reply'")
    return proc().receive(match, { timeout, signal: io.signal() })
  }

  async function flush(): Promise<typeof OK> {
    const p = proc()
    for (;;) {
      let m: unknown
      try {
        m = await p.receive(undefined, { timeout: 0 })
      } catch (err) {
        if (err instanceof ReceiveTimeoutError) return OK
        throw err
      }
      io.print(`Shell got ${formatTerm(m)}`)
    }
  }

  function connect(n: unknown): Promise<boolean> {
    return node.connect(nodeName(n, 'net_kernel.connect_node'))
  }

  return {
    self: () => proc().self,
    node: (item?: Pid | Ref) => (item === undefined ? node.name : nodeOf(item)),
    nodes: (kind: NodeKind = 'visible') => {
      if (!KINDS.includes(kind)) bad(`nodes(kind): kind is 'visible', 'hidden' or 'connected', got ${formatTerm(kind)}`)
      return node.nodes(kind)
    },
    spawn: (...args: unknown[]) => spawnWith(false, args),
    spawn_link: (...args: unknown[]) => spawnWith(true, args),
    send: (dest: Dest, msg: unknown) => {
      proc().send(dest, msg)
      return msg
    },
    flush,
    receive,
    register: (name: string, pid: Pid) => {
      node.register(name, pid)
      return true
    },
    unregister: (name: string) => {
      node.unregister(name)
      return true
    },
    whereis: (name: string) => node.whereis(name),
    registered: () => node.registered(),
    exit: (...args: unknown[]) => {
      if (args.length >= 2) {
        if (!(args[0] instanceof Pid)) bad(`exit(pid, reason): expected a pid, got ${formatTerm(args[0])}`)
        proc().exit(args[0], args[1])
        return true
      }
      return proc().exit(args[0])
    },
    link: (pid: Pid) => {
      proc().link(pid)
      return true
    },
    unlink: (pid: Pid) => {
      proc().unlink(pid)
      return true
    },
    monitor: (a: unknown, b?: unknown) => proc().monitor((a === 'process' && b !== undefined ? b : a) as MonitorTarget),
    demonitor: (ref: Ref, opts?: { flush?: boolean }) => proc().demonitor(ref, opts),
    monitor_node: (n: unknown, flag = true) => {
      proc().monitorNode(nodeName(n, 'monitor_node'), flag)
      return true
    },
    process_flag: (flag: unknown, value: unknown) => {
      if (flag !== 'trap_exit') bad(`process_flag: only 'trap_exit' is supported, got ${formatTerm(flag)}`)
      return proc().trapExit(Boolean(value))
    },
    make_ref: () => proc().makeRef(),
    net_kernel: Object.freeze({ connect_node: connect, connect }),
    net_adm: Object.freeze({ ping: async (n: unknown) => ((await connect(n)) ? 'pong' : 'pang') }),
    disconnect_node: (n: unknown) => node.disconnect(nodeName(n, 'disconnect_node')),
    set_cookie: (a: string, b?: string) => {
      if (b === undefined) node.setCookie(a)
      else node.setCookie(nodeName(a, 'set_cookie'), b)
      return true
    },
    get_cookie: (n?: string) => node.getCookie(n),
    is_alive: () => node.address !== undefined,
    help: () => {
      io.print(shellHelpText())
      return OK
    },
    q: () => {
      io.quit()
      return OK
    },
    halt: () => {
      io.quit()
      return OK
    },
  }
}
