/**
 * A pino-compatible logger hook. netkernel never prints: pass `logger` (pino, or any object
 * with these methods) to startNode to see what the net kernel does. Silent by default.
 */
export interface Logger {
  trace(obj: object | string, msg?: string): void
  debug(obj: object | string, msg?: string): void
  info(obj: object | string, msg?: string): void
  warn(obj: object | string, msg?: string): void
  error(obj: object | string, msg?: string): void
  child?(bindings: object): Logger
}

const noop = (): void => {}
export const silentLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop }

export function childLogger(logger: Logger, bindings: object): Logger {
  return logger.child ? logger.child(bindings) : logger
}
