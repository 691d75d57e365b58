// Process aliases across a netkernel node (erlang: true) and a REAL erl node (OTP 24+'s
// alias/0, unalias/1, Alias ! Msg): an Erlang process sends to a JavaScript process's alias
// (ALIAS_SEND in), and after unalias its message is dropped and counted; a JavaScript process
// sends to an Erlang process's alias (ALIAS_SEND out), dropped by OTP once it is unaliased; and
// gen:call's way from JavaScript — monitor(server, { alias: 'reply_demonitor' }) — answered by
// an Erlang process: the first reply arrives, a second is dropped, and no DOWN follows.
import t from 'tap'
import { atom } from '../lib/terms/atom.js'
import { tuple } from '../lib/terms/tuple.js'
import { Ref } from '../lib/terms/ref.js'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl, startErlangNode } from './fixtures/erl.js'

const skip = erlangSkip('epmd', 'erl')

t.test('aliases between JavaScript and Erlang processes', { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const js = await startErlangNode(t, epmd.port, { name: `jsal${process.pid}`, cookie: 'alias-cookie' })
  const erl = await startErl(t, { name: `eal${process.pid}`, epmdPort: epmd.port, cookie: 'alias-cookie' })
  await erl.eval(`JS = '${js.name}'.`)
  await erl.eval(`register(box, self()).`)

  // Erlang → a JavaScript alias
  const got: unknown[] = []
  let unalias = (): boolean => false
  let marked: () => void = () => {}
  const marker = new Promise<void>(r => (marked = r))
  js.spawn(async proc => {
    proc.register('jsal')
    const a = proc.alias()
    unalias = () => proc.unalias(a)
    proc.send(['box', erl.node], tuple(atom('alias'), a, proc.self))
    for (;;) {
      const m = await proc.receive()
      got.push(m)
      if (m === atom('marker')) marked()
      if (m === atom('stop')) return
    }
  })
  t.equal(await erl.eval(`receive {alias, A, P} -> is_reference(A) andalso is_pid(P) end.`), 'true')
  await erl.eval(`A ! {hello, via_alias}, P ! {hello, via_pid}, ok.`)
  await erl.eval(`{jsal, JS} ! marker, ok.`)
  await marker
  t.same(
    got.map(String),
    [tuple(atom('hello'), atom('via_alias')), tuple(atom('hello'), atom('via_pid')), atom('marker')].map(String),
    'Alias ! Msg from Erlang arrives, in order with what the same process sends to the pid',
  )
  t.equal(unalias(), true)
  const marker2 = new Promise<void>(r => (marked = r))
  await erl.eval(`A ! late, P ! marker, ok.`)
  await marker2
  t.equal(got.map(String).includes('late'), false, 'a message to the alias after unalias is dropped')
  t.equal(js.stats().connections.find(c => c.peer === erl.node)?.aliasSendsDropped, 1, 'and counted')
  js.send(['jsal', js.name], atom('stop'))

  // JavaScript → an Erlang alias
  let sendTo: (msg: unknown) => void = () => {}
  let sendBox: (msg: unknown) => void = () => {}
  const ready = new Promise<void>(r => {
    js.spawn(async proc => {
      proc.register('jsecho')
      const m = (await proc.receive()) as unknown[]
      const erlAlias = m[1] as Ref
      t.ok(erlAlias instanceof Ref && erlAlias.node === erl.node, "the Erlang alias arrives as a Ref of erl's node")
      sendTo = msg => proc.send(erlAlias, msg)
      sendBox = msg => proc.send(['box', erl.node], msg)
      r()
      await proc.receive(x => x === atom('stop'))
    })
  })
  await erl.eval(`EA = alias(), {jsecho, JS} ! {reply_to, EA}, ok.`)
  await ready
  sendTo(atom('pong'))
  t.equal(await erl.eval(`receive pong -> got_pong after 5000 -> timeout end.`), 'got_pong', 'proc.send(erlangAlias, msg) reaches it')
  t.equal(await erl.eval(`unalias(EA).`), 'true')
  sendTo(atom('late'))
  sendBox(atom('after_late')) // (from the same process: arrives after 'late' would have)
  t.equal(await erl.eval(`receive after_late -> ok after 5000 -> timeout end.`), 'ok')
  t.equal(await erl.eval(`receive late -> got_late after 0 -> dropped end.`), 'dropped', 'OTP drops it after unalias')
  js.send(['jsecho', js.name], atom('stop'))
})

t.test("gen:call's way from JavaScript: a monitor alias answered by an Erlang process", { skip }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const js = await startErlangNode(t, epmd.port, { name: `jsmal${process.pid}`, cookie: 'alias-cookie' })
  const erl = await startErl(t, { name: `emal${process.pid}`, epmdPort: epmd.port, cookie: 'alias-cookie' })
  // An Erlang server that answers each {ask, ReplyTo} on ReplyTo twice, and exits on stop.
  await erl.eval(`S = spawn(fun Loop() -> receive {ask, R} -> R ! answer, R ! again, Loop(); stop -> ok end end), register(srv, S), ok.`)
  const got = await new Promise<unknown[]>((resolve, reject) => {
    js.spawn(async proc => {
      try {
        const mref = proc.monitor(['srv', erl.node], { alias: 'reply_demonitor' })
        proc.send(['srv', erl.node], tuple(atom('ask'), mref))
        const first = await proc.receive(undefined, { timeout: 5000 })
        proc.send(['srv', erl.node], atom('stop')) // the server exits: the monitor is gone, so no DOWN
        const rest = await proc.receive(undefined, { timeout: 500 }).catch(() => 'nothing')
        resolve([first, rest, proc.demonitor(mref)])
      } catch (err) {
        reject(err as Error)
      }
    })
  })
  t.same(got.map(String), ['answer', 'nothing', 'false'], 'the reply came through the alias; the second and the DOWN did not')
  t.equal(js.stats().connections.find(c => c.peer === erl.node)?.aliasSendsDropped, 1, 'the second reply was dropped here')
})
