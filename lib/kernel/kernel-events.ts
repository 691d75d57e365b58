// The kernel's events (nodeup, nodedown, connectError) go to the node's listeners and to the
// diagnostics channels (lib/diagnostics.ts), where every node of the process can be observed
// without a reference to it. A channel message is built only when the channel has a subscriber.
import type { KernelOptions } from './net-kernel.js'
import { CONNECTION_ERROR_CHANNEL, NODEDOWN_CHANNEL, NODEUP_CHANNEL, publish } from '../diagnostics.js'

type Emit = KernelOptions['emit']

/** `emit`, also publishing each event on its channel, with `node` = the local node's name. */
export function publishingEmit(node: string, emit: Emit): Emit {
  return ((event: 'nodeup' | 'nodedown' | 'connectError', peer: string | undefined, info: Record<string, unknown>): void => {
    if (event === 'nodeup') {
      publish(NODEUP_CHANNEL, () => ({ node, peer, type: info.type, transport: info.transport }))
    } else if (event === 'nodedown') {
      publish(NODEDOWN_CHANNEL, () => ({ node, peer, reason: info.reason, type: info.type }))
    } else {
      publish(CONNECTION_ERROR_CHANNEL, () => {
        const error = info.error as Error
        return { node, peer, address: info.address, direction: info.direction, code: info.code, message: error.message }
      })
    }
    emit(event as 'nodeup', peer as string, info)
  }) as Emit
}
