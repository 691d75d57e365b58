// `netkernel epmd --stop NAME` drops a live node's registration, and the node leaves it so
// (as Erlang's nodes do): it stays up, unregistered. When the port mapper itself goes away
// and comes back, the node registers again. Against Erlang's epmd with
// -relaxed_command_check, as a user runs it (the one that serves STOP and KILL).
import t from 'tap'
import { erlangSkip, startRealEpmd, waitFor, type RealEpmd } from './fixtures/epmd-real.js'
import { startCli } from './fixtures/cli-process.js'

const skip = erlangSkip('epmd')
if (skip) t.comment(`skipping: ${skip}`)

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

async function listed(epmd: RealEpmd, name: string): Promise<boolean> {
  return new RegExp(`^name ${name} at port \\d+$`, 'm').test((await epmd.cli('-names')).stdout)
}

t.test('STOP: the node is not registered again; a restarted port mapper: it is', { skip }, async t => {
  let epmd = await startRealEpmd({ args: ['-relaxed_command_check'] })
  t.teardown(() => epmd.stop())
  const port = epmd.port
  const node = startCli(t, [
    'node',
    '--sname',
    'stopme',
    '--cookie',
    'c',
    '--epmd-port',
    String(port),
    '--listen-host',
    '127.0.0.1',
    '--stdin-lifeline',
    '--verbose',
  ])
  await node.waitFor('stdout', /listening on port \d+/)
  t.ok(await listed(epmd, 'stopme'), 'registered')

  const stop = startCli(t, ['epmd', '--stop', 'stopme', '--port', String(port)])
  t.equal(await stop.exited(), 0)
  t.equal(stop.stdout(), 'STOPPED\n', 'netkernel epmd --stop: STOPPED')
  await node.waitFor('stderr', /the port mapper dropped the registration of 'stopme' and keeps running/)
  t.pass('the node says its registration was dropped and it stays unregistered')
  for (let i = 0; i < 5; i++) {
    t.notOk(await listed(epmd, 'stopme'), `not registered again (${i * 300} ms after)`)
    await sleep(300)
  }
  t.notMatch(node.stderr(), /registering again|registered with the port mapper again/, 'it did not try')

  // A restart: epmd goes away (the node's registration connection with it) and comes back.
  await epmd.stop()
  epmd = await startRealEpmd({ port, args: ['-relaxed_command_check'] })
  t.notOk(await listed(epmd, 'stopme'), 'the restarted port mapper does not know the STOPped node: nothing to restore')

  const again = startCli(t, [
    'node',
    '--sname',
    'phoenix',
    '--cookie',
    'c',
    '--epmd-port',
    String(port),
    '--listen-host',
    '127.0.0.1',
    '--stdin-lifeline',
    '--verbose',
  ])
  await again.waitFor('stdout', /listening on port \d+/)
  await epmd.stop()
  await again.waitFor('stderr', /port mapper registration lost \(the port mapper does not answer\); registering again/)
  epmd = await startRealEpmd({ port, args: ['-relaxed_command_check'] })
  await waitFor(() => listed(epmd, 'phoenix'), 15_000, 'phoenix registered again')
  t.pass('after a restart of the port mapper, the node registered again')

  node.child.stdin.end()
  again.child.stdin.end()
  t.equal(await node.exited(), 0)
  t.equal(await again.exited(), 0)
})
