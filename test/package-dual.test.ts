// One application, both builds: code loaded through `import 'netkernel'` (ESM) and through
// `require('netkernel')` (CommonJS) sees one Pid, one Ref and one set of error classes. A Pid
// the CommonJS build made is `instanceof` the ESM Pid and the ESM node sends to it and encodes
// it; errors of one build are instances of the other's classes. Runs on the packed package.
import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { consumerProject, packedTarball, toolEnv } from './fixtures/packed.js'

const exec = promisify(execFile)

const SCRIPT = `
import { createRequire } from 'node:module'
import * as esm from 'netkernel'
const cjs = createRequire(import.meta.url)('netkernel')
const out = {}
out.twoBuilds = esm.Pid !== cjs.Pid && esm.Ref !== cjs.Ref && esm.TransportError !== cjs.TransportError
const cp = new cjs.Pid('x@h', 1, 0, 1)
const ep = new esm.Pid('x@h', 1, 0, 1)
out.pid = [cp instanceof esm.Pid, ep instanceof cjs.Pid, ep.equals(cp), cp.equals(ep), esm.nodeOf(cp), cp instanceof esm.Ref]
const cr = new cjs.Ref('x@h', 7, 1)
const er = new esm.Ref('x@h', 7, 1)
out.ref = [cr instanceof esm.Ref, er instanceof cjs.Ref, er.equals(cr), cr instanceof esm.Pid]
const ce = new cjs.TransportError('ERR_CONNECT', 'dial 127.0.0.1:1 failed')
const ee = new esm.HandshakeError('ERR_HANDSHAKE', 'bad frame')
out.error = [
  ce instanceof esm.TransportError, ce instanceof esm.NetkernelError, ce instanceof Error,
  ce instanceof esm.AuthError, ee instanceof cjs.HandshakeError, ee instanceof cjs.TransportError,
]

// Over the wire: node a (ESM) sends to a process of node b (CommonJS), whose pid b's build
// made, a message holding a CommonJS Pid and Ref; b echoes it back.
const common = { epmd: false, listen: { host: '127.0.0.1' }, cookie: 'dual', tickTime: 60000 }
let a, b
const at = n => async () => ({ host: '127.0.0.1', port: n().address.port })
b = await cjs.startNode({ name: 'dualb', ...common, resolve: at(() => a) })
a = await esm.startNode({ name: 'duala', ...common, resolve: at(() => b) })
try {
  const echo = b.spawn(async proc => {
    const m = await proc.receive(undefined, { timeout: 10000 })
    proc.send(m[0], ['echo', ...m.slice(1), m[1] instanceof cjs.Pid, m[2] instanceof cjs.Ref])
  })
  out.echoIsCjs = echo instanceof cjs.Pid && echo.constructor === cjs.Pid
  const reply = await new Promise((resolve, reject) => {
    a.spawn(async proc => {
      try {
        if (!proc.send(echo, [proc.self, cp, cr])) throw new Error('send refused')
        resolve(await proc.receive(undefined, { timeout: 10000 }))
      } catch (err) { reject(err) }
    })
  })
  out.wire = [reply[0], reply[1].constructor === esm.Pid, reply[1].equals(cp), reply[2].constructor === esm.Ref, reply[2].equals(cr), reply[3], reply[4]]
} finally {
  await a?.stop()
  await b?.stop()
}
console.log(JSON.stringify(out))
`

t.test('Pid, Ref and error classes keep their identity across the ESM and CJS builds', async t => {
  const dir = await consumerProject(t, await packedTarball())
  writeFileSync(join(dir, 'dual.mjs'), SCRIPT)
  const { stdout } = await exec(process.execPath, ['dual.mjs'], { cwd: dir, env: toolEnv(), timeout: 60_000 })
  const out = JSON.parse(stdout) as Record<string, unknown>
  t.equal(out.twoBuilds, true, 'import and require load two copies of the classes')
  t.same(out.pid, [true, true, true, true, 'x@h', false], 'a CJS Pid is an ESM Pid (and back), equal, and nodeOf takes it')
  t.same(out.ref, [true, true, true, false], 'a CJS Ref is an ESM Ref (and back)')
  t.same(out.error, [true, true, true, false, true, false], 'an error of one build is an instance of its class and bases in the other')
  t.equal(out.echoIsCjs, true, 'the echo process has a CommonJS Pid')
  t.same(
    out.wire,
    ['echo', true, true, true, true, true, true],
    'the ESM node sends to a CJS pid and encodes CJS pids and refs; each side decodes its own',
  )
})
