// Which Discovery a node uses, from its options: `discovery` when given; else one that
// resolves with `resolve` when given (else asks the node host's port mapper) and announces to
// this node's port mapper (nothing with `epmd: false`).
import { staticDiscovery, type Discovery } from './discovery.js'
import { epmdDiscovery } from './epmd/discovery.js'
import { EpmdError } from './errors.js'
import type { ResolvedOptions } from './node-options.js'

type DiscoveryOptions = Pick<ResolvedOptions, 'discovery' | 'resolve' | 'epmd' | 'transport' | 'logger' | 'clock'>

export function nodeDiscovery(o: DiscoveryOptions): Discovery {
  if (o.discovery !== undefined) return o.discovery
  const { epmd, transport, logger, clock } = o
  if (epmd === false) {
    return staticDiscovery(
      o.resolve ??
        (async node => {
          throw new EpmdError('ERR_NODE_NOT_FOUND', `cannot find ${node}: epmd is false and no resolve option was given`)
        }),
    )
  }
  const mapper = epmdDiscovery({ ...epmd, transport, logger, clock })
  return o.resolve === undefined ? mapper : { resolve: o.resolve, announce: mapper.announce }
}
