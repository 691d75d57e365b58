// The layering rules of eslint.config.js, proven on small snippets: each restriction fires on
// a forbidden import and stays quiet on an allowed one, so the rules cannot silently rot
// (a renamed directory, a broken pattern). The options are read from the real config for a
// file at each place; the snippets are then checked without type information, which is fast.
import t from 'tap'
import { ruleMessages } from './fixtures/eslint-rule.js'

/** The messages no-restricted-imports reports for `code` placed at `file` (relative to the root). */
async function restricted(file: string, code: string): Promise<string[]> {
  return (await ruleMessages(file, 'no-restricted-imports', code)).map(m => m.message)
}

interface Case {
  file: string
  forbidden: string[]
  allowed: string[]
  rule: RegExp
}

const cases: Case[] = [
  {
    file: 'lib/process/example.ts',
    rule: /lib\/process is the runtime below the network/,
    forbidden: [
      "import { NetKernel } from '../kernel/net-kernel.js'",
      "import type { Conn } from '../kernel/strategy.js'",
      "import { lookup } from '../epmd/client.js'",
      "import { startNode } from '../node.js'",
      "import { main } from '../cli/main.js'",
      "import { tcp } from '../../transports/tcp.js'",
      "import { cookie } from '../../auth/cookie.js'",
      "export { cookie } from '../../auth/cookie.js'",
      "import { startNode } from 'netkernel'",
    ],
    allowed: [
      "import { Pid } from '../terms/types.js'",
      "import { ProcessError } from '../errors.js'",
      "import { Mailbox } from './mailbox.js'",
      "import { node } from '../node-name.js'",
      "import { options } from '../node-options.js'",
      "import { EventEmitter } from 'node:events'",
    ],
  },
  {
    file: 'lib/terms/example.ts',
    rule: /lib\/terms \(codec, framing\) is the bottom layer/,
    forbidden: [
      "import { Runtime } from '../process/runtime.js'",
      "import type { Proc } from '../process/types.js'",
      "import { NetKernel } from '../kernel/net-kernel.js'",
      "import { lookup } from '../epmd/client.js'",
      "import { startNode } from '../node.js'",
      "import { main } from '../cli/main.js'",
      "import { tcp } from '../../transports/tcp.js'",
      "import { cookie } from '../../auth/cookie.js'",
    ],
    allowed: ["import { CodecError } from '../errors.js'", "import { Pid } from './types.js'", "import { Packr } from 'msgpackr'"],
  },
  {
    file: 'transports/example.ts',
    rule: /transports and authenticators import only the contracts \(lib\/transport\.ts, lib\/authenticator\.ts\)/,
    forbidden: [
      "import type { Conn } from '../lib/kernel/strategy.js'",
      "import { tcpDial } from '../lib/epmd/client.js'",
      "import { Runtime } from '../lib/process/runtime.js'",
      "import { startNode } from '../lib/node.js'",
      "import { main } from '../lib/cli/main.js'",
    ],
    allowed: [
      "import type { Conn, Transport } from '../lib/transport.js'",
      "import { TransportError } from '../lib/errors.js'",
      "import { formatAddress } from './socket-common.js'",
      "import { certificateNamesNode } from '../lib/certs/names.js'",
      "import net from 'node:net'",
    ],
  },
  {
    file: 'auth/example.ts',
    rule: /transports and authenticators import only the contracts/,
    forbidden: [
      "import type { Authenticator } from '../lib/kernel/strategy.js'",
      "import { NetKernel } from '../lib/kernel/net-kernel.js'",
    ],
    allowed: ["import type { Authenticator } from '../lib/authenticator.js'", "import { AuthError } from '../lib/errors.js'"],
  },
  {
    file: 'lib/kernel/example.ts',
    rule: /lib\/ is the shipped library: it imports nothing from test\//,
    forbidden: [
      "import { freePort } from '../../test/fixtures/ports.js'",
      "import { run } from '../../bench/main.js'",
      "import { fuzz } from '../../fuzz/runner.js'",
      "import { soak } from '../../soak/main.js'",
    ],
    allowed: ["import { Runtime } from '../process/runtime.js'", "import { tcp } from '../../transports/tcp.js'"],
  },
]

for (const c of cases) {
  t.test(c.file, async t => {
    for (const code of c.forbidden) {
      const messages = await restricted(c.file, code)
      t.equal(messages.length, 1, `forbidden: ${code}`)
      t.match(messages[0], c.rule, 'the message states the rule')
    }
    for (const code of c.allowed) t.same(await restricted(c.file, code), [], `allowed: ${code}`)
  })
}

t.test('the rule (4) against test code holds in the layered directories too', async t => {
  for (const file of ['lib/process/example.ts', 'lib/terms/example.ts']) {
    const messages = await restricted(file, "import { freePort } from '../../test/fixtures/ports.js'")
    t.equal(messages.length, 1, file)
    t.match(messages[0], /imports nothing from test\//)
  }
})
