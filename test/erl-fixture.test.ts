// The erl driver fixture itself: expressions, bindings kept between them, errors, the mailbox.
import t from 'tap'
import { erlangSkip, startRealEpmd } from './fixtures/epmd-real.js'
import { startErl } from './fixtures/erl.js'

t.test('an erl node evaluates expressions, keeps bindings and reports errors', { skip: erlangSkip('epmd', 'erl') }, async t => {
  const epmd = await startRealEpmd()
  t.teardown(() => epmd.stop())
  const erl = await startErl(t, { name: `fx${process.pid}`, epmdPort: epmd.port })
  t.match(erl.node, new RegExp(`^fx${process.pid}@`))
  t.equal(await erl.eval('X = 40 + 2.'), '42')
  t.equal(await erl.eval('{X, [1, 2 | 3], <<"hi">>, \'EXIT\'}.'), `{42,[1,2|3],<<"hi">>,'EXIT'}`)
  await t.rejects(erl.eval('erlang:error(boom).'), /error,boom/)
  t.equal(await erl.eval('self() ! hello, receive M -> M after 1000 -> timeout end.'), 'hello')
  t.match(await erl.eval(`lists:member(${JSON.stringify(`fx${process.pid}`)}, [N || {N, _} <- element(2, net_adm:names())]).`), 'true')
  await erl.stop()
  await t.rejects(erl.eval('1.'), /exited/)
})
