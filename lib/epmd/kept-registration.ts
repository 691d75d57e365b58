// A node's port-mapper registration, kept for the node's lifetime. When the registration
// connection ends while the node runs, the node asks the port mapper for its names at once:
//
// - the path to it broke (the SSH connection the registration went through dropped: the
//   registration says so, see Registration.lost), or no answer: the port mapper went away
//   or cannot be reached; the node registers again as soon as one answers, retrying with a
//   growing delay;
// - an answer without this node's name: the port mapper kept running and dropped the
//   registration itself (`epmd -stop NAME`). As Erlang's nodes do, the node leaves it so:
//   it stays up, unregistered (a warning says so), and is not registered again.
//
// The node keeps its own creation; a new one from the port mapper is not adopted (pids stay
// valid).
import type { Logger } from '../logger.js'
import type { Clock } from '../clock.js'

export interface RegistrationLike {
  creation: number
  close(): void
  closed: Promise<void>
  /** Once closed: did the path to the port mapper break (not the port mapper close it)? */
  lost?(): boolean
}

const FIRST_DELAY = 200
const MAX_DELAY = 5000

export interface KeptRegistrationOptions {
  /** The node's alive name ('foo' for foo@host), as the port mapper lists it. */
  name: string
  register: () => Promise<RegistrationLike>
  /** The names the port mapper lists now; rejects when it does not answer. */
  names: () => Promise<string[]>
  logger: Logger
  clock: Clock
}

export class KeptRegistration {
  private stopped = false
  private timer: unknown
  private delay = FIRST_DELAY

  constructor(
    private current: RegistrationLike,
    private readonly o: KeptRegistrationOptions,
  ) {
    this.watch()
  }

  get creation(): number {
    return this.current.creation
  }

  close(): void {
    this.stopped = true
    this.o.clock.clearTimeout(this.timer)
    this.current.close()
  }

  private watch(): void {
    const reg = this.current
    void reg.closed.then(async () => {
      if (this.stopped || reg !== this.current) return
      let listed: string[] | undefined
      try {
        // The path broke (an SSH connection dropped): nobody stopped us, register again.
        listed = reg.lost?.() === true ? undefined : await this.o.names()
      } catch {
        listed = undefined // it went away
      }
      if (this.stopped) return
      if (listed !== undefined && !listed.includes(this.o.name)) {
        this.o.logger.warn(
          { name: this.o.name },
          `the port mapper dropped the registration of '${this.o.name}' and keeps running (epmd -stop): the node stays up, unregistered; other nodes cannot find it by name`,
        )
        return
      }
      this.o.logger.warn(
        {},
        `port mapper registration lost${listed === undefined ? ' (the port mapper does not answer)' : ''}; registering again`,
      )
      this.retry()
    })
  }

  private retry(): void {
    this.timer = this.o.clock.setTimeout(() => {
      if (this.stopped) return
      this.o.register().then(
        reg => {
          if (this.stopped) {
            reg.close()
            return
          }
          this.current = reg
          this.delay = FIRST_DELAY
          this.o.logger.info({}, 'registered with the port mapper again')
          this.watch()
        },
        (err: Error) => {
          this.o.logger.warn({ err }, `registering with the port mapper again failed: ${err.message}`)
          this.delay = Math.min(MAX_DELAY, this.delay * 2)
          this.retry()
        },
      )
    }, this.delay)
  }
}
