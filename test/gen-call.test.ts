// gen_server-style calls and casts between netkernel processes, on one node and across two
// over real connections: the reply comes back to the caller; a server that does not exist
// ('noproc'), exits while the call waits (its reason) or whose node goes ('noconnection') ends
// the call with CallError; no reply in time is ERR_CALL_TIMEOUT and the late reply is dropped,
// as is one to an aborted call; the call's monitor goes with it; bad arguments are refused; a
// node.call on a node that is stopping or stopped is ERR_NODE_STOPPED.
import t, { type Test } from 'tap'
import type { Node } from '../lib/node.js'
import type { Proc } from '../lib/process/runtime.js'
import type { Process } from '../lib/process/process.js'
import { Pid } from '../lib/terms/pid.js'
import { CallError, type NetkernelError } from '../lib/errors.js'
import { asCall, asCast, MAX_ABANDONED, type CallFrom } from '../lib/process/gen-call.js'
import { testEpmd, testNode, inProcess } from './fixtures/cluster.js'

const rejection = (p: Promise<unknown>): Promise<any> =>
  p.then(
    v => new Error(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  )

/**
 * A server in the shape of a gen_server: ['add', n] → the new total; ['get'] → the total;
 * ['hold'] → keeps the call's `from` unanswered and tells `holder`; ['exit', r] → exits with
 * r; a cast ['set', n] sets the total; ['answer', from, v, then] answers a held call late,
 * then sends `then` to its caller (after the reply, so the caller sees them in that order).
 */
const server = {
  run: async (proc: Proc, name: string | null, holder: Pid | null) => {
    if (name !== null) proc.register(name)
    let total = 0
    for (;;) {
      const m = await proc.receive()
      const call = asCall(m)
      if (call !== undefined) {
        const req = call.request as unknown[]
        if (req[0] === 'add') proc.reply(call.from, (total += req[1] as number))
        else if (req[0] === 'get') proc.reply(call.from, total)
        else if (req[0] === 'hold' && holder !== null) proc.send(holder, ['held', call.from])
        else if (req[0] === 'exit') proc.exit(req[1])
        continue
      }
      const c = asCast(m)
      if (c !== undefined && Array.isArray(c.request) && c.request[0] === 'set') total = c.request[1] as number
      if (Array.isArray(m) && m[0] === 'answer') {
        const from = m[1] as CallFrom
        proc.reply(from, m[2])
        proc.send(from[0] as Pid, m[3])
      }
    }
  },
}

async function pair(t: Test): Promise<[Node, Node]> {
  const epmd = await testEpmd(t)
  const x = await testNode(t, epmd, { name: 'gcx', modules: { server } })
  const y = await testNode(t, epmd, { name: 'gcy', modules: { server } })
  return [x, y]
}

/** A process on `node` that receives one ['held', from] and resolves with `from`. */
function holder(node: Node): { pid: Pid; from: Promise<CallFrom> } {
  let resolve!: (f: CallFrom) => void
  const from = new Promise<CallFrom>(r => (resolve = r))
  const pid = node.spawn(async proc => {
    const m = (await proc.receive(undefined, { timeout: 10_000 })) as unknown[]
    resolve(m[1] as CallFrom)
  })
  return { pid, from }
}

t.test('calls and casts on one node and across two', async t => {
  const [x, y] = await pair(t)
  await x.spawn(x.name, 'server', 'run', ['local', null])
  await y.spawn(y.name, 'server', 'run', ['far', null])
  t.equal(await x.call('local', ['add', 2]), 2, 'node.call to a local name')
  t.equal(await x.call(['far', y.name], ['add', 40]), 40, 'node.call to [name, node] across the connection')
  t.equal(await inProcess(x, proc => proc.call(['far', y.name], ['add', 2])), 42, 'proc.call from a process')
  const farPid = await y.spawn(y.name, 'server', 'run', [null, null])
  t.equal(await x.call(farPid, ['add', 7]), 7, 'to a pid')
  x.cast(['far', y.name], ['set', 100])
  t.equal(await x.call(['far', y.name], ['get']), 100, 'node.cast arrived before the next call (one sender order)')
  await inProcess(x, async proc => {
    proc.cast('local', ['set', 5])
    t.equal(await proc.call('local', ['get']), 5, 'proc.cast then proc.call')
    // The call's monitor went with it: no DOWN for it later.
    await proc.call('local', ['exit', 'bye']).catch(() => {})
    const stray = await proc.receive(undefined, { timeout: 200 }).catch((e: NetkernelError) => e.code)
    t.equal(stray, 'ERR_RECEIVE_TIMEOUT', 'nothing left in the mailbox after calls')
  })
})

t.test('a server that is not there, or exits, or whose node goes: CallError', async t => {
  const [x, y] = await pair(t)
  const local = (await rejection(x.call('nobody', ['get']))) as CallError
  t.ok(local instanceof CallError, 'an unregistered local name')
  t.equal(local.code, 'ERR_CALL')
  t.equal(local.reason, 'noproc')
  t.match(local.message, /"nobody".*no such process/)
  const far = (await rejection(x.call(['nobody', y.name], ['get']))) as CallError
  t.equal(far.reason, 'noproc', 'an unregistered name on the other node')
  const gone = await inProcess(y, async proc => proc.spawn(() => undefined))
  await new Promise(r => setTimeout(r, 20))
  t.equal(((await rejection(x.call(gone, ['get']))) as CallError).reason, 'noproc', 'a pid that has exited')

  const srv = await y.spawn(y.name, 'server', 'run', [null, null])
  const exited = (await rejection(x.call(srv, ['exit', 'kaput']))) as CallError
  t.equal(exited.reason, 'kaput', 'the server exited while the call waited: its reason')
  t.match(exited.message, /exited \(kaput\)/)

  const h = holder(y)
  const held = await y.spawn(y.name, 'server', 'run', ['held', h.pid])
  t.ok(held instanceof Pid)
  const pending = rejection(x.call(['held', y.name], ['hold'], { timeout: Infinity }))
  await h.from
  await y.stop()
  const lost = (await pending) as CallError
  t.ok(lost instanceof CallError, 'the node went down')
  t.equal(lost.reason, 'noconnection')
  t.match(lost.message, new RegExp(`its node ${y.name} is down`))
})

t.test('no reply in time: ERR_CALL_TIMEOUT, and the late reply is dropped', async t => {
  const [x, y] = await pair(t)
  const h = holder(y)
  await y.spawn(y.name, 'server', 'run', ['slow', h.pid])
  await inProcess(x, async proc => {
    const start = Date.now()
    const e = (await rejection(proc.call(['slow', y.name], ['hold'], { timeout: 150 }))) as NetkernelError
    t.equal(e.code, 'ERR_CALL_TIMEOUT')
    t.ok(Date.now() - start >= 140, 'after the timeout')
    t.match(e.message, /no reply within 150 ms/)
    // The server answers now, then sends 'after' behind the reply (one sender: in order).
    y.send(['slow', y.name], ['answer', await h.from, 'too late', 'after'])
    t.equal(await proc.receive(undefined, { timeout: 5000 }), 'after', 'the first message here is the one behind the late reply')
    t.equal((proc as unknown as Process).abandoned, undefined, 'and the dropped reply is forgotten')
  })
})

t.test('an aborted call drops its late reply too', async t => {
  const [x, y] = await pair(t)
  const h = holder(y)
  await y.spawn(y.name, 'server', 'run', ['slow', h.pid])
  await inProcess(x, async proc => {
    const ac = new AbortController()
    const p = rejection(proc.call(['slow', y.name], ['hold'], { signal: ac.signal }))
    const from = await h.from
    const why = new Error('no longer needed')
    ac.abort(why)
    t.equal(await p, why, 'rejects with the reason')
    y.send(['slow', y.name], ['answer', from, 'too late', 'after'])
    t.equal(await proc.receive(undefined, { timeout: 5000 }), 'after')
  })
})

t.test('a call looks at nothing that was in the mailbox before it', async t => {
  const [x, y] = await pair(t)
  await y.spawn(y.name, 'server', 'run', ['far', null])
  await inProcess(x, async proc => {
    // A backlog of messages that count every look at them (local sends hand over the object).
    let looks = 0
    const N = 10_000
    for (let i = 0; i < N; i++) {
      proc.send(
        proc.self,
        new Proxy([i], {
          get: (target, key, receiver) => {
            looks++
            return Reflect.get(target, key, receiver) as unknown
          },
        }),
      )
    }
    t.equal(await proc.call(['far', y.name], ['add', 1]), 1, 'a call across the connection')
    t.equal(await proc.call(['far', y.name], ['add', 2]), 3, 'and another')
    const noproc = await proc.call(['nobody', y.name], ['get']).catch((e: CallError) => e.reason)
    t.equal(noproc, 'noproc', 'a DOWN still ends a call')
    t.equal(looks, 0, 'neither the wait for the reply nor the flush of the DOWN looked at the backlog')
    const order: unknown[] = []
    for (let i = 0; i < N; i++) order.push(((await proc.receive(undefined, { timeout: 1000 })) as number[])[0])
    t.same(
      order,
      Array.from({ length: N }, (_, i) => i),
      'the backlog is all there, in order',
    )
    const stray = await proc.receive(undefined, { timeout: 100 }).catch((e: NetkernelError) => e.code)
    t.equal(stray, 'ERR_RECEIVE_TIMEOUT', 'and nothing else: no reply or DOWN left behind')
  })
})

t.test('the calls a process gave up on are bounded', async t => {
  const [x] = await pair(t)
  await x.spawn(x.name, 'server', 'run', ['sink', x.spawn(async proc => void (await proc.receive(() => false)))])
  await inProcess(x, async proc => {
    for (let i = 0; i < MAX_ABANDONED + 5; i++) {
      const e = (await rejection(proc.call('sink', ['hold'], { timeout: 0 }))) as NetkernelError
      if (e.code !== 'ERR_CALL_TIMEOUT') t.fail(`call ${i}: ${e.code}`)
    }
    t.equal((proc as unknown as Process).abandoned?.size, MAX_ABANDONED, 'at most MAX_ABANDONED remembered')
  })
})

t.test('bad arguments', async t => {
  const [x] = await pair(t)
  await inProcess(x, async proc => {
    proc.register('me')
    for (const [what, dest] of [
      ['own pid', proc.self],
      ['own name', 'me'],
      ['own name with node', ['me', x.name]],
    ] as const) {
      const e = (await rejection(proc.call(dest as never, 'x'))) as NetkernelError
      t.equal(e.code, 'ERR_BAD_ARGUMENT', `calling itself by its ${what}`)
    }
    for (const timeout of [-1, Number.NaN, '5' as unknown as number, 2 ** 31]) {
      const e = (await rejection(proc.call('me', 'x', { timeout }))) as NetkernelError
      t.equal(e.code, 'ERR_BAD_ARGUMENT', `timeout ${String(timeout)}`)
    }
    t.equal(((await rejection(proc.call(42 as never, 'x'))) as NetkernelError).code, 'ERR_BAD_ARGUMENT', 'no destination')
    t.throws(() => proc.reply(['no', 'pid'] as never, 1), { code: 'ERR_BAD_ARGUMENT' }, 'reply to what is not a from')
  })
  t.equal(asCall(['$gen_call', ['x', 'tag'], 1]), undefined, 'a from without a pid is no call')
  t.equal(asCast(['$gen_cast']), undefined)
  await x.stop()
  t.equal(((await rejection(x.call('me', 1))) as NetkernelError).code, 'ERR_NODE_STOPPED')
})

t.test('a node that is stopping or stopped: node.call rejects with ERR_NODE_STOPPED', async t => {
  const [x, y] = await pair(t)
  const hx = holder(x)
  const hy = holder(y)
  await x.spawn(x.name, 'server', 'run', ['mute', hx.pid])
  await y.spawn(y.name, 'server', 'run', ['mute', hy.pid])
  // Two calls waiting on servers that hold them unanswered: one here, one across the connection.
  const local = rejection(x.call('mute', ['hold'], { timeout: 30_000 }))
  const far = rejection(x.call(['mute', y.name], ['hold'], { timeout: 30_000 }))
  await Promise.all([hx.from, hy.from])
  const start = Date.now()
  const stopping = x.stop()
  const during = rejection(x.call(['mute', y.name], ['get']))
  for (const [what, p] of [
    ['waiting on a local server', local],
    ['waiting on a server across the connection', far],
    ['made while stop() runs', during],
  ] as const) {
    const e = (await p) as NetkernelError
    t.equal(e.code, 'ERR_NODE_STOPPED', `a call ${what}`)
    t.notOk(e instanceof CallError, `a call ${what}: no CallError`)
    t.match(e.message, x.name, `a call ${what}: the message names the node`)
  }
  t.ok(Date.now() - start < 2000, `promptly, well before the call's timeout (${Date.now() - start} ms)`)
  await stopping
  const after = (await rejection(x.call(['mute', y.name], ['get']))) as NetkernelError
  t.equal(after.code, 'ERR_NODE_STOPPED', 'a call made after stop()')
  t.match(after.message, new RegExp(`${x.name} is stopped: cannot call \\{"mute", ${y.name}\\}`))
  const bad = (await rejection(x.call(null as never, 1))) as NetkernelError
  t.equal(bad.code, 'ERR_NODE_STOPPED', 'even with no destination')
})
