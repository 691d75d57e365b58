import t from 'tap'
import { Pid } from '../lib/terms/pid.js'
import { Ref } from '../lib/terms/ref.js'
import { nodeOf } from '../lib/terms/node-of.js'

t.test('Pid prints as <node.id.serial> and compares by value', async t => {
  const a = new Pid('bar@vm', 42, 0, 7)
  t.equal(a.toString(), '<bar@vm.42.0>')
  t.ok(a.equals(new Pid('bar@vm', 42, 0, 7)))
  t.notOk(a.equals(new Pid('bar@vm', 42, 0, 8)), 'another creation is another pid')
  t.notOk(a.equals(new Pid('baz@vm', 42, 0, 7)))
  t.notOk(a.equals({ node: 'bar@vm', id: 42, serial: 0, creation: 7 }))
  t.equal(nodeOf(a), 'bar@vm')
})

t.test('Ref compares by value and has a node', async t => {
  const r = new Ref('foo@vm', 3, 1)
  t.ok(r.equals(new Ref('foo@vm', 3, 1)))
  t.notOk(r.equals(new Ref('foo@vm', 4, 1)))
  t.equal(nodeOf(r), 'foo@vm')
  t.match(r.toString(), /^#Ref<foo@vm\.3>$/)
  t.throws(() => nodeOf({} as Pid), { code: 'ERR_BAD_ARGUMENT' })
})
