// Every fuzz target, in the order a full run takes them.
import type { FuzzTarget } from '../target.js'
import { frameDecoder } from './frame-decoder.js'
import { termNetkernel, termLite } from './terms.js'
import { termsAgree } from './terms-agree.js'
import { etfTarget } from './etf.js'
import { handshake } from './handshake.js'
import { otpHandshake } from './otp-handshake.js'
import { fragments } from './fragments.js'
import { otpFragments } from './otp-fragments.js'
import { connectionTarget } from './connection.js'
import { otpConnectionTarget } from './otp-connection.js'
import { dispatchTarget } from './dispatch.js'
import { epmdRequests, epmdResponses } from './epmd.js'
import { globalMessagesTarget } from './global-messages.js'
import { pgMessagesTarget } from './pg-messages.js'

export function allTargets(): FuzzTarget[] {
  return [
    frameDecoder,
    termNetkernel,
    termLite,
    termsAgree,
    etfTarget,
    handshake,
    otpHandshake,
    fragments,
    otpFragments,
    connectionTarget(),
    otpConnectionTarget(),
    dispatchTarget(),
    globalMessagesTarget(),
    pgMessagesTarget(),
    epmdRequests,
    epmdResponses,
  ]
}
