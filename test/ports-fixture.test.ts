// The port helpers' promise (test/fixtures/ports.ts): a port from freePort() is free and is
// never one the kernel hands to a port-0 listener, and refusedPort()'s range is one no
// helper gives out, so a test counting on a refusal cannot meet another test's server.
import t from 'tap'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { freePort, isListening, refusedPort } from './fixtures/ports.js'

const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number]

function listenAt(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen({ host: '127.0.0.1', port }, () => resolve(s))
  })
}

t.test('freePort: free, below the ephemeral range, never a port-0 listener', async t => {
  const kernel = await listenAt(0)
  t.teardown(() => kernel.close())
  const kernelPort = (kernel.address() as net.AddressInfo).port
  t.ok(kernelPort >= ephemeralLow, `port 0 gave ${kernelPort}, in the ephemeral range from ${ephemeralLow}`)
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
  for (const p of ports) t.ok(p >= 10_000 && p < ephemeralLow && p !== 9100, `${p} is in [10000, ${ephemeralLow})`)
  const held = await listenAt(ports[0]!) // free when returned: it can be listened on
  t.teardown(() => held.close())
  t.ok(await isListening(ports[0]!))
})

t.test('refusedPort: refuses, and lies below every range a listener of the suite takes', async t => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => refusedPort()))
  for (const p of ports) {
    t.ok(p >= 1024 && p < 10_000 && p !== 4369 && p !== 9100, `${p} is in [1024, 10000), not a well-known one`)
    t.notOk(await isListening(p), `${p} refuses`)
  }
})
