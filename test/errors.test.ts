// Every error code is documented in the README, and every error carries its code.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { ERROR_CODES, NetkernelError, ReceiveTimeoutError, NodeNameError, abortError } from '../lib/errors.js'

t.test('every error code appears in the README table', async t => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  for (const code of Object.keys(ERROR_CODES)) t.match(readme, `| \`${code}\` |`, `${code} is documented`)
})

t.test('errors carry a stable code, a name and the cause', async t => {
  const cause = new Error('low level')
  const e = new NetkernelError('ERR_CONNECT', 'dial 127.0.0.1:1 failed', { cause })
  t.equal(e.code, 'ERR_CONNECT')
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
