// The local name registry (register/2, unregister/1, whereis/1, registered/0). A name belongs
// to one live process and a process has at most one name; the name is freed when it exits.
import { RegistryError } from '../errors.js'
import type { Process } from './process.js'

/** 'undefined' is reserved, as in Erlang; names are atoms, so at most 255 characters. */
export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name === 'undefined' || name.length > 255) {
    throw new RegistryError(
      'ERR_BAD_REGISTERED_NAME',
      `register: ${JSON.stringify(String(name))} is not a valid name (non-empty string, not 'undefined', at most 255 characters)`,
    )
  }
}

export class NameRegistry {
  private readonly byName = new Map<string, Process>()

  constructor(private readonly system: { readonly node: string }) {}

  register(name: string, p: Process): void {
    checkName(name)
    const holder = this.byName.get(name)
    if (holder !== undefined) {
      throw new RegistryError(
        'ERR_NAME_TAKEN',
        `register: ${JSON.stringify(name)} is already registered to ${holder.self.toString()} on ${this.system.node}`,
      )
    }
    if (p.regName !== undefined) {
      throw new RegistryError(
        'ERR_ALREADY_REGISTERED',
        `register: ${p.self.toString()} is already registered as ${JSON.stringify(p.regName)}`,
      )
    }
    this.byName.set(name, p)
    p.regName = name
  }

  /** True when the name was registered. */
  unregister(name: string): boolean {
    const p = this.byName.get(name)
    if (p === undefined) return false
    this.byName.delete(name)
    p.regName = undefined
    return true
  }

  get(name: string): Process | undefined {
    return this.byName.get(name)
  }

  names(): string[] {
    return [...this.byName.keys()]
  }

  /** The holder exited. */
  drop(name: string): void {
    this.byName.delete(name)
  }
}
