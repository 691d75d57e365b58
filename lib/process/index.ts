// The process layer's public surface.
export { Runtime } from './runtime.js'
export type { SpawnFnOptions } from './runtime.js'
export { ProcessExit } from './exit.js'
export type {
  DemonitorOptions,
  Dest,
  Match,
  ModuleDef,
  ModuleFn,
  MonitorTarget,
  Proc,
  ProcessFn,
  ReceiveOptions,
  RuntimeOptions,
  Timers,
} from './types.js'
export type { Remote, RemoteInbound, RemoteName, SpawnOptions } from './remote.js'
