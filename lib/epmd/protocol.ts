// The EPMD wire protocol (Erlang/OTP erl_dist_protocol, "EPMD Protocol"), pure: bytes in,
// objects or bytes out, no sockets. Every request is a 2-byte big-endian length and a body
// whose first byte is the request tag. Responses carry no length prefix: ALIVE2 and PORT2
// replies have a fixed layout, NAMES/DUMP replies run until the daemon closes the connection.
//
// The module is split by concept: protocol-defs.ts (tags, limits, the node record, the
// node-name rule), protocol-requests.ts (requests and their parser), protocol-responses.ts
// (replies). Import from here.

export {
  EPMD_DEFAULT_PORT,
  ALIVE2_REQ,
  ALIVE2_X_RESP,
  ALIVE2_RESP,
  PORT_PLEASE2_REQ,
  PORT2_RESP,
  NAMES_REQ,
  DUMP_REQ,
  KILL_REQ,
  STOP_REQ,
  ALIVE2_FULL,
  NODE_TYPE_NORMAL,
  NODE_TYPE_HIDDEN,
  PROTOCOL_TCP_IPV4,
  HIGHEST_VERSION,
  LOWEST_VERSION,
  MAX_NAME_CHARS,
  MAX_NAME_BYTES,
  MAX_EXTRA_BYTES,
  MAX_REQUEST_SIZE,
  nodeNameProblem,
  type NodeInfo,
} from './protocol-defs.js'
export * from './protocol-requests.js'
export * from './protocol-responses.js'
