// The functions the shell defines, as in erl: self(), spawn(Node, Mod, Fun, Args), flush(),
// nodes(), net_kernel.connect_node(...), rpc.call(...)... bound to the node and the shell
// process. They take and return JavaScript terms: strings for atoms, arrays for tuples; an
// Atom (atom('server')) is taken wherever a name is. With --erlang the names they return
// (node(), nodes(), registered(), net_adm.ping's pong) are Atoms, so they print as erl's do.
import type { Node, NodeKind, Dest } from '../node.js'
import type { Match, MonitorTarget, ProcessFn } from '../process/runtime.js'
import { NetkernelError, ReceiveTimeoutError } from '../errors.js'
import { Pid } from '../terms/pid.js'
import type { Ref } from '../terms/ref.js'
import { Atom, atom } from '../terms/atom.js'
import { Tuple, tuple } from '../terms/tuple.js'
import { ImproperList } from '../terms/improper-list.js'
import { nodeOf } from '../terms/node-of.js'
import { OK, formatTerm, jsFormat, type ShellFormat } from './shell-format.js'
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

export interface ShellContextOptions {
  /** --erlang: names come back as Atoms; printing as erl's. */
  erlang?: boolean
  /** How flush() prints messages (default jsFormat). */
  format?: ShellFormat
}

const KINDS: readonly string[] = ['visible', 'hidden', 'connected']

function bad(what: string): never {
  throw new NetkernelError('ERR_BAD_ARGUMENT', what)
}

/** A name given as a string or an Atom, as a string. */
function nameOf(v: unknown): unknown {
  return v instanceof Atom ? v.name : v
}

function nodeName(v: unknown, fn: string): string {
  const n = nameOf(v)
  if (typeof n !== 'string' || n === '') bad(`${fn}: expected a node name such as 'bar@host', got ${formatTerm(v)}`)
  return n
}

/** A destination with Atoms for names: [atom('server'), atom('e@vm')] → ['server', 'e@vm']. */
function destOf(d: unknown): Dest {
  if (d instanceof Atom) return d.name
  if (Array.isArray(d) && d.length === 2 && !(d[0] instanceof Pid)) return [nameOf(d[0]), nameOf(d[1])] as Dest
  return d as Dest
}

/** alias()'s options as erl writes them too: alias([reply]) is alias({ reply: true }). */
function aliasOptions(opts: unknown): { reply?: boolean } | undefined {
  if (opts === undefined) return undefined
  if (Array.isArray(opts) && opts.length <= 2 && opts.every(o => ['reply', 'explicit_unalias'].includes(nameOf(o) as string))) {
    return { reply: opts.some(o => nameOf(o) === 'reply') }
  }
  if (typeof opts === 'object' && opts !== null && !Array.isArray(opts)) return opts as { reply?: boolean }
  return bad(`alias(opts?): opts is ['reply'] or { reply: true }, got ${formatTerm(opts)}`)
}

export function shellContext(node: Node, shell: ShellProcess, io: ShellIO, opts: ShellContextOptions = {}): Record<string, unknown> {
  const proc = () => shell.current
  const format = opts.format ?? jsFormat
  const name = (n: string): string | Atom => (opts.erlang ? atom(n) : n)

  function spawnWith(link: boolean, args: unknown[]): Pid | Promise<Pid> {
    const p = proc()
    const [a, b, c, d] = args
    if (typeof a === 'function') return link ? p.spawnLink(a as ProcessFn) : p.spawn(a as ProcessFn)
    // spawn(Mod, Fun, Args) on this node, or spawn(Node, Mod, Fun, Args)
    const local = args.length === 3 && Array.isArray(c)
    const [where, mod, fun, fargs] = (local ? [node.name, a, b, c] : [a, b, c, d ?? []]).map((x, i) => (i < 3 ? nameOf(x) : x))
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
      io.print(`Shell got ${format.term(m)}`)
    }
  }

  function connect(n: unknown): Promise<boolean> {
    return node.connect(nodeName(n, 'net_kernel.connect_node'))
  }

  async function ping(n: unknown): Promise<string | Atom> {
    const target = nodeName(n, 'net_adm.ping')
    return name(await node.ping(target))
  }

  /** rpc:call(Node, Mod, Fun, Args[, Timeout]) — node.rpc: the value, or an exception. */
  function call(n: unknown, mod: unknown, fun: unknown, args: unknown = [], timeout?: unknown): Promise<unknown> {
    const [m, f] = [nameOf(mod), nameOf(fun)]
    if (typeof m !== 'string' || typeof f !== 'string' || !Array.isArray(args))
      bad("rpc.call(node, mod, fun, args, timeout?), e.g. rpc.call('e@host', 'erlang', 'node', [])")
    if (timeout !== undefined && (typeof timeout !== 'number' || timeout < 0))
      bad(`rpc.call: timeout is a number of ms, got ${formatTerm(timeout)}`)
    return node.rpc(nodeName(n, 'rpc.call'), m, f, args, { timeout, signal: io.signal() })
  }

  return {
    self: () => proc().self,
    node: (item?: Pid | Ref) => name(item === undefined ? node.name : nodeOf(item)),
    nodes: (kind: NodeKind = 'visible') => {
      const k = nameOf(kind) as NodeKind
      if (!KINDS.includes(k)) bad(`nodes(kind): kind is 'visible', 'hidden' or 'connected', got ${formatTerm(kind)}`)
      return node.nodes(k).map(name)
    },
    spawn: (...args: unknown[]) => spawnWith(false, args),
    spawn_link: (...args: unknown[]) => spawnWith(true, args),
    send: (dest: unknown, msg: unknown) => {
      proc().send(destOf(dest), msg)
      return msg
    },
    flush,
    receive,
    register: (n: unknown, pid: Pid) => {
      node.register(nameOf(n) as string, pid)
      return true
    },
    unregister: (n: unknown) => {
      node.unregister(nameOf(n) as string)
      return true
    },
    whereis: (n: unknown) => node.whereis(nameOf(n) as string),
    registered: () => node.registered().map(name),
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
    monitor: (a: unknown, b?: unknown) => proc().monitor(destOf(nameOf(a) === 'process' && b !== undefined ? b : a) as MonitorTarget),
    demonitor: (ref: Ref, opts?: { flush?: boolean }) => proc().demonitor(ref, opts),
    monitor_node: (n: unknown, flag = true) => {
      proc().monitorNode(nodeName(n, 'monitor_node'), flag)
      return true
    },
    process_flag: (flag: unknown, value: unknown) => {
      if (nameOf(flag) !== 'trap_exit') bad(`process_flag: only 'trap_exit' is supported, got ${formatTerm(flag)}`)
      return proc().trapExit(Boolean(value))
    },
    make_ref: () => proc().makeRef(),
    alias: (opts?: unknown) => proc().alias(aliasOptions(opts)),
    unalias: (ref: Ref) => proc().unalias(ref),
    net_kernel: Object.freeze({ connect_node: connect, connect }),
    net_adm: Object.freeze({ ping }),
    rpc: Object.freeze({ call }),
    erpc: Object.freeze({ call }),
    atom,
    tuple,
    ImproperList,
    Tuple,
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
