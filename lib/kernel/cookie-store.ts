// The cookies a node uses (CookieStore): its own, and per-node ones set with setFor()
// (Erlang's erlang:set_cookie/2). Never logged, never sent: only the secret the PAKE (auth/cookie.ts) derives its generator from.
// The own cookie may come from a loader (the cookie file), called the first time that cookie
// is read, so a node that never needs it never touches the file.
import type { CookieStore } from '../authenticator.js'
import { NetkernelError } from '../errors.js'

function checkCookie(cookie: unknown, what: string): string {
  if (typeof cookie !== 'string' || cookie.length === 0) {
    throw new NetkernelError('ERR_BAD_ARGUMENT', `${what}: a cookie must be a non-empty string`)
  }
  return cookie
}

export class Cookies implements CookieStore {
  #own: string | undefined
  #load: (() => string) | undefined
  readonly #perNode = new Map<string, string>()

  /**
   * `own`: the cookie, or a function returning it, called when it is first needed (again
   * after a throw: a failed load is not remembered, so a fixed file is read next time).
   */
  constructor(own: string | (() => string)) {
    if (typeof own === 'function') this.#load = own
    else this.#own = checkCookie(own, 'Cookies')
  }

  /** This node's own cookie, used with every node that has no per-node cookie. */
  get own(): string {
    if (this.#own === undefined) {
      this.#own = checkCookie((this.#load as () => string)(), 'Cookies')
      this.#load = undefined
    }
    return this.#own
  }

  set own(cookie: string) {
    this.set(cookie)
  }

  /** Replace this node's own cookie (erlang:set_cookie/1). */
  set(own: string): void {
    this.#own = checkCookie(own, 'Cookies.set')
    this.#load = undefined
  }

  /** Use `cookie` with `node` only (erlang:set_cookie/2). */
  setFor(node: string, cookie: string): void {
    if (typeof node !== 'string' || node.length === 0) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', 'Cookies.setFor: the node name must be a non-empty string')
    }
    this.#perNode.set(node, checkCookie(cookie, `Cookies.setFor(${JSON.stringify(node)})`))
  }

  /** Forget the per-node cookie of `node`: its own cookie applies again. */
  deleteFor(node: string): boolean {
    return this.#perNode.delete(node)
  }

  cookieFor(node: string): string {
    return this.#perNode.get(node) ?? this.own
  }
}
