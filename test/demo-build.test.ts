// `npm run demo` (scripts/demo.mjs) builds only when dist/ is missing or older than a source
// file, and says so before the ~20 s build; otherwise it starts the demo at once. Run on a
// copy of the script in a scratch tree whose "tsup" and "dist" are stand-ins that print
// what ran (the real build is too slow for a test).
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const SCRIPT = fileURLToPath(new URL('../scripts/demo.mjs', import.meta.url))
const run = promisify(execFile)

const MAIN = "process.stdout.write('demo ran: ' + process.argv.slice(2).join(' ') + '\\n')\n"

t.test('builds when dist/ is missing or stale, says so; starts at once when it is up to date', async t => {
  const root = mkdtempSync(join(tmpdir(), 'nk-demo-build-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  mkdirSync(join(root, 'scripts'))
  copyFileSync(SCRIPT, join(root, 'scripts', 'demo.mjs'))
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n')
  mkdirSync(join(root, 'lib'))
  writeFileSync(join(root, 'lib', 'a.ts'), 'export const a = 1\n')
  mkdirSync(join(root, 'node_modules', '.bin'), { recursive: true })
  const tsup = join(root, 'node_modules', '.bin', 'tsup')
  writeFileSync(join(root, 'main.template'), MAIN)
  writeFileSync(tsup, '#!/bin/sh\nmkdir -p dist/lib/cli && cp main.template dist/lib/cli/main.js && echo "tsup ran" >&2\n')
  chmodSync(tsup, 0o755)
  const demo = () => run(process.execPath, [join(root, 'scripts', 'demo.mjs'), '--transports', 'tcp'], { cwd: root })

  const first = await demo()
  t.match(
    first.stderr,
    /^dist\/ is missing: building netkernel \(first run only, ~20 s\)…\ntsup ran\nbuilt in [\d.]+ s\n/,
    'no dist/: it says it builds, then builds',
  )
  t.equal(first.stdout, 'demo ran: demo --transports tcp\n', 'then runs the demo with the arguments given')

  const second = await demo()
  t.equal(second.stderr, '', 'dist/ up to date: no build, nothing said')
  t.equal(second.stdout, 'demo ran: demo --transports tcp\n')

  const later = new Date(Date.now() + 5000)
  utimesSync(join(root, 'lib', 'a.ts'), later, later)
  const third = await demo()
  t.match(
    third.stderr,
    /^sources changed since the last build: building netkernel again \(~20 s\)…\ntsup ran\n/,
    'a source newer than dist/: rebuilt',
  )
  t.equal(third.stdout, 'demo ran: demo --transports tcp\n')
})
