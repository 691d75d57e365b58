// Connection setup as a state machine with no I/O: what the net kernel decides while a
// connection to a node is being set up, in both directions, as a pure function
//
//   decide(table, event) → { table, actions }
//
// over a table of per-node states (a connection up, and/or a setup under way). Events come
// from the kernel (a local use of a node, a dial that failed, the setup deadline, a connection
// lost, stop) and from a handshake (a hello received, the 'alive' question asked or answered,
// the peer authenticated, the handshake finished). Actions go back: to the kernel (open a
// setup, dial, abort a superseded dial, drop a replaced connection, bring a connection up,
// fail a setup) and to the handshake (accept, refuse with a status, ask whether the old
// connection is alive, answer that question). net-kernel.ts executes them; handshake.ts asks
// through HandshakeDeps.setup and acts on the verdict. Nothing here knows a message format:
// a second handshake (Erlang's) feeds the same events.
//
// The cases are those of Erlang/OTP's dist_util.erl and net_kernel.erl, named in
// test/setup-machine.test.ts: simultaneous connect (the greater node name's dial wins,
// 'nok' to the lesser), 'alive' (a connection up to the node with the same creation: ask the
// dialler whether it is stale), restart (another creation), an authenticated setup already
// under way ('already_pending'), a superseded dial, the setup timeout.
//
// One rule of this codebase goes beyond OTP's: nothing received before the peer has
// authenticated changes the table. 'hello', 'alive_asked' and 'alive_answered' only return a
// verdict and leave the table as it was (the same object); the decisions that change what
// the node holds — replacing the connection of a restarted or stale node, superseding our own
// dial, taking the setup over — are taken on 'authenticated'.

/** A status a responder refuses a connection with. */
export type Refusal = 'nok' | 'alive' | 'not_allowed'

/** A setup under way to or from one node. */
export interface SetupState {
  /** This setup's number: events about an older setup of the node change nothing. */
  readonly id: number
  /** Something local asked for the node (send, spawn, connect): a failure is a nodedown. */
  readonly requested: boolean
  /** Our dial to the node is under way. */
  readonly dialling: boolean
  /** Our dial lost a simultaneous connect, or gave way to an authenticated inbound one. */
  readonly superseded: boolean
  /** An authenticated inbound connection from the node is finishing its handshake. */
  readonly inbound: boolean
}

export interface NodeState {
  /** The connection up to the node, by the creation it was set up with. */
  readonly up?: { readonly creation: number }
  readonly setup?: SetupState
}

export interface SetupTable {
  /** This node's full name (a simultaneous connect is settled by comparing names). */
  readonly local: string
  /** Dials this node may have under way at once (limits.pendingDials). */
  readonly maxDials: number
  readonly stopped: boolean
  /** Our dials under way (including those whose setup has since ended). */
  readonly dials: number
  /** The number the next setup gets. */
  readonly nextId: number
  readonly nodes: ReadonlyMap<string, NodeState>
}

export type SetupEvent =
  /** Something wants the node: a local use (`requested`), or gossip naming it (not requested). */
  | { readonly e: 'want'; readonly node: string; readonly requested: boolean }
  /** Responder, before authentication: a hello from `node`; `allowed` is policy.allowNode's answer. */
  | { readonly e: 'hello'; readonly node: string; readonly creation: number; readonly allowed: boolean }
  /** Responder, before authentication: the dialler answered 'alive' (true: replace the old connection). */
  | { readonly e: 'alive_answered'; readonly node: string; readonly replace: boolean }
  /** Initiator, before authentication: the node asks whether our connection to it is alive. */
  | { readonly e: 'alive_asked'; readonly node: string; readonly setup: number }
  /** Responder: the peer proved it is `node`; `replace`: it answered 'alive' with true. */
  | { readonly e: 'authenticated'; readonly node: string; readonly creation: number; readonly replace: boolean }
  /** A handshake finished: our dial of setup `setup`, or an inbound one (no setup). */
  | { readonly e: 'connected'; readonly node: string; readonly creation: number; readonly setup?: number }
  /** Our dial of setup `setup` failed; `lost`: refused with nok/alive, or aborted as superseded. */
  | { readonly e: 'dial_failed'; readonly node: string; readonly setup: number; readonly lost: boolean }
  /** An inbound handshake that 'authenticated' accepted for setup `setup` failed after all. */
  | { readonly e: 'inbound_failed'; readonly node: string; readonly setup: number }
  /** The setup deadline of setup `setup` passed (or its dial was refused over the dial bound). */
  | { readonly e: 'timeout'; readonly node: string; readonly setup: number }
  /** The connection up to the node is gone. */
  | { readonly e: 'down'; readonly node: string }
  | { readonly e: 'stop' }

/** What the handshake is told to do. */
export type Verdict =
  /** Go on (hello, alive_answered: send status ok; authenticated: take the connection). */
  | { readonly a: 'accept'; readonly node: string; readonly setup?: number }
  | { readonly a: 'refuse'; readonly node: string; readonly status: Refusal }
  /** Ask the dialler whether its old connection is alive (OTP's status 'alive'). */
  | { readonly a: 'ask_alive'; readonly node: string }
  /** Initiator: the answer to the 'alive' question (true: we have no connection, replace it). */
  | { readonly a: 'answer_alive'; readonly node: string; readonly replace: boolean }

export type SetupAction =
  | Verdict
  /** A new setup: the kernel keeps its queue and waiters, and arms its setup deadline. */
  | { readonly a: 'open'; readonly node: string; readonly setup: number }
  | { readonly a: 'dial'; readonly node: string; readonly setup: number }
  /** Over the dial bound: the dial is not started, the setup fails at once (ERR_LIMIT). */
  | { readonly a: 'refuse_dial'; readonly node: string; readonly setup: number }
  /** Our dial gives way to the peer's authenticated connection: abort it. */
  | { readonly a: 'supersede'; readonly node: string; readonly setup: number }
  /** Drop the connection up to the node: it restarted (another creation), or ours is stale. */
  | { readonly a: 'replace'; readonly node: string; readonly why: 'restarted' | 'stale' }
  /** The new connection is the node's: up, and setup `setup` (if any) hands it its queue and settles. */
  | { readonly a: 'up'; readonly node: string; readonly setup?: number }
  /** The finished handshake's connection is not wanted (obsolete, or one is up already): close it. */
  | { readonly a: 'drop'; readonly node: string }
  /** Setup `setup` ends without a connection of its own, the node being up: its waiters see true. */
  | { readonly a: 'settle'; readonly node: string; readonly setup: number }
  /** Setup `setup` failed: abort its dial, drop its queue, waiters see false; nodedown if `report`. */
  | { readonly a: 'fail'; readonly node: string; readonly setup: number; readonly report: boolean }
  /** Log and publish the dial's error (a connectError). */
  | { readonly a: 'report_dial'; readonly node: string; readonly setup: number }
  /** Close the connection up to the node (stopping). */
  | { readonly a: 'close'; readonly node: string }

export interface Step {
  readonly table: SetupTable
  readonly actions: readonly SetupAction[]
}

/** An empty table for node `local`. */
export function setupTable(local: string, maxDials: number): SetupTable {
  return { local, maxDials, stopped: false, dials: 0, nextId: 1, nodes: new Map() }
}

const NO_ACTIONS: readonly SetupAction[] = []

export function decide(table: SetupTable, ev: SetupEvent): Step {
  switch (ev.e) {
    case 'want':
      return want(table, ev.node, ev.requested)
    case 'hello':
      return verdict(table, hello(table, ev.node, ev.creation, ev.allowed))
    case 'alive_answered':
      return verdict(table, ev.replace ? { a: 'accept', node: ev.node } : { a: 'refuse', node: ev.node, status: 'alive' })
    case 'alive_asked':
      return verdict(table, { a: 'answer_alive', node: ev.node, replace: stillWanted(table, ev.node, ev.setup) })
    case 'authenticated':
      return authenticated(table, ev.node, ev.creation, ev.replace)
    case 'connected':
      return connected(table, ev.node, ev.creation, ev.setup)
    case 'dial_failed':
      return dialFailed(table, ev.node, ev.setup, ev.lost)
    case 'inbound_failed':
      return inboundFailed(table, ev.node, ev.setup)
    case 'timeout': {
      const s = current(table, ev.node, ev.setup)
      if (s === undefined) return { table, actions: NO_ACTIONS }
      return { table: withSetup(table, ev.node, undefined), actions: [{ a: 'fail', node: ev.node, setup: s.id, report: s.requested }] }
    }
    case 'down': {
      const n = table.nodes.get(ev.node)
      if (n?.up === undefined) return { table, actions: NO_ACTIONS }
      return { table: withNode(table, ev.node, { setup: n.setup }), actions: NO_ACTIONS }
    }
    case 'stop':
      return stop(table)
  }
}

/**
 * The machine with its table, for the kernel: dispatch an event, get the actions. decide()
 * is the whole logic; this only keeps the table between events.
 */
export class SetupMachine {
  private t: SetupTable

  constructor(local: string, maxDials: number) {
    this.t = setupTable(local, maxDials)
  }

  get table(): SetupTable {
    return this.t
  }

  /** The setup under way for `node`, if any. */
  setup(node: string): SetupState | undefined {
    return this.t.nodes.get(node)?.setup
  }

  dispatch(ev: SetupEvent): readonly SetupAction[] {
    const step = decide(this.t, ev)
    this.t = step.table
    return step.actions
  }
}

/** The verdict among `actions` (each handshake event yields exactly one). */
export function verdictOf(actions: readonly SetupAction[]): Verdict {
  for (const x of actions) {
    if (x.a === 'accept' || x.a === 'refuse' || x.a === 'ask_alive' || x.a === 'answer_alive') return x
  }
  throw new Error('setup machine: no verdict for a handshake event')
}

function verdict(table: SetupTable, v: Verdict): Step {
  return { table, actions: [v] }
}

/** The node's setup if it is setup `id`. */
function current(table: SetupTable, node: string, id: number): SetupState | undefined {
  const s = table.nodes.get(node)?.setup
  return s !== undefined && s.id === id ? s : undefined
}

function withNode(table: SetupTable, node: string, n: NodeState): SetupTable {
  const nodes = new Map(table.nodes)
  if (n.up === undefined && n.setup === undefined) nodes.delete(node)
  else nodes.set(node, n)
  return { ...table, nodes }
}

function withSetup(table: SetupTable, node: string, setup: SetupState | undefined): SetupTable {
  return withNode(table, node, { up: table.nodes.get(node)?.up, setup })
}

function newSetup(table: SetupTable, requested: boolean): [SetupTable, SetupState] {
  const s: SetupState = { id: table.nextId, requested, dialling: false, superseded: false, inbound: false }
  return [{ ...table, nextId: table.nextId + 1 }, s]
}

/** A local use of the node, or gossip naming it: start a setup (and a dial) if none is under way. */
function want(table: SetupTable, node: string, requested: boolean): Step {
  const s = table.nodes.get(node)?.setup
  if (s !== undefined) {
    if (!requested || s.requested) return { table, actions: NO_ACTIONS }
    return { table: withSetup(table, node, { ...s, requested: true }), actions: NO_ACTIONS }
  }
  const [t, fresh] = newSetup(table, requested)
  const open: SetupAction = { a: 'open', node, setup: fresh.id }
  // Stopped: the setup waits for its deadline, and nothing is dialled.
  if (t.stopped) return { table: withSetup(t, node, fresh), actions: [open] }
  if (t.dials >= t.maxDials) return { table: withSetup(t, node, fresh), actions: [open, { a: 'refuse_dial', node, setup: fresh.id }] }
  return {
    table: withSetup({ ...t, dials: t.dials + 1 }, node, { ...fresh, dialling: true }),
    actions: [open, { a: 'dial', node, setup: fresh.id }],
  }
}

/**
 * Responder, before authentication (OTP's mark_pending, without marking anything): may a
 * connection from `node` go ahead? Decides only.
 */
function hello(table: SetupTable, node: string, creation: number, allowed: boolean): Verdict {
  if (!allowed) return { a: 'refuse', node, status: 'not_allowed' }
  if (table.stopped) return { a: 'refuse', node, status: 'alive' }
  const n = table.nodes.get(node)
  // Connected although it dials: ask whether that connection is stale (OTP's up_pending →
  // 'alive'). Another creation: the node restarted (replaced once it is proven).
  if (n?.up !== undefined) return n.up.creation === creation ? { a: 'ask_alive', node } : { a: 'accept', node }
  const s = n?.setup
  if (s === undefined) return { a: 'accept', node }
  // An authenticated connection from it is already finishing (OTP's already_pending).
  if (s.inbound) return { a: 'refuse', node, status: 'alive' }
  // Simultaneous connect: the greater name's dial wins (OTP's nok_pending / ok_pending).
  if (s.dialling && table.local > node) return { a: 'refuse', node, status: 'nok' }
  return { a: 'accept', node }
}

/** Initiator asked 'alive': is our dial of setup `id` still wanted (nothing else has the node)? */
function stillWanted(table: SetupTable, node: string, id: number): boolean {
  const s = current(table, node, id)
  return s !== undefined && !s.superseded && !s.inbound && table.nodes.get(node)?.up === undefined
}

/**
 * Responder, the peer proved it is `node`: take its connection. A connection up to it is
 * dropped when the peer restarted (another creation) or confirmed ours is stale (`replace`);
 * our own dial to it gives way when the peer's name is greater.
 */
function authenticated(table: SetupTable, node: string, creation: number, replace: boolean): Step {
  if (table.stopped) return verdict(table, { a: 'refuse', node, status: 'alive' })
  const actions: SetupAction[] = []
  let t = table
  const up = t.nodes.get(node)?.up
  if (up !== undefined) {
    if (up.creation === creation && !replace) return verdict(table, { a: 'refuse', node, status: 'alive' })
    actions.push({ a: 'replace', node, why: up.creation === creation ? 'stale' : 'restarted' })
    t = withNode(t, node, { setup: t.nodes.get(node)?.setup })
  }
  let s = t.nodes.get(node)?.setup
  if (s === undefined) {
    ;[t, s] = newSetup(t, false)
    actions.push({ a: 'open', node, setup: s.id })
  } else if (s.inbound) {
    actions.push({ a: 'refuse', node, status: 'alive' })
    return { table: t, actions }
  } else if (s.dialling) {
    if (t.local > node) {
      actions.push({ a: 'refuse', node, status: 'nok' })
      return { table: t, actions }
    }
    s = { ...s, superseded: true }
    actions.push({ a: 'supersede', node, setup: s.id })
  }
  actions.push({ a: 'accept', node, setup: s.id })
  return { table: withSetup(t, node, { ...s, inbound: true }), actions }
}

/** A handshake finished: the connection is the node's, unless it is obsolete or one is up. */
function connected(table: SetupTable, node: string, creation: number, id: number | undefined): Step {
  let t = table
  if (id !== undefined) {
    t = endDial(t, node, id)
    const s = current(t, node, id)
    if (s === undefined || s.superseded) return { table: t, actions: [{ a: 'drop', node }] }
  }
  const n = t.nodes.get(node)
  if (t.stopped || n?.up !== undefined) return { table: t, actions: [{ a: 'drop', node }] }
  const s = n?.setup
  return { table: withNode(t, node, { up: { creation } }), actions: [{ a: 'up', node, setup: s?.id }] }
}

/** One of our dials ended: count it, and mark setup `id` (if current) as no longer dialling. */
function endDial(table: SetupTable, node: string, id: number): SetupTable {
  const t = { ...table, dials: table.dials - 1 }
  const s = current(t, node, id)
  return s === undefined ? t : withSetup(t, node, { ...s, dialling: false })
}

function dialFailed(table: SetupTable, node: string, id: number, lost: boolean): Step {
  const t = endDial(table, node, id)
  const s = current(t, node, id)
  if (lost || s?.superseded === true) {
    // Lost a simultaneous connect: the peer's own dial to us becomes the connection.
    if (s === undefined) return { table: t, actions: NO_ACTIONS }
    if (t.nodes.get(node)?.up !== undefined) return { table: withSetup(t, node, undefined), actions: [{ a: 'settle', node, setup: id }] }
    return { table: withSetup(t, node, { ...s, superseded: true }), actions: NO_ACTIONS }
  }
  const report: SetupAction = { a: 'report_dial', node, setup: id }
  if (s === undefined) return { table: t, actions: [report] }
  return { table: withSetup(t, node, undefined), actions: [report, { a: 'fail', node, setup: id, report: s.requested }] }
}

function inboundFailed(table: SetupTable, node: string, id: number): Step {
  const s = current(table, node, id)
  if (s === undefined) return { table, actions: NO_ACTIONS }
  // Our own dial, if still under way, may yet make the connection.
  if (s.dialling) return { table: withSetup(table, node, { ...s, inbound: false }), actions: NO_ACTIONS }
  return { table: withSetup(table, node, undefined), actions: [{ a: 'fail', node, setup: id, report: s.requested }] }
}

function stop(table: SetupTable): Step {
  if (table.stopped) return { table, actions: NO_ACTIONS }
  const actions: SetupAction[] = []
  const nodes = new Map<string, NodeState>()
  for (const [node, n] of table.nodes) {
    if (n.setup !== undefined) actions.push({ a: 'fail', node, setup: n.setup.id, report: false })
    if (n.up !== undefined) nodes.set(node, { up: n.up })
  }
  for (const [node, n] of table.nodes) if (n.up !== undefined) actions.push({ a: 'close', node })
  return { table: { ...table, stopped: true, nodes }, actions }
}
