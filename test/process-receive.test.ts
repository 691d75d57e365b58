// Mailbox and receive: order, selective receive with the skipped messages kept in order,
// timeouts, abort signals, one receive at a time, direct hand-off to a waiting receive.
import t from 'tap'
import fc from 'fast-check'
import { Runtime, type Proc } from '../lib/process/runtime.js'
import { Mailbox, NONE } from '../lib/process/mailbox.js'
import { ReceiveTimeoutError } from '../lib/errors.js'
import type { Timers } from '../lib/process/types.js'
import type { Pid } from '../lib/terms/pid.js'

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

/** Run `fn` as a process: its pid, and a promise of what it returns (or throws). */
function run<T>(rt: Runtime, fn: (proc: Proc) => Promise<T>): { pid: Pid; result: Promise<T> } {
  let pid!: Pid
  const result = new Promise<T>((resolve, reject) => {
    pid = rt.spawn(async proc => {
      try {
        resolve(await fn(proc))
      } catch (err) {
        reject(err)
      }
    })
  })
  return { pid, result }
}

const newRuntime = (): Runtime => new Runtime({ node: 'a@h', creation: 1 })

t.test('messages arrive in the order sent', async t => {
  const rt = newRuntime()
  const { pid, result } = run(rt, async proc => {
    const out: unknown[] = []
    for (let i = 0; i < 5; i++) out.push(await proc.receive())
    return out
  })
  t.equal(rt.processCount, 1)
  for (let i = 0; i < 5; i++) rt.send(pid, i)
  t.same(await result, [0, 1, 2, 3, 4])
})

t.test('selective receive keeps skipped messages in order for later receives', async t => {
  const rt = newRuntime()
  const log: unknown[] = []
  const pid = rt.spawn(async proc => {
    log.push(await proc.receive(m => m === 'c'))
    log.push(await proc.receive(m => typeof m === 'number' && m > 1))
    log.push(await proc.receive())
    log.push(await proc.receive())
    log.push(await proc.receive())
  })
  for (const m of ['a', 1, 'b', 2, 'c']) rt.send(pid, m)
  await tick()
  t.same(log, ['c', 2, 'a', 1, 'b'])
  t.notOk(rt.isAlive(pid), 'returned, so exited')
})

t.test('a waiting selective receive takes a later match and leaves the rest queued', async t => {
  const rt = newRuntime()
  const log: unknown[] = []
  const pid = rt.spawn(async proc => {
    log.push(await proc.receive(m => m === 'wanted'))
    log.push(await proc.receive())
    log.push(await proc.receive())
  })
  await tick() // now waiting
  rt.send(pid, 'x')
  rt.send(pid, 'y')
  t.same(log, [])
  rt.send(pid, 'wanted')
  await tick()
  t.same(log, ['wanted', 'x', 'y'])
})

t.test('type-guard receive narrows, and receive without await order is kept under load', async t => {
  const rt = newRuntime()
  const isPair = (m: unknown): m is [string, number] => Array.isArray(m) && m.length === 2
  const got = run(rt, async proc => {
    proc.send(proc.self, 'noise')
    proc.send(proc.self, ['n', 7])
    const [tag, n] = await proc.receive(isPair)
    return `${tag}${n + 1}`
  })
  t.equal(await got.result, 'n8')
})

t.test('receive timeout rejects with ReceiveTimeoutError (ERR_RECEIVE_TIMEOUT)', async t => {
  const rt = newRuntime()
  const { result: errP } = run(rt, async proc => {
    try {
      await proc.receive(undefined, { timeout: 20 })
      return undefined
    } catch (e) {
      return e
    }
  })
  const err = await errP
  t.type(err, ReceiveTimeoutError)
  t.match(err, { code: 'ERR_RECEIVE_TIMEOUT', message: /20 ms/ })
})

t.test('a timed-out receive leaves the mailbox intact; timeout 0 polls', async t => {
  const rt = newRuntime()
  const { result: outP } = run(rt, async proc => {
    proc.send(proc.self, 'other')
    const r1 = await proc.receive(m => m === 'never', { timeout: 5 }).catch((e: { code: string }) => e.code)
    const r2 = await proc.receive(m => m === 'never', { timeout: 0 }).catch((e: { code: string }) => e.code)
    const r3 = await proc.receive(undefined, { timeout: 0 })
    return [r1, r2, r3]
  })
  const out = await outP
  t.same(out, ['ERR_RECEIVE_TIMEOUT', 'ERR_RECEIVE_TIMEOUT', 'other'])
})

t.test('a message arriving before the timeout cancels the timer', async t => {
  const pending: unknown[] = []
  const cleared: unknown[] = []
  const timers: Timers = {
    setTimeout: (cb, ms, ...args) => {
      const h = { cb, ms, args }
      pending.push(h)
      return h
    },
    clearTimeout: h => {
      cleared.push(h)
    },
  }
  const rt2 = new Runtime({ node: 'a@h', creation: 1, timers })
  const got = run(rt2, async proc => proc.receive(undefined, { timeout: 1000 }))
  await tick()
  t.equal(pending.length, 1)
  t.equal((pending[0] as { ms: number }).ms, 1000)
  rt2.send(got.pid, 'hi')
  t.equal(await got.result, 'hi')
  t.same(cleared, pending, 'timer cleared on delivery')

  // Fire an injected timer by hand: exact, no waiting.
  const got2 = run(rt2, async proc => proc.receive(undefined, { timeout: 50 }).catch((e: Error) => e))
  await tick()
  const h = pending[1] as { cb: (...a: unknown[]) => void; args: unknown[] }
  h.cb(...h.args)
  t.match(await got2.result, { code: 'ERR_RECEIVE_TIMEOUT' })
})

t.test("Node's timers: a receive's timer is kept for the next one, and holds nothing when unused", async t => {
  const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
  const timeouts = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
  const rt = newRuntime()
  const base = timeouts()
  let waiting = -1
  const steps: string[] = []
  const got = run(rt, async proc => {
    // (1) Answered at once: the timer is kept, unreferenced — it holds the event loop no more.
    steps.push(String(await proc.receive(undefined, { timeout: 60 })))
    // (2) A wait without a timeout outlives the kept timer's 60 ms: nothing rejects it.
    steps.push(String(await proc.receive()))
    // (3) The kept timer re-armed: it times out 100 ms after this receive began, not earlier.
    const t0 = Date.now()
    const before = timeouts()
    const p = proc.receive(undefined, { timeout: 100 })
    waiting = timeouts() - before
    await p.catch((e: Error) => steps.push(`${e.name} after ${Date.now() - t0 >= 95 ? '>= 95' : '< 95'} ms`))
    // (4) The same timeout again, after it fired: a fresh timer, a message before it.
    const q = proc.receive(undefined, { timeout: 100 })
    steps.push(String(await q))
    // (5) Re-armed shortly after being kept: still the full timeout from now.
    const t1 = Date.now()
    await sleep(60)
    await proc
      .receive(undefined, { timeout: 100 })
      .catch((e: Error) => steps.push(`${e.name} after ${Date.now() - t1 >= 155 ? '>= 155' : '< 155'} ms`))
    return steps
  })
  rt.send(got.pid, 'first')
  await sleep(20)
  t.equal(timeouts(), base, 'after (1): no referenced timer left behind')
  await sleep(120)
  rt.send(got.pid, 'second, 140 ms later')
  // (3) times out on its own; (4) then waits for this.
  for (const until = Date.now() + 10_000; steps.length < 3 && Date.now() < until;) await sleep(5)
  t.equal(waiting, 1, 'a waiting receive with a timeout holds the event loop')
  rt.send(got.pid, 'fourth')
  t.strictSame(await got.result, [
    'first',
    'second, 140 ms later',
    'ReceiveTimeoutError after >= 95 ms',
    'fourth',
    'ReceiveTimeoutError after >= 155 ms',
  ])
  t.equal(timeouts(), base, 'none held after the process ended')
})

t.test("Node's timers: 1,000 receives with the same timeout, each answered at once, make one timer", async t => {
  const real = globalThis.setTimeout
  let made = 0
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (fn.name === 'onReceiveTimeout') made++
    return real(fn, ms, ...args)
  }) as typeof setTimeout
  t.teardown(() => {
    globalThis.setTimeout = real
  })
  const rt = newRuntime()
  const got = run(rt, async proc => {
    let n = 0
    for (let i = 0; i < 1000; i++) n += (await proc.receive(undefined, { timeout: 5000 })) as number
    const other = (await proc.receive(undefined, { timeout: 4000 })) as number // another duration: a timer of its own
    return n + other
  })
  // One at a time, each to a waiting receive (one found in the mailbox needs no timer).
  for (let i = 0; i < 1001; i++) {
    await tick()
    rt.send(got.pid, 1)
  }
  t.equal(await got.result, 1001)
  t.equal(made, 2)
})

t.test('an AbortSignal rejects the receive with signal.reason', async t => {
  const rt = newRuntime()
  const ac = new AbortController()
  const got = run(rt, async proc => proc.receive(undefined, { signal: ac.signal }).catch((e: unknown) => e))
  await tick()
  const reason = new Error('stop waiting')
  ac.abort(reason)
  t.equal(await got.result, reason)

  const pre = AbortSignal.abort('already')
  t.equal(await run(rt, async proc => proc.receive(undefined, { signal: pre }).catch((e: unknown) => e)).result, 'already')

  // After a normal delivery the listener is gone: aborting later has no effect.
  const ac2 = new AbortController()
  const pid = rt.spawn(async proc => {
    await proc.receive(undefined, { signal: ac2.signal })
    await proc.receive()
  })
  await tick()
  rt.send(pid, 'one')
  await tick()
  ac2.abort(new Error('late'))
  await tick()
  t.ok(rt.isAlive(pid), 'still waiting in its second receive')
  rt.exit(pid, 'kill')
})

t.test('a second concurrent receive throws ERR_RECEIVE_BUSY', async t => {
  const rt = newRuntime()
  const { result: errP } = run(rt, async proc => {
    const first = proc.receive()
    let e: unknown
    try {
      void proc.receive()
    } catch (x) {
      e = x
    }
    proc.send(proc.self, 'm')
    t.equal(await first, 'm', 'the first receive still works')
    return e
  })
  const err = await errP
  t.match(err, { code: 'ERR_RECEIVE_BUSY' })
})

t.test('bad receive arguments', async t => {
  const rt = newRuntime()
  const { result: errsP } = run(rt, async proc => {
    const out: unknown[] = []
    const bad = [
      () => proc.receive('x' as never),
      () => proc.receive(undefined, { timeout: -1 }),
      () => proc.receive(undefined, { timeout: 2 ** 31 }), // Node would fire it after 1 ms
      () => proc.receive(undefined, { timeout: NaN }),
    ]
    for (const f of bad) {
      try {
        await f()
      } catch (e) {
        out.push((e as { code: string }).code)
      }
    }
    return out
  })
  const errs = await errsP
  t.same(errs, ['ERR_BAD_ARGUMENT', 'ERR_BAD_ARGUMENT', 'ERR_BAD_ARGUMENT', 'ERR_BAD_ARGUMENT'])
})

t.test('a throwing match rejects the receive and keeps the message', async t => {
  const rt = newRuntime()
  const boom = new Error('bad predicate')
  const pid = rt.spawn(async proc => {
    const e = await proc
      .receive(() => {
        throw boom
      })
      .catch((x: unknown) => x)
    proc.send(proc.self, ['caught', e === boom])
    const m1 = await proc.receive(m => Array.isArray(m))
    const m2 = await proc.receive()
    proc.register('done')
    await proc.receive(m => m === 'end')
    void m1
    void m2
    throw new Error(`${JSON.stringify(m1)} ${String(m2)}`)
  })
  await tick()
  rt.send(pid, 'kept')
  await tick()
  t.ok(rt.whereis('done'), 'went on after the failed receive')
  const watcher = run(rt, async proc => {
    proc.monitor(pid)
    return proc.receive()
  })
  await tick()
  rt.send('done', 'end')
  const down = (await watcher.result) as unknown[]
  t.match((down[4] as Error).message, '["caught",true] kept')
})

t.test('direct hand-off: a waiting receive takes the message without queueing it', async t => {
  const rt = newRuntime()
  let proc!: Proc
  const pid = rt.spawn(async p => {
    proc = p
    for (;;) await p.receive(m => m !== 'skip')
  })
  await tick()
  const mailbox = (proc as unknown as { mailbox: Mailbox }).mailbox
  rt.send(pid, 'take')
  t.equal(mailbox.size, 0, 'matched message never queued')
  rt.send(pid, 'skip')
  t.equal(mailbox.size, 1, 'unmatched message queued')
  rt.exit(pid, 'kill')
})

t.test('Mailbox: head index, holes and compaction keep order', async t => {
  const mb = new Mailbox()
  t.equal(mb.take(undefined), NONE)
  for (let i = 0; i < 5000; i++) mb.push(i)
  // Take every even number selectively (holes), then the rest in order.
  const evens: unknown[] = []
  for (let i = 0; i < 5000; i += 2) evens.push(mb.take(m => m === i))
  t.same(
    evens,
    Array.from({ length: 2500 }, (_, k) => 2 * k),
  )
  t.equal(mb.size, 2500)
  const rest: unknown[] = []
  for (let m = mb.take(undefined); m !== NONE; m = mb.take(undefined)) rest.push(m)
  t.same(
    rest,
    Array.from({ length: 2500 }, (_, k) => 2 * k + 1),
  )
  t.equal(mb.size, 0)

  // Plain takes from a long queue compact the consumed prefix.
  for (let i = 0; i < 5000; i++) mb.push(i)
  const fifo: unknown[] = []
  for (let i = 0; i < 3000; i++) fifo.push(mb.take(undefined))
  t.same(
    fifo,
    Array.from({ length: 3000 }, (_, k) => k),
  )
  mb.push('tail')
  t.equal(mb.size, 2001)
  t.equal(
    mb.take(m => m === 'tail'),
    'tail',
  )
  t.equal(mb.take(undefined), 3000)
  mb.clear()

  // Holes behind a message that stays at the head are squeezed out.
  mb.push('keep')
  for (let i = 0; i < 3000; i++) mb.push(i)
  for (let i = 2999; i >= 1000; i--) mb.take(m => m === i)
  t.equal(mb.size, 1001)
  t.equal(
    mb.take(m => m === 999),
    999,
  )
  t.equal(mb.take(undefined), 'keep')
  t.equal(mb.take(undefined), 0)

  // undefined is a message like any other.
  const mb2 = new Mailbox()
  mb2.push(undefined)
  mb2.push(1)
  t.equal(mb2.take(undefined), undefined)
  t.equal(mb2.size, 1)
  t.equal(
    mb2.removeWhere(m => m === 1),
    1,
  )
  t.equal(mb2.size, 0)
  mb2.push('a')
  mb2.push('b')
  t.equal(
    mb2.take(m => m === 'b'),
    'b',
  )
  t.equal(
    mb2.removeWhere(() => false),
    0,
  )
  t.equal(mb2.take(undefined), 'a')
})

/** Everything left in `mb`, in order (taken out). */
function drain(mb: Mailbox): unknown[] {
  const out: unknown[] = []
  for (let m = mb.take(undefined); m !== NONE; m = mb.take(undefined)) out.push(m)
  return out
}

t.test('Mailbox: a mark scans only what came after it, and falls back to the head when storage moved', async t => {
  const mb = new Mailbox()
  for (let i = 0; i < 10; i++) mb.push(i)
  const mark = mb.mark()
  const seen: unknown[] = []
  const spy = (m: unknown): boolean => (seen.push(m), m === 'x')
  t.equal(mb.take(spy, mark), NONE, 'nothing after the mark yet')
  t.same(seen, [], 'and nothing before it looked at')
  mb.push('y')
  mb.push('x')
  t.equal(mb.take(spy, mark), 'x')
  t.same(seen, ['y', 'x'], 'only what came after the mark')
  t.equal(mb.take(undefined, mark), 'y', 'a mark with no match takes the first after it')
  mb.push('down')
  seen.length = 0
  t.equal(
    mb.removeWhere(m => (seen.push(m), m === 'down'), mark),
    1,
  )
  t.same(seen, ['down'], 'removeWhere from a mark')
  t.same(drain(mb), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the messages ahead of the mark stay, in order')

  // A mark taken before a compaction: the scan starts at the head again (slower, not wrong).
  for (let i = 0; i < 3000; i++) mb.push(i)
  const old = mb.mark()
  mb.push('late')
  for (let i = 0; i < 2000; i++) mb.take(undefined) // the consumed prefix is compacted away
  t.equal(
    mb.take(m => m === 'late' || m === 2500, old),
    2500,
    'after the compaction the mark scans from the head',
  )
  t.equal(
    mb.take(m => m === 'late', old),
    'late',
  )
  // A removeWhere whose removals compact the storage midway still removes every match.
  mb.clear()
  for (let i = 0; i < 5000; i++) mb.push(i)
  t.equal(
    mb.removeWhere(m => (m as number) % 5 !== 0),
    4000,
  )
  t.same(
    drain(mb),
    Array.from({ length: 1000 }, (_, k) => 5 * k),
  )
})

t.test('Mailbox: marks agree with a model under random operations', async () => {
  // Messages are numbered as pushed; a take or removeWhere from a mark only ever matches
  // numbers pushed after it, as a call's ref can only be named by what came after it.
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 1500 }) }),
          fc.record({ op: fc.constant('mark' as const) }),
          fc.record({ op: fc.constant('take' as const), mod: fc.integer({ min: 1, max: 7 }), useMark: fc.boolean() }),
          fc.record({ op: fc.constant('remove' as const), mod: fc.integer({ min: 2, max: 9 }), useMark: fc.boolean() }),
          fc.record({ op: fc.constant('clear' as const) }),
        ),
        { maxLength: 40 },
      ),
      ops => {
        const mb = new Mailbox()
        let model: number[] = []
        let next = 0
        let mark = mb.mark()
        let markN = 0
        for (const o of ops) {
          if (o.op === 'push') {
            for (let i = 0; i < o.n; i++) {
              mb.push(next)
              model.push(next++)
            }
          } else if (o.op === 'mark') {
            mark = mb.mark()
            markN = next
          } else if (o.op === 'take') {
            const from = o.useMark ? markN : 0
            const ok = (m: unknown): boolean => (m as number) >= from && (m as number) % o.mod === 0
            const i = model.findIndex(ok)
            const want = i < 0 ? NONE : model.splice(i, 1)[0]
            const got = mb.take(ok, o.useMark ? mark : undefined)
            if (got !== want) throw new Error(`take: got ${String(got)}, want ${String(want)}`)
          } else if (o.op === 'remove') {
            const from = o.useMark ? markN : 0
            const ok = (m: unknown): boolean => (m as number) >= from && (m as number) % o.mod !== 0
            const keep = model.filter(m => !ok(m))
            const n = mb.removeWhere(ok, o.useMark ? mark : undefined)
            if (n !== model.length - keep.length) throw new Error(`removeWhere: ${n}, want ${model.length - keep.length}`)
            model = keep
          } else {
            mb.clear()
            model = []
          }
          if (mb.size !== model.length) throw new Error(`size ${mb.size}, want ${model.length}`)
        }
        const rest = drain(mb)
        if (rest.length !== model.length || rest.some((m, i) => m !== model[i])) throw new Error('contents differ from the model')
      },
    ),
    { numRuns: 300 },
  )
})

t.test('a large mailbox drains in linear time', async t => {
  const rt = newRuntime()
  const N = 200_000
  const got = run(rt, async proc => {
    let sum = 0
    for (let i = 0; i < N; i++) sum += (await proc.receive()) as number
    return sum
  })
  for (let i = 0; i < N; i++) rt.send(got.pid, 1)
  const t0 = Date.now()
  t.equal(await got.result, N)
  t.ok(Date.now() - t0 < 5000, 'no quadratic shift()')
})

t.test('timeout Infinity waits without a timer', async t => {
  let armed = 0
  const timers: Timers = {
    setTimeout: () => {
      armed++
      return 0
    },
    clearTimeout: () => {},
  }
  const rt = new Runtime({ node: 'a@h', creation: 1, timers })
  const got = run(rt, async proc => proc.receive(undefined, { timeout: Infinity }))
  await tick()
  rt.send(got.pid, 'late')
  t.equal(await got.result, 'late')
  t.equal(armed, 0)
})
