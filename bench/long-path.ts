// Large messages over a long path (bench/README.md, "Long paths"): a node in this process
// streams to a node in a child process, reaching it through a TCP proxy (another child) that
// holds every chunk for DELAY ms each way, so the path has a round trip of 2 × DELAY ms and, on
// loopback, no bandwidth limit of its own. Per delay: 1 MB messages streamed alone, and streamed
// while another process pings across the same connection every 5 ms (the pings' round trips,
// too); beside them, the ceiling: a raw socket writing the same bytes through the same proxy.
//
//   node --import tsx bench/long-path.ts [--delays=5,25] [--count=300] [--beside=100]
//   (--beside: the messages of the stream beside the pings)
//
// The fragment window (lib/kernel/outbox.ts) bounds a stream at one window per round trip;
// over a path longer than LONG_RTT_MS the window grows with the path's bandwidth-delay product.
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { startNode } from '../lib/index.js'
import type { Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { compiled } from './compiled.js'
import { registerEcho } from './node-pair.js'
import { quantile, startChild } from './util.js'

const argv = process.argv.slice(2)
const arg = (name: string, dflt: string): string => argv.find(x => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt

if (argv[0] === 'proxy') {
  // ---- the delaying proxy (child process): proxy TARGET_PORT DELAY_MS; prints PORT <port> ----
  const target = Number(argv[1])
  const delay = Number(argv[2])
  const pipe = (from: net.Socket, to: net.Socket): void => {
    const queue: { at: number; chunk: Buffer }[] = []
    let timer: NodeJS.Timeout | undefined
    const release = (): void => {
      timer = undefined
      const now = performance.now()
      while (queue.length > 0 && queue[0]!.at <= now) to.write(queue.shift()!.chunk)
      if (queue.length > 0) timer = setTimeout(release, Math.max(0, queue[0]!.at - performance.now()))
    }
    from.on('data', (chunk: Buffer) => {
      queue.push({ at: performance.now() + delay, chunk })
      timer ??= setTimeout(release, delay)
    })
  }
  const server = net.createServer(c => {
    const up = net.connect(target, '127.0.0.1')
    for (const s of [c, up]) {
      s.setNoDelay(true)
      s.on('error', () => {})
    }
    pipe(c, up)
    pipe(up, c)
    c.on('close', () => up.destroy())
    up.on('close', () => c.destroy())
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as net.AddressInfo).port}\n`))
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
} else if (argv[0] === 'receiver') {
  // ---- the receiving node (child process): receiver NAME COOKIE; prints PORT <port> ----
  const b = await startNode({ name: argv[1]!, cookie: argv[2]!, listen: { host: '127.0.0.1' }, epmd: false })
  // ['count', From, N]: takes N messages, then answers ['counted', MB/s from the first to the last].
  b.register(
    'sink',
    b.spawn(async p => {
      for (;;) {
        const [, from, n] = (await p.receive()) as [string, Pid, number]
        await p.receive()
        const t0 = performance.now()
        for (let i = 1; i < n; i++) await p.receive()
        p.send(from, ['counted', (n - 1) / ((performance.now() - t0) / 1000)])
      }
    }),
  )
  registerEcho(b)
  process.stdout.write(`PORT ${b.address!.port}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => void b.stop().finally(() => process.exit(0)))
} else {
  await main()
}

/** A delaying proxy to 127.0.0.1:`target`, and its port. */
async function proxy(target: number, delay: number): Promise<{ port: number; stop(): Promise<void> }> {
  const child = startChild('proxy', process.execPath, [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    'proxy',
    String(target),
    String(delay),
  ])
  return { port: Number(await child.expect('PORT', 20_000)), stop: () => child.stop() }
}

/** MB/s of `count` × 1 MB written raw through a proxy of `delay` ms to a plain reader. */
async function rawThrough(delay: number, count: number): Promise<number> {
  const size = 1 << 20
  let got = 0
  let t0 = 0
  let done!: () => void
  const finished = new Promise<void>(r => (done = r))
  const server = net.createServer(c =>
    c.on('data', (d: Buffer) => {
      if (t0 === 0) t0 = performance.now()
      got += d.length
      if (got >= count * size) done()
    }),
  )
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const px = await proxy((server.address() as net.AddressInfo).port, delay)
  const c = net.connect(px.port, '127.0.0.1')
  const buf = Buffer.alloc(size, 7)
  let sent = 0
  const go = (): void => {
    while (sent < count) {
      sent++
      if (!c.write(buf)) return void c.once('drain', go)
    }
  }
  c.on('connect', go)
  await finished
  const mbs = count / ((performance.now() - t0) / 1000)
  c.destroy()
  await px.stop()
  server.close()
  return mbs
}

interface StreamResult {
  mbs: number
  pings: number[]
}

/** MB/s of `count` × 1 MB from node a to the sink on node `b` (and, with `ping`, the round trips of pings beside them). */
async function stream(a: Node, b: string, count: number, ping: boolean): Promise<StreamResult> {
  const big = Buffer.alloc(1 << 20, 7)
  let stop = false
  const pings: number[] = []
  if (ping)
    a.spawn(async p => {
      while (!stop) {
        const t = performance.now()
        p.send(['echo', b], [p.self, 1])
        await p.receive(undefined, { timeout: 30_000 })
        pings.push(performance.now() - t)
        await new Promise(r => setTimeout(r, 5))
      }
    })
  const mbs = await new Promise<number>((resolve, reject) =>
    a.spawn(async p => {
      try {
        p.send(['sink', b], ['count', p.self, count])
        for (let i = 0; i < count; i++) if (!p.send(['sink', b], big)) await p.drain(['sink', b])
        const [, rate] = (await p.receive(undefined, { timeout: 600_000 })) as [string, number]
        resolve(rate)
      } catch (err) {
        reject(err as Error)
      }
    }),
  )
  stop = true
  return { mbs, pings: [...pings].sort((x, y) => x - y) }
}

async function main(): Promise<void> {
  const delays = arg('delays', '5,25').split(',').map(Number)
  const count = Number(arg('count', '300'))
  const besideCount = Number(arg('beside', String(Math.max(20, Math.floor(count / 3)))))
  const cookie = `lp${Math.random().toString(36).slice(2)}`
  console.log(
    `long path: 1 MB messages through a proxy holding each chunk DELAY ms each way, ${count} a run (${besideCount} beside the pings), Node ${process.version}`,
  )
  console.log(
    '| round trip | raw through the proxy, MB/s | netkernel alone, MB/s | ÷ raw | netkernel with pings, MB/s | ping p50 / p99, ms |',
  )
  console.log('|---:|---:|---:|---:|---:|---:|')
  for (const delay of delays) {
    const raw = await rawThrough(delay, count)
    const receiver = startChild('receiver', process.execPath, [
      ...(await compiled(fileURLToPath(import.meta.url))),
      'receiver',
      'lpb',
      cookie,
    ])
    const px = await proxy(Number(await receiver.expect('PORT', 20_000)), delay)
    const a = await startNode({
      name: 'lpa',
      cookie,
      listen: { host: '127.0.0.1' },
      epmd: false,
      resolve: async () => ({ host: '127.0.0.1', port: px.port }),
    })
    const b = `lpb@${a.name.split('@')[1]}`
    try {
      // Connect, and let the connection's own start-up traffic (global's sync) pass: small
      // frames beside a stream keep its window narrow for a second.
      a.spawn(async p => void p.send(['nobody', b], 'hello'))
      const deadline = Date.now() + 20_000
      while (!a.nodes().includes(b) && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
      await new Promise(r => setTimeout(r, 2000))
      const alone = await stream(a, b, count, false)
      // Long enough for the path estimate's rate to lapse (1–2 s), so that the stream beside
      // the pings starts from the shared window, not from what the stream alone measured.
      await new Promise(r => setTimeout(r, 2500))
      const beside = await stream(a, b, besideCount, true)
      console.log(
        `| ${2 * delay} ms | ${raw.toFixed(0)} | ${alone.mbs.toFixed(0)} | ${(alone.mbs / raw).toFixed(2)} | ${beside.mbs.toFixed(0)} | ${quantile(beside.pings, 0.5).toFixed(1)} / ${quantile(beside.pings, 0.99).toFixed(1)} |`,
      )
    } finally {
      await a.stop()
      await receiver.stop()
      await px.stop()
    }
  }
  process.exit(0)
}
