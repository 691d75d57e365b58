// A cluster upgraded one node at a time: a node of the previous build — protocol version 4,
// whose handshake refused any other version — runs in its own OS process from that commit's
// source (test/fixtures/old-build.ts) beside nodes of this build, which speak 4 and 5. Each
// side dials the other; the pairs speak 4, messages and remote calls cross both ways, a
// message to an alias of the old node is dropped here (it carries no ALIAS_SEND) and the
// connection carries on; two nodes of this build speak 5.
import t from 'tap'
import { Ref } from '../lib/terms/ref.js'
import { PROTOCOL_VERSION } from '../lib/kernel/frames.js'
import type { Node } from '../lib/node.js'
import { inProcess, testEpmd, testNode } from './fixtures/cluster.js'
import { startPeer } from './fixtures/peers.js'
import { PROTOCOL_4_COMMIT, oldBuildMissing, unpackOldBuild } from './fixtures/old-build.js'
import { join } from 'node:path'

const skip = await oldBuildMissing(PROTOCOL_4_COMMIT)
if (skip) t.comment(`skipped: ${skip}`)

const versionTo = (node: Node, peer: string): number | undefined => node.stats().connections.find(c => c.peer === peer)?.protocolVersion

t.test('a node of the previous build (protocol 4) and nodes of this one', { skip }, async t => {
  const dir = await unpackOldBuild(t, PROTOCOL_4_COMMIT)
  const epmd = await testEpmd(t)
  const old = await startPeer(
    t,
    { name: `old${process.pid}`, cookie: 'test-cookie', epmdPort: epmd.port },
    60_000,
    join(dir, 'test/fixtures/peer-main.ts'),
  )
  const a = await testNode(t, epmd, { name: `newa${process.pid}` })
  const b = await testNode(t, epmd, { name: `newb${process.pid}` })

  // this build dials the old one: it offers 4 to 5, the old node takes 4 and names none
  t.equal(await a.connect(old.name), true)
  t.equal(versionTo(a, old.name), 4, 'the connection speaks 4')
  t.equal(await a.rpc(old.name, 'r', 'add', [40, 2]), 42, 'a remote call runs on the old node')
  const inbox = new Promise<unknown>(resolve => {
    a.spawn(async proc => {
      proc.register('inbox')
      resolve(await proc.receive(undefined, { timeout: 10_000 }))
    })
  })
  await new Promise(r => setTimeout(r, 20))
  old.command(`send inbox ${a.name} {"from":"old"}`)
  t.same(await inbox, { from: 'old' }, 'a message from the old node arrives')

  // an alias of the old node's: none can exist, and nothing is sent
  a.send(new Ref(old.name, 1, old.creation, [1, 2, 3]), 'to an alias')
  t.equal(await a.rpc(old.name, 'r', 'add', [1, 2]), 3, 'the connection carries on')
  t.same(
    old.lines.filter(l => /NODEDOWN|CONNECT_ERROR/.test(l)),
    [],
  )
  const seen = await a.stats(old.name)
  t.same(seen.refused[a.name], undefined, 'the old node refused nothing from here: no frame it does not know reached it')

  // the old build dials this one: its hello says 4 alone
  old.command(`connect ${b.name}`)
  t.match(await old.waitFor(new RegExp(`^CONNECT ${b.name} `), 20_000), / true$/)
  t.equal(versionTo(b, old.name), 4)
  t.equal(await b.rpc(old.name, 'r', 'add', [2, 3]), 5)
  t.same(await inProcess(b, proc => proc.rpc(old.name, 'r', 'whoami', [])).then(r => (r as unknown[])[0]), old.name)

  // two nodes of this build
  t.equal(await a.connect(b.name), true)
  t.equal(versionTo(a, b.name), PROTOCOL_VERSION, 'this build with itself: the newest')
  t.equal(versionTo(b, a.name), PROTOCOL_VERSION)
})
