// A refused connection is said on both sides, once: a `netkernel node` and a `netkernel
// shell` (its input piped, as a script) with different cookies each print ERR_AUTH_FAILED
// and the reason on stderr; a tls node and a tcp one print why they cannot talk (one speaks
// TLS, the other does not); --verbose and NETKERNEL_LOG add the library's log lines. A node
// stopped while it dials says nothing of the dial its stop cut short.
import t from 'tap'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { full, testEpmd } from './fixtures/cluster.js'
import { startCli, type CliProcess } from './fixtures/cli-process.js'
import { testPki } from './fixtures/tls-certs.js'
import { writeCertFiles } from './fixtures/cert-files.js'
import { refusalLine, reportRefusals } from '../lib/cli/refusal-report.js'
import { startNode } from '../lib/node.js'
import { waitFor } from './fixtures/epmd-real.js'

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const count = (text: string, re: RegExp): number => text.match(new RegExp(re.source, 'g'))?.length ?? 0

interface Teardown {
  teardown(fn: () => unknown): void
}

async function nodeCmd(t: Teardown, args: string[]): Promise<CliProcess> {
  const p = startCli(t, ['node', '--listen-host', '127.0.0.1', '--stdin-lifeline', ...args])
  await p.waitFor('stdout', /listening on port \d+/)
  return p
}

function shellCmd(t: Teardown, args: string[], env?: NodeJS.ProcessEnv): CliProcess {
  return startCli(t, ['shell', '--listen-host', '127.0.0.1', '--history', '', ...args], { env })
}

t.test('refusalLine names the peer once: in the prefix only when the message does not', async t => {
  const err = (message: string): Error => new Error(message)
  const line = (peer: string | undefined, direction: 'in' | 'out', message: string, address?: string): string =>
    refusalLine(peer, { direction, code: 'ERR_X', error: err(message), address })
  t.equal(line('bar@vm', 'out', 'bar@vm said no'), 'netkernel: connection failed: ERR_X: bar@vm said no')
  t.equal(line('bar@vm', 'out', 'cannot connect to vm:1'), 'netkernel: connection to bar@vm failed: ERR_X: cannot connect to vm:1')
  t.equal(line(undefined, 'out', 'no'), 'netkernel: connection to a node failed: ERR_X: no')
  t.equal(
    line('foo@vm', 'in', 'foo@vm sent a bad digest', '127.0.0.1'),
    'netkernel: connection from 127.0.0.1 refused: ERR_X: foo@vm sent a bad digest',
  )
  t.equal(line('foo@vm', 'in', 'bad digest', '127.0.0.1'), 'netkernel: connection from foo@vm (127.0.0.1) refused: ERR_X: bad digest')
  t.equal(line('foo@vm', 'in', 'bad digest'), 'netkernel: connection from foo@vm refused: ERR_X: bad digest')
  t.equal(line(undefined, 'in', 'not a handshake', '127.0.0.1'), 'netkernel: connection from 127.0.0.1 refused: ERR_X: not a handshake')
  t.equal(line('foo@vm', 'in', 'foo@vm sent a bad digest'), 'netkernel: connection from a node refused: ERR_X: foo@vm sent a bad digest')
})

t.test('a node stopped while it dials says nothing: its own stop is no refusal', async t => {
  // A peer that takes the connection and never answers: the dial is in its setup when the node stops.
  const sockets: net.Socket[] = []
  const silent = net.createServer(s => {
    sockets.push(s.on('error', () => {}))
  })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    silent.close()
  })
  const port = (silent.address() as net.AddressInfo).port
  const node = await startNode({
    name: 'rstop',
    cookie: 'c',
    epmd: false,
    listen: { host: '127.0.0.1' },
    resolve: async () => ({ host: '127.0.0.1', port }),
  })
  t.teardown(() => node.stop())
  const said: string[] = []
  reportRefusals(node, line => said.push(line))
  const codes: string[] = []
  node.on('connectError', (_peer, info) => codes.push(info.code))
  const dialling = node.connect(full('rsilent'))
  await waitFor(() => sockets.length === 1, 5000, 'the dial to reach the silent peer')
  await node.stop()
  t.equal(await dialling, false, 'the dial ends with the node')
  t.same(codes, ['ERR_NODE_STOPPED'], 'the node reports the setup its stop cut short')
  t.same(said, [], 'and nothing is said of it')
})

t.test('different cookies: both sides print ERR_AUTH_FAILED and the reason, once', async t => {
  const epmd = await testEpmd(t)
  const ep = ['--epmd-port', String(epmd.port)]
  const bar = await nodeCmd(t, ['--sname', 'rbar', '--cookie', 'right', ...ep])
  const sh = shellCmd(t, ['--sname', 'rfoo', '--cookie', 'wrong', ...ep])
  const target = full('rbar')
  sh.child.stdin.write(`net_adm.ping('${target}')\n`)
  await sh.waitFor('stdout', /'pang'/)
  sh.child.stdin.write(`net_adm.ping('${target}')\nnet_adm.ping('${target}')\n`)
  await sh.waitFor('stdout', /('pang'[\s\S]*){3}/)
  sh.child.stdin.end()
  t.equal(await sh.exited(), 0, 'the shell exits 0 at the end of its input')

  const mine = new RegExp(`^netkernel: connection failed: ERR_AUTH_FAILED: .*${esc(target)}.*wrong cookie.*$`, 'm')
  t.match(sh.stderr(), mine, 'the shell says the connection to rbar failed, with the code and the reason')
  t.equal(count(sh.stderr(), /ERR_AUTH_FAILED/), 1, 'three refused pings: said once')
  t.equal(count(sh.stderr(), new RegExp(esc(target))), 1, 'rbar named once')

  const theirs = new RegExp(
    `^netkernel: connection from 127\\.0\\.0\\.1 refused: ERR_AUTH_FAILED: .*${esc(full('rfoo'))}.*wrong cookie.*$`,
    'm',
  )
  await bar.waitFor('stderr', theirs)
  t.pass('the node says it refused rfoo, with the code and the reason')
  t.equal(count(bar.stderr(), /ERR_AUTH_FAILED/), 1, 'said once')
  t.equal(count(bar.stderr(), new RegExp(esc(full('rfoo')))), 1, 'rfoo named once')
  t.notMatch(bar.stderr(), /netkernel (debug|info|warn) /, 'no log lines without --verbose')
})

t.test('a tls node and a tcp node: each side says one speaks TLS and the other does not', async t => {
  const epmd = await testEpmd(t)
  const ep = ['--epmd-port', String(epmd.port)]
  const dir = mkdtempSync(join(tmpdir(), 'nk-cli-refuse-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = writeCertFiles(testPki('cli refusals CA'), dir, [full('tshell'), full('tlsbar')])
  const tcpNode = await nodeCmd(t, ['--sname', 'tcpbar', '--cookie', 'c', ...ep])
  const tlsNode = await nodeCmd(t, ['--sname', 'tlsbar', '--cookie', 'c', ...ep, ...files.tlsArgs(full('tlsbar'))])

  // A tls shell dials the tcp node; a tcp shell dials the tls node.
  const tlsShell = shellCmd(t, ['--sname', 'tshell', '--cookie', 'c', ...ep, ...files.tlsArgs(full('tshell'))])
  tlsShell.child.stdin.end(`net_adm.ping('${full('tcpbar')}')\n`)
  t.equal(await tlsShell.exited(), 0)
  t.match(tlsShell.stdout(), /'pang'/)
  t.match(
    tlsShell.stderr(),
    new RegExp(`^netkernel: connection to ${esc(full('tcpbar'))} failed: ERR_\\w+: .*does it use the tls transport\\?`, 'm'),
    'the tls shell: the peer closed the TLS handshake, does it use the tls transport?',
  )
  await tcpNode.waitFor(
    'stderr',
    /^netkernel: connection from 127\.0\.0\.1 refused: ERR_HANDSHAKE: 127\.0\.0\.1:\d+ speaks TLS; this node's transport does not/m,
  )
  t.pass('the tcp node: the caller speaks TLS, this node does not')

  const tcpShell = shellCmd(t, ['--sname', 'ushell', '--cookie', 'c', ...ep])
  tcpShell.child.stdin.end(`net_adm.ping('${full('tlsbar')}')\n`)
  t.equal(await tcpShell.exited(), 0)
  t.match(
    tcpShell.stderr(),
    new RegExp(
      `^netkernel: connection failed: ERR_CONNECTION_CLOSED: ${esc(full('tlsbar'))} \\(127\\.0\\.0\\.1:\\d+\\) closed .*answered nothing: does it use the tls transport\\?`,
      'm',
    ),
    'the tcp shell: the peer closed the connection, does it use the tls transport?',
  )
  t.equal(count(tcpShell.stderr(), new RegExp(esc(full('tlsbar')))), 1, 'tlsbar named once')
  await tlsNode.waitFor('stderr', /^netkernel: connection from 127\.0\.0\.1 refused: ERR_TLS_HANDSHAKE: .*the client does not speak TLS/m)
  t.pass('the tls node: the client does not speak TLS')
})

t.test('--verbose and NETKERNEL_LOG send the library log to stderr, one readable line each', async t => {
  const epmd = await testEpmd(t)
  const ep = ['--epmd-port', String(epmd.port)]
  const verbose = shellCmd(t, ['--sname', 'vfoo', '--cookie', 'c', ...ep, '--verbose'])
  verbose.child.stdin.end(`net_adm.ping('${full('nobody')}')\n`)
  t.equal(await verbose.exited(), 0)
  t.match(
    verbose.stderr(),
    new RegExp(
      `^netkernel info ${esc(full('vfoo'))}: node ${esc(full('vfoo'))} started \\(address=127\\.0\\.0\\.1:\\d+, creation=\\d+\\)$`,
      'm',
    ),
    'level, node, message, then the fields as key=value',
  )
  t.match(
    verbose.stderr(),
    new RegExp(`^netkernel warn ${esc(full('vfoo'))}: .*nobody.*ERR_NODE_NOT_FOUND`, 'm'),
    'a failed connection, as a warning',
  )

  const env = shellCmd(t, ['--sname', 'efoo', '--cookie', 'c', ...ep], { NETKERNEL_LOG: 'warn' })
  env.child.stdin.end(`net_adm.ping('${full('nobody')}')\n`)
  t.equal(await env.exited(), 0)
  t.match(env.stderr(), /^netkernel warn /m, 'NETKERNEL_LOG=warn: warnings')
  t.notMatch(env.stderr(), /^netkernel info /m, '... and nothing below')

  const bad = shellCmd(t, ['--sname', 'bfoo', '--cookie', 'c', ...ep], { NETKERNEL_LOG: 'loud' })
  bad.child.stdin.end()
  t.equal(await bad.exited(), 0)
  t.match(bad.stderr(), /NETKERNEL_LOG='loud' is not one of trace, debug, info, warn, error, silent; ignored/)
})
