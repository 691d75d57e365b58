// Cookies end to end: nodes in separate OS processes, a wrong cookie refused both ways with
// a typed reason on both sides, and a per-node cookie that opens one door and not another.
import t from 'tap'
import { startPeer } from './fixtures/peers.js'
import { testEpmd, testNode, inProcess, nextEvent } from './fixtures/cluster.js'

type ErrInfo = { code: string; direction: string }

t.test('a wrong cookie is refused both ways; nothing is delivered; both nodes keep running', async t => {
  const epmd = await testEpmd(t)
  const bar = await startPeer(t, { name: 'bar', cookie: 'bar-secret', epmdPort: epmd.port })
  const warnings: string[] = []
  const logger = {
    trace() {},
    debug() {},
    info() {},
    error() {},
    warn(_obj: unknown, msg?: string) {
      warnings.push(String(msg))
    },
  }
  const foo = await testNode(t, epmd, { name: 'foo', cookie: 'foo-secret', logger })

  await t.test('foo dials bar', async t => {
    const err = nextEvent<[string | undefined, ErrInfo]>(foo, 'connectError')
    const down = nextEvent<[string, { reason: string }]>(foo, 'nodedown')
    t.equal(await foo.connect(bar.name), false, 'connect resolves false')
    const [, info] = await err
    t.equal(info.code, 'ERR_AUTH_FAILED', 'the dialler reports ERR_AUTH_FAILED')
    t.equal(info.direction, 'out')
    const [name, d] = await down
    t.equal(name, bar.name)
    t.equal(d.reason, 'connection_setup_failed')
    t.same(foo.nodes(), [], 'no nodeup on foo')
    const line = await bar.waitFor(/^CONNECT_ERROR .*"direction":"in"/)
    t.match(line, /"code":"ERR_AUTH_FAILED"/, 'the responder reports ERR_AUTH_FAILED too')
    t.ok(
      warnings.some(w => w.includes(bar.name)),
      'the failure reaches the logger, naming the node',
    )
    t.notOk(
      bar.lines.some(l => l.startsWith('NODEUP')),
      'no nodeup on bar',
    )
  })

  await t.test('bar dials foo; the message that triggered the dial is not delivered', async t => {
    const errIn = nextEvent<[string | undefined, ErrInfo]>(foo, 'connectError', (_n, i) => i.direction === 'in')
    const got = inProcess(foo, async proc => {
      proc.register('inbox')
      return proc.receive(undefined, { timeout: 1500 }).then(
        () => 'delivered',
        () => 'nothing',
      )
    })
    bar.command(`send inbox ${foo.name} "hello"`)
    const [, info] = await errIn
    t.equal(info.code, 'ERR_AUTH_FAILED', 'foo, responding, reports ERR_AUTH_FAILED')
    await bar.waitFor(/^NODEDOWN .*connection_setup_failed/)
    t.equal(await got, 'nothing', 'nothing was delivered to foo')
    t.notOk(
      bar.lines.some(l => l.startsWith('NODEUP')),
      'no nodeup on bar',
    )
  })

  await t.test('both nodes keep running: a right cookie connects afterwards', async t => {
    foo.setCookie(bar.name, 'bar-secret')
    t.equal(await foo.connect(bar.name), true)
    t.same(foo.nodes(), [bar.name])
  })
})

t.test('a per-node cookie lets foo reach bar while baz stays refused', async t => {
  const epmd = await testEpmd(t)
  const [bar, baz] = await Promise.all([
    startPeer(t, { name: 'bar', cookie: 'other', epmdPort: epmd.port }),
    startPeer(t, { name: 'baz', cookie: 'other', epmdPort: epmd.port }),
  ])
  const foo = await testNode(t, epmd, { name: 'foo', cookie: 'mine' })
  foo.setCookie(bar.name, 'other')
  t.equal(foo.getCookie(bar.name), 'other')
  t.equal(foo.getCookie(baz.name), 'mine', 'other nodes still get the node cookie')
  t.equal(await foo.connect(bar.name), true, 'bar accepts the per-node cookie')
  t.equal(await foo.connect(baz.name), false, 'baz refuses the node cookie')
  const reply = await inProcess(foo, async proc => {
    await proc.spawn(bar.name, 's', 'server', [])
    proc.send(['server', bar.name], ['through', proc.self])
    return proc.receive(undefined, { timeout: 10_000 })
  })
  t.equal(reply, 'through', 'messages flow to bar')
  t.same(foo.nodes(), [bar.name], 'connected to bar only (baz refused, and no mesh through bar to it)')
})
