import t from 'tap'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import type { Test } from 'tap'
import { join } from 'node:path'
import { expandHome, randomCookie, readOrCreateCookie } from '../lib/kernel/cookie-file.js'
import { CookieFileError } from '../lib/errors.js'

const posix = process.platform !== 'win32'
const isRoot = process.getuid?.() === 0

/** A fresh private temp dir (unique even when several test runs share the checkout), removed after the test. */
async function testdir(t: Test, files: Record<string, string | Record<string, never>> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netkernel-cookie-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') await writeFile(join(dir, name), content)
    else await mkdir(join(dir, name))
  }
  return dir
}

t.test('creates a missing file: mode 0400, ≥128 random bits, and returns its cookie', async t => {
  const dir = await testdir(t)
  const file = join(dir, '.erlang.cookie')
  const cookie = await readOrCreateCookie(file)
  t.match(cookie, /^[A-Z]{32}$/, '32 uppercase letters (log2(26^32) ≈ 150 bits)')
  t.ok(cookie.length * Math.log2(26) >= 128)
  t.equal(await readFile(file, 'utf8'), cookie)
  if (posix) t.equal((await stat(file)).mode & 0o777, 0o400)
  t.same((await readdir(dir)).sort(), ['.erlang.cookie'], 'no temporary file left behind')
  t.equal(await readOrCreateCookie(file), cookie, 'read back on the next start')
  t.not(await readOrCreateCookie(join(dir, 'other')), cookie, 'another file, another cookie')
})

t.test('reuses an existing owner-only file, trimming the trailing newline', async t => {
  const dir = await testdir(t, { c: 'MYCOOKIE \n' })
  const file = join(dir, 'c')
  await chmod(file, 0o600)
  t.equal(await readOrCreateCookie(file), 'MYCOOKIE')
  t.equal(await readFile(file, 'utf8'), 'MYCOOKIE \n', 'left untouched')
})

t.test('refuses a file readable by group or others, naming the path and the mode', { skip: !posix && 'no POSIX modes' }, async t => {
  const dir = await testdir(t, { c: 'MYCOOKIE\n', d: 'X' })
  const file = join(dir, 'c')
  await chmod(file, 0o644)
  await t.rejects(readOrCreateCookie(file), { name: 'CookieFileError', code: 'ERR_COOKIE_FILE', message: new RegExp(`${file}.*0644`) })
  await chmod(join(dir, 'd'), 0o420)
  await t.rejects(readOrCreateCookie(join(dir, 'd')), { code: 'ERR_COOKIE_FILE', message: /0420/ }, 'group access alone is refused too')
})

t.test('refuses an empty (or all-whitespace) file', async t => {
  const dir = await testdir(t, { e: '', w: ' \n\n' })
  for (const name of ['e', 'w']) {
    const file = join(dir, name)
    await chmod(file, 0o400)
    const err = await readOrCreateCookie(file).catch((e: unknown) => e)
    t.ok(err instanceof CookieFileError)
    t.equal((err as CookieFileError).code, 'ERR_COOKIE_FILE')
    t.match((err as Error).message, `cookie file ${file} is empty`)
  }
})

t.test('refuses a directory, an unreadable file, and a missing one with create: false', async t => {
  const dir = await testdir(t, { sub: {}, locked: 'SECRET' })
  await t.rejects(readOrCreateCookie(join(dir, 'sub')), { code: 'ERR_COOKIE_FILE', message: /not a regular file/ })
  await t.rejects(readOrCreateCookie(join(dir, 'missing'), { create: false }), {
    code: 'ERR_COOKIE_FILE',
    message: new RegExp(join(dir, 'missing')),
  })
  if (posix && !isRoot) {
    await chmod(join(dir, 'locked'), 0o000)
    await t.rejects(readOrCreateCookie(join(dir, 'locked')), { code: 'ERR_COOKIE_FILE', message: /cannot open/ })
  }
})

t.test('cannot create in a missing directory: ERR_COOKIE_FILE with the OS error as cause', async t => {
  const dir = await testdir(t)
  const file = join(dir, 'no', 'such', 'dir', 'c')
  const err = await readOrCreateCookie(file).catch((e: unknown) => e)
  t.equal((err as CookieFileError).code, 'ERR_COOKIE_FILE')
  t.match((err as Error).message, file)
  t.equal(((err as Error).cause as NodeJS.ErrnoException).code, 'ENOENT')
})

t.test('concurrent creation by several callers ends with one cookie', async t => {
  for (let round = 0; round < 10; round++) {
    const dir = await testdir(t)
    const file = join(dir, '.erlang.cookie')
    const cookies = await Promise.all(Array.from({ length: 8 }, () => readOrCreateCookie(file)))
    t.equal(new Set(cookies).size, 1, `round ${round}: every caller got the same cookie`)
    t.equal(await readFile(file, 'utf8'), cookies[0])
    t.same(await readdir(dir), ['.erlang.cookie'])
  }
})

t.test(
  'falls back to writing in place when no temporary file can be made there',
  { skip: (!posix || isRoot) && 'needs a non-root POSIX user' },
  async t => {
    // A directory we may not write to cannot hold the temporary file either: the error names the path.
    const dir = await testdir(t, { ro: {} })
    await chmod(join(dir, 'ro'), 0o500)
    t.teardown(() => chmod(join(dir, 'ro'), 0o700))
    await t.rejects(readOrCreateCookie(join(dir, 'ro', 'c')), { code: 'ERR_COOKIE_FILE', message: /cannot create cookie file/ })
  },
)

t.test('options: a short length is refused, an aborted signal rejects, ~ expands to the home directory', async t => {
  const dir = await testdir(t)
  await t.rejects(readOrCreateCookie(join(dir, 'c'), { length: 20 }), { code: 'ERR_COOKIE_FILE', message: /128/ })
  t.match(await readOrCreateCookie(join(dir, 'c'), { length: 40 }), /^[A-Z]{40}$/)
  const ac = new AbortController()
  ac.abort()
  await t.rejects(readOrCreateCookie(join(dir, 'c'), { signal: ac.signal }), { code: 'ERR_ABORTED' })
  t.equal(expandHome('~'), homedir())
  t.equal(expandHome('~/.erlang.cookie'), join(homedir(), '.erlang.cookie'))
  t.equal(expandHome('/x/~/y'), '/x/~/y')
  t.match(randomCookie(), /^[A-Z]{32}$/)
})

t.test('the default path is ~/.erlang.cookie (HOME pointed at a temp dir)', { skip: !posix && 'HOME is POSIX' }, async t => {
  const dir = await testdir(t)
  await mkdir(join(dir, 'home'))
  const saved = process.env.HOME
  process.env.HOME = join(dir, 'home')
  t.teardown(() => {
    process.env.HOME = saved
  })
  t.equal(homedir(), join(dir, 'home'))
  await writeFile(join(dir, 'home', '.erlang.cookie'), 'FROMHOME', { mode: 0o400 })
  t.equal(await readOrCreateCookie(), 'FROMHOME')
})

t.test('concurrent creation by separate processes ends with one cookie', async t => {
  const { spawn } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const moduleUrl = new URL('../lib/kernel/cookie-file.ts', import.meta.url).href
  const dir = await testdir(t, {
    'race.mts': `import { readOrCreateCookie } from ${JSON.stringify(moduleUrl)}\nprocess.stdout.write(await readOrCreateCookie(process.argv[2]))\n`,
  })
  const file = join(dir, '.erlang.cookie')
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url))
  const run = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', tsx, join(dir, 'race.mts'), file], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
      child.on('error', reject)
      child.on('close', code => (code === 0 ? resolve(out) : reject(new Error(`child exited with ${code}`))))
    })
  const cookies = await Promise.all([run(), run(), run(), run()])
  t.equal(new Set(cookies).size, 1, 'four processes got the same cookie')
  t.match(cookies[0], /^[A-Z]{32}$/)
  t.equal(await readFile(file, 'utf8'), cookies[0])
})
