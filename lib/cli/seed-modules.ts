// The seed's example modules in JavaScript, spawnable by name on any node that defines them
// (the demo, the shell's defaults and the end-to-end tests use these).
import type { ModuleDef, Proc } from '../process/runtime.js'
import { Pid } from '../terms/pid.js'

async function echoLoop(proc: Proc): Promise<void> {
  for (;;) {
    const m = await proc.receive()
    if (Array.isArray(m) && m.length === 2 && m[1] instanceof Pid) proc.send(m[1], m[0])
    else if (m === 'stop') return
  }
}

/** -module(s). send_node(To) -> To ! node().  s() -> receive {Msg, From} -> From ! Msg, s() end. */
export const s: ModuleDef = {
  send_node: (proc: Proc, to: Pid) => proc.send(to, proc.node),
  s: echoLoop,
  /** register(server, spawn(s, s, [])) done on the node itself. */
  server: (proc: Proc) => {
    proc.register('server')
    return echoLoop(proc)
  },
}

type Allocated = [freq: number, pid: Pid][]

/**
 * The frequency server: a registered process that hands out frequencies to clients on any
 * node through call/reply — {request, Pid, allocate} → {reply, {ok, Freq} | {error, no_frequency}},
 * {request, Pid, {deallocate, Freq}} → {reply, ok}.
 */
export const frequency: ModuleDef = {
  init: async (proc: Proc, freqs: number[] = [10, 11, 12, 13, 14, 15]) => {
    proc.register('frequency')
    let free = [...freqs]
    let allocated: Allocated = []
    for (;;) {
      const m = await proc.receive()
      if (m === 'stop') return
      if (!Array.isArray(m) || m[0] !== 'request' || !(m[1] instanceof Pid)) continue
      const [, from, req] = m as [string, Pid, unknown]
      if (req === 'allocate') {
        const f = free.shift()
        if (f === undefined) proc.send(from, ['reply', ['error', 'no_frequency']])
        else {
          allocated.push([f, from])
          proc.send(from, ['reply', ['ok', f]])
        }
      } else if (Array.isArray(req) && req[0] === 'deallocate' && typeof req[1] === 'number') {
        const f = req[1]
        const before = allocated.length
        allocated = allocated.filter(([a, p]) => !(a === f && p.equals(from)))
        if (allocated.length < before) free = [f, ...free]
        proc.send(from, ['reply', 'ok'])
      }
    }
  },
  /** A client: allocate `n` frequencies from the server on `serverNode`, free them, report to `reportTo`. */
  client: async (proc: Proc, serverNode: string, n: number, reportTo: Pid) => {
    const call = async (msg: unknown): Promise<unknown> => {
      proc.send(['frequency', serverNode], ['request', proc.self, msg])
      const [, reply] = (await proc.receive(r => Array.isArray(r) && r[0] === 'reply', { timeout: 10_000 })) as [string, unknown]
      return reply
    }
    const got: unknown[] = []
    for (let i = 0; i < n; i++) got.push(await call('allocate'))
    for (const r of got) if (Array.isArray(r) && r[0] === 'ok') await call(['deallocate', r[1]])
    proc.send(reportTo, ['client_done', proc.node, got])
  },
}

export const seedModules: Record<string, ModuleDef> = { s, frequency }
