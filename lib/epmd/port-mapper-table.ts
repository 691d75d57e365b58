// The daemon's name table: registered nodes, and the last creation of names that went away
// so that a node re-registering under the same name gets a different creation (OTP 23+).

import { randomInt } from 'node:crypto'
import type { NodeInfo } from './protocol.js'

export interface Registration<Owner> extends NodeInfo {
  creation: number
  owner: Owner
}

export interface PortMapperTable<Owner> {
  /** undefined when the name is taken. */
  register(info: NodeInfo, owner: Owner): Registration<Owner> | undefined
  unregister(name: string): Registration<Owner> | undefined
  get(name: string): Registration<Owner> | undefined
  list(): Registration<Owner>[]
  readonly size: number
}

/** Creations 0..3 mean "old 2-bit creation": fresh 32-bit creations start at 4, as in epmd. */
const MIN_CREATION = 4
const MAX_CREATION = 0xffffffff

/** How many unregistered names keep their last creation (epmd's MAX_UNREG_COUNT). */
export const MAX_REMEMBERED = 1000

export function createPortMapperTable<Owner>(opts: { random?: () => number; maxRemembered?: number } = {}): PortMapperTable<Owner> {
  const random = opts.random ?? (() => randomInt(MIN_CREATION, 2 ** 32))
  const maxRemembered = opts.maxRemembered ?? MAX_REMEMBERED
  const live = new Map<string, Registration<Owner>>()
  const past = new Map<string, number>() // name -> last creation, oldest first

  const nextCreation = (name: string): number => {
    const prev = past.get(name)
    if (prev === undefined) return random()
    past.delete(name)
    // The next value after the previous one, as epmd bumps its counter: consecutive values
    // also differ after the old 1..3 mapping (creation % 3 + 1) for version-5 nodes.
    return prev >= MAX_CREATION ? MIN_CREATION : prev + 1
  }

  return {
    get size() {
      return live.size
    },
    register(info, owner) {
      if (live.has(info.name)) return undefined
      const reg: Registration<Owner> = { ...info, creation: nextCreation(info.name), owner }
      live.set(info.name, reg)
      return reg
    },
    unregister(name) {
      const reg = live.get(name)
      if (!reg) return undefined
      live.delete(name)
      past.set(name, reg.creation)
      if (past.size > maxRemembered) past.delete(past.keys().next().value as string)
      return reg
    },
    get(name) {
      return live.get(name)
    },
    list() {
      return [...live.values()]
    },
  }
}

/** The creation an old (distribution version 5) node receives in ALIVE2_RESP: 1..3. */
export function oldCreation(creation: number): number {
  return (creation % 3) + 1
}
