// Interoperability with Erlang/OTP: our client against the real epmd, the real epmd's client
// flags and a real erl node against our daemon. Free ports only; everything started is stopped.
import t from 'tap'
import os from 'node:os'
import { startEpmd } from '../lib/epmd/daemon.js'
import { registerNode, lookupNode, listNames, killEpmd, stopName } from '../lib/epmd/client.js'
import { epmdCli, erlangSkip, processAlive, startErlNode, startRealEpmd, waitFor } from './fixtures/epmd-real.js'
import { isListening } from './fixtures/ports.js'

const HOST = '127.0.0.1'
const shortHost = os.hostname().split('.')[0]!

t.test('our client with a real epmd', { skip: erlangSkip('epmd') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const at = { host: HOST, port: epmd.port }

  const reg = await registerNode({ ...at, name: 'nkfoo', nodePort: 45001 })
  t.ok(reg.creation >= 1 && reg.creation <= 0xffffffff, `creation ${reg.creation}`)
  const names = await epmd.cli('-names')
  t.equal(names.code, 0)
  t.match(names.stdout, new RegExp(`^epmd: up and running on port ${epmd.port} with data:$`, 'm'))
  t.match(names.stdout, /^name nkfoo at port 45001$/m, 'epmd -names lists our registration')
  t.same(await listNames(at), { epmdPort: epmd.port, names: [{ name: 'nkfoo', port: 45001 }] })
  t.match(await lookupNode({ ...at, name: 'nkfoo' }), {
    port: 45001,
    nodeType: 77,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 5,
    extra: Buffer.alloc(0),
  })
  t.equal(await lookupNode({ ...at, name: 'nobody' }), undefined)
  await t.rejects(registerNode({ ...at, name: 'nkfoo', nodePort: 1 }), { code: 'ERR_NAME_IN_USE' })

  t.equal(await killEpmd(at), false, 'epmd refuses KILL while nodes are registered')
  await t.rejects(stopName({ ...at, name: 'nkfoo' }), { code: 'ERR_EPMD' }, 'and STOP without -relaxed_command_check')

  reg.close()
  await reg.closed
  await waitFor(async () => !/nkfoo/.test((await epmd.cli('-names')).stdout), 5000, 'nkfoo to vanish')
  t.pass('the registration vanished with its connection')
  const again = await registerNode({ ...at, name: 'nkfoo', nodePort: 45002 })
  t.not(again.creation, reg.creation, 'epmd gives a re-registration another creation')
  again.close()
  await again.closed
})

t.test('a real epmd with -relaxed_command_check serves our STOP and KILL', { skip: erlangSkip('epmd') }, async t => {
  const epmd = await startRealEpmd({ args: ['-relaxed_command_check'] })
  t.teardown(() => epmd.stop())
  const at = { host: HOST, port: epmd.port }
  const reg = await registerNode({ ...at, name: 'nkstop', nodePort: 45003 })
  t.equal(await stopName({ ...at, name: 'nkstop' }), true)
  await reg.closed
  t.equal(await stopName({ ...at, name: 'nkstop' }), false)
  t.equal(await killEpmd(at), true)
  await waitFor(() => !processAlive(epmd.pid), 5000, 'epmd to exit')
  t.pass('epmd exited on our KILL_REQ')
})

t.test("real epmd's -names, -stop and -kill against our daemon (relaxed)", { skip: erlangSkip('epmd') }, async t => {
  const d = await startEpmd({ port: 0, relaxed: true })
  t.teardown(() => d.destroy())
  const reg = await registerNode({ host: HOST, port: d.port, name: 'nkbar', nodePort: 45010 })
  const other = await registerNode({ host: HOST, port: d.port, name: 'nkbaz', nodePort: 45011 })

  const names = await epmdCli(d.port, '-names')
  t.equal(names.code, 0, names.stderr)
  t.match(names.stdout, new RegExp(`^epmd: up and running on port ${d.port} with data:$`, 'm'))
  t.match(names.stdout, /^name nkbar at port 45010$/m)
  t.match(names.stdout, /^name nkbaz at port 45011$/m)

  const stop = await epmdCli(d.port, '-stop', 'nkbar')
  t.match(stop.stdout, /STOPPED/, 'epmd -stop')
  await reg.closed
  t.same(d.names(), [{ name: 'nkbaz', port: 45011 }])

  const kill = await epmdCli(d.port, '-kill')
  t.equal(kill.code, 0, kill.stderr)
  t.match(kill.stdout, /Killed/)
  await d.closed
  await other.closed
  t.notOk(await isListening(d.port), 'our daemon stopped on epmd -kill')
})

t.test('a real erl node registers with our daemon', { skip: erlangSkip('erl') }, async t => {
  const d = await startEpmd({ port: 0 })
  t.teardown(() => d.destroy())
  const erl = await startErlNode({ name: 'x', epmdPort: d.port })
  t.teardown(() => erl.stop())
  t.equal(erl.node, `x@${shortHost}`)
  await waitFor(() => d.names().some(n => n.name === 'x'), 10_000, 'x to register')
  const entry = d.names().find(n => n.name === 'x')!
  const found = await lookupNode({ host: HOST, port: d.port, name: 'x' })
  t.ok(found, 'lookup finds the erl node')
  t.equal(found!.port, entry.port)
  t.equal(found!.nodeType, 77)
  t.ok(found!.highestVersion >= 6, `erl speaks distribution version ${found!.highestVersion}`)
  t.ok(await isListening(found!.port), 'its distribution port accepts connections')
  t.match((await epmdCli(d.port, '-names')).stdout, new RegExp(`^name x at port ${entry.port}$`, 'm'))

  await erl.stop()
  t.notOk(processAlive(erl.pid), 'erl stopped')
  await waitFor(() => d.names().length === 0, 5000, 'x to unregister')
  t.pass('the registration ended with the node')
})
