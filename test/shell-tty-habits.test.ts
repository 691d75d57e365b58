// `netkernel shell` in a terminal (tmux), with erl's habits: `flush().` with the trailing dot,
// then another expression — both run; and SIGTERM (a terminal closing, `kill`) stops the
// node gracefully and the shell exits 0 at once.
import t from 'tap'
import { full, nextEvent, testEpmd, testNode } from './fixtures/cluster.js'
import { startShell, tmuxSkip } from './fixtures/shell-tmux.js'

const skip = tmuxSkip()
if (skip) t.comment(`skipping the shell's terminal tests: ${skip}`)

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

t.test('flush(). then node(): both run; SIGTERM stops the node gracefully', { skip }, async t => {
  const epmd = await testEpmd(t)
  const bar = await testNode(t, epmd, { name: 'dbar' })
  const me = full('dot')
  const sh = await startShell(t, ['--sname', 'dot', '--cookie', 'test-cookie', '--epmd-port', String(epmd.port), '--history', ''])
  const P = (n: number): string => esc(`(${me})${n}>`)
  await sh.waitFor(new RegExp(`${P(1)}$`))

  await sh.line("send(self(), 'one').")
  await sh.waitFor(new RegExp(`\\n'one'\\n${P(2)}$`))
  await sh.line('flush().')
  await sh.waitFor(new RegExp(`flush\\(\\)\\.\\nShell got 'one'\\nok\\n${P(3)}$`))
  await sh.line('node()')
  await sh.waitFor(new RegExp(`node\\(\\)\\n'${esc(me)}'\\n${P(4)}$`))
  t.pass('flush(). flushed, and node() on the next line ran on its own')
  await sh.line(`net_adm.ping('${bar.name}').`)
  await sh.waitFor(new RegExp(`\\n'pong'\\n${P(5)}$`))
  t.notMatch(await sh.screen(), /exception/, 'no line failed')

  const down = nextEvent<[string, { reason: string }]>(bar, 'nodedown', n => n === me)
  process.kill(sh.pid, 'SIGTERM')
  t.equal(await sh.exitStatus(8000), 0, 'SIGTERM: the shell exits 0')
  t.equal((await down)[1].reason, 'connection_closed', "bar saw the shell's node go down")
})
