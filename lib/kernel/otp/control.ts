// Erlang/OTP distribution control messages (erl_dist_protocol, dist.h): the first element of
// every control tuple. "Payload" operations carry a second term after the control tuple (the
// message, the exit reason, the spawn arguments). The *_TT variants carry a trace token,
// which netkernel does not trace: the OTP wire strips it (stripTraceToken).

export const DOP_LINK = 1 //                   {1, From, To}
export const DOP_SEND = 2 //                   {2, Unused, To} + Msg
export const DOP_EXIT = 3 //                   {3, From, To, Reason}
export const DOP_UNLINK = 4 //                 {4, From, To}                        (without UNLINK_ID)
export const DOP_REG_SEND = 6 //               {6, From, Unused, ToName} + Msg
export const DOP_GROUP_LEADER = 7 //           {7, From, To}
export const DOP_EXIT2 = 8 //                  {8, From, To, Reason}
export const DOP_SEND_TT = 12 //               {12, Unused, To, TraceToken} + Msg
export const DOP_EXIT_TT = 13 //               {13, From, To, TraceToken, Reason}
export const DOP_REG_SEND_TT = 16 //           {16, From, Unused, ToName, TraceToken} + Msg
export const DOP_EXIT2_TT = 18 //              {18, From, To, TraceToken, Reason}
export const DOP_MONITOR_P = 19 //             {19, From, ToProc, Ref}          ToProc: pid or atom
export const DOP_DEMONITOR_P = 20 //           {20, From, ToProc, Ref}
export const DOP_MONITOR_P_EXIT = 21 //        {21, FromProc, To, Ref, Reason}
export const DOP_SEND_SENDER = 22 //           {22, From, To} + Msg
export const DOP_SEND_SENDER_TT = 23 //        {23, From, To, TraceToken} + Msg
export const DOP_PAYLOAD_EXIT = 24 //          {24, From, To} + Reason
export const DOP_PAYLOAD_EXIT_TT = 25 //       {25, From, To, TraceToken} + Reason
export const DOP_PAYLOAD_EXIT2 = 26 //         {26, From, To} + Reason
export const DOP_PAYLOAD_EXIT2_TT = 27 //      {27, From, To, TraceToken} + Reason
export const DOP_PAYLOAD_MONITOR_P_EXIT = 28 // {28, FromProc, To, Ref} + Reason
export const DOP_SPAWN_REQUEST = 29 //         {29, ReqId, From, GroupLeader, {M, F, Arity}, Opts} + Args
export const DOP_SPAWN_REQUEST_TT = 30 //      {30, ReqId, From, GroupLeader, {M, F, Arity}, Opts, Token} + Args
export const DOP_SPAWN_REPLY = 31 //           {31, ReqId, To, Flags, Result}
export const DOP_SPAWN_REPLY_TT = 32 //        {32, ReqId, To, Flags, Result, Token}
export const DOP_ALIAS_SEND = 33 //            {33, From, Alias} + Msg
export const DOP_ALIAS_SEND_TT = 34 //         {34, From, Alias, Token} + Msg
export const DOP_UNLINK_ID = 35 //             {35, Id, From, To}
export const DOP_UNLINK_ID_ACK = 36 //         {36, Id, From, To}

/** SPAWN_REPLY flags: the link / the monitor asked for was set up. */
export const SPAWN_REPLY_LINK = 1
export const SPAWN_REPLY_MONITOR = 2

/** Operations followed by a payload term (after the trace token is stripped, the base op's). */
export const HAS_PAYLOAD: ReadonlySet<number> = new Set([
  DOP_SEND,
  DOP_REG_SEND,
  DOP_SEND_SENDER,
  DOP_PAYLOAD_EXIT,
  DOP_PAYLOAD_EXIT2,
  DOP_PAYLOAD_MONITOR_P_EXIT,
  DOP_SPAWN_REQUEST,
  DOP_ALIAS_SEND,
  DOP_SEND_TT,
  DOP_REG_SEND_TT,
  DOP_SEND_SENDER_TT,
  DOP_PAYLOAD_EXIT_TT,
  DOP_PAYLOAD_EXIT2_TT,
  DOP_SPAWN_REQUEST_TT,
  DOP_ALIAS_SEND_TT,
])

/**
 * A trace-token variant → [its base operation, the index of the token in the control tuple].
 * EXIT_TT and EXIT2_TT put the token before the reason; the others put it last.
 */
export const TRACE_TOKEN: ReadonlyMap<number, readonly [base: number, at: number]> = new Map([
  [DOP_SEND_TT, [DOP_SEND, 3]],
  [DOP_EXIT_TT, [DOP_EXIT, 3]],
  [DOP_REG_SEND_TT, [DOP_REG_SEND, 4]],
  [DOP_EXIT2_TT, [DOP_EXIT2, 3]],
  [DOP_SEND_SENDER_TT, [DOP_SEND_SENDER, 3]],
  [DOP_PAYLOAD_EXIT_TT, [DOP_PAYLOAD_EXIT, 3]],
  [DOP_PAYLOAD_EXIT2_TT, [DOP_PAYLOAD_EXIT2, 3]],
  [DOP_SPAWN_REQUEST_TT, [DOP_SPAWN_REQUEST, 6]],
  [DOP_SPAWN_REPLY_TT, [DOP_SPAWN_REPLY, 5]],
  [DOP_ALIAS_SEND_TT, [DOP_ALIAS_SEND, 3]],
])

/** The size of each (base) operation's control tuple, op included. */
export const ARITY: ReadonlyMap<number, number> = new Map([
  [DOP_LINK, 3],
  [DOP_SEND, 3],
  [DOP_EXIT, 4],
  [DOP_UNLINK, 3],
  [DOP_REG_SEND, 4],
  [DOP_GROUP_LEADER, 3],
  [DOP_EXIT2, 4],
  [DOP_MONITOR_P, 4],
  [DOP_DEMONITOR_P, 4],
  [DOP_MONITOR_P_EXIT, 5],
  [DOP_SEND_SENDER, 3],
  [DOP_PAYLOAD_EXIT, 3],
  [DOP_PAYLOAD_EXIT2, 3],
  [DOP_PAYLOAD_MONITOR_P_EXIT, 4],
  [DOP_SPAWN_REQUEST, 6],
  [DOP_SPAWN_REPLY, 5],
  [DOP_ALIAS_SEND, 3],
  [DOP_UNLINK_ID, 4],
  [DOP_UNLINK_ID_ACK, 4],
])

/** Version magic and the frame kinds after the 4-byte length. */
export const VERSION_MAGIC = 131
export const DIST_HEADER = 68
export const DIST_FRAG_HEADER = 69
export const DIST_FRAG_CONT = 70
export const PASS_THROUGH = 112
