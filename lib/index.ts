// The public surface of `netkernel` (README.md "API"; reference: `npm run docs`). Named exports only.
export { startNode, Node } from './node.js'
export { Pid } from './terms/pid.js'
export { Ref } from './terms/ref.js'
export { Atom, atom, isAtom } from './terms/atom.js'
export { Tuple, tuple, isTuple } from './terms/tuple.js'
export { ImproperList } from './terms/improper-list.js'
export { BitBinary, Port, OpaqueTerm } from './terms/otp-terms.js'
export { nodeOf } from './terms/node-of.js'
export { module, authenticator } from './type-helpers.js'
export {
  ERROR_CODES,
  ERROR_CLASS,
  NetkernelError,
  ReceiveTimeoutError,
  RegistryError,
  CodecError,
  NodeNameError,
  EpmdError,
  TransportError,
  HandshakeError,
  AuthError,
  CookieFileError,
  SpawnError,
  RpcError,
  CallError,
} from './errors.js'

export type { Dest, NodeKind, NodeEvents, NodeStats, ConnectionStats } from './node.js'
export type { StartNodeOptions, ListenOptions as NodeListenOptions, EpmdOptions } from './node-options.js'
export type { BusyWait } from './kernel/busy-wait.js'
export type {
  Proc,
  ModuleDef,
  ModuleFn,
  Match,
  ReceiveOptions,
  ProcessFn,
  MonitorTarget,
  MonitorOptions,
  DemonitorOptions,
} from './process/runtime.js'
export type { RemoteName } from './process/remote.js'
export { ProcessGroups, PgMonitor } from './pg/process-groups.js'
export type { PgGroup, PgEvent, PgScopeOptions, PgSendOptions, PgMonitorOptions } from './pg/process-groups.js'
export type { RpcOptions } from './process/rpc.js'
export { asCall, asCast } from './process/gen-call.js'
export { isDown } from './process/monitors.js'
export type { CallOptions, CallFrom, GenCall } from './process/gen-call.js'
export type { AliasOptions, MonitorAlias } from './process/aliases.js'
export type { GlobalRegisterOptions, ResolveMethod } from './global/global.js'
// The class of `node.global`, exported as a value like ProcessGroups: exported as a type
// only, the declaration bundle still offered `instanceof GlobalNames`, which then failed.
export { GlobalNames } from './global/global.js'
export { ProcessExit } from './process/runtime.js'
export type { Transport, Conn, Listener, ListenOptions, DialAddress, ReadInto, ReadSink } from './transport.js'
export type { Authenticator, AuthContext, AuthResult, HandshakeChannel, HandshakeMessage, CookieStore } from './authenticator.js'
export type { Discovery, NodeAddress, AnnounceOptions, Announcement } from './discovery.js'
export type { KernelPolicy, KernelLimits } from './kernel/net-kernel.js'
export type { AllowSignal, AllowSignalArgs, SignalDetails, SignalOp, SignalRequest } from './kernel/signal-policy.js'
export type { Logger } from './logger.js'
export type { Clock } from './clock.js'
export type { ErrorCode, CodeOf, ErrorClassName, NetkernelErrorOptions, RpcErrorKind, RpcErrorOptions } from './errors.js'
export type { CodecName, CodecKind } from './terms/codec.js'
