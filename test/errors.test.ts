// Every error code is documented in the README, belongs to one class, and every error carries
// its code.
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  ERROR_CLASS,
  ERROR_CLASSES,
  ERROR_CODES,
  NetkernelError,
  ReceiveTimeoutError,
  NodeNameError,
  TransportError,
  abortError,
  errorFor,
  type ErrorCode,
} from '../lib/errors.js'
import { SshGatewayError, SshHostKeyError } from '../transports/ssh-errors.js'

const root = new URL('..', import.meta.url).pathname

t.test('every error code appears in the README table', async t => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  for (const code of Object.keys(ERROR_CODES)) t.match(readme, `| \`${code}\` |`, `${code} is documented`)
})

t.test('errors carry a stable code, a name and the cause', async t => {
  const cause = new Error('low level')
  const e = new NetkernelError('ERR_CONNECTION_CLOSED', 'connection to 127.0.0.1:1 closed', { cause })
  t.equal(e.code, 'ERR_CONNECTION_CLOSED')
  t.equal(e.name, 'NetkernelError')
  t.equal(e.cause, cause)
  const r = new ReceiveTimeoutError(500, '<foo@vm.1.0>')
  t.equal(r.code, 'ERR_RECEIVE_TIMEOUT')
  t.equal(r.name, 'ReceiveTimeoutError')
  t.match(r.message, /500 ms.*<foo@vm\.1\.0>/)
  t.equal(new NodeNameError('a@b@c', 'two @').code, 'ERR_BAD_NODE_NAME')
  const ac = new AbortController()
  ac.abort()
  t.equal((abortError(ac.signal, 'dial') as NetkernelError).code, 'ERR_ABORTED', 'a plain abort becomes ERR_ABORTED')
  const ac2 = new AbortController()
  const mine = new Error('mine')
  ac2.abort(mine)
  t.equal(abortError(ac2.signal, 'dial'), mine, 'an Error reason is passed through')
})

/** The classes a throw site may name: lib/errors.ts's and their subclasses elsewhere. */
const CLASSES: Record<string, Function> = { ...ERROR_CLASSES, SshGatewayError, SshHostKeyError }

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter(d => d.isFile() && d.name.endsWith('.ts'))
    .map(d => join(d.parentPath, d.name))
}

t.test('each code belongs to exactly one class, and every throw site uses it', async t => {
  t.same(Object.keys(ERROR_CLASS).sort(), Object.keys(ERROR_CODES).sort(), 'every code has a class')
  const sites: string[] = []
  for (const file of ['lib', 'transports', 'auth'].flatMap(sources)) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/new\s+([A-Z]\w*Error)\(\s*'(ERR_\w+)'/g)) {
      const [, name, code] = m as unknown as [string, string, ErrorCode]
      const line = text.slice(0, m.index).split('\n').length
      const where = `${file.slice(root.length)}:${line}`
      sites.push(where)
      const cls = CLASSES[name]
      if (cls === undefined) {
        t.fail(`${where}: ${name} is not a netkernel error class`)
        continue
      }
      const own = ERROR_CLASSES[ERROR_CLASS[code]]
      t.ok(cls === own || cls.prototype instanceof own, `${where}: ${code} is raised as ${ERROR_CLASS[code]} (${name})`)
    }
  }
  t.ok(sites.length > 100, `the scan found the throw sites (${sites.length})`)
})

t.test('errorFor builds the class of any code', async t => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const e = errorFor(code, `about ${code}`)
    t.equal(e.name, ERROR_CLASS[code], code)
    t.equal(e.code, code)
    t.equal(e.message, `about ${code}`)
  }
})

t.test('instanceof follows the brands, not only the class objects', async t => {
  const e = new SshHostKeyError('gw', 'host-key-unknown', 'SHA256:x', 'untrusted')
  t.ok(e instanceof SshHostKeyError && e instanceof SshGatewayError && e instanceof TransportError && e instanceof NetkernelError)
  t.ok(e instanceof Error)
  t.notOk(new TransportError('ERR_CONNECT', 'x') instanceof SshGatewayError, 'a base instance is not a subclass instance')
  t.notOk(new NetkernelError('ERR_ABORTED', 'x') instanceof TransportError)
  // An instance made by the other build carries the same registered brand.
  const foreign = Object.create(Error.prototype, { [Symbol.for('netkernel.TransportError')]: { value: true } }) as object
  t.ok(foreign instanceof TransportError, 'a branded object from elsewhere is a TransportError')
  t.notOk(foreign instanceof NetkernelError, 'but not a NetkernelError without that brand')
  class Mine extends TransportError {}
  t.ok(new Mine('ERR_CONNECT', 'x') instanceof Mine, 'an unbranded subclass falls back to the prototype chain')
  t.notOk(new TransportError('ERR_CONNECT', 'x') instanceof Mine)
})
