// startNode({ discovery }): a Discovery of one's own replaces the port mapper. The node
// announces itself through it once it listens (its creation taken from the announcement),
// resolves peers with it, and withdraws the announcement when it stops. Given together with
// `resolve` or an `epmd` object it is refused.
import t from 'tap'
import { startNode, type Discovery, type AnnounceOptions, type NodeAddress } from '../lib/index.js'

/** A directory in a Map: what a DNS- or Kubernetes-based discovery would keep elsewhere. */
function mapDiscovery(): Discovery & { entries: Map<string, NodeAddress>; announced: AnnounceOptions[]; resolved: string[] } {
  const entries = new Map<string, NodeAddress>()
  const announced: AnnounceOptions[] = []
  const resolved: string[] = []
  return {
    entries,
    announced,
    resolved,
    async resolve(node) {
      resolved.push(node)
      const found = entries.get(node)
      if (found === undefined) throw Object.assign(new Error(`unknown ${node}`), { code: 'ERR_NODE_NOT_FOUND' })
      return found
    },
    async announce(a) {
      announced.push(a)
      entries.set(a.name, { host: '127.0.0.1', port: a.port, protocol: 'netkernel' })
      return { creation: 4242, close: () => void entries.delete(a.name) }
    },
  }
}

t.test('peers are found and the node is announced through the given discovery', async t => {
  const d = mapDiscovery()
  const listen = { host: '127.0.0.1' }
  const a = await startNode({ name: 'discoa', cookie: 'c', listen, discovery: d })
  const b = await startNode({ name: 'discob', cookie: 'c', listen, discovery: d })
  t.teardown(() => Promise.all([a.stop(), b.stop()]))
  t.same(
    d.announced.map(x => [x.name, x.port, x.hidden]),
    [
      [a.name, a.address!.port, false],
      [b.name, b.address!.port, false],
    ],
    'each node announced its name and port once it listened',
  )
  t.equal(a.creation, 4242, "the announcement's creation is the node's")
  t.equal(await a.connect(b.name), true, 'a reaches b at the address the discovery resolved')
  t.same(d.resolved, [b.name])
  await b.stop()
  t.notOk(d.entries.has(b.name), 'stopping withdraws the announcement')
  t.ok(d.entries.has(a.name))
})

t.test('discovery with resolve or an epmd object is refused', async t => {
  const discovery = mapDiscovery()
  const resolve = async (): Promise<NodeAddress> => ({ host: '127.0.0.1', port: 1 })
  await t.rejects(startNode({ name: 'discoc', cookie: 'c', discovery, resolve }), { code: 'ERR_BAD_ARGUMENT', message: /discovery/ })
  await t.rejects(startNode({ name: 'discoc', cookie: 'c', discovery, epmd: { port: 1 } }), { code: 'ERR_BAD_ARGUMENT' })
  t.same(discovery.announced, [], 'nothing announced')
})
