// The group leader of the Erlang processes this node starts on OTP nodes (erpc calls): where
// their io:format and io:put_chars go. On a BEAM every process has one, and io requests wait
// for its answer; with no process there, io:format raises `terminated`, so an rpc of any
// Erlang function that prints would fail. This one answers every output request `ok` and hands
// the text to the node's logger (info); input requests get {error, enotsup}.
//
//   {io_request, From, ReplyAs, Request}  →  From ! {io_reply, ReplyAs, Reply}
//
// Requests (the Erlang I/O protocol): {put_chars, Encoding, Chars}, {put_chars, Encoding, M,
// F, A} (io:format sends io_lib:format with its format and arguments: shown as they came,
// with ~n and ~~ written out when there are no arguments), {put_chars, Chars} (old form),
// {requests, [Request]}, {setopts, Opts} → ok, getopts → [], anything else → {error, request}.
import { Buffer } from 'node:buffer'
import { atom } from '../../terms/atom.js'
import { Tuple, tuple } from '../../terms/tuple.js'
import { Pid } from '../../terms/pid.js'
import type { Logger } from '../../logger.js'
import type { Proc } from '../../process/types.js'

const IO_REQUEST = atom('io_request')
const IO_REPLY = atom('io_reply')
const PUT_CHARS = atom('put_chars')
const REQUESTS = atom('requests')
const SETOPTS = atom('setopts')
const GETOPTS = atom('getopts')
const OK = atom('ok')
const ERROR = atom('error')
const ENOTSUP = atom('enotsup')
const REQUEST = atom('request')
const INPUT = new Set(['get_chars', 'get_line', 'get_until', 'get_password', 'get_geometry'].map(atom))

/** The most text one request is shown with (the rest is cut). */
const MAX_TEXT = 64 * 1024

/** The group leader's body: a process function (node.ts spawns one, when first needed). */
export function groupLeader(logger: Logger): (proc: Proc) => Promise<void> {
  return async proc => {
    for (;;) {
      const m = await proc.receive()
      if (!(m instanceof Tuple) || m.length !== 4 || m[0] !== IO_REQUEST || !(m[1] instanceof Pid)) continue
      const from = m[1]
      const reply = handle(m[3], text => logger.info({ node: from.node, pid: from.toString() }, `io from ${from.node}: ${text}`))
      proc.send(from, tuple(IO_REPLY, m[2], reply))
    }
  }
}

function handle(req: unknown, out: (text: string) => void, depth = 0): unknown {
  if (req === GETOPTS) return []
  if (!(req instanceof Tuple) || req.length === 0) return tuple(ERROR, REQUEST)
  const op = req[0]
  if (op === PUT_CHARS) {
    if (req.length === 3 || req.length === 2) {
      out(chars(req[req.length - 1]))
      return OK
    }
    if (req.length === 5) {
      out(formatted(req[2], req[3], req[4]))
      return OK
    }
    return tuple(ERROR, REQUEST)
  }
  if (op === SETOPTS) return OK
  if (op === REQUESTS && Array.isArray(req[1]) && depth === 0) {
    let last: unknown = OK
    for (const r of req[1]) {
      last = handle(r, out, 1)
      if (last instanceof Tuple && last[0] === ERROR) break
    }
    return last
  }
  if (INPUT.has(op as never)) return tuple(ERROR, ENOTSUP)
  return tuple(ERROR, REQUEST)
}

/** `M:F(A)` of a put_chars: io_lib:format's format shown as text (its arguments inspected). */
function formatted(m: unknown, f: unknown, a: unknown): string {
  const args = Array.isArray(a) ? a : []
  const fmt = args.length > 0 ? chars(args[0]) : ''
  const rest = args[1]
  if (Array.isArray(rest) && rest.length === 0) return fmt.replace(/~n/g, '\n').replace(/~~/g, '~')
  const name = `${String((m as { name?: unknown })?.name ?? m)}:${String((f as { name?: unknown })?.name ?? f)}`
  return `${name}(${JSON.stringify(fmt)}, ${describe(rest)})`
}

/** Chars as the I/O protocol sends them: a binary, a list of code points, or an iolist of both. */
function chars(v: unknown): string {
  const parts: string[] = []
  let size = 0
  const walk = (x: unknown, depth: number): void => {
    if (size > MAX_TEXT || depth > 100) return
    if (Buffer.isBuffer(x) || x instanceof Uint8Array) {
      const s = Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('utf8')
      parts.push(s)
      size += s.length
    } else if (typeof x === 'string') {
      parts.push(x)
      size += x.length
    } else if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0x10ffff) {
      parts.push(String.fromCodePoint(x))
      size++
    } else if (Array.isArray(x)) {
      for (const e of x) walk(e, depth + 1)
    }
  }
  walk(v, 0)
  const text = parts.join('')
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text
}

function describe(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))
    return s === undefined ? String(v) : s.length > 1000 ? `${s.slice(0, 1000)}…` : s
  } catch {
    return String(v)
  }
}
