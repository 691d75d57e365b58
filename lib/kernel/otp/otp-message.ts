// An Erlang/OTP control message and its payload (the message of a send, the reason of a
// PAYLOAD_EXIT, the arguments of a SPAWN_REQUEST): what the OTP wire hands the OTP dispatcher
// for the operations netkernel's native frames do not have, and what OTP-side code queues on a
// connection to have it written as it is (the native wire refuses it).
import type { Tuple } from '../../terms/tuple.js'

export class OtpMessage {
  constructor(
    /** The control tuple, trace token already stripped: element 0 is the operation (DOP_*). */
    readonly control: Tuple,
    /** The payload term, for operations that carry one. */
    readonly payload?: unknown,
    readonly hasPayload: boolean = payload !== undefined,
  ) {}

  get op(): number {
    return this.control[0] as number
  }
}
