// KILL and STOP as Erlang's epmd serves them: without -relaxed_command_check, KILL answers
// "NO" while nodes are registered and STOP is closed unanswered; relaxed, both are served.
// Our daemon's reply bytes are compared with the real epmd's, in the same test. And the
// registration cap: one ALIVE2 past it is refused (EpmdError ERR_LIMIT at our client).
import t from 'tap'
import net from 'node:net'
import { DEFAULT_MAX_NAMES, relaxedFromEnv, startEpmd } from '../lib/epmd/daemon.js'
import { registerNode, listNames, type Registration } from '../lib/epmd/client.js'
import { epmdMain } from '../lib/cli/epmd.js'
import { ALIVE2_FULL, encodeRequest } from '../lib/epmd/protocol.js'
import { erlangSkip, processAlive, startRealEpmd, waitFor } from './fixtures/epmd-real.js'
import { freePort, isListening } from './fixtures/ports.js'

const HOST = '127.0.0.1'

/** One request on a fresh connection: every byte the daemon answers, until it closes. */
function ask(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port })
    const got: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no close from port ${port} within 5 s`))
    }, 5000)
    socket.on('data', d => got.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(got).toString('latin1'))
    })
    socket.on('connect', () => socket.end(request))
  })
}

const KILL = encodeRequest({ type: 'kill' })
const stop = (name: string): Buffer => encodeRequest({ type: 'stop', name })

interface Daemon {
  port: number
  /** Resolves once the daemon is gone. */
  gone(): Promise<void>
}

/** The replies to a fixed script of STOP and KILL requests, strict or relaxed; the daemon ends on the last KILL. */
async function script(d: Daemon, relaxed: boolean): Promise<string[]> {
  const at = { host: HOST, port: d.port }
  const replies: string[] = []
  let reg: Registration = await registerNode({ ...at, name: 'nkx', nodePort: 45100 })
  replies.push(await ask(d.port, stop('nobody')))
  replies.push(await ask(d.port, stop('nkx')))
  if (relaxed) {
    await reg.closed // STOP ended the registration
    reg = await registerNode({ ...at, name: 'nky', nodePort: 45101 })
  }
  replies.push(await ask(d.port, KILL)) // with a node registered: relaxed, the daemon ends
  if (!relaxed) {
    reg.close()
    await waitFor(async () => (await listNames(at)).names.length === 0, 5000, 'nkx to unregister')
    replies.push(await ask(d.port, KILL)) // none registered: the daemon ends
  }
  await d.gone()
  await reg.closed
  return replies
}

t.test('our daemon answers KILL and STOP byte for byte as the real epmd does', { skip: erlangSkip('epmd') }, async t => {
  for (const relaxed of [false, true]) {
    const ours = await startEpmd({ host: HOST, port: 0, relaxed })
    t.teardown(() => ours.destroy())
    const mine = await script({ port: ours.port, gone: () => ours.closed }, relaxed)

    const real = await startRealEpmd({ args: relaxed ? ['-relaxed_command_check'] : [] })
    t.teardown(() => real.stop())
    const theirs = await script({ port: real.port, gone: () => waitFor(() => !processAlive(real.pid), 5000, 'epmd to exit') }, relaxed)

    // STOP of an unknown name: older epmd (OTP 25's, for one) sends STOPPED right after
    // NOEXIST; current epmd_srv.c sends NOEXIST alone, as we do.
    if (theirs[0] === 'NOEXISTSTOPPED') theirs[0] = 'NOEXIST'
    t.same(
      mine,
      theirs,
      `${relaxed ? 'relaxed' : 'strict'}: the same bytes as epmd${relaxed ? ' -relaxed_command_check' : ''} (${JSON.stringify(theirs)})`,
    )
    t.same(mine, relaxed ? ['NOEXIST', 'STOPPED', 'OK'] : ['', '', 'NO', 'OK'])
    t.notOk(await isListening(ours.port), 'our daemon stopped on the last KILL')
  }
})

t.test('strict is the default; the deprecated strict: false means relaxed', async t => {
  for (const [opts, relaxed] of [
    [{}, false],
    [{ strict: true }, false],
    [{ strict: false }, true],
    [{ relaxed: true }, true],
  ] as const) {
    const d = await startEpmd({ host: HOST, port: 0, ...opts })
    t.teardown(() => d.destroy())
    const reg = await registerNode({ host: HOST, port: d.port, name: 'live', nodePort: 1 })
    t.equal(await ask(d.port, KILL), relaxed ? 'OK' : 'NO', `${JSON.stringify(opts)}: KILL with a node registered`)
    await (relaxed ? d.closed : Promise.resolve())
    reg.close()
    await reg.closed
  }
})

t.test('netkernel epmd --relaxed, and ERL_EPMD_RELAXED_COMMAND_CHECK as epmd reads it', async t => {
  t.equal(relaxedFromEnv({}), false)
  t.equal(relaxedFromEnv({ ERL_EPMD_RELAXED_COMMAND_CHECK: '' }), true, 'set, even empty, is relaxed')
  t.equal(relaxedFromEnv({ ERL_EPMD_RELAXED_COMMAND_CHECK: '0' }), true)
  const cases: [string[], NodeJS.ProcessEnv, boolean][] = [
    [[], {}, false],
    [['--relaxed'], {}, true],
    [[], { ERL_EPMD_RELAXED_COMMAND_CHECK: '1' }, true],
    [['--strict'], { ERL_EPMD_RELAXED_COMMAND_CHECK: '1' }, false],
  ]
  for (const [flags, env, relaxed] of cases) {
    const port = await freePort()
    const ac = new AbortController()
    const sink = { write: () => true } as unknown as NodeJS.WritableStream
    const running = epmdMain(['--port', String(port), '--address', HOST, ...flags], {
      stdout: sink as never,
      stderr: sink as never,
      env,
      signal: ac.signal,
    })
    await waitFor(() => isListening(port), 5000, 'the foreground daemon')
    const reg = await registerNode({ host: HOST, port, name: 'cli', nodePort: 4242 })
    t.equal(await ask(port, stop('cli')), relaxed ? 'STOPPED' : '', `${flags.join(' ') || 'no flag'} ${JSON.stringify(env)}: STOP`)
    reg.close()
    await reg.closed
    ac.abort()
    t.equal(await running, 0)
  }
  const both = await epmdMain(['--relaxed', '--strict'], {
    stdout: { write: () => true } as never,
    stderr: { write: () => true } as never,
    env: {},
  })
  t.equal(both, 2, '--relaxed and --strict together are refused')
})

t.test(`registrations are capped (default ${DEFAULT_MAX_NAMES})`, async t => {
  t.equal(DEFAULT_MAX_NAMES, 1024)
  const d = await startEpmd({ host: HOST, port: 0, maxNames: 3 })
  t.teardown(() => d.destroy())
  const at = { host: HOST, port: d.port }
  const regs = await Promise.all([0, 1, 2].map(i => registerNode({ ...at, name: `n${i}`, nodePort: 100 + i })))
  await t.rejects(registerNode({ ...at, name: 'n3', nodePort: 103 }), {
    name: 'NetkernelError',
    code: 'ERR_LIMIT',
    message: new RegExp(`port mapper at ${HOST}:${d.port} refused to register 'n3' \\(result ${ALIVE2_FULL}\\)`),
  })
  const reply = await ask(
    d.port,
    encodeRequest({
      type: 'alive2',
      name: 'n4',
      port: 104,
      nodeType: 77,
      protocol: 0,
      highestVersion: 6,
      lowestVersion: 5,
      extra: Buffer.alloc(0),
    }),
  )
  t.same(
    Buffer.from(reply, 'latin1'),
    Buffer.from([0x76, ALIVE2_FULL, 0, 0, 0, 99]),
    'ALIVE2_X_RESP with result 2, and the connection closed',
  )
  await t.rejects(registerNode({ ...at, name: 'n1', nodePort: 9 }), { code: 'ERR_NAME_IN_USE' }, 'a taken name is still "in use" when full')
  t.same(
    d
      .names()
      .map(n => n.name)
      .sort(),
    ['n0', 'n1', 'n2'],
  )
  regs[0]!.close()
  await waitFor(() => d.names().length === 2, 2000, 'n0 to unregister')
  const again = await registerNode({ ...at, name: 'n3', nodePort: 103 })
  t.ok(again.creation > 0, 'room again once one went away')
  for (const r of [...regs, again]) r.close()
  await t.rejects(startEpmd({ host: HOST, port: 0, maxNames: -1 }), { code: 'ERR_BAD_ARGUMENT' })
})
