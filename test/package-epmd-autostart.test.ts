// The first node on a host starts a port mapper that outlives it (as `erl` starts `epmd
// -daemon`), from the package as a user installs it, through `import` and through `require`.
// The detached port mapper runs the built file that holds lib/epmd/daemon-main.ts: in the
// CommonJS build that file was once named by tsup's shim of import.meta.url, which names a
// shared chunk, so the daemon ran nothing and startNode failed after 15 s with ERR_EPMD.
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { killEpmd, listNames } from '../lib/epmd/client.js'
import { DAEMON_MAIN_FLAG } from '../lib/epmd/daemon-main.js'
import { consumerProject, packedTarball, toolEnv } from './fixtures/packed.js'
import { freePort, isListening } from './fixtures/ports.js'
import { processAlive, waitFor } from './fixtures/epmd-real.js'

const exec = promisify(execFile)

t.setTimeout(600_000) // packing on a loaded machine (see package-consumer.test.ts)

/** Pids of detached port mappers started for `port` (their command lines name it). */
function daemonsOn(port: number): number[] {
  const pids: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    let cmd: string[]
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')
    } catch {
      continue // gone meanwhile
    }
    const i = cmd.indexOf(DAEMON_MAIN_FLAG)
    if (i >= 0 && cmd[i + 1] === '--port' && cmd[i + 2] === String(port)) pids.push(Number(d))
  }
  return pids
}

/** At teardown, SIGKILL any port mapper still running for `port`. */
function reap(t: Test, port: number): void {
  t.teardown(() => {
    for (const pid of daemonsOn(port)) if (processAlive(pid)) process.kill(pid, 'SIGKILL')
  })
}

const body = (load: string): string => `
${load}
const port = Number(process.argv[2])
const t0 = Date.now()
const node = await startNode({ name: 'autostart', cookie: 'c', listen: { host: '127.0.0.1' }, epmd: { host: '127.0.0.1', port } })
const ms = Date.now() - t0
await node.stop()
console.log(JSON.stringify({ ms }))
`

const SCRIPTS = {
  'ESM (import)': ['autostart.mjs', body(`import { startNode } from 'netkernel'`)],
  'CommonJS (require)': [
    'autostart.cjs',
    `(async () => {${body(`const { startNode } = require('netkernel')`)}})().catch(e => { console.error(e.code, e.message); process.exit(1) })`,
  ],
} as const

const dir = await consumerProject(t, await packedTarball())

for (const [build, [file, script]] of Object.entries(SCRIPTS)) {
  t.test(`${build}: the first node starts a port mapper that outlives it`, async t => {
    writeFileSync(join(dir, file), script)
    const port = await freePort()
    reap(t, port)
    const { stdout } = await exec(process.execPath, [file, String(port)], { cwd: dir, env: toolEnv(), timeout: 60_000 })
    const { ms } = JSON.parse(stdout) as { ms: number }
    t.ok(ms < 15_000, `startNode resolved (in ${ms} ms), not after the port mapper wait ran out`)
    t.ok(await isListening(port), 'a port mapper listens after the script has exited')
    t.same((await listNames({ host: '127.0.0.1', port })).names, [], 'it answers NAMES_REQ; the stopped node is gone from it')
    const pids = daemonsOn(port)
    t.equal(pids.length, 1, 'one detached port mapper process, from the installed package')
    t.match(readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8'), /node_modules\/netkernel\/dist\//, 'it runs a file of the build')
    t.equal(await killEpmd({ host: '127.0.0.1', port }), true, 'KILL_REQ stops it (no names registered)')
    await waitFor(() => daemonsOn(port).length === 0, 10_000, 'the port mapper exits')
  })
}
