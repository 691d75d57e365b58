import { Pid } from './pid.js'
import { Ref } from './ref.js'
import { NetkernelError } from '../errors.js'

/** node(Item): the node a pid or ref belongs to. */
export function nodeOf(item: Pid | Ref): string {
  if (item instanceof Pid || item instanceof Ref) return item.node
  throw new NetkernelError('ERR_BAD_ARGUMENT', `nodeOf expects a Pid or Ref, got ${typeof item}`)
}
