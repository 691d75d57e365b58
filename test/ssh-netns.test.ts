// Distribution through a real firewall: two network namespaces ("home" 10.213.0.1 and
// "work" 10.213.0.2) joined by a veth pair, an nftables drop policy on work, our port mapper
// in each, nodes as separate OS processes inside them, and an OpenSSH sshd on work.
// Needs root, ip, nft and sshd: skipped with a message otherwise (failed under
// NETKERNEL_REQUIRE_PEERS=1). All traffic stays inside the namespaces this test creates.
import t from 'tap'
import { netnsSkip, twoHosts, firewall, startEpmdIn, startNsPeer, type NsHost } from './fixtures/netns.js'
import { startSshd, type Sshd } from './fixtures/sshd.js'

const skip = netnsSkip()
if (skip) {
  t.comment(`skipping the firewall/namespace tests: ${skip}`)
}

const json = (line: string, prefix: string): unknown => JSON.parse(line.slice(prefix.length + 1))

/** sshd inside work on port 22, and the gateway entry home nodes use to reach work's loopback. */
async function workSshd(t: Parameters<typeof startSshd>[0], work: NsHost): Promise<{ sshd: Sshd; gateway: Record<string, unknown> }> {
  const sshd = await startSshd(t, { host: work.addr, port: 22, wrap: work.wrap })
  return { sshd, gateway: { [work.addr]: sshd.gateway({ target: '127.0.0.1' }) } }
}

t.test('1. only 4369 and 9100-9105 open on work: a node in the range is reached, one outside is not', { skip }, async t => {
  const { home, work } = await twoHosts(t)
  firewall(work, [4369, '9100-9105'])
  t.match(work.run('nft', ['list', 'ruleset']), /policy drop/, 'the drop policy is in place on work')
  await Promise.all([startEpmdIn(t, home), startEpmdIn(t, work)])
  const [inRange, outside, here] = await Promise.all([
    startNsPeer(t, work, { name: `inside@${work.addr}`, longNames: true, listen: { host: '0.0.0.0', portMin: 9100, portMax: 9105 } }),
    startNsPeer(t, work, { name: `outside@${work.addr}`, longNames: true, listen: { host: '0.0.0.0', portMin: 9200, portMax: 9205 } }),
    startNsPeer(t, home, { name: `home@${home.addr}`, longNames: true, listen: { host: '0.0.0.0' }, setupTimeout: 2000 }),
  ])
  t.ok(inRange.port! >= 9100 && inRange.port! <= 9105, `inside listens in the open range (${inRange.port})`)
  t.ok(outside.port! >= 9200, `outside listens outside it (${outside.port})`)

  t.equal(await here.ask(`connect ${inRange.name}`, /^CONNECT /), `CONNECT ${inRange.name} true`, 'through the firewall')
  t.equal(await here.ask(`echo ${inRange.name} "over tcp"`, /^ECHO/), `ECHO ${inRange.name} "over tcp"`, 'home → work → home')
  t.equal(await inRange.ask(`echo ${here.name} "and back"`, /^ECHO/), `ECHO ${here.name} "and back"`, 'work → home → work')

  const refused = here.waitFor(new RegExp(`^CONNECT_ERROR .*${outside.name.replace(/\./g, '\\.')}`), 10_000)
  t.equal(
    await here.ask(`connect ${outside.name}`, /^CONNECT /, 10_000),
    `CONNECT ${outside.name} false`,
    'the port outside the range is not reachable',
  )
  const e = json(await refused, 'CONNECT_ERROR') as { code: string; message: string }
  t.match(e.code, /^ERR_CONNECT(_TIMEOUT)?$/, `the error says why (${e.code})`)
  t.match(e.message, work.addr, `and names the address: ${e.message}`)
})

t.test('2. only sshd open on work: home reaches a loopback-only node on work through sshd', { skip }, async t => {
  const { home, work } = await twoHosts(t)
  firewall(work, [22])
  const [{ sshd, gateway }] = await Promise.all([workSshd(t, work), startEpmdIn(t, home), startEpmdIn(t, work)])
  const [far, near, plain] = await Promise.all([
    startNsPeer(t, work, { name: `far@${work.addr}`, longNames: true, listen: { host: '127.0.0.1' } }),
    startNsPeer(t, home, { name: `near@${home.addr}`, longNames: true, listen: { host: '0.0.0.0' }, ssh: { gateways: gateway as never } }),
    startNsPeer(t, home, { name: `plain@${home.addr}`, longNames: true, listen: { host: '0.0.0.0' }, setupTimeout: 1500 }),
  ])
  const loginsBefore = sshd.logins()
  const up = near.waitFor(new RegExp(`^NODEUP .*${far.name.replace(/\./g, '\\.')}`))
  t.equal(
    await near.ask(`echo ${far.name} "through the tunnel"`, /^ECHO/),
    `ECHO ${far.name} "through the tunnel"`,
    'home → work → home through sshd',
  )
  t.same(json(await up, 'NODEUP'), { node: far.name, transport: 'ssh' })
  t.equal(
    await far.ask(`echo ${near.name} "back through it"`, /^ECHO/),
    `ECHO ${near.name} "back through it"`,
    'work → home over the same connection',
  )
  t.equal(sshd.logins() - loginsBefore, 1, 'one SSH login')
  t.match(await far.ask('nodes', /^NODES/), near.name)

  // Without the tunnel the work node is unreachable: 4369 and its port are firewalled (and it
  // listens on loopback only).
  t.equal(
    await plain.ask(`connect ${far.name}`, /^CONNECT /, 10_000),
    `CONNECT ${far.name} false`,
    'a plain tcp node on home cannot reach it',
  )
})

t.test('3. the seed picture across two hosts: dog and cat at home, mouse and flea at work, tunnelled', { skip }, async t => {
  const { home, work } = await twoHosts(t)
  firewall(work, [22])
  const [{ sshd, gateway }] = await Promise.all([workSshd(t, work), startEpmdIn(t, home), startEpmdIn(t, work)])
  const atHome = (name: string) =>
    startNsPeer(t, home, {
      name: `${name}@${home.addr}`,
      longNames: true,
      listen: { host: '0.0.0.0' },
      connectAll: false,
      ssh: { gateways: gateway as never },
    })
  // Behind the firewall (only 22 open) work's nodes listen on every address, so they reach
  // each other by their names; home reaches them only through sshd.
  const atWork = (name: string) =>
    startNsPeer(t, work, { name: `${name}@${work.addr}`, longNames: true, listen: { host: '0.0.0.0' }, connectAll: false })
  const [dog, cat, mouse, flea] = await Promise.all([atHome('dog'), atHome('cat'), atWork('mouse'), atWork('flea')])
  const logins = sshd.logins()

  t.equal(await dog.ask(`connect ${cat.name}`, /^CONNECT /), `CONNECT ${cat.name} true`, 'dog–cat at home')
  t.equal(await mouse.ask(`connect ${flea.name}`, /^CONNECT /), `CONNECT ${flea.name} true`, 'mouse–flea at work')
  t.equal(await mouse.ask('serve inbox', /^SERVING/), 'SERVING inbox')
  t.equal(
    await dog.ask(`call inbox ${mouse.name} "hello"`, /^REPLY/),
    `REPLY ["hello","${mouse.name}"]`,
    'dog → registered inbox on mouse, and the answer back',
  )
  t.same(JSON.parse((await dog.ask('nodes', /^NODES/)).slice(6)), [cat.name, mouse.name].sort(), 'dog: cat and mouse')
  t.same(JSON.parse((await mouse.ask('nodes', /^NODES/)).slice(6)), [dog.name, flea.name].sort(), 'mouse: dog and flea')
  t.same(JSON.parse((await cat.ask('nodes', /^NODES/)).slice(6)), [dog.name], 'cat: dog only')
  t.same(JSON.parse((await flea.ask('nodes', /^NODES/)).slice(6)), [mouse.name], 'flea: mouse only')

  // cat calls flea too: a second node behind the same gateway, from another home node (its own SSH connection).
  t.equal(await flea.ask('serve inbox', /^SERVING/), 'SERVING inbox')
  t.equal(await cat.ask(`call inbox ${flea.name} "hi flea"`, /^REPLY/), `REPLY ["hi flea","${flea.name}"]`, 'cat → flea through the tunnel')
  t.equal(
    await dog.ask(`call inbox ${flea.name} "me too"`, /^REPLY/),
    `REPLY ["me too","${flea.name}"]`,
    'dog → flea, over its existing SSH connection',
  )
  t.equal(sshd.logins() - logins, 2, 'one SSH connection per home node, shared by every work node it reaches')
  t.match(await dog.waitFor(new RegExp(`^NODEUP .*${flea.name.replace(/\./g, '\\.')}`)), /"transport":"ssh"/)
})

t.test('3b. the same picture with connectAll: the mesh of four forms across the firewall', { skip }, async t => {
  const { home, work } = await twoHosts(t)
  firewall(work, [22])
  const [{ gateway }] = await Promise.all([workSshd(t, work), startEpmdIn(t, home), startEpmdIn(t, work)])
  // Home nodes reach work only through sshd; work nodes reach home directly (outbound is open).
  const atHome = (name: string) =>
    startNsPeer(t, home, {
      name: `${name}@${home.addr}`,
      longNames: true,
      listen: { host: '0.0.0.0' },
      ssh: { gateways: gateway as never },
    })
  const atWork = (name: string) => startNsPeer(t, work, { name: `${name}@${work.addr}`, longNames: true, listen: { host: '0.0.0.0' } })
  const peers = await Promise.all([atHome('dog'), atHome('cat'), atWork('mouse'), atWork('flea')])
  const [dog, cat, mouse, flea] = peers
  t.equal(await dog.ask(`connect ${cat.name}`, /^CONNECT /), `CONNECT ${cat.name} true`)
  t.equal(await mouse.ask(`connect ${flea.name}`, /^CONNECT /), `CONNECT ${flea.name} true`)
  t.equal(await mouse.ask('serve inbox', /^SERVING/), 'SERVING inbox')
  t.equal(await dog.ask(`call inbox ${mouse.name} "hello"`, /^REPLY/), `REPLY ["hello","${mouse.name}"]`)
  const all = peers.map(p => p.name)
  for (const p of peers) {
    const others = all.filter(n => n !== p.name).sort()
    const deadline = Date.now() + 10_000
    let seen: string[] = []
    while (Date.now() < deadline) {
      seen = JSON.parse((await p.ask('nodes', /^NODES/)).slice(6)) as string[]
      if (seen.length === 3) break
      await new Promise(r => setTimeout(r, 100))
    }
    t.same(seen, others, `${p.name} is connected to the three others`)
  }
})

t.test('4. no port open on work at all (NAT): a work node listens through the sshd at home (reverse)', { skip }, async t => {
  const { home, work } = await twoHosts(t)
  firewall(work, [])
  firewall(home, [22, 9100]) // the relay: its sshd, and the port its sshd listens on for the work node
  const [sshd] = await Promise.all([startSshd(t, { host: home.addr, port: 22, wrap: home.wrap }), startEpmdIn(t, home)])
  // The work node is named after the relay's host: that is where it is found and reached.
  const nat = await startNsPeer(t, work, {
    name: `nat@${home.addr}`,
    longNames: true,
    listen: { host: '0.0.0.0' },
    registerThroughRelay: true,
    ssh: { gateways: { relay: sshd.gateway() }, reverse: { gateway: 'relay', port: 9100, host: '0.0.0.0' } },
  })
  t.equal(nat.port, 9100, 'it listens on the relay, port 9100')
  const hub = await startNsPeer(t, home, { name: `hub@${home.addr}`, longNames: true, listen: { host: '0.0.0.0' } })
  t.equal(
    await hub.ask(`echo ${nat.name} "knock knock"`, /^ECHO/),
    `ECHO ${nat.name} "knock knock"`,
    'a plain tcp node at home reaches it through the relay',
  )
  t.equal(
    await nat.ask(`echo ${hub.name} "who is there"`, /^ECHO/),
    `ECHO ${hub.name} "who is there"`,
    'and it answers over the same connection',
  )
  t.equal(sshd.logins(), 1, 'one SSH connection carries the registration and the node connection')
})
