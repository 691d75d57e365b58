// Which protocol an inbound connection speaks, from its first bytes, without consuming them:
//
//   00 00 .. ..     netkernel: a handshake frame's 4-byte length (handshake frames are at most
//                   MAX_HANDSHAKE_FRAME = 4096 bytes, so its two high bytes are zero)
//   LL LL 'N'|'n'   Erlang/OTP: a 2-byte length (never zero) and the name message's tag
//   00 00 LL LL 'N'|'n'  Erlang/OTP over TLS (inet_tls: Conn.erlangHandshakeFraming 4), whose
//                   handshake messages have a 4-byte length
//
// Anything else is refused (ERR_HANDSHAKE; TLS bytes are named as such). The bytes read are
// put back on the stream (unshift), which is left paused: the handshake's channel resumes it
// once its listeners are on. The wait is the handshake's first step: bounded by the step
// deadline on the node's clock (as every step of both handshakes), the setup signal (the
// kernel's setup deadline) and the connection's own end.
import { Buffer } from 'node:buffer'
import type { Conn } from '../transport.js'
import type { Clock } from '../clock.js'
import { systemClock } from '../clock.js'
import { HandshakeError, NetkernelError } from '../errors.js'
import { handshakeAbortError } from './handshake-channel.js'

export type SniffedProtocol = 'netkernel' | 'erlang'

/**
 * The protocol the first bytes tell, or a reason to refuse: three of them, or five where OTP's
 * handshake messages have a 4-byte length (`framing` 4, over TLS: `00 00 LL LL 'N'`, which a
 * netkernel handshake frame, a MessagePack map, never starts with).
 */
export function classify(head: Buffer, framing: 2 | 4 = 2): SniffedProtocol | { refuse: string } {
  if (framing === 4 && head[0] === 0 && head[1] === 0 && (head[4] === 0x4e || head[4] === 0x6e)) return 'erlang'
  if (head[0] === 0 && head[1] === 0) return 'netkernel'
  if (head[0] === 0x16 && head[1] === 0x03)
    return { refuse: "speaks TLS; this node's transport does not (use the same transport on both nodes)" }
  if (head[2] === 0x4e || head[2] === 0x6e) return 'erlang'
  return { refuse: `sent bytes that start neither a netkernel nor an Erlang/OTP handshake (${head.subarray(0, 3).toString('hex')})` }
}

/** Read the first 3 bytes of `conn`, put them back, and say which protocol they start. */
export function sniffProtocol(
  conn: Conn,
  signal: AbortSignal,
  step: { timeout: number; clock?: Clock } = { timeout: Infinity },
): Promise<SniffedProtocol> {
  const s = conn.stream
  const address = `${conn.remoteAddress}:${conn.remotePort}`
  const clock = step.clock ?? systemClock
  const framing = conn.erlangHandshakeFraming ?? 2
  const need = framing === 4 ? 5 : 3
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let got = 0
    const timer = Number.isFinite(step.timeout)
      ? clock.setTimeout(() => {
          cleanup()
          reject(new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `handshake step with ${address} timed out after ${step.timeout} ms`))
        }, step.timeout)
      : undefined
    const cleanup = (): void => {
      if (timer !== undefined) clock.clearTimeout(timer)
      s.off('data', onData)
      s.off('end', onEnd)
      s.off('close', onEnd)
      s.off('error', onError)
      signal.removeEventListener('abort', onAbort)
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      got += chunk.length
      if (got < need) return
      s.pause()
      cleanup()
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      s.unshift(head)
      const p = classify(head, framing)
      if (typeof p === 'string') resolve(p)
      else reject(new HandshakeError('ERR_HANDSHAKE', `${address} ${p.refuse}`))
    }
    const onEnd = (): void => {
      cleanup()
      reject(new NetkernelError('ERR_CONNECTION_CLOSED', `${address} closed the connection before its handshake began`))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(
        err instanceof NetkernelError
          ? err
          : new NetkernelError('ERR_CONNECTION_CLOSED', `connection from ${address} failed before its handshake: ${err.message}`, {
              cause: err,
            }),
      )
    }
    const onAbort = (): void => {
      cleanup()
      reject(handshakeAbortError(signal, `handshake from ${address}`))
    }
    if (signal.aborted) {
      onAbort()
      return
    }
    s.on('data', onData)
    s.on('end', onEnd)
    s.on('close', onEnd)
    s.on('error', onError)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
