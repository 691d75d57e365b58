// A node's port-mapper registration, kept for the node's lifetime: if the registration
// connection ends while the node runs (the port mapper restarted, or the SSH connection it
// went through dropped), the node registers again, retrying with a growing delay. The node
// keeps its own creation; a new one from the port mapper is not adopted (pids stay valid).
import type { Logger } from '../logger.js'
import type { Clock } from '../kernel/clock.js'

export interface RegistrationLike {
  creation: number
  close(): void
  closed: Promise<void>
}

const FIRST_DELAY = 200
const MAX_DELAY = 5000

export class KeptRegistration {
  private stopped = false
  private timer: unknown
  private delay = FIRST_DELAY

  constructor(
    private current: RegistrationLike,
    private readonly register: () => Promise<RegistrationLike>,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.watch()
  }

  get creation(): number {
    return this.current.creation
  }

  close(): void {
    this.stopped = true
    this.clock.clearTimeout(this.timer)
    this.current.close()
  }

  private watch(): void {
    const reg = this.current
    void reg.closed.then(() => {
      if (this.stopped || reg !== this.current) return
      this.logger.warn({}, 'port mapper registration lost; registering again')
      this.retry()
    })
  }

  private retry(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.stopped) return
      this.register().then(
        reg => {
          if (this.stopped) {
            reg.close()
            return
          }
          this.current = reg
          this.delay = FIRST_DELAY
          this.logger.info({}, 'registered with the port mapper again')
          this.watch()
        },
        (err: Error) => {
          this.logger.warn({ err }, `registering with the port mapper again failed: ${err.message}`)
          this.delay = Math.min(MAX_DELAY, this.delay * 2)
          this.retry()
        },
      )
    }, this.delay)
  }
}
