// Interrupting `netkernel demo`: Ctrl+C (SIGINT) while it makes certificates ends it at
// once — nothing printed after it exited, no node, port mapper or temp dir left; a demo
// killed outright (SIGKILL) while its nodes start leaves no port mapper behind either, and
// the next demo removes its temp dirs.
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCli } from './fixtures/cli-process.js'
import { isListening } from './fixtures/ports.js'
import { waitFor } from './fixtures/epmd-real.js'

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** Pids of the processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').includes(text)) out.push(Number(e))
    } catch {}
  }
  return out
}

/** At teardown: end any port mapper daemon left for `port` (a failing run leaves nothing either). */
function killLeftovers(t: { teardown(fn: () => unknown): void }, port: () => string | undefined): void {
  t.teardown(() => {
    const p = port()
    if (p === undefined) return
    for (const pid of processesWith(`--netkernel-epmd-daemon --port ${p}`)) process.kill(pid, 'SIGKILL')
  })
}

const tempDirsOf = (pid: number): string[] => readdirSync(tmpdir()).filter(e => e.startsWith(`nk-demo-${pid}-`))

t.test('SIGINT while it makes certificates: exits at once, then silence; nothing left', async t => {
  const demo = startCli(t, ['demo', '--transports', 'tcp,tls'])
  let port: string | undefined
  killLeftovers(t, () => port)
  ;[, port] = await demo.waitFor('stdout', /netkernel epmd --port (\d+)/)
  await demo.waitFor('stdout', /\$ netkernel certs node bar@/, 30_000)
  demo.child.kill('SIGINT')
  t.equal(await demo.exited(10_000), 130, 'exit status 130, as after Ctrl+C')
  const [out, err] = [demo.stdout(), demo.stderr()]
  await sleep(2000)
  t.equal(demo.stdout(), out, 'nothing printed on stdout after it exited')
  t.equal(demo.stderr(), err, 'nothing printed on stderr after it exited')
  t.equal(err, '', 'no error at all')
  t.same(tempDirsOf(demo.child.pid!), [], 'its temp dirs are gone')
  await waitFor(() => processesWith(`--epmd-port ${port}`).length === 0, 5000, "the demo's nodes to exit")
  t.same(processesWith(`--port ${port}`), [], 'no port mapper for its port')
  t.notOk(await isListening(Number(port)), `nothing listens on its port mapper's port ${port}`)
})

t.test('SIGKILL while its nodes start: no port mapper left; the next demo removes its temp dirs', async t => {
  const demo = startCli(t, ['demo', '--transports', 'tcp'])
  let port: string | undefined
  killLeftovers(t, () => port)
  ;[, port] = await demo.waitFor('stdout', /\$ netkernel node --sname baz --epmd-port (\d+)/, 30_000)
  demo.child.kill('SIGKILL')
  t.equal(await demo.exited(), 128 + 9)
  await waitFor(() => processesWith(`--epmd-port ${port}`).length === 0, 5000, "the demo's nodes to exit")
  await sleep(500)
  t.same(processesWith(`--port ${port}`), [], "no port mapper process for the demo's port")
  t.notOk(await isListening(Number(port)), `nothing listens on ${port}`)

  // A killed demo's temp dir (its pid is gone): removed by the next demo.
  const stale = join(tmpdir(), `nk-demo-${demo.child.pid}-tls-test`)
  mkdirSync(stale, { recursive: true })
  const next = startCli(t, ['demo', '--transports', 'tcp'])
  await next.waitFor('stdout', /netkernel epmd --port/)
  t.notOk(existsSync(stale), "the next demo removed the killed one's temp dir")
  next.child.kill('SIGINT')
  await next.exited()
})
