// startNode's defaults come from one place (DEFAULTS in lib/node-options.ts), the README's
// options table shows each of them, and options the kernel takes (limits) reach it.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { DEFAULTS, resolveOptions } from '../lib/node-options.js'
import { startNode } from '../lib/index.js'
import { DEFAULT_LIMITS } from '../lib/kernel/limits.js'

/** The README's startNode options table: first cell → the row. */
function optionRows(): Map<string, string> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf('| option | default | notes |')
  const rows = new Map<string, string>()
  for (const line of readme.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break
    rows.set(line.split('|')[1]!, line.replace(/(\d)_(?=\d)/g, '$1'))
  }
  return rows
}

function shown(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v)
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

t.test('each default in DEFAULTS appears in the README row for its option', async t => {
  const rows = optionRows()
  for (const [key, value] of Object.entries(DEFAULTS)) {
    const row = [...rows].find(([first]) => first.includes(`\`${key}\``))?.[1]
    if (row === undefined) {
      t.fail(`no README row for ${key}`)
      continue
    }
    const cell = row.split('|')[2]!
    if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) t.match(cell, new RegExp(`\\b${k}: [^,}]*${esc(shown(v))}`), `${key}.${k}: ${shown(v)}`)
    } else {
      t.match(cell, new RegExp(`\`${esc(shown(value))}\``), `${key}: ${shown(value)}`)
    }
  }
})

t.test('resolveOptions applies every default, and what is given wins', async t => {
  const o = resolveOptions({ name: 'opts' })
  t.match(o.name, /^opts@/)
  for (const key of [
    'longNames',
    'hidden',
    'tickTime',
    'connectAll',
    'codec',
    'setupTimeout',
    'handshakeStepTimeout',
    'spawnTimeout',
    'highWater',
    'maxMessageSize',
    'cookieFile',
  ] as const) {
    t.equal(o[key], DEFAULTS[key], key)
  }
  t.same(o.limits, DEFAULT_LIMITS)
  t.same(o.listen, { host: '0.0.0.0', portMin: 0, portMax: 0 })
  t.match(o.epmd, { host: '127.0.0.1', autoStart: true, listenHost: '0.0.0.0' })
  t.equal(o.processTimers, undefined, 'without a clock the runtime keeps its own timers')
  const given = resolveOptions({ name: 'opts', tickTime: 1000, limits: { pendingDials: 3 }, listen: { portMin: 9 }, epmd: false })
  t.equal(given.tickTime, 1000)
  t.same(given.limits, { ...DEFAULT_LIMITS, pendingDials: 3 }, 'limits: the fields given replace their defaults')
  t.same(
    resolveOptions({ name: 'opts', limits: { pendingDials: undefined, linksPerPeer: Infinity } }).limits,
    {
      ...DEFAULT_LIMITS,
      linksPerPeer: Infinity,
    },
    'undefined keeps the default; Infinity is no bound',
  )
  for (const field of ['monitorsPerPeer', 'processesPerPeer'] as const) {
    for (const bad of [-1, 1.5, NaN, '3' as unknown as number]) {
      t.throws(() => resolveOptions({ name: 'opts', limits: { [field]: bad } }), {
        code: 'ERR_BAD_ARGUMENT',
        message: new RegExp(`limits\\.${field} must be a whole number`),
      })
    }
  }
  t.same(
    resolveOptions({ name: 'opts', limits: { processesPerPeer: 0 } }).limits,
    { ...DEFAULT_LIMITS, processesPerPeer: 0 },
    'processesPerPeer 0: no process for any peer',
  )
  t.throws(
    () => resolveOptions({ name: 'opts', limits: { monitorPerPeer: 5 } as never }),
    {
      code: 'ERR_BAD_ARGUMENT',
      message: /limits\.monitorPerPeer is not a limit: expected one of handshakes, /,
    },
    'a misspelt limit is refused, not ignored',
  )
  t.same(given.listen, { host: '0.0.0.0', portMin: 9, portMax: 9 })
  t.equal(resolveOptions({ name: 'opts', epmd: false }).listen, false, 'epmd: false and no listen: a local node')
})

t.test('startNode passes limits to the kernel', async t => {
  const node = await startNode({
    name: 'optslimits',
    epmd: false,
    listen: { host: '127.0.0.1' },
    cookie: 'c',
    limits: { pendingDials: 0 },
    resolve: async () => ({ host: '127.0.0.1', port: 1 }),
  })
  t.teardown(() => node.stop())
  const errors: string[] = []
  node.on('connectError', (_name, info) => void errors.push(info.code))
  t.equal(await node.connect('elsewhere@127.0.0.1'), false, 'no dial may start')
  t.same(errors, ['ERR_LIMIT'], 'refused by the pending-dials bound, not by the dial')
})
