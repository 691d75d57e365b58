// `netkernel demo` (behind `npm run demo`) runs the seed's examples across separate OS
// processes, prints each step, and leaves nothing running.
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'

const MAIN = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))

t.test('the demo runs the seed examples and exits 0', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  t.equal(code, 0, `exit code 0 (stderr: ${err.slice(-500)})`)
  t.match(out, /Shell got 'bar@[^']+'/, 'example 1: the remote node name came back')
  t.match(out, /Shell got 'hi'/, 'example 2: the echo server answered')
  t.match(out, /client on foo@\S+ allocated \[\["ok",\d+\]/, 'example 3: the client on foo got frequencies')
  t.match(out, /client on baz@\S+ allocated/, 'example 3: the client on baz got frequencies')
  t.match(out, /demo finished/)
})

t.test('demo --help', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
  t.match(out, /usage: netkernel demo/)
})
