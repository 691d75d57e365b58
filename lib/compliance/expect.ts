// The suites' own checks beyond node:assert: an outcome that must be a typed netkernel error.
import assert from 'node:assert/strict'
import { inspect } from 'node:util'

/** A short printable form of a value, for failure messages. */
export function shown(v: unknown): string {
  return inspect(v, { depth: 2, breakLength: Infinity })
}

/**
 * `e` is an instance of `cls` whose `code` is one of `codes`; `what` names the check.
 * Returns `e`, typed.
 */
export function expectTyped<E extends Error>(
  e: unknown,
  cls: abstract new (...args: never[]) => E,
  codes: string | readonly string[],
  what: string,
): E {
  assert.ok(e instanceof cls, `${what}: a ${cls.name} (got ${shown(e)})`)
  const allowed = typeof codes === 'string' ? [codes] : codes
  const code = (e as { code?: unknown }).code
  assert.ok(
    typeof code === 'string' && allowed.includes(code),
    `${what}: code ${String(code)} is one of ${allowed.join(', ')} (got ${shown(e)})`,
  )
  return e
}
