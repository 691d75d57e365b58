// ensureEpmd starts a detached port mapper that outlives its caller; racing callers end with one.
import t, { type Test } from 'tap'
import net from 'node:net'
import os from 'node:os'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ensureEpmd, inheritedExecArgv, daemonCommand } from '../lib/epmd/ensure.js'
import { daemonMainFile, DAEMON_MAIN_FLAG, runDaemonMain } from '../lib/epmd/daemon-main.js'
import { killEpmd, listNames } from '../lib/epmd/client.js'
import { startEpmd } from '../lib/epmd/daemon.js'
import { freePort, isListening } from './fixtures/ports.js'
import { processAlive, waitFor } from './fixtures/epmd-real.js'

const HOST = '127.0.0.1'
const caller = fileURLToPath(new URL('./fixtures/epmd-ensure-caller.ts', import.meta.url))

/** Kill (SIGKILL) every pid still alive at teardown: nothing started may outlive the test. */
function reap(t: Test, pids: number[]): void {
  t.teardown(() => {
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL')
  })
}

t.test('inherited node flags', async t => {
  t.same(
    inheritedExecArgv([
      '--import=tsx',
      '--inspect=9229',
      '-e',
      'code',
      '--eval=x',
      '--enable-source-maps',
      '--test',
      '--loader',
      'ts-node/esm',
      '--inspect-port',
      '1',
      '-p',
      'y',
      '-i',
      '--watch',
      '--conditions=dev',
    ]),
    ['--import=tsx', '--enable-source-maps', '--loader', 'ts-node/esm', '--conditions=dev'],
  )
  const cmd = daemonCommand(4369, ['0.0.0.0', '::'])
  t.equal(cmd.command, process.execPath)
  t.same(cmd.args.slice(-8), [daemonMainFile, DAEMON_MAIN_FLAG, '--port', '4369', '--host', '0.0.0.0', '--host', '::'])
})

t.test('a detached daemon outlives the caller that started it', async t => {
  const port = await freePort()
  const pids: number[] = []
  reap(t, pids)
  const child = spawn(process.execPath, [...inheritedExecArgv(), caller, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout!.on('data', d => (out += String(d)))
  // 'close' needs every holder of the caller's stdout gone: the daemon must not hold it.
  const closed = new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await closed
  clearTimeout(timer)
  t.equal(code, 0, 'the caller exited by itself')
  const report = JSON.parse(out) as { result: string; pids: number[]; pid: number }
  pids.push(...report.pids)
  t.equal(report.result, 'started')
  t.equal(report.pids.length, 1)
  const daemonPid = report.pids[0]!
  t.notOk(processAlive(report.pid), 'the caller is gone')
  t.ok(processAlive(daemonPid), 'the daemon is alive')
  t.same(await listNames({ host: HOST, port }), { epmdPort: port, names: [] }, 'and answers')

  const spawned: number[] = []
  t.equal(await ensureEpmd({ port, onSpawn: p => spawned.push(p) }), 'running')
  t.same(spawned, [], 'nothing started when one runs')

  t.equal(await killEpmd({ host: HOST, port }), true)
  await waitFor(() => !processAlive(daemonPid), 10_000, 'the daemon to exit')
  t.notOk(await isListening(port), 'KILL_REQ made the detached daemon exit')
})

t.test('two callers racing end with one daemon', async t => {
  const port = await freePort()
  const pids: number[] = []
  reap(t, pids)
  const results = await Promise.all([ensureEpmd({ port, onSpawn: p => pids.push(p) }), ensureEpmd({ port, onSpawn: p => pids.push(p) })])
  t.same([...results].sort(), ['running', 'started'])
  await waitFor(() => pids.filter(processAlive).length === 1, 10_000, 'one daemon left')
  t.ok(pids.length >= 1 && pids.length <= 2, `${pids.length} spawned`)
  const [survivor] = pids.filter(processAlive)
  t.equal((await listNames({ host: HOST, port })).epmdPort, port)
  t.equal(await killEpmd({ host: HOST, port }), true)
  await waitFor(() => !processAlive(survivor!), 10_000, 'the daemon to exit')
  t.notOk(await isListening(port))
})

t.test('ensureEpmd errors', async t => {
  // Something that is not a port mapper holds the port.
  const other = net.createServer(s => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
  await new Promise<void>(r => other.listen(0, HOST, r))
  t.teardown(() => other.close())
  const otherPort = (other.address() as net.AddressInfo).port
  await t.rejects(ensureEpmd({ port: otherPort }), { code: 'ERR_EPMD', message: /not a port mapper/ })

  await t.rejects(ensureEpmd({ port: 1, signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' })

  const external = Object.values(os.networkInterfaces())
    .flat()
    .find(i => i && i.family === 'IPv4' && !i.internal)?.address
  if (external) {
    const port = await freePort()
    await t.rejects(ensureEpmd({ host: external, port }), { code: 'ERR_EPMD_UNREACHABLE', message: /not a local address/ })
  }

  // Aborting while the daemon starts kills the child.
  const port = await freePort()
  const pids: number[] = []
  reap(t, pids)
  const ac = new AbortController()
  const p = ensureEpmd({
    port,
    signal: ac.signal,
    onSpawn: pid => {
      pids.push(pid)
      ac.abort()
    },
  })
  await t.rejects(p, { code: 'ERR_ABORTED' })
  await waitFor(() => pids.every(pid => !processAlive(pid)), 10_000, 'the aborted daemon to die')
  t.pass('an aborted start leaves no process')

  // A deadline shorter than the daemon's start.
  const port2 = await freePort()
  const pids2: number[] = []
  reap(t, pids2)
  await t.rejects(ensureEpmd({ port: port2, timeout: 1, onSpawn: pid => pids2.push(pid) }), { code: 'ERR_EPMD', message: /within 1 ms/ })
  await waitFor(() => pids2.every(pid => !processAlive(pid)), 10_000, 'the late daemon to die')
})

t.test('runDaemonMain in-process: in use, bad port', async t => {
  const d = await startEpmd({ host: '0.0.0.0', port: 0 })
  t.teardown(() => d.destroy())
  const reports: unknown[] = []
  const report = async (msg: unknown): Promise<void> => void reports.push(msg)
  t.equal(await runDaemonMain(['--port', String(d.port)], { report }), 0, 'another daemon holds the port: exit 0')
  t.equal(await runDaemonMain(['--port', 'x'], { report }), 1, 'bad port: exit 1')
  t.match(reports, [
    { type: 'in-use', port: d.port },
    { type: 'error', message: /bad port/ },
  ])
})
