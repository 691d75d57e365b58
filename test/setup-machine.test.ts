// The connection-setup machine (lib/kernel/setup-machine.ts) as a table, no sockets: one row
// per case Erlang/OTP's dist_util.erl / net_kernel.erl knows, plus this codebase's rule that
// nothing received before a peer has authenticated changes the table. Each row: the starting
// table, the events, the actions expected (all events' actions in order) and the final table.
import t from 'tap'
import {
  decide,
  setupTable,
  type NodeState,
  type SetupAction,
  type SetupEvent,
  type SetupState,
  type SetupTable,
} from '../lib/kernel/setup-machine.js'

const B = 'b@host' // this node
const A = 'a@host' // less than B: B's dial wins a simultaneous connect
const C = 'c@host' // greater than B: C's dial wins

type NodeSpec = { up?: number; setup?: Partial<SetupState> & { id: number } }
interface Start {
  nodes?: Record<string, NodeSpec>
  stopped?: boolean
  dials?: number
  maxDials?: number
}

function table(s: Start = {}): SetupTable {
  const nodes = new Map<string, NodeState>()
  let next = 1
  for (const [name, n] of Object.entries(s.nodes ?? {})) {
    const setup = n.setup === undefined ? undefined : { requested: true, dialling: false, superseded: false, inbound: false, ...n.setup }
    if (setup !== undefined) next = Math.max(next, setup.id + 1)
    nodes.set(name, { ...(n.up === undefined ? {} : { up: { creation: n.up } }), ...(setup === undefined ? {} : { setup }) })
  }
  return { ...setupTable(B, s.maxDials ?? 8), stopped: s.stopped ?? false, dials: s.dials ?? 0, nextId: next, nodes }
}

/** The table as plain data, for comparing. */
function plain(tb: SetupTable): unknown {
  return { stopped: tb.stopped, dials: tb.dials, nodes: Object.fromEntries([...tb.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) }
}

function run(start: SetupTable, events: SetupEvent[]): { table: SetupTable; actions: SetupAction[] } {
  let tb = start
  const actions: SetupAction[] = []
  for (const ev of events) {
    const step = decide(tb, ev)
    tb = step.table
    actions.push(...step.actions)
  }
  return { table: tb, actions }
}

interface Row {
  /** The case, named after OTP where it has one. */
  name: string
  start: Start
  events: SetupEvent[]
  actions: SetupAction[]
  end: Start
}

const dialling = (id: number, more: Partial<SetupState> = {}): NodeSpec => ({ setup: { id, dialling: true, ...more } })

const rows: Row[] = [
  // --- our own dials (net_kernel:connect_node, do_connect) ---
  {
    name: 'first use of a node: a setup is opened and dialled',
    start: {},
    events: [{ e: 'want', node: A, requested: true }],
    actions: [
      { a: 'open', node: A, setup: 1 },
      { a: 'dial', node: A, setup: 1 },
    ],
    end: { dials: 1, nodes: { [A]: dialling(1) } },
  },
  {
    name: 'a second use while the setup is under way: nothing new',
    start: { dials: 1, nodes: { [A]: dialling(1) } },
    events: [{ e: 'want', node: A, requested: true }],
    actions: [],
    end: { dials: 1, nodes: { [A]: dialling(1) } },
  },
  {
    name: 'gossip names a node: dialled, but a failure is no nodedown (not requested)',
    start: {},
    events: [
      { e: 'want', node: A, requested: false },
      { e: 'dial_failed', node: A, setup: 1, lost: false },
    ],
    actions: [
      { a: 'open', node: A, setup: 1 },
      { a: 'dial', node: A, setup: 1 },
      { a: 'report_dial', node: A, setup: 1 },
      { a: 'fail', node: A, setup: 1, report: false },
    ],
    end: {},
  },
  {
    name: 'over limits.pendingDials: the setup is opened but its dial refused',
    start: { dials: 2, maxDials: 2 },
    events: [{ e: 'want', node: A, requested: true }],
    actions: [
      { a: 'open', node: A, setup: 1 },
      { a: 'refuse_dial', node: A, setup: 1 },
    ],
    end: { dials: 2, maxDials: 2, nodes: { [A]: { setup: { id: 1 } } } },
  },
  {
    name: 'our dial completes: the connection is up, the setup settles',
    start: { dials: 1, nodes: { [A]: dialling(1) } },
    events: [{ e: 'connected', node: A, creation: 5, setup: 1 }],
    actions: [{ a: 'up', node: A, setup: 1 }],
    end: { nodes: { [A]: { up: 5 } } },
  },
  {
    name: 'our dial fails (refused, unreachable, bad cookie): connectError and nodedown',
    start: { dials: 1, nodes: { [A]: dialling(1) } },
    events: [{ e: 'dial_failed', node: A, setup: 1, lost: false }],
    actions: [
      { a: 'report_dial', node: A, setup: 1 },
      { a: 'fail', node: A, setup: 1, report: true },
    ],
    end: {},
  },
  // --- setup timeout (dist_util:setup_timer, net_setuptime) ---
  {
    name: 'setup timeout: the setup fails (its dial is aborted by the kernel); the dial then reports',
    start: { dials: 1, nodes: { [A]: dialling(1) } },
    events: [
      { e: 'timeout', node: A, setup: 1 },
      { e: 'dial_failed', node: A, setup: 1, lost: false },
    ],
    actions: [
      { a: 'fail', node: A, setup: 1, report: true },
      { a: 'report_dial', node: A, setup: 1 },
    ],
    end: {},
  },
  {
    name: 'a timeout of an older setup of the node changes nothing',
    start: { dials: 1, nodes: { [A]: dialling(2) } },
    events: [{ e: 'timeout', node: A, setup: 1 }],
    actions: [],
    end: { dials: 1, nodes: { [A]: dialling(2) } },
  },
  // --- the responder: hello (recv_name, is_allowed, mark_pending) ---
  {
    name: 'hello from an unknown node: accept (status ok), nothing marked',
    start: {},
    events: [{ e: 'hello', node: A, creation: 3, allowed: true }],
    actions: [{ a: 'accept', node: A }],
    end: {},
  },
  {
    name: 'is_allowed: hello from a node policy.allowNode refuses → not_allowed',
    start: {},
    events: [{ e: 'hello', node: A, creation: 3, allowed: false }],
    actions: [{ a: 'refuse', node: A, status: 'not_allowed' }],
    end: {},
  },
  {
    name: 'a stopping node refuses every hello (alive)',
    start: { stopped: true },
    events: [{ e: 'hello', node: A, creation: 3, allowed: true }],
    actions: [{ a: 'refuse', node: A, status: 'alive' }],
    end: { stopped: true },
  },
  // --- simultaneous connect (nok_pending / ok_pending: the greater name wins) ---
  {
    name: "simultaneous connect, we are greater (nok_pending): the lesser node's hello is refused nok",
    start: { dials: 1, nodes: { [A]: dialling(1) } },
    events: [{ e: 'hello', node: A, creation: 3, allowed: true }],
    actions: [{ a: 'refuse', node: A, status: 'nok' }],
    end: { dials: 1, nodes: { [A]: dialling(1) } },
  },
  {
    name: 'simultaneous connect, the peer is greater (ok_pending): accepted, and once it authenticated our dial is superseded',
    start: { dials: 1, nodes: { [C]: dialling(1) } },
    events: [
      { e: 'hello', node: C, creation: 3, allowed: true },
      { e: 'authenticated', node: C, creation: 3, replace: false },
      { e: 'dial_failed', node: C, setup: 1, lost: true },
      { e: 'connected', node: C, creation: 3 },
    ],
    actions: [
      { a: 'accept', node: C },
      { a: 'supersede', node: C, setup: 1 },
      { a: 'accept', node: C, setup: 1 },
      { a: 'up', node: C, setup: 1 },
    ],
    end: { nodes: { [C]: { up: 3 } } },
  },
  {
    name: 'simultaneous connect, we are greater and our dial started after its hello: refused nok at authentication',
    start: {},
    events: [
      { e: 'hello', node: A, creation: 3, allowed: true },
      { e: 'want', node: A, requested: true },
      { e: 'authenticated', node: A, creation: 3, replace: false },
    ],
    actions: [
      { a: 'accept', node: A },
      { a: 'open', node: A, setup: 1 },
      { a: 'dial', node: A, setup: 1 },
      { a: 'refuse', node: A, status: 'nok' },
    ],
    end: { dials: 1, nodes: { [A]: dialling(1) } },
  },
  {
    name: "our dial was refused nok (recv_status nok): it waits for the peer's connection, no nodedown",
    start: { dials: 1, nodes: { [C]: dialling(1) } },
    events: [{ e: 'dial_failed', node: C, setup: 1, lost: true }],
    actions: [],
    end: { nodes: { [C]: { setup: { id: 1, superseded: true } } } },
  },
  {
    name: "our dial lost while the peer's connection is already up: the setup settles as up",
    start: { dials: 1, nodes: { [C]: { up: 3, setup: { id: 1, dialling: true } } } },
    events: [{ e: 'dial_failed', node: C, setup: 1, lost: true }],
    actions: [{ a: 'settle', node: C, setup: 1 }],
    end: { nodes: { [C]: { up: 3 } } },
  },
  // --- superseded dial ---
  {
    name: 'a superseded dial that completes anyway is dropped',
    start: { dials: 1, nodes: { [C]: { setup: { id: 1, dialling: true, superseded: true, inbound: true } } } },
    events: [{ e: 'connected', node: C, creation: 3, setup: 1 }],
    actions: [{ a: 'drop', node: C }],
    end: { nodes: { [C]: { setup: { id: 1, superseded: true, inbound: true } } } },
  },
  {
    name: 'a dial of an older setup that completes is dropped',
    start: { dials: 1, nodes: { [A]: { setup: { id: 2 } } } },
    events: [{ e: 'connected', node: A, creation: 3, setup: 1 }],
    actions: [{ a: 'drop', node: A }],
    end: { nodes: { [A]: { setup: { id: 2 } } } },
  },
  {
    name: 'the inbound connection that superseded our dial fails: the setup fails once the dial has ended',
    start: { dials: 1, nodes: { [C]: { setup: { id: 1, dialling: true, superseded: true, inbound: true } } } },
    events: [
      { e: 'inbound_failed', node: C, setup: 1 },
      { e: 'dial_failed', node: C, setup: 1, lost: true },
      { e: 'timeout', node: C, setup: 1 },
    ],
    actions: [{ a: 'fail', node: C, setup: 1, report: true }],
    end: {},
  },
  {
    name: 'an authenticated inbound setup from an unknown node fails: no nodedown (nothing local asked)',
    start: {},
    events: [
      { e: 'authenticated', node: A, creation: 3, replace: false },
      { e: 'inbound_failed', node: A, setup: 1 },
    ],
    actions: [
      { a: 'open', node: A, setup: 1 },
      { a: 'accept', node: A, setup: 1 },
      { a: 'fail', node: A, setup: 1, report: false },
    ],
    end: {},
  },
  // --- already_pending ---
  {
    name: 'already_pending: an authenticated connection from the node is finishing → a second hello is refused alive',
    start: { nodes: { [A]: { setup: { id: 1, requested: false, inbound: true } } } },
    events: [{ e: 'hello', node: A, creation: 3, allowed: true }],
    actions: [{ a: 'refuse', node: A, status: 'alive' }],
    end: { nodes: { [A]: { setup: { id: 1, requested: false, inbound: true } } } },
  },
  {
    name: 'already_pending at authentication: a second authenticated connection is refused alive',
    start: { nodes: { [A]: { setup: { id: 1, requested: false, inbound: true } } } },
    events: [{ e: 'authenticated', node: A, creation: 3, replace: false }],
    actions: [{ a: 'refuse', node: A, status: 'alive' }],
    end: { nodes: { [A]: { setup: { id: 1, requested: false, inbound: true } } } },
  },
  // --- up_pending: 'alive' (same creation) ---
  {
    name: 'up_pending / alive: hello from a connected node, same creation → ask whether the connection is alive',
    start: { nodes: { [A]: { up: 3 } } },
    events: [{ e: 'hello', node: A, creation: 3, allowed: true }],
    actions: [{ a: 'ask_alive', node: A }],
    end: { nodes: { [A]: { up: 3 } } },
  },
  {
    name: 'alive answered true, then authenticated: the stale connection is replaced',
    start: { nodes: { [A]: { up: 3 } } },
    events: [
      { e: 'hello', node: A, creation: 3, allowed: true },
      { e: 'alive_answered', node: A, replace: true },
      { e: 'authenticated', node: A, creation: 3, replace: true },
      { e: 'connected', node: A, creation: 3 },
    ],
    actions: [
      { a: 'ask_alive', node: A },
      { a: 'accept', node: A },
      { a: 'replace', node: A, why: 'stale' },
      { a: 'open', node: A, setup: 1 },
      { a: 'accept', node: A, setup: 1 },
      { a: 'up', node: A, setup: 1 },
    ],
    end: { nodes: { [A]: { up: 3 } } },
  },
  {
    name: 'alive answered false (the dialler still has its connection): refused, nothing changes',
    start: { nodes: { [A]: { up: 3 } } },
    events: [
      { e: 'hello', node: A, creation: 3, allowed: true },
      { e: 'alive_answered', node: A, replace: false },
    ],
    actions: [
      { a: 'ask_alive', node: A },
      { a: 'refuse', node: A, status: 'alive' },
    ],
    end: { nodes: { [A]: { up: 3 } } },
  },
  {
    name: 'a connected node authenticates again without having answered alive: refused alive, the connection stays',
    start: { nodes: { [A]: { up: 3 } } },
    events: [{ e: 'authenticated', node: A, creation: 3, replace: false }],
    actions: [{ a: 'refuse', node: A, status: 'alive' }],
    end: { nodes: { [A]: { up: 3 } } },
  },
  {
    name: 'initiator asked alive (recv_status alive → is_pending): our dial is wanted → true',
    start: { dials: 1, nodes: { [A]: dialling(1) } },
    events: [{ e: 'alive_asked', node: A, setup: 1 }],
    actions: [{ a: 'answer_alive', node: A, replace: true }],
    end: { dials: 1, nodes: { [A]: dialling(1) } },
  },
  {
    name: 'initiator asked alive, but our dial was superseded → false',
    start: { dials: 1, nodes: { [C]: dialling(1, { superseded: true }) } },
    events: [{ e: 'alive_asked', node: C, setup: 1 }],
    actions: [{ a: 'answer_alive', node: C, replace: false }],
    end: { dials: 1, nodes: { [C]: dialling(1, { superseded: true }) } },
  },
  {
    name: 'initiator asked alive, but a connection to the node is up → false',
    start: { dials: 1, nodes: { [A]: { up: 3, setup: { id: 1, dialling: true } } } },
    events: [{ e: 'alive_asked', node: A, setup: 1 }],
    actions: [{ a: 'answer_alive', node: A, replace: false }],
    end: { dials: 1, nodes: { [A]: { up: 3, setup: { id: 1, dialling: true } } } },
  },
  {
    name: 'initiator asked alive for a setup that has ended → false',
    start: { dials: 1 },
    events: [{ e: 'alive_asked', node: A, setup: 1 }],
    actions: [{ a: 'answer_alive', node: A, replace: false }],
    end: { dials: 1 },
  },
  // --- restart with a new creation ---
  {
    name: 'restart: hello from a connected node with another creation → accepted (no alive question)',
    start: { nodes: { [A]: { up: 3 } } },
    events: [{ e: 'hello', node: A, creation: 4, allowed: true }],
    actions: [{ a: 'accept', node: A }],
    end: { nodes: { [A]: { up: 3 } } },
  },
  {
    name: "restart, authenticated: the old connection is replaced by the new creation's",
    start: { nodes: { [A]: { up: 3 } } },
    events: [
      { e: 'hello', node: A, creation: 4, allowed: true },
      { e: 'authenticated', node: A, creation: 4, replace: false },
      { e: 'down', node: A },
      { e: 'connected', node: A, creation: 4 },
    ],
    actions: [
      { a: 'accept', node: A },
      { a: 'replace', node: A, why: 'restarted' },
      { a: 'open', node: A, setup: 1 },
      { a: 'accept', node: A, setup: 1 },
      { a: 'up', node: A, setup: 1 },
    ],
    end: { nodes: { [A]: { up: 4 } } },
  },
  // --- a stale connection (a connection is up, another handshake finishes) ---
  {
    name: 'a handshake finishes while a connection to the node is up: the new one is dropped',
    start: { nodes: { [A]: { up: 3 } } },
    events: [{ e: 'connected', node: A, creation: 3 }],
    actions: [{ a: 'drop', node: A }],
    end: { nodes: { [A]: { up: 3 } } },
  },
  {
    name: 'the connection goes down: the node is free for the next setup',
    start: { nodes: { [A]: { up: 3 } } },
    events: [
      { e: 'down', node: A },
      { e: 'hello', node: A, creation: 3, allowed: true },
    ],
    actions: [{ a: 'accept', node: A }],
    end: {},
  },
  // --- stop ---
  {
    name: 'stop: every setup fails quietly, every connection is closed, later handshakes are refused',
    start: { dials: 1, nodes: { [A]: dialling(1), [C]: { up: 3 } } },
    events: [
      { e: 'stop' },
      { e: 'authenticated', node: C, creation: 4, replace: false },
      { e: 'connected', node: A, creation: 2, setup: 1 },
    ],
    actions: [
      { a: 'fail', node: A, setup: 1, report: false },
      { a: 'close', node: C },
      { a: 'refuse', node: C, status: 'alive' },
      { a: 'drop', node: A },
    ],
    end: { stopped: true, nodes: { [C]: { up: 3 } } },
  },
  {
    name: 'a stopped node opens a setup for a use but dials nothing',
    start: { stopped: true },
    events: [{ e: 'want', node: A, requested: true }],
    actions: [{ a: 'open', node: A, setup: 1 }],
    end: { stopped: true, nodes: { [A]: { setup: { id: 1 } } } },
  },
]

for (const row of rows) {
  t.test(row.name, async t => {
    const { table: end, actions } = run(table(row.start), row.events)
    t.same(actions, row.actions, 'actions')
    t.same(plain(end), plain(table(row.end)), 'final table')
  })
}

t.test('nothing received before a peer has authenticated changes the table (any starting table)', async t => {
  const starts: Start[] = [
    {},
    { stopped: true },
    { dials: 1, nodes: { [A]: dialling(1) } },
    { dials: 1, nodes: { [C]: dialling(1) } },
    { dials: 1, nodes: { [C]: dialling(1, { superseded: true, inbound: true }) } },
    { nodes: { [A]: { up: 3 } } },
    { dials: 1, nodes: { [A]: { up: 3, setup: { id: 1, dialling: true } } } },
    { nodes: { [A]: { setup: { id: 1, requested: false, inbound: true } } } },
  ]
  const preauth: SetupEvent[] = []
  for (const node of [A, C]) {
    for (const creation of [3, 4]) for (const allowed of [true, false]) preauth.push({ e: 'hello', node, creation, allowed })
    for (const replace of [true, false]) preauth.push({ e: 'alive_answered', node, replace })
    for (const setup of [1, 2]) preauth.push({ e: 'alive_asked', node, setup })
  }
  let checked = 0
  for (const s of starts) {
    const tb = table(s)
    for (const ev of preauth) {
      const step = decide(tb, ev)
      if (step.table !== tb) t.fail(`${ev.e} changed the table ${JSON.stringify(s)}`)
      const kinds = step.actions.map(x => x.a)
      if (kinds.length !== 1 || !['accept', 'refuse', 'ask_alive', 'answer_alive'].includes(kinds[0])) {
        t.fail(`${ev.e} on ${JSON.stringify(s)} gave ${JSON.stringify(kinds)}, not one verdict`)
      }
      checked++
    }
  }
  t.equal(checked, starts.length * preauth.length, `${checked} pre-authentication events, each a verdict only, the table untouched`)
})

t.test('the table changes on authentication: the same starting tables, authenticated instead', async t => {
  // The contrast to the rule above: a restart replaces the connection, a greater peer
  // supersedes our dial — only now.
  const restart = decide(table({ nodes: { [A]: { up: 3 } } }), { e: 'authenticated', node: A, creation: 4, replace: false })
  t.ok(
    restart.actions.some(x => x.a === 'replace'),
    'restart: replaced on authentication',
  )
  const simultaneous = decide(table({ dials: 1, nodes: { [C]: dialling(1) } }), {
    e: 'authenticated',
    node: C,
    creation: 3,
    replace: false,
  })
  t.ok(
    simultaneous.actions.some(x => x.a === 'supersede'),
    'greater peer: our dial superseded on authentication',
  )
})
