// Node names (issue 3): short and long names, illegal names, and the refusal between a
// short-name node and a long-name node, seen on both sides.
import t, { type Test } from 'tap'
import { hostname } from 'node:os'
import { startNode, type Node } from '../lib/node.js'
import type { StartNodeOptions } from '../lib/node-options.js'
import type { DialAddress } from '../lib/transport.js'
import { NodeNameError } from '../lib/errors.js'
import { longHostname } from '../lib/node-name.js'
import { testEpmd, testNode, full, host, nextEvent, inProcess } from './fixtures/cluster.js'

/** A node with no port mapper, listening on loopback, finding peers through `book`. */
async function bookNode(t: Test, book: Map<string, DialAddress>, opts: Partial<StartNodeOptions> & { name: string }): Promise<Node> {
  const node = await startNode({
    cookie: 'names-cookie',
    epmd: false,
    listen: { host: '127.0.0.1' },
    resolve: async n => {
      const a = book.get(n)
      if (a === undefined) throw new Error(`no address for ${n} in the test's book`)
      return a
    },
    ...opts,
  })
  t.teardown(() => node.stop())
  book.set(node.name, node.address!)
  return node
}

t.test("a short name 'foo' becomes 'foo@<short hostname>'", async t => {
  const epmd = await testEpmd(t)
  const node = await testNode(t, epmd, { name: 'foo' })
  t.equal(node.name, full('foo'))
  t.equal(node.name, `foo@${host}`)
  t.notOk(host.includes('.'), 'the short host part has no dot')
  t.same(
    epmd.names().map(n => n.name),
    ['foo'],
    'the port mapper knows the alive part',
  )
})

t.test("'foo@host' is taken as given", async t => {
  const node = await startNode({ name: 'foo@elsewhere', cookie: 'c', epmd: false })
  t.teardown(() => node.stop())
  t.equal(node.name, 'foo@elsewhere')
  const pid = node.spawn(() => {})
  t.equal(pid.node, 'foo@elsewhere', 'its pids carry the name as given')
})

t.test('illegal names make startNode reject with ERR_BAD_NODE_NAME', async t => {
  const illegal: [string, string][] = [
    ['a@b@c', 'two @'],
    ['', 'empty'],
    ['fo\0o', 'a NUL byte'],
    ['a'.repeat(256), 'over 255 bytes (alive part alone)'],
    ['a'.repeat(250) + '@' + 'h'.repeat(10), 'over 255 bytes (full name)'],
    ['a'.repeat(255 - host.length), 'over 255 bytes once the host is added'],
    ['@host', 'empty alive part'],
    ['foo@', 'empty host part'],
    ['fo o', 'a space in the alive part'],
  ]
  for (const [name, why] of illegal) {
    const err = await startNode({ name, cookie: 'c', epmd: false }).then(
      n => {
        void n.stop()
        return undefined
      },
      (e: unknown) => e,
    )
    t.type(err, NodeNameError, `${why}: a NodeNameError`)
    t.match(err, { code: 'ERR_BAD_NODE_NAME', name: 'NodeNameError' }, `${why}: code ERR_BAD_NODE_NAME`)
  }
  await t.rejects(
    startNode({ name: 42 as unknown as string, cookie: 'c', epmd: false }),
    { code: 'ERR_BAD_NODE_NAME' },
    'a name that is not a string',
  )
})

t.test('a name of exactly 255 bytes is legal', async t => {
  const name = 'a'.repeat(255 - 1 - host.length)
  const node = await startNode({ name, cookie: 'c', epmd: false })
  t.teardown(() => node.stop())
  t.equal(Buffer.byteLength(node.name), 255)
})

t.test('longNames: true needs a fully qualified host', async t => {
  await t.rejects(
    startNode({ name: 'x@vmhost', longNames: true, cookie: 'c', epmd: false }),
    { code: 'ERR_BAD_NODE_NAME' },
    'an undotted host is refused',
  )
  await t.rejects(
    startNode({ name: 'x@host.example', cookie: 'c', epmd: false }),
    { code: 'ERR_BAD_NODE_NAME' },
    'a short-name node refuses a dotted host',
  )
  await t.rejects(
    startNode({ name: 'x@127.0.0.1', cookie: 'c', epmd: false }),
    { code: 'ERR_BAD_NODE_NAME' },
    'a short-name node refuses an IP host',
  )
  for (const name of ['x@127.0.0.1', 'x@host.example']) {
    const node = await startNode({ name, longNames: true, cookie: 'c', epmd: false })
    t.equal(node.name, name, `${name} is a legal long name`)
    await node.stop()
  }
  // 'x' alone takes this machine's host name, which must then be fully qualified.
  const fqdn = longHostname()
  if (fqdn === undefined) {
    await t.rejects(
      startNode({ name: 'x', longNames: true, cookie: 'c', epmd: false }),
      { code: 'ERR_BAD_NODE_NAME', message: /fully qualified/ },
      `this host ('${hostname()}') has no domain: 'x' is refused`,
    )
  } else {
    const node = await startNode({ name: 'x', longNames: true, cookie: 'c', epmd: false })
    t.equal(node.name, `x@${fqdn}`, "'x' takes the fully qualified host name")
    await node.stop()
  }
})

t.test('two long-name nodes connect and exchange messages', async t => {
  const book = new Map<string, DialAddress>()
  const a = await bookNode(t, book, { name: 'a@127.0.0.1', longNames: true })
  const b = await bookNode(t, book, {
    name: 'b@host.example',
    longNames: true,
    modules: {
      t: {
        echo: async proc => {
          const m = (await proc.receive()) as [string, import('../lib/terms/pid.js').Pid]
          proc.send(m[1], [m[0], proc.node])
        },
      },
    },
  })
  const bUp = nextEvent<[string, unknown]>(b, 'nodeup', n => n === a.name)
  t.equal(await a.connect(b.name), true, 'connect() resolves true')
  t.same(a.nodes(), [b.name], 'a sees b')
  await bUp // the responder goes up when the dialler's last handshake message arrives
  t.same(b.nodes(), [a.name], 'b sees a')
  const reply = await inProcess(a, async proc => {
    const pid = await proc.spawn(b.name, 't', 'echo', [])
    proc.send(pid, ['hello', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.same(reply, ['hello', b.name])
})

t.test('a short-name node and a long-name node refuse each other (ERR_NAME_FORM on both sides)', async t => {
  for (const dialler of ['short', 'long'] as const) {
    await t.test(`the ${dialler}-name node dials`, async t => {
      const book = new Map<string, DialAddress>()
      const short = await bookNode(t, book, { name: `s${dialler}` })
      const long = await bookNode(t, book, { name: `l${dialler}@127.0.0.1`, longNames: true })
      t.equal(short.name, full(`s${dialler}`))
      const [from, to] = dialler === 'short' ? [short, long] : [long, short]

      const outErr = nextEvent<[string | undefined, { direction: string; code: string; error: Error }]>(from, 'connectError')
      const inErr = nextEvent<[string | undefined, { direction: string; code: string; error: Error }]>(to, 'connectError')
      const down = nextEvent<[string, { reason: string }]>(from, 'nodedown', n => n === to.name)
      const upOnResponder = (): void => {
        t.fail('the responder must not see a nodeup')
      }
      to.on('nodeup', upOnResponder)

      t.equal(await from.connect(to.name), false, 'connect() resolves false')
      const [outName, outInfo] = await outErr
      t.equal(outName, to.name, "the dialler's connectError names the node it dialled")
      t.equal(outInfo.direction, 'out')
      t.equal(outInfo.code, 'ERR_NAME_FORM', 'dialler: ERR_NAME_FORM')
      t.match(outInfo.error.message, /short-name and long-name/, 'the message says why')
      const [, downInfo] = await down
      t.equal(downInfo.reason, 'connection_setup_failed', "the dialler's nodedown reason")

      const [, inInfo] = await inErr
      t.equal(inInfo.direction, 'in')
      t.equal(inInfo.code, 'ERR_NAME_FORM', 'responder: ERR_NAME_FORM')
      t.match(inInfo.error.message, new RegExp(from.name.replace(/\./g, '\\.')), "the responder's error names the dialler")
      to.off('nodeup', upOnResponder)
      t.same(from.nodes('connected'), [], 'no connection on the dialler')
      t.same(to.nodes('connected'), [], 'no connection on the responder')
    })
  }
})
