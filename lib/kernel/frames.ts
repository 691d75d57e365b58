// The native wire protocol after authentication: every frame is a MessagePack array whose
// first element is the kind; an empty frame is a tick. Before authentication only
// handshake messages (plain objects, see handshake.ts) are accepted.

export const SEND = 1 //            [SEND, to: Pid, msg]
export const REG_SEND = 2 //        [REG_SEND, from: Pid | null, name: string, msg]
export const LINK = 3 //            [LINK, from: Pid, to: Pid]
export const UNLINK = 4 //          [UNLINK, from: Pid, to: Pid]
export const EXIT = 5 //            [EXIT, from: Pid, to: Pid, reason]      (link propagation)
export const EXIT2 = 6 //           [EXIT2, from: Pid, to: Pid, reason]     (exit/2)
export const MONITOR = 7 //         [MONITOR, watcher: Pid, target: Pid | string, ref: Ref]
export const DEMONITOR = 8 //       [DEMONITOR, watcher: Pid, target: Pid | string, ref: Ref]
export const DOWN = 9 //            [DOWN, watcher: Pid, ref: Ref, reason]
export const SPAWN_REQUEST = 10 //  [SPAWN_REQUEST, reqId, from: Pid | null, mod, fun, args, link]
export const SPAWN_REPLY = 11 //    [SPAWN_REPLY, reqId, ok: boolean, pid | { code, message }]
export const NODES = 12 //          [NODES, visibleNodeNames: string[]]   (mesh gossip)
export const STATS_REQUEST = 13 //  [STATS_REQUEST, reqId]                (stats-requests.ts)
export const STATS_REPLY = 14 //    [STATS_REPLY, reqId, ok: boolean, NodeStats | { code, message }]
export const RPC_CALL = 15 //       [RPC_CALL, reqId, from: Pid | null, mod, fun, args]     (rpc-requests.ts)
export const RPC_REPLY = 16 //      [RPC_REPLY, reqId, kind, value?, stack?]  kind: 'return' | 'error' | 'throw' | 'exit' | 'badrpc'
/**
 * [ALIAS_SEND, from: Pid | null, alias: Ref, msg]: msg to process alias `alias` (a ref made by
 * the receiving node), Erlang's `Alias ! Msg`. Only on a connection that carries it
 * (Connection.aliasSend: protocol version 5 and later, or an Erlang/OTP peer that offers ALIAS).
 */
export const ALIAS_SEND = 17

/**
 * The newest protocol version spoken by this implementation. 2: cookie() is CPace, and the
 * responder says 'go' after authentication; 3: remote calls (RPC_CALL, RPC_REPLY;
 * docs/protocol.md); 4: a large frame's first piece announces the frame's size
 * (fragments.ts); 5: ALIAS_SEND, and the hello offers a range of versions. Two nodes speak
 * the newest version both know (versions.ts); a node that shares none with this one is
 * refused with ERR_INCOMPATIBLE instead of failing mid-handshake.
 */
export const PROTOCOL_VERSION = 5

/** The oldest protocol version this implementation still speaks, with a node that speaks no newer. */
export const MIN_PROTOCOL_VERSION = 4

/** Handshake frames are small: anything larger before authentication is refused. */
export const MAX_HANDSHAKE_FRAME = 4096
