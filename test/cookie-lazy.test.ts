// The cookie file is read (or created) only when something needs the node's cookie: at start
// for an authenticator that declares needsCookie (cookie(), tlsCert({ cookie: true })), and
// otherwise the first time the own cookie is asked for. A node authenticating without cookies
// leaves ~/.erlang.cookie alone.
import t from 'tap'
import type { Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNode, type Node } from '../lib/node.js'
import type { StartNodeOptions } from '../lib/node-options.js'
import { authenticator } from '../lib/type-helpers.js'
import { cookie } from '../auth/cookie.js'
import { tlsCert } from '../auth/tls-cert.js'

function tempHome(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'nk-lazy-cookie-'))
  const saved = process.env.HOME
  process.env.HOME = dir
  t.teardown(() => {
    process.env.HOME = saved
    rmSync(dir, { recursive: true, force: true })
  })
  t.equal(homedir(), dir, 'HOME points at a temp dir')
  return dir
}

async function start(t: Test, opts: Omit<StartNodeOptions, 'epmd' | 'listen'>): Promise<Node> {
  const node = await startNode({ epmd: false, listen: { host: '127.0.0.1' }, ...opts })
  t.teardown(() => node.stop())
  return node
}

t.test('tlsCert() without cookie: no cookie file is created, under HOME or at cookieFile', async t => {
  const home = tempHome(t)
  await start(t, { name: 'lazy1', auth: tlsCert() })
  t.notOk(existsSync(join(home, '.erlang.cookie')), '~/.erlang.cookie not created')
  const file = join(home, 'explicit.cookie')
  await start(t, { name: 'lazy2', auth: tlsCert(), cookieFile: file })
  t.notOk(existsSync(file), 'cookieFile not created')
})

t.test('cookie() (the default) and tlsCert({ cookie: true }) create it at start, as before', async t => {
  const home = tempHome(t)
  const a = await start(t, { name: 'eager1' })
  const file = join(home, '.erlang.cookie')
  t.ok(existsSync(file), 'created by startNode')
  t.equal(a.getCookie(), readFileSync(file, 'utf8'))
  const other = join(home, 'other.cookie')
  await start(t, { name: 'eager2', auth: tlsCert({ cookie: true }), cookieFile: other })
  t.ok(existsSync(other), 'tlsCert({ cookie: true }) reads it at start too')
  t.equal(cookie().needsCookie, true)
  t.equal(tlsCert().needsCookie, false)
})

t.test('a bad cookie file still fails startNode when the authenticator needs the cookie', async t => {
  const home = tempHome(t)
  const file = join(home, 'open.cookie')
  writeFileSync(file, 'SECRET', { mode: 0o644 })
  await t.rejects(start(t, { name: 'bad1', cookieFile: file }), { code: 'ERR_COOKIE_FILE' })
  await t.rejects(start(t, { name: 'bad2', cookieFile: file, auth: tlsCert({ cookie: true }) }), { code: 'ERR_COOKIE_FILE' })
  // Not needed at start: the node starts, and the error comes when the cookie is asked for.
  const node = await start(t, { name: 'bad3', cookieFile: file, auth: tlsCert() })
  t.throws(() => node.getCookie(), { code: 'ERR_COOKIE_FILE' })
})

t.test('otherwise the file is read on first use: getCookie() creates it; setCookie() first never reads it', async t => {
  const home = tempHome(t)
  const file = join(home, '.erlang.cookie')
  const a = await start(t, { name: 'later1', auth: tlsCert() })
  t.notOk(existsSync(file))
  const c = a.getCookie()
  t.ok(existsSync(file), 'created by getCookie()')
  t.equal(c, readFileSync(file, 'utf8'))
  rmSync(file)
  const b = await start(t, { name: 'later2', auth: tlsCert() })
  b.setCookie('chosen')
  b.setCookie('peer@host', 'per-node')
  t.equal(b.getCookie(), 'chosen')
  t.equal(b.getCookie('peer@host'), 'per-node')
  t.notOk(existsSync(file), 'set_cookie/1 replaced it before any read')
})

t.test('an authenticator that reads cookies without declaring it: a bad file fails the handshake with ERR_COOKIE_FILE', async t => {
  const home = tempHome(t)
  const file = join(home, 'open.cookie')
  writeFileSync(file, 'SECRET', { mode: 0o644 })
  // Compares the cookies in the clear: enough to make the kernel ask for one.
  const plain = authenticator({
    name: 'plain-cookie',
    async initiate(ch, ctx) {
      ch.send({ c: ctx.cookies.cookieFor(ctx.peerName) })
      await ch.receive()
      return { peerName: ctx.peerName }
    },
    async respond(ch, ctx) {
      const { c } = await ch.receive()
      if (c !== ctx.cookies.cookieFor(ctx.peerName)) throw new Error('wrong cookie')
      ch.send({ ok: true })
      return { peerName: ctx.peerName }
    },
  })
  const b = await start(t, { name: 'lazyb', cookie: 'SECRET', auth: plain })
  const a = await start(t, { name: 'lazya', cookieFile: file, auth: plain, resolve: async () => b.address! })
  const errors: string[] = []
  a.on('connectError', (_name, info) => errors.push(info.code))
  t.equal(await a.connect(b.name), false, 'the connection fails')
  t.same(errors, ['ERR_COOKIE_FILE'], 'reported with the cookie file error code')
  t.same(a.nodes(), [])
})
