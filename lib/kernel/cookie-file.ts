// The cookie file, as Erlang/OTP keeps it: ~/.erlang.cookie, owner-only, created on first use
// with a random cookie. Two nodes starting at once must end up with the same cookie.
import process from 'node:process'
import { randomBytes, randomInt } from 'node:crypto'
import { closeSync, fchmodSync, fstatSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, basename } from 'node:path'
import { abortError, CookieFileError } from '../errors.js'

export const DEFAULT_COOKIE_FILE = '~/.erlang.cookie'

export interface CookieFileOptions {
  /** Create the file when it does not exist (default true). */
  create?: boolean
  /** Length of a created cookie in uppercase letters (default 32 ≈ 150 bits; at least 28). */
  length?: number
  signal?: AbortSignal
}

/** `~` or `~/x` → the home directory (os.homedir()). */
export function expandHome(path: string): string {
  if (path === '~') return homedir()
  if (path.startsWith('~/')) return join(homedir(), path.slice(2))
  return path
}

/** A random cookie of `length` uppercase letters, uniformly drawn (OTP uses 20; we use more). */
export function randomCookie(length = 32): string {
  let s = ''
  for (let i = 0; i < length; i++) s += String.fromCharCode(65 + randomInt(26))
  return s
}

// 26^28 > 2^131: the least length giving 128 random bits.
const MIN_LENGTH = 28

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

function readCookieFile(file: string): string {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw new CookieFileError('ERR_COOKIE_FILE', `cannot open cookie file ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    // fstat the open file, not the path, so the checked file is the file read.
    const st = fstatSync(fd)
    if (!st.isFile()) throw new CookieFileError('ERR_COOKIE_FILE', `cookie file ${file} is not a regular file`)
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
      throw new CookieFileError(
        'ERR_COOKIE_FILE',
        `cookie file ${file} has mode ${mode}: it must be accessible by its owner only (chmod 400 ${file})`,
      )
    }
    const cookie = readFileSync(fd, 'utf8').trimEnd()
    if (cookie.length === 0) throw new CookieFileError('ERR_COOKIE_FILE', `cookie file ${file} is empty`)
    return cookie
  } catch (err) {
    if (err instanceof CookieFileError) throw err
    throw new CookieFileError('ERR_COOKIE_FILE', `cannot read cookie file ${file}: ${(err as Error).message}`, { cause: err })
  } finally {
    closeSync(fd)
  }
}

function writeNew(path: string, cookie: string): void {
  const fd = openSync(path, 'wx', 0o400) // exclusive; the fd stays writable
  try {
    writeFileSync(fd, cookie)
    fchmodSync(fd, 0o400) // in case a umask removed nothing we wanted, or the fs ignored it
  } finally {
    closeSync(fd)
  }
}

/**
 * Create `file` holding `cookie`, unless it exists. The cookie is written to a private
 * temporary file that is then hard-linked into place: link() fails when the name exists, so
 * a racing node never sees a half-written file. Returns false when another file was there.
 */
function createExclusive(file: string, cookie: string): boolean {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    writeNew(tmp, cookie)
  } catch {
    // The directory may not allow the temporary name (or the fs no hard links): write in place.
    return writeInPlace(file, cookie)
  }
  try {
    linkSync(tmp, file)
    return true
  } catch (err) {
    if (errno(err) === 'EEXIST') return false
    if (['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS'].includes(errno(err) ?? '')) return writeInPlace(file, cookie)
    throw err
  } finally {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone
    }
  }
}

function writeInPlace(file: string, cookie: string): boolean {
  try {
    writeNew(file, cookie)
    return true
  } catch (err) {
    if (errno(err) === 'EEXIST') return false
    throw err
  }
}

/**
 * Read the node cookie from `path` (default ~/.erlang.cookie), creating the file with a fresh
 * random cookie (mode 0400) when it does not exist. Refuses (CookieFileError ERR_COOKIE_FILE)
 * a file readable or writable by group or others, an empty file, or an unreadable one.
 * Trailing whitespace (the newline an editor adds) is not part of the cookie.
 *
 * Synchronous, as a node reads it when something first asks for its cookie (a getter); the
 * file is a few bytes on a local disk.
 */
export function readOrCreateCookieSync(path: string = DEFAULT_COOKIE_FILE, opts: Omit<CookieFileOptions, 'signal'> = {}): string {
  const { create = true, length = 32 } = opts
  const file = expandHome(path)
  if (!Number.isInteger(length) || length < MIN_LENGTH) {
    throw new CookieFileError('ERR_COOKIE_FILE', `cookie length ${length} for ${file} gives under 128 random bits (minimum ${MIN_LENGTH})`)
  }
  try {
    return readCookieFile(file)
  } catch (err) {
    if (!create || errno((err as Error).cause) !== 'ENOENT') throw err
  }
  const cookie = randomCookie(length)
  let created: boolean
  try {
    created = createExclusive(file, cookie)
  } catch (err) {
    throw new CookieFileError('ERR_COOKIE_FILE', `cannot create cookie file ${file}: ${(err as Error).message}`, { cause: err })
  }
  // Lost a race: the winner's cookie is the one every node must use.
  return created ? cookie : readCookieFile(file)
}

/** readOrCreateCookieSync() behind a promise, with an AbortSignal checked first. */
export async function readOrCreateCookie(path: string = DEFAULT_COOKIE_FILE, opts: CookieFileOptions = {}): Promise<string> {
  const { signal, ...rest } = opts
  if (signal?.aborted) throw abortError(signal, `reading cookie file ${expandHome(path)}`)
  return readOrCreateCookieSync(path, rest)
}
