// `netkernel epmd`: foreground daemon and the query flags, in-process and as a process.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { spawn } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { epmdMain } from '../lib/cli/epmd.js'
import { registerNode } from '../lib/epmd/client.js'
import { startEpmd } from '../lib/epmd/daemon.js'
import { inheritedExecArgv } from '../lib/epmd/ensure.js'
import { freePort, isListening } from './fixtures/ports.js'
import { waitFor } from './fixtures/epmd-real.js'

function io(extra: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', d => (out += String(d)))
  stderr.on('data', d => (err += String(d)))
  return { io: { stdout, stderr, env: extra.env ?? {}, signal: extra.signal }, out: () => out, err: () => err }
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const o = io({ env })
  const code = await epmdMain(argv, o.io)
  return { code, stdout: o.out(), stderr: o.err() }
}

t.test('help and bad arguments', async t => {
  const help = await run(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: netkernel epmd/)
  t.match(help.stdout, /--names/)
  t.match(help.stdout, /^ {2}--relaxed /m)
  t.match(
    help.stdout,
    /^ {2}--strict +that check even when ERL_EPMD_RELAXED_COMMAND_CHECK is set/m,
    '--strict, which overrides the variable',
  )
  t.match(await run(['--bogus']), { code: 2, stderr: /bogus/ })
  t.match(await run(['--port', 'abc']), { code: 2, stderr: /bad port/ })
  t.match(await run(['--port', '70000']), { code: 2, stderr: /bad port/ })
  t.match(await run(['--names', '--kill']), { code: 2, stderr: /at most one/ })
})

t.test('foreground daemon and queries', async t => {
  const port = await freePort()
  const fg = io()
  const running = epmdMain(['--port', String(port), '--address', '127.0.0.1', '--debug', '--relaxed'], fg.io)
  await waitFor(() => isListening(port), 5000, 'the foreground daemon')
  t.match(fg.err(), new RegExp(`listening on 127.0.0.1:${port}`))

  const empty = await run(['--names'], { ERL_EPMD_PORT: String(port) })
  t.same(empty, { code: 0, stdout: `epmd: up and running on port ${port} with data:\n`, stderr: '' }, 'port from ERL_EPMD_PORT')
  const reg = await registerNode({ host: '127.0.0.1', port, name: 'cli', nodePort: 4242 })
  const names = await run(['--names', '--port', String(port)])
  t.match(names.stdout, /^name cli at port 4242$/m)
  t.match(fg.err(), /node registered/, '--debug logs requests')
  t.match(await run(['--stop', 'cli', '--port', String(port)]), { code: 0, stdout: 'STOPPED\n' })
  await reg.closed
  t.match(await run(['--stop', 'cli', '--port', String(port)]), { code: 1, stdout: 'NOEXIST\n' })
  t.match(await run(['--kill', '--port', String(port)]), { code: 0, stdout: 'Killed\n' })
  t.equal(await running, 0, 'KILL ends the foreground daemon')

  t.match(await run(['--names', '--port', String(port)]), { code: 1, stderr: new RegExp(`127.0.0.1:${port}`) })
})

t.test('not relaxed by default, stopping by signal, port in use', async t => {
  const port = await freePort()
  const ac = new AbortController()
  const fg = io({ signal: ac.signal })
  const running = epmdMain(['--port', String(port), '--address', '127.0.0.1'], fg.io)
  await waitFor(() => isListening(port), 5000, 'the foreground daemon')
  const reg = await registerNode({ host: '127.0.0.1', port, name: 'live', nodePort: 1 })
  t.match(await run(['--kill', '--port', String(port)]), { code: 1, stdout: /Killing not allowed/ })
  t.match(await run(['--stop', 'live', '--port', String(port)]), {
    code: 1,
    stderr: /closed the connection.*serves --stop only when it runs relaxed: netkernel epmd --relaxed/,
  })
  const inUse = await run(['--port', String(port), '--address', '127.0.0.1'])
  t.match(inUse, { code: 1, stderr: /cannot listen/ })
  ac.abort()
  t.equal(await running, 0)
  await reg.closed
  t.notOk(await isListening(port))

  const pre = new AbortController()
  pre.abort()
  t.equal(await epmdMain(['--port', String(port)], io({ signal: pre.signal }).io), 0, 'an aborted start is a clean exit')
})

t.test('SIGTERM stops a foreground daemon process', async t => {
  const port = await freePort()
  const cli = pathToFileURL(new URL('../lib/cli/epmd.ts', import.meta.url).pathname).href
  const code = `const { epmdMain } = await import(${JSON.stringify(cli)}); process.exitCode = await epmdMain(['--port', '${port}', '--address', '127.0.0.1'])`
  const child = spawn(process.execPath, [...inheritedExecArgv(), '--input-type=module', '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', d => (err += String(d)))
  const exited = new Promise<number | null>(r => child.once('exit', c => r(c)))
  t.teardown(() => child.kill('SIGKILL'))
  await Promise.race([
    waitFor(() => isListening(port), 30_000, 'the CLI daemon'),
    exited.then(c => {
      throw new Error(`exited ${c}: ${err}`)
    }),
  ])
  child.kill('SIGTERM')
  t.equal(await exited, 0, err)
  t.notOk(await isListening(port))
})

t.test('the CLI talks to a daemon started elsewhere', async t => {
  const d = await startEpmd({ host: '127.0.0.1', port: 0 })
  t.teardown(() => d.destroy())
  t.match(await run(['--names', '--port', String(d.port)]), { code: 0 })
})
