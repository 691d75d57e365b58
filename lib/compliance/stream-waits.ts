// Waits on a Conn's byte stream for the Transport compliance suite. None takes a timeout of
// its own: every case runs under its case deadline (case.ts), and its cleanups destroy the
// streams it opened.
import { Buffer } from 'node:buffer'
import { once } from 'node:events'
import type { Duplex } from 'node:stream'

/** Everything a stream sends until it ends. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', reject)
  })
}

/** Exactly `n` bytes from a stream (then it is paused). */
export function readN(stream: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let got = 0
    const done = (): void => {
      stream.off('data', onData)
      stream.off('error', onError)
      stream.off('end', onEnd)
    }
    const onData = (c: Buffer): void => {
      chunks.push(c)
      got += c.length
      if (got >= n) {
        done()
        stream.pause()
        resolve(Buffer.concat(chunks))
      }
    }
    const onError = (err: Error): void => {
      done()
      reject(err)
    }
    const onEnd = (): void => {
      done()
      reject(new Error(`stream ended after ${got} of ${n} bytes`))
    }
    stream.on('data', onData)
    stream.once('error', onError)
    stream.once('end', onEnd)
    stream.resume()
  })
}

/** The peer went away: this side saw the end of its stream, a reset, or a close. */
export function peerGone(stream: Duplex): Promise<'end' | 'error' | 'close'> {
  stream.resume()
  return new Promise(resolve => {
    const done = (how: 'end' | 'error' | 'close') => (): void => {
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
      resolve(how)
    }
    const onEnd = done('end')
    const onError = done('error')
    const onClose = done('close')
    stream.once('end', onEnd)
    stream.once('error', onError)
    stream.once('close', onClose)
  })
}

/** The stream has closed. */
export function closed(stream: Duplex): Promise<void> {
  return stream.destroyed ? Promise.resolve() : once(stream, 'close').then(() => undefined)
}
