// `netkernel` itself: its usage, an unknown command, and --version (the package's version,
// from the sources as from the build, which finds package.json from its own place).
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const MAIN = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 20_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

t.test('--version, -v and version print the package version', async t => {
  for (const arg of ['--version', '-v', 'version']) t.same(await run([arg]), { code: 0, stdout: `netkernel ${version}\n`, stderr: '' }, arg)
})

t.test('--help lists the commands and --version; none given or an unknown one is a usage error (exit 2)', async t => {
  const help = await run(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /commands:\n {2}shell[\s\S]* {2}bench[\s\S]*'netkernel --version'/)
  t.match(await run([]), {
    code: 2,
    stdout: '',
    stderr: /^netkernel: give a command: shell, .*\n\(netkernel --help lists the commands\)\n$/,
  })
  t.match(await run(['frobnicate']), { code: 2, stderr: /^netkernel: unknown command 'frobnicate'/ })
})
