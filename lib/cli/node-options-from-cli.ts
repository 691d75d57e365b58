// The node options shared by `netkernel node` and `netkernel shell`: the values parseArgs
// returns for --sname/--name, --cookie, --hidden, --no-global, --epmd-port, --port-min/--port-max,
// --listen-host, --erlang and --busy-wait, checked and turned into startNode()'s options.
import type { StartNodeOptions } from '../node-options.js'
import type { ModuleDef } from '../process/runtime.js'
import { UsageError, type BuiltTransport } from './transport-options.js'
import { busyWaitMicros, type BusyWait } from '../kernel/busy-wait.js'
import { parseNodeName } from '../node-name.js'

/** parseArgs option definitions; spread them into a command's own (as transportArgs). */
export const nodeArgs = {
  sname: { type: 'string' },
  name: { type: 'string' },
  cookie: { type: 'string' },
  hidden: { type: 'boolean' },
  'no-global': { type: 'boolean' },
  'epmd-port': { type: 'string' },
  'port-min': { type: 'string' },
  'port-max': { type: 'string' },
  'listen-host': { type: 'string' },
  'no-start-epmd': { type: 'boolean' },
  erlang: { type: 'boolean' },
  'busy-wait': { type: 'string' },
  module: { type: 'string', multiple: true },
  verbose: { type: 'boolean', short: 'v' },
} as const

/** The values parseArgs returns for nodeArgs. */
export interface NodeCliValues {
  sname?: string
  name?: string
  cookie?: string
  hidden?: boolean
  'no-global'?: boolean
  'epmd-port'?: string
  'port-min'?: string
  'port-max'?: string
  'listen-host'?: string
  'no-start-epmd'?: boolean
  erlang?: boolean
  'busy-wait'?: string
  module?: string[]
  verbose?: boolean
}

/** The port options, as numbers (undefined = not given). */
export interface NodeCliPorts {
  epmdPort: number | undefined
  portMin: number | undefined
  portMax: number | undefined
}

/** A port option: undefined when absent; throws UsageError when not a port number. */
export function portOption(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`bad ${what} '${v}'`)
  return n
}

/** --sname NAME or --name NAME@HOST: an illegal name throws UsageError. */
export function nodeNameOption(sname: string | undefined, name: string | undefined): void {
  const long = name !== undefined
  const given = long ? name : sname
  if (given === undefined) return
  try {
    parseNodeName(given, long)
  } catch (err) {
    throw new UsageError(`--${long ? 'name' : 'sname'}: ${(err as Error).message}`)
  }
}

/** --cookie: absent (the cookie file's), or a non-empty string; throws UsageError. */
export function cookieOption(v: string | undefined): void {
  if (v === '') throw new UsageError('--cookie: give a cookie (leave the option out for ~/.erlang.cookie)')
}

/** Check the port and listen options (no file is read). Throws UsageError. */
export function nodePortsFromCli(v: NodeCliValues): NodeCliPorts {
  const epmdPort = portOption(v['epmd-port'], '--epmd-port')
  const portMin = portOption(v['port-min'], '--port-min')
  const portMax = portOption(v['port-max'], '--port-max') ?? portMin
  if (portMin === undefined && portMax !== undefined) throw new UsageError('--port-max needs --port-min')
  if (portMin !== undefined && portMax !== undefined && portMax < portMin)
    throw new UsageError(`--port-max ${portMax} is below --port-min ${portMin}`)
  if (v['listen-host'] === '') throw new UsageError('--listen-host: give an address (e.g. 127.0.0.1)')
  return { epmdPort, portMin, portMax }
}

/** --busy-wait: a preset name or µs; undefined when absent; throws UsageError when neither. */
export function busyWaitOption(v: string | undefined): BusyWait | undefined {
  if (v === undefined) return undefined
  const value: BusyWait = /^\d+$/.test(v) ? Number(v) : (v as BusyWait)
  try {
    busyWaitMicros(value)
  } catch {
    throw new UsageError(`bad --busy-wait '${v}' (none, short, medium, long, or µs up to 100000)`)
  }
  return value
}

/** startNode()'s options from the command line's values, the checked ports and the built transport. */
export function nodeOptionsFromCli(
  v: NodeCliValues,
  ports: NodeCliPorts,
  built: BuiltTransport,
  modules: Record<string, ModuleDef>,
): StartNodeOptions {
  const { epmdPort, portMin, portMax } = ports
  const busyWait = busyWaitOption(v['busy-wait'])
  return {
    ...(v.erlang ? { erlang: true } : {}),
    name: (v.name ?? v.sname) as string,
    longNames: v.name !== undefined,
    cookie: v.cookie,
    hidden: v.hidden,
    ...(v['no-global'] ? { global: false } : {}),
    ...(busyWait === undefined ? {} : { busyWait }),
    transport: built.transport,
    ...(built.auth ? { auth: built.auth } : {}),
    epmd: { ...(epmdPort === undefined ? {} : { port: epmdPort }), ...(v['no-start-epmd'] ? { autoStart: false } : {}) },
    listen: { ...(v['listen-host'] === undefined ? {} : { host: v['listen-host'] }), portMin, portMax },
    modules,
  }
}
