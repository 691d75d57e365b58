// The shell functions' one-line help: printed by help() and by the .help REPL command.

export const SHELL_FUNCTIONS: readonly (readonly [usage: string, what: string])[] = [
  ['self()', 'the shell process (S = self())'],
  ['node() / node(pid)', "this node's name / the node a pid or ref lives on"],
  ["nodes() / nodes('hidden') / nodes('connected')", 'connected nodes'],
  ['spawn(node, mod, fun, args)', "start mod.fun(...args) on node; prints the pid (spawn('bar@vm', 's', 'send_node', [S]))"],
  ['spawn(mod, fun, args) / spawn(proc => ...)', 'start a process on this node'],
  ['spawn_link(...)', 'spawn, linked to the shell process'],
  ['send(dest, msg)', "dest ! msg: a pid, a registered name, or [name, node] (send(['server', 'bar@vm'], ['hi', self()]))"],
  ['flush()', "print and remove every message in the shell's mailbox"],
  ['receive(match?, timeout?)', 'the next message (matching the predicate); Ctrl+C stops the wait'],
  ['register(name, pid) / unregister(name)', 'register a local name'],
  ['whereis(name) / registered()', 'the pid of a registered name / every registered name'],
  ['exit(pid, reason) / exit(reason)', 'send an exit signal / end the shell process (a new one starts)'],
  ['link(pid) / unlink(pid)', 'link the shell process'],
  ['monitor(target) / demonitor(ref)', "monitor a pid, name or [name, node]: ['DOWN', ref, 'process', who, reason]"],
  ['monitor_node(node, flag = true)', "['nodedown', node] in the mailbox when the connection goes"],
  ["process_flag('trap_exit', flag)", "exit signals arrive as ['EXIT', pid, reason]"],
  ['make_ref()', 'a new reference'],
  [
    "alias() / alias(['reply']) / unalias(ref)",
    'an alias of the shell process: send(alias, msg) reaches it until unalias (once, with reply)',
  ],
  ['net_kernel.connect_node(node)', 'connect (alias net_kernel.connect); true or false'],
  ['net_adm.ping(node)', "'pong' when connected, else 'pang'"],
  [
    'rpc.call(node, mod, fun, args, timeout?)',
    "mod:fun(...args) on node, its value (erpc.call too): rpc.call('e@vm', 'erlang', 'node', [])",
  ],
  ["atom('ok') / tuple(a, b)", "an Erlang atom / tuple: send(['server', 'e@vm'], tuple(atom('hi'), self()))"],
  ['disconnect_node(node)', 'drop a connection'],
  ['set_cookie(cookie) / set_cookie(node, cookie)', "this node's cookie / the cookie for one node"],
  ['get_cookie() / get_cookie(node)', 'the cookie in use'],
  ['is_alive()', 'true when this node is distributed'],
  ['help()', 'this list'],
  ['q() / halt()', 'stop the node gracefully (peers see nodedown) and leave'],
]

/** The function list, aligned, one per line. */
export function shellHelpText(): string {
  const width = Math.max(...SHELL_FUNCTIONS.map(([u]) => u.length))
  const lines = SHELL_FUNCTIONS.map(([u, w]) => `  ${u.padEnd(width)}  ${w}`)
  return [
    'Shell functions (JavaScript; await works at top level, and a promise result is awaited):',
    ...lines,
    '',
    "Strings stand for atoms, arrays for tuples: {hi, self()} is ['hi', self()] (toward netkernel nodes).",
    "Toward Erlang nodes a string is a binary: write atom('hi') and tuple(atom('hi'), self()).",
  ].join('\n')
}
