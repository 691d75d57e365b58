// Errors of the SSH transport: TransportErrors (stable codes from lib/errors.ts) that also
// name the gateway, so a caller can tell "the tunnel failed" from "the node refused".
import { TransportError, brandClass, type CodeOf } from '../lib/errors.js'

export type SshGatewayFailure =
  /** The TCP connection to the sshd failed (refused, unreachable, reset). */
  | 'unreachable'
  /** The SSH handshake or login did not finish within readyTimeout. */
  | 'timeout'
  /** The sshd refused our key (or agent keys). */
  | 'auth'
  /** The SSH connection closed or failed after login. */
  | 'closed'
  /** The sshd refused a forwarding request (channel open or remote listen). */
  | 'forward'
  /** Any other SSH-level failure (protocol, bad private key, ...). */
  | 'ssh'

/** An SSH gateway could not be used. `gateway` is its key in `ssh({ gateways })`. */
export class SshGatewayError extends TransportError {
  readonly gateway: string
  readonly reason: SshGatewayFailure | 'host-key-unknown' | 'host-key-changed'
  constructor(
    code: CodeOf<'TransportError'>,
    gateway: string,
    reason: SshGatewayError['reason'],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.gateway = gateway
    this.reason = reason
  }
}

/**
 * The sshd presented a host key we do not trust: not the pinned fingerprint, or not in the
 * known_hosts file ('host-key-unknown'), or a different key than the one listed there
 * ('host-key-changed'). Never auto-accepted.
 */
export class SshHostKeyError extends SshGatewayError {
  /** The fingerprint the sshd presented ('SHA256:...', as `ssh-keygen -lf` prints it). */
  readonly presented: string
  constructor(gateway: string, reason: 'host-key-unknown' | 'host-key-changed', presented: string, message: string) {
    super('ERR_CONNECT', gateway, reason, message)
    this.presented = presented
  }
}

brandClass(SshGatewayError, 'SshGatewayError')
brandClass(SshHostKeyError, 'SshHostKeyError')
