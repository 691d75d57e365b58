// The shell's read-eval-print loop on node:repl: erl's prompt `(foo@vm)1> ` with a counter
// that grows per evaluated line, top-level await, a promise result awaited and its value
// printed (so `spawn('bar@vm', 's', 'send_node', [S])` prints the pid), errors printed as
// erl does (`** exception error: ...`), lines evaluated one after another, Ctrl+C to stop a
// wait, `.help` listing the shell functions, and a history file.
import process from 'node:process'
import repl, { type REPLServer } from 'node:repl'
import type { EventEmitter } from 'node:events'
import type { Key } from 'node:readline'
import { NetkernelError } from '../errors.js'
import { jsFormat, type ShellFormat } from './shell-format.js'
import { shellHelpText } from './shell-help.js'
import type { ShellIO } from './shell-context.js'

export interface ShellReplOptions {
  /** The node's name, for the prompt. */
  name: string
  /** The shell functions, given the REPL's side of them. */
  context: (io: ShellIO) => Record<string, unknown>
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  /** History file; '' or undefined keeps none. */
  historyFile?: string
  /** Printed before the first prompt. */
  banner?: string
  /** Where notices go (refused connections, log lines); default stderr. */
  errorOutput?: NodeJS.WritableStream
  /** How results and exceptions print; default jsFormat (erlFormat with --erlang). */
  format?: ShellFormat
}

export interface ShellRepl {
  server: REPLServer
  /** Stop the current wait (as Ctrl+C does). */
  interrupt(): void
  /** Print a notice on the error output, above the prompt and the typed text. */
  notice(line: string): void
  /** Close the REPL; `closed` then resolves once the queued lines are evaluated. */
  close(): void
  closed: Promise<void>
}

type EvalCallback = (err: Error | null, result?: unknown) => void
type Eval = (code: string, context: object, file: string, cb: EvalCallback) => void
/** node:repl internals the shell relies on: its error domain and its key handler. */
interface ReplInternals {
  _domain: EventEmitter
  _ttyWrite(d: string, key: Key): void
  eval: Eval
}

/** A line ending in a single '.' (not '..'), e.g. `flush().`: the expression before it, then the dot. */
const ERLANG_DOT = /([^.])\.(\s*)$/

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function'

export async function startShellRepl(opts: ShellReplOptions): Promise<ShellRepl> {
  let counter = 1
  const format = opts.format ?? jsFormat
  const prompt = (): string => `(${opts.name})${counter}> `
  const output = opts.output ?? process.stdout
  output.write(`${opts.banner ?? ''}\n`)
  const input = opts.input ?? process.stdin
  const tty = (input as { isTTY?: boolean }).isTTY === true
  const r = repl.start({
    prompt: prompt(),
    input,
    output,
    useGlobal: true,
    writer: format.term,
    preview: false,
    // Ctrl+C in a terminal breaks a runaway loop; without one, the REPL's own SIGINT
    // handling would kill the process before the command's graceful stop.
    // (Node loses that watch when the process has a 'SIGINT' listener of its own, and a second
    // Ctrl+C during a line's code then ends the process: add none in a terminal.)
    breakEvalOnSigint: tty,
  })
  const internals = r as unknown as ReplInternals

  // ---- one line at a time: a line waits until the previous line's result is printed ----
  /** The evaluation in progress: settles it (an error reported through the REPL's domain lands here). */
  let current: ((err: unknown, result?: unknown, withResult?: boolean) => void) | undefined
  let controller: AbortController | undefined
  let awaiting = false

  const evaluate = internals.eval.bind(r)
  /** erl's habit: `flush().` — a complete expression, then the dot that ends it in Erlang. */
  const evaluateErlangDot: Eval = (code, context, file, cb) => {
    if (!ERLANG_DOT.test(code)) return evaluate(code, context, file, cb)
    evaluate(code.replace(ERLANG_DOT, '$1$2'), context, file, (...args: [Error | null, unknown?]) => {
      // Without the dot it is unfinished: the dot continues it (`foo.` + `bar` on the next line).
      if (args[0] instanceof repl.Recoverable) return evaluate(code, context, file, cb)
      cb(...args)
    })
  }
  internals.eval = (code, context, file, cb) => {
    // The completer evaluates `try { expr } catch {}` to list an object's properties: not a line.
    if (!code.endsWith('\n')) return evaluate(code, context, file, cb)
    let settled = false
    const ac = new AbortController()
    controller = ac
    const finish = (err: unknown, result?: unknown, withResult = true): void => {
      if (settled) return
      settled = true
      current = undefined
      awaiting = false
      if (controller === ac) controller = undefined
      if (err instanceof repl.Recoverable) {
        cb(err) // incomplete input: the REPL asks for more, the counter stays
      } else if (code.trim() === '' && !err) {
        cb(null) // an empty line: nothing to print, the counter stays
      } else {
        counter++
        r.setPrompt(prompt())
        if (err !== null && err !== undefined) {
          output.write(format.exception(err) + '\n')
          cb(null)
        } else if (withResult) cb(null, result)
        else cb(null)
      }
      replayKeys()
      pump()
    }
    current = finish
    evaluateErlangDot(code, context, file, (...args: [Error | null, unknown?]) => {
      const [err, result] = args
      if (err || !isThenable(result)) return finish(err, result, args.length > 1)
      // A promise result: wait for it (Ctrl+C stops the wait) and print what it resolves to.
      awaiting = true
      const stopped = new Promise<never>((_, reject) => {
        ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true })
      })
      Promise.race([result, stopped]).then(
        v => finish(null, v),
        e => finish(e),
      )
    })
  }

  // Lines that arrive while one is evaluated (pasted, piped) wait for their turn, so that an
  // unfinished expression continues on the next line as typed.
  const lines: string[] = []
  const idle: (() => void)[] = []
  const replOnLine = r.listeners('line') as ((line: string) => void)[]
  r.removeAllListeners('line')
  r.on('line', (line: string) => {
    lines.push(line)
    pump()
  })
  let pumping = false
  function pump(): void {
    if (pumping) return
    pumping = true
    try {
      while (current === undefined && lines.length > 0) {
        const line = lines.shift() as string
        for (const l of replOnLine) l.call(r, line)
      }
    } finally {
      pumping = false
    }
    if (current === undefined && lines.length === 0) for (const f of idle.splice(0)) f()
  }

  // An exception thrown by the evaluated code reaches the REPL's domain: report it as the
  // line's result, or (thrown later by a callback the line set up) above the prompt.
  internals._domain.removeAllListeners('error')
  internals._domain.on('error', (e: unknown) => {
    if (current !== undefined) current(e)
    else io.print(format.exception(e))
  })

  // ---- keys typed while a promise result is awaited: kept for later; Ctrl+C stops it --
  const buffered: [string, Key][] = []
  const ttyWrite = internals._ttyWrite.bind(r)
  const interrupt = (): void => {
    controller?.abort(new NetkernelError('ERR_ABORTED', 'interrupted (Ctrl+C)'))
  }
  internals._ttyWrite = (d, key = {}) => {
    if (key.ctrl && key.name === 'c' && current !== undefined) {
      interrupt()
      if (awaiting) return
    }
    if (awaiting) {
      buffered.push([d, key])
      return
    }
    ttyWrite(d, key)
  }
  // While the REPL runs a line's code it leaves raw mode, so a Ctrl+C typed then is a real
  // SIGINT: the REPL reports it with a 'SIGINT' event once the code has returned, before it
  // starts waiting for a top-level await. Stop that wait too, or the key would be lost.
  r.on('SIGINT', () => {
    if (current !== undefined) interrupt()
  })
  function replayKeys(): void {
    while (!awaiting && buffered.length > 0) {
      const [d, key] = buffered.shift() as [string, Key]
      internals._ttyWrite(d, key)
    }
  }

  // ---- the shell functions and .help --------------------------------------------------
  let closing = false
  const errorOutput = opts.errorOutput ?? process.stderr
  function printOn(stream: NodeJS.WritableStream, line: string): void {
    if (current !== undefined || closing || !r.terminal) {
      stream.write(line + '\n')
      return
    }
    // Between evaluations (a notice from the node): above the prompt and the typed text.
    stream.write('\r\x1b[K' + line + '\n')
    r.displayPrompt(true)
  }
  const io: ShellIO = {
    print: line => printOn(output, line),
    signal: () => controller?.signal,
    quit: () => setImmediate(() => r.close()),
  }
  Object.assign(r.context, opts.context(io))
  r.defineCommand('help', {
    help: 'Print this help message',
    action() {
      const names = Object.keys(r.commands).sort()
      const width = Math.max(...names.map(n => n.length))
      output.write(shellHelpText() + '\n\nREPL commands:\n')
      for (const n of names) output.write(`  .${n.padEnd(width)}  ${r.commands[n]?.help ?? ''}\n`)
      output.write('\nTab completes names; Ctrl+C stops a wait; Ctrl+D, .exit or q() stops the node and leaves.\n')
      r.displayPrompt()
    },
  })

  // Before the history file is opened: the input may end meanwhile (a script, /dev/null).
  const closed = new Promise<void>(resolve => {
    r.once('exit', () => {
      closing = true
      idle.push(resolve)
      pump()
    })
  })
  if (opts.historyFile) {
    await new Promise<void>((resolve, reject) => {
      r.setupHistory(opts.historyFile as string, err => (err ? reject(err) : resolve()))
    })
  }
  return {
    server: r,
    interrupt,
    notice: line => printOn(errorOutput, line),
    close: () => {
      closing = true
      interrupt()
      r.close()
    },
    closed,
  }
}
