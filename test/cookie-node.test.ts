// The node's default cookie: read from the cookie file, created when missing, refused when
// other users could read it.
import t from 'tap'
import { mkdtempSync, writeFileSync, statSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNode } from '../lib/node.js'
import { testEpmd } from './fixtures/cluster.js'

t.test('a node without a cookie option uses the cookie file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'nk-cookie-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const epmd = await testEpmd(t)
  const epmdOpts = { host: '127.0.0.1', port: epmd.port, autoStart: false }

  await t.test('creates a missing file with mode 0400 and uses it', async t => {
    const file = join(dir, 'fresh.cookie')
    const node = await startNode({ name: 'c1', cookieFile: file, listen: { host: '127.0.0.1' }, epmd: epmdOpts })
    t.teardown(() => node.stop())
    t.equal(statSync(file).mode & 0o777, 0o400)
    t.equal(node.getCookie(), readFileSync(file, 'utf8').trim())
    t.ok(node.getCookie().length >= 22, 'at least 128 bits of randomness in letters')
  })

  await t.test('a file readable by group or others is refused with a clear error', async t => {
    const file = join(dir, 'open.cookie')
    writeFileSync(file, 'SECRETCOOKIE', { mode: 0o644 })
    await t.rejects(startNode({ name: 'c2', cookieFile: file, listen: { host: '127.0.0.1' }, epmd: epmdOpts }), {
      code: 'ERR_COOKIE_FILE',
      message: new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    })
    t.same(
      epmd
        .names()
        .map(n => n.name)
        .filter(n => n === 'c2'),
      [],
      'nothing was registered',
    )
  })
})
