// Two nodes in two OS processes, for the benches that stream from one to the other
// (memory.ts, hol-gc.ts): the driver runs a node and starts the same script as a child with
// `recv <config>`; the child starts its node from that config, registers what it serves, and
// says READY; the driver connects. Everything stops when the driver does (the child also when
// its stdin closes).
import { randomBytes } from 'node:crypto'
import { startEpmd } from '../lib/epmd/daemon.js'
import { startNode, type Node } from '../lib/node.js'
import type { Pid } from '../lib/terms/pid.js'
import { children, startChild } from './util.js'
import { compiled } from './compiled.js'

interface RecvConfig {
  name: string
  cookie: string
  epmdPort: number
}

const nodeOptions = (name: string, cookie: string, epmdPort: number) => ({
  name,
  cookie,
  listen: { host: '127.0.0.1' },
  epmd: { host: '127.0.0.1', port: epmdPort, autoStart: false as const },
  connectAll: false,
})

/** Registers 'echo' on `node`: a process that answers [From, Msg] with Msg. */
export function registerEcho(node: Node): void {
  node.register(
    'echo',
    node.spawn(async proc => {
      for (;;) {
        const [from, m] = (await proc.receive()) as [Pid, unknown]
        proc.send(from, m)
      }
    }),
  )
}

/** In the child: its node, from the config the driver passed; call `ready` once it serves. */
export async function childNode(config: string): Promise<{ node: Node; ready(): void }> {
  const cfg = JSON.parse(config) as RecvConfig
  const node = await startNode(nodeOptions(cfg.name, cfg.cookie, cfg.epmdPort))
  return {
    node,
    ready() {
      process.stdout.write(`READY ${JSON.stringify(node.name)}\n`)
      process.stdin.resume()
      process.stdin.on('end', () => void node.stop().finally(() => process.exit(0)))
    },
  }
}

/**
 * In the driver: a port mapper, the child (`node <nodeFlags> <script, compiled> recv …`),
 * and this process's node, connected to the child's (`target`). `close()` stops all three.
 */
export async function startPair(
  script: string,
  tag: string,
  nodeFlags: string[],
): Promise<{ node: Node; target: string; close(): Promise<void> }> {
  const cookie = randomBytes(12).toString('hex')
  const epmd = await startEpmd({ host: '127.0.0.1', port: 0 })
  const recv = startChild('receiver', process.execPath, [
    ...nodeFlags,
    ...(await compiled(script)),
    'recv',
    JSON.stringify({ name: `${tag}_r`, cookie, epmdPort: epmd.port } satisfies RecvConfig),
  ])
  const node = await startNode(nodeOptions(`${tag}_s`, cookie, epmd.port))
  const close = async (): Promise<void> => {
    await node.stop().catch(() => {})
    await Promise.all(children.map(c => c.stop().catch(() => {})))
    await epmd.close().catch(() => {})
  }
  try {
    const target = JSON.parse(await recv.expect('READY', 60_000)) as string
    if (!(await node.connect(target))) throw new Error(`cannot connect to ${target}`)
    return { node, target, close }
  } catch (err) {
    await close()
    throw err
  }
}
