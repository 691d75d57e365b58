// What a compliance suite is made of, runner-independent: a list of named cases, each an
// async function that throws (an AssertionError from node:assert) when the implementation
// under test does not comply. Each case calls the suite's setup() for a fresh fixture, runs,
// then releases everything it opened (its own cleanups, then teardown(fixture)), under a
// deadline of its own, so cases can run in any order, alone, or filtered by name.
import { AssertionError } from 'node:assert'

/** One named check of a compliance suite: `run()` resolves when it passes, throws when not. */
export interface ComplianceCase {
  readonly name: string
  run(): Promise<void>
}

/**
 * How a suite gets the implementation under test: `setup()` is called once per case and
 * returns a fresh fixture; `teardown(fixture)` is called after that case, pass or fail.
 */
export interface ComplianceSetup<F> {
  setup(): F | Promise<F>
  teardown?(fixture: F): void | Promise<void>
  /** Longest a case may take, in ms: setup and checks (default 15000); its cleanup gets as long again. */
  caseTimeout?: number
}

/** What a case body is given besides the fixture: a place to register its cleanups. */
export interface CaseScope {
  /** Run `fn` when the case ends (last registered, first run). */
  defer(fn: () => unknown): void
}

export type CaseBody<F> = (fixture: F, scope: CaseScope) => Promise<void>

const DEFAULT_CASE_TIMEOUT = 15_000

/** `p`, or an AssertionError `message` once `ms` have passed (the timer cleared either way). */
async function withDeadline(p: Promise<unknown>, ms: number, message: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AssertionError({ message })), ms)
  })
  try {
    await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Run every cleanup, last registered first; throw the first failure after all ran. */
async function runAll(cleanups: ReadonlyArray<() => unknown>): Promise<void> {
  const failures: unknown[] = []
  for (const fn of [...cleanups].reverse()) {
    try {
      await fn()
    } catch (err) {
      failures.push(err)
    }
  }
  if (failures.length > 0) throw failures[0]
}

/**
 * A case of a suite: a fresh fixture and the body under the case deadline, then every cleanup
 * and the teardown (under a deadline as long), pass or fail. The first failure is thrown.
 */
export function complianceCase<F>(name: string, setup: ComplianceSetup<F>, body: CaseBody<F>): ComplianceCase {
  return {
    name,
    async run() {
      const cleanups: Array<() => unknown> = []
      const scope: CaseScope = { defer: fn => void cleanups.push(fn) }
      const ms = setup.caseTimeout ?? DEFAULT_CASE_TIMEOUT
      let failed = false
      let failure: unknown
      const fail = (err: unknown): void => {
        if (!failed) [failed, failure] = [true, err]
      }
      let over = false
      const run = async (): Promise<void> => {
        const fixture = await setup.setup()
        const teardown = (): unknown => setup.teardown?.(fixture)
        if (over) return void (await teardown()) // set up after the deadline: release it at once
        cleanups.push(teardown)
        await body(fixture, scope)
      }
      await withDeadline(run(), ms, `${name}: did not finish within ${ms} ms`).catch(fail)
      over = true
      await withDeadline(runAll(cleanups), ms, `${name}: its cleanup and teardown did not finish within ${ms} ms`).catch(fail)
      if (failed) throw failure
    },
  }
}
