// A node keeps its port-mapper registration: when the port mapper restarts, the node
// registers again (and keeps its creation); after stop() it does not. (When the port mapper
// keeps running and drops the name itself, epmd -stop, the node leaves it unregistered:
// test/epmd-cli.test.ts.)
import t from 'tap'
import { startEpmd } from '../lib/epmd/daemon.js'
import { startNode } from '../lib/node.js'
import { levelLog } from './fixtures/level-log.js'

t.test('a node registers again with a restarted port mapper', async t => {
  let epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
  const port = epmd.port
  t.teardown(() => epmd.close())
  const { lines: warnings, logger } = levelLog('warn')
  const node = await startNode({
    name: 'phoenix',
    cookie: 'c',
    listen: { host: '127.0.0.1' },
    epmd: { host: '127.0.0.1', port, autoStart: false },
    logger,
  })
  t.teardown(() => node.stop())
  t.same(
    epmd.names().map(n => n.name),
    ['phoenix'],
  )
  const creation = node.creation
  epmd.destroy()
  // It is down for a while, as a restarted process is: the node finds nobody answering.
  for (const until = Date.now() + 10_000; !warnings.some(w => /does not answer/.test(w)) && Date.now() < until;)
    await new Promise(r => setTimeout(r, 20))
  epmd = await startEpmd({ host: '127.0.0.1', port })
  const until = Date.now() + 10_000
  while (!epmd.names().some(n => n.name === 'phoenix') && Date.now() < until) await new Promise(r => setTimeout(r, 50))
  t.same(epmd.names(), [{ name: 'phoenix', port: node.address!.port }], 'registered again, with its port')
  t.equal(node.creation, creation, 'the node keeps its creation')
  await node.stop()
  await new Promise(r => setTimeout(r, 300))
  t.same(epmd.names(), [], 'a stopped node is not registered again')
})
