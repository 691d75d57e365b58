// The shell's own process on its node: self() in the shell, the mailbox flush() empties.
// As in erl, when it dies (exit(self(), 'kill'), a crashing linked process) a new one takes
// its place; a watcher process monitors it and reports the death.
import type { Node } from '../node.js'
import type { Proc } from '../process/runtime.js'
import type { Pid } from '../terms/pid.js'
import { isDown } from '../process/monitors.js'

export interface ShellProcessOptions {
  /** Called when the shell process died and a new one replaced it. */
  onRestart?: (old: Pid, reason: unknown, now: Pid) => void
}

export class ShellProcess {
  private proc!: Proc
  private release: () => void = () => {}
  private stopping = false

  private constructor(
    private readonly node: Node,
    private readonly opts: ShellProcessOptions,
  ) {}

  static async start(node: Node, opts: ShellProcessOptions = {}): Promise<ShellProcess> {
    const shell = new ShellProcess(node, opts)
    await shell.spawnShell()
    shell.watch()
    return shell
  }

  /** The current shell process. */
  get current(): Proc {
    return this.proc
  }

  /** Let the shell process end normally (the node is stopping). */
  stop(): void {
    this.stopping = true
    this.release()
  }

  private spawnShell(): Promise<void> {
    return new Promise(resolve => {
      this.node.spawn(proc => {
        this.proc = proc
        resolve()
        return new Promise<void>(done => {
          this.release = done
        })
      })
    })
  }

  /** A process that monitors the shell process and starts a new one when it dies. */
  private watch(): void {
    this.node.spawn(async w => {
      for (;;) {
        const old = this.proc.self
        const ref = w.monitor(old)
        const [, , , , reason] = (await w.receive(m => isDown(m) && m[1].equals(ref))) as unknown[]
        if (this.stopping) return
        await this.spawnShell()
        this.opts.onRestart?.(old, reason, this.proc.self)
      }
    })
  }
}
