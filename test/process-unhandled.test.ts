// No unhandled rejection ever escapes the runtime, whatever a process does or however it dies.
import t from 'tap'
import { Runtime, ProcessExit, type Proc } from '../lib/process/runtime.js'
import type { Logger } from '../lib/logger.js'

const tick = async (n = 1): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve))
}

t.test('crashes, kills, exits and receives after death leave no unhandled rejection', async t => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  const logged: unknown[] = []
  const logger: Logger = {
    trace() {},
    debug() {},
    info() {},
    warn() {},
    error(obj) {
      logged.push(obj)
    },
  }
  const rt = new Runtime({ node: 'a@h', creation: 1, logger })
  const parked: Proc[] = []

  // 1. throws, synchronously and asynchronously, with an Error and with a non-Error.
  rt.spawn(() => {
    throw new Error('sync')
  })
  rt.spawn(async () => {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- yields one microtask on purpose
    await null
    throw new Error('async')
  })
  rt.spawn(async () => Promise.reject('plain value'))
  // 2. a thenable that rejects.
  rt.spawn(() => ({ then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error('thenable')) }))
  // 3. killed while waiting in a receive it never awaited.
  const notAwaited = rt.spawn(async proc => {
    void proc.receive()
    await new Promise(() => {}) // parked forever on something else
  })
  // 4. killed while awaiting receive, catching the marker and returning normally.
  const catcher = rt.spawn(async proc => {
    try {
      await proc.receive()
    } catch (e) {
      if (!(e instanceof ProcessExit)) throw e
    }
  })
  // 5. receive after death, not awaited; proc.exit deep in helpers; exit in a sync function.
  rt.spawn(async proc => {
    parked.push(proc)
    const helper = (): never => proc.exit('deep')
    // eslint-disable-next-line @typescript-eslint/await-thenable -- yields one microtask on purpose
    await null
    helper()
  })
  rt.spawn(proc => proc.exit(new Error('sync exit')))
  // 6. a receive that times out and is caught; one that times out uncaught crashes the process.
  rt.spawn(async proc => {
    await proc.receive(undefined, { timeout: 1 }).catch(() => {})
  })
  rt.spawn(async proc => {
    await proc.receive(undefined, { timeout: 1 })
  })
  // 7. many processes waiting in receive, all killed by shutdown.
  for (let i = 0; i < 1000; i++) rt.spawn(proc => proc.receive())

  await tick(2)
  rt.exit(notAwaited, 'kill')
  rt.exit(catcher, 'kill')
  for (const p of parked) {
    void p.receive() // after death: rejected, but marked handled
    p.send(p.self, 'dropped')
  }
  await new Promise(resolve => setTimeout(resolve, 20))
  rt.shutdown()
  await new Promise(resolve => setTimeout(resolve, 20))

  t.same(unhandled, [], 'no unhandled rejection')
  t.equal(rt.processCount, 0)
  // Crashes are logged (Erlang's "Error in process"); exits by proc.exit and kills are not.
  t.equal(logged.length, 5, 'sync, async, plain value, thenable, uncaught receive timeout')
})
