// `netkernel top NODE`: a live view of a running node — its connections with message and
// byte rates, queues, processes, registered names and refusals — as Erlang's observer. It
// starts a hidden node of its own (it shows in nobody's nodes()), connects to NODE and asks
// it for its stats every interval (node.stats(NODE): a control frame the kernel answers).
import process from 'node:process'
import { parseArgs } from 'node:util'
import { startNode, type Node } from '../node.js'
import type { NodeStats } from '../kernel/stats.js'
import { fullNameProblem, longHostname } from '../node-name.js'
import { readOrCreateCookie } from '../kernel/cookie-file.js'
import { renderTop } from './top-view.js'
import { TRANSPORT_HELP, transportArgs, transportFromOptions, type BuiltTransport } from './transport-options.js'
import { UsageError, parseArgsMessage, usageError } from './usage.js'
import { cookieOption, nodeNameOption, portOption } from './node-options-from-cli.js'

const HELP = `usage: netkernel top NODE [options]

A live view of a running node: its connections (peer, transport, messages and bytes per
second in and out, totals, queued bytes, busy, up for), processes, registered names and
the operations it refused per peer. top joins as a hidden node (top_<pid>), so it is in no
node's nodes(); the node sees it as one more hidden connection.

  --cookie C           the cluster's cookie (default: ~/.erlang.cookie)
  --interval MS        time between snapshots (default 1000)
  --once               print one snapshot and exit (for scripts; rates need two snapshots)
  --epmd-port N        port mapper port (default: ERL_EPMD_PORT, else 4369)
  --sname NAME         top's own node name (default top_<pid>) ...
  --name NAME@HOST     ... or a long one (default for a NODE with a dotted host:
                       top_<pid>@<this host's full name>)
  --help

Keys: q or Ctrl+C quits (the terminal is restored).

${TRANSPORT_HELP}

examples:
  netkernel top bar@vm
  netkernel top bar@vm --once --cookie secret`

const fail = (msg: string): number => usageError('top', msg)

const ALT_SCREEN = '\x1b[?1049h\x1b[?25l'
const MAIN_SCREEN = '\x1b[?25h\x1b[?1049l'

/** top's own name: as given, or top_<pid> in the target's name form. */
function ownName(target: string, sname: string | undefined, name: string | undefined): { name: string; longNames: boolean } {
  if (name !== undefined) return { name, longNames: true }
  if (sname !== undefined) return { name: sname, longNames: false }
  const alive = `top_${process.pid}`
  if (!(target.split('@')[1] ?? '').includes('.')) return { name: alive, longNames: false }
  const host = longHostname()
  if (host === undefined)
    throw new UsageError(`${target} has a long name and this host's name is not fully qualified: give --name top@HOST.DOMAIN`)
  return { name: `${alive}@${host}`, longNames: true }
}

export async function topMain(argv: string[]): Promise<number> {
  let v
  let positionals: string[]
  try {
    ;({ values: v, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        cookie: { type: 'string' },
        interval: { type: 'string' },
        once: { type: 'boolean' },
        'epmd-port': { type: 'string' },
        sname: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean' },
        ...transportArgs,
      },
    }))
  } catch (err) {
    return fail(parseArgsMessage(err))
  }
  if (v.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const target = positionals[0]
  if (target === undefined || positionals.length > 1)
    return fail(target === undefined ? 'give the node to observe: netkernel top NODE' : `one node at a time (got ${positionals.join(' ')})`)
  if (!target.includes('@')) return fail(`'${target}' is not a node name (NAME@HOST)`)
  const bad = fullNameProblem(target, undefined)
  if (bad !== undefined) return fail(`'${target}' is not a node name: ${bad}`)
  if (v.sname !== undefined && v.name !== undefined) return fail('give one of --sname and --name, not both')
  const interval = v.interval === undefined ? 1000 : Number(v.interval)
  if (!Number.isInteger(interval) || interval < 50) return fail(`--interval: give milliseconds, at least 50 (got '${v.interval}')`)
  let built: BuiltTransport
  let me: { name: string; longNames: boolean }
  let epmdPort: number | undefined
  try {
    epmdPort = portOption(v['epmd-port'], '--epmd-port')
    cookieOption(v.cookie)
    nodeNameOption(v.sname, v.name)
    me = ownName(target, v.sname, v.name)
    built = transportFromOptions(v)
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message)
    throw err
  }
  let node: Node
  try {
    node = await startNode({
      ...me,
      hidden: true,
      listen: false,
      cookie: v.cookie ?? (await readOrCreateCookie()),
      transport: built.transport,
      ...(built.auth ? { auth: built.auth } : {}),
      epmd: { autoStart: false, ...(epmdPort === undefined ? {} : { port: epmdPort }) },
    })
  } catch (err) {
    await built.close()
    throw err
  }
  try {
    return v.once ? await once(node, target, interval) : await live(node, target, interval)
  } finally {
    await node.stop()
    await built.close()
  }
}

/** The reason the target cannot be reached: the latest connection error, else the request's. */
function watchErrors(node: Node, target: string): (err: unknown) => string {
  let last: string | undefined
  node.on('connectError', (peer, info) => {
    if (peer === target) last = `${info.code}: ${info.error.message}`
  })
  node.on('nodeup', peer => {
    if (peer === target) last = undefined
  })
  return err => {
    const e = err as Error & { code?: string }
    const why = e.code === 'ERR_CONNECTION_CLOSED' && last !== undefined ? last : `${e.code ?? 'Error'}: ${e.message}`
    return `cannot get the stats of ${target}: ${why}`
  }
}

async function once(node: Node, target: string, interval: number): Promise<number> {
  const explain = watchErrors(node, target)
  let cur: NodeStats
  try {
    cur = await node.stats(target)
  } catch (err) {
    process.stderr.write(`netkernel top: ${explain(err)}\n`)
    return 1
  }
  const lines = renderTop({ target, self: node.name, interval, cur, prev: undefined, width: 0 })
  process.stdout.write(lines.join('\n') + '\n')
  return 0
}

async function live(node: Node, target: string, interval: number): Promise<number> {
  const explain = watchErrors(node, target)
  const out = process.stdout
  const tty = out.isTTY === true
  const quit = new AbortController()
  const onKey = (d: Buffer): void => {
    if (d.includes(0x71) || d.includes(0x51) || d.includes(0x03)) quit.abort() // q, Q, Ctrl+C
  }
  const onSignal = (): void => quit.abort()
  const stdin = process.stdin
  const raw = stdin.isTTY === true
  if (raw) stdin.setRawMode(true)
  stdin.on('data', onKey)
  stdin.resume()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  if (tty) out.write(ALT_SCREEN)
  let prev: NodeStats | undefined
  let cur: NodeStats | undefined
  let error: string | undefined
  try {
    while (!quit.signal.aborted) {
      try {
        const next = await node.stats(target, { signal: quit.signal })
        prev = cur?.node === next.node ? cur : undefined
        cur = next
        error = undefined
      } catch (err) {
        if (quit.signal.aborted) break
        error = explain(err)
      }
      const lines = renderTop({ target, self: node.name, interval, cur, prev, error, width: tty ? (out.columns ?? 0) : 0, hint: 'q quits' })
      // Home, each line cleared to its end, the rest of the screen cleared.
      out.write(tty ? `\x1b[H${lines.join('\x1b[K\n')}\x1b[K\n\x1b[J` : lines.join('\n') + '\n\n')
      await sleep(interval, quit.signal)
    }
  } finally {
    if (tty) out.write(MAIN_SCREEN)
    if (raw) stdin.setRawMode(false)
    stdin.off('data', onKey)
    stdin.pause()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return 0
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
