// diagnostics_channel channels a node publishes on (node:diagnostics_channel). Subscribing
// costs nothing when nobody listens: each publish first checks `hasSubscribers`.
//
//   import diagnostics_channel from 'node:diagnostics_channel'
//   diagnostics_channel.subscribe('netkernel:refused', msg => console.log(msg))
//
// Every message carries `node` (the local node's name). The shape of each is documented
// with its channel below and in the README ("Observing a node").
import diagnosticsChannel from 'node:diagnostics_channel'

/** A connection came up: { node, peer, type: 'visible' | 'hidden', transport }. */
export const NODEUP_CHANNEL = 'netkernel:nodeup'
/**
 * A connection went down: { node, peer, reason, type }. reason is 'connection_closed',
 * 'disconnect', 'net_tick_timeout', or 'connection_setup_failed' when a connection that was
 * asked for could not be set up (a connection-error message comes first), as the node's
 * nodedown event.
 */
export const NODEDOWN_CHANNEL = 'netkernel:nodedown'
/**
 * A connection could not be set up or was refused: { node, peer?, address?, direction:
 * 'out' | 'in', code, message }. peer is missing when an inbound connection failed before it
 * named itself; address is the dialled 'host:port', or the remote address of an inbound
 * connection, when known.
 */
export const CONNECTION_ERROR_CHANNEL = 'netkernel:connection-error'
/** A peer asked for an operation that policy, protocol or a limit refused: { node, peer, op, detail, code, reason }. */
export const REFUSED_CHANNEL = 'netkernel:refused'

const channels = new Map<string, diagnosticsChannel.Channel>()

function channel(name: string): diagnosticsChannel.Channel {
  let ch = channels.get(name)
  if (ch === undefined) {
    ch = diagnosticsChannel.channel(name)
    channels.set(name, ch)
  }
  return ch
}

/** Publish on a channel; builds the message only when someone subscribes. */
export function publish(name: string, message: () => object): void {
  const ch = channel(name)
  if (ch.hasSubscribers) ch.publish(message())
}
