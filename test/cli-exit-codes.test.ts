// Every command reports a usage error alike (lib/cli/usage.ts): an unknown option, a bad
// value, a missing or contradictory argument is one line on stderr naming the command, a
// pointer to its --help, nothing on stdout, and exit status 2. A runtime failure (nothing
// answers, the files exist) is exit status 1, without the pointer.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './fixtures/cli-process.js'
import { refusedPort } from './fixtures/ports.js'
import { full } from './fixtures/cluster.js'

const dir = mkdtempSync(join(tmpdir(), 'nk-exit-codes-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** At most `n` at a time: each case is a process of its own (tsx takes a second to start). */
async function inBatches<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(fn))))
  return out
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const USAGE_ERRORS: Array<[what: string, args: string[]]> = [
  ['no command', []],
  ['an unknown command', ['frobnicate']],
  ...['shell', 'node', 'top', 'epmd', 'certs', 'demo', 'bench'].map((cmd): [string, string[]] => [
    `${cmd}: an unknown option`,
    [cmd, '--frobnicate'],
  ]),
  ['shell: no name', ['shell']],
  ['shell: both --sname and --name', ['shell', '--sname', 'a', '--name', 'a@b.example']],
  ['shell: a bad port', ['shell', '--sname', 'x', '--epmd-port', 'x']],
  ['shell: an illegal node name', ['shell', '--sname', 'a@b@c']],
  ['shell: a reversed port range', ['shell', '--sname', 'x', '--port-min', '5000', '--port-max', '4000']],
  ['node: no name', ['node']],
  ['node: a missing value', ['node', '--sname']],
  ['node: a bad --busy-wait', ['node', '--sname', 'x', '--busy-wait', 'forever']],
  ['node: an empty cookie', ['node', '--sname', 'x', '--cookie', '']],
  ['node: a tls option without --transport tls', ['node', '--sname', 'x', '--tls-ca', 'ca.pem']],
  ['top: no NODE', ['top']],
  ['top: two NODEs', ['top', 'a@h', 'b@h']],
  ['top: an illegal NODE', ['top', 'a@b@c']],
  ['top: a bad interval', ['top', 'a@h', '--interval', '0']],
  ['epmd: a bad port', ['epmd', '--port', '70000']],
  ['epmd: a missing value', ['epmd', '--stop']],
  ['epmd: an argument', ['epmd', 'names']],
  ['epmd: two queries', ['epmd', '--names', '--kill']],
  ['certs: nothing to make', ['certs', '--out', dir]],
  ['certs: no --out', ['certs', 'ca']],
  ['certs: no node name', ['certs', 'node', '--ca', dir, '--out', dir]],
  ['certs: bad --days', ['certs', 'ca', '--out', dir, '--days', 'ten']],
  ['certs: an illegal node name', ['certs', 'node', 'a@b@c', '--ca', dir, '--out', dir]],
  ['certs: an option of the other subcommand', ['certs', 'ca', '--out', dir, '--host', 'h']],
  ['demo: a bad --transports', ['demo', '--transports', 'udp']],
  ['demo: a missing value', ['demo', '--transports']],
  ['bench: a value without =', ['bench', '--runs', '3']],
  ['bench: a bad value', ['bench', '--runs=0']],
  ['bench: an unknown family', ['bench', '--only=tput,nope']],
]

t.test('a usage error: one line naming the command, a pointer to its --help, exit status 2', async t => {
  const results = await inBatches(USAGE_ERRORS, 4, ([, args]) => runCli(args))
  USAGE_ERRORS.forEach(([what, args], i) => {
    const r = results[i]!
    const cmd = args[0] !== undefined && !args[0].startsWith('-') && args[0] !== 'frobnicate' ? args[0] : undefined
    const who = cmd === undefined ? 'netkernel' : `netkernel ${cmd}`
    t.equal(r.code, 2, `${what}: exit status 2 (stderr: ${r.err})`)
    t.equal(r.out, '', `${what}: nothing on stdout`)
    t.match(
      r.err,
      new RegExp(`^${esc(who)}: [^\\n]+\\n\\(${esc(who)} --help lists the ${cmd === undefined ? 'commands' : 'options'}\\)\\n$`),
      `${what}: one line and the pointer to --help`,
    )
  })
})

t.test('a runtime failure: exit status 1, saying why, without the pointer to --help', async t => {
  const port = String(await refusedPort()) // nothing listens there, nor will
  const certs = join(dir, 'ca')
  t.equal((await runCli(['certs', 'ca', '--out', certs])).code, 0, 'a CA made')
  const cases: Array<[string, string[], RegExp]> = [
    ['epmd: no port mapper answers', ['epmd', '--names', '--port', port], /cannot reach the port mapper/],
    ['node: no port mapper answers', ['node', '--sname', 'xrt', '--no-start-epmd', '--epmd-port', port], /ERR_EPMD_UNREACHABLE/],
    [
      'shell: no port mapper answers',
      ['shell', '--sname', 'xrt', '--no-start-epmd', '--epmd-port', port, '--history', ''],
      /ERR_EPMD_UNREACHABLE/,
    ],
    ['top: the node cannot be reached', ['top', full('nobody'), '--once', '--cookie', 'c', '--epmd-port', port], /ERR_EPMD_UNREACHABLE/],
    ['certs: the files exist', ['certs', 'ca', '--out', certs], /already exist/],
  ]
  const results = await inBatches(cases, 4, ([, args]) => runCli(args))
  cases.forEach(([what, args, re], i) => {
    const r = results[i]!
    t.equal(r.code, 1, `${what}: exit status 1 (stderr: ${r.err})`)
    t.match(r.err, new RegExp(`^netkernel ${args[0]}: .*${re.source}`), `${what}: says why`)
    t.notMatch(r.err, /--help/, `${what}: no pointer to --help`)
  })
})
