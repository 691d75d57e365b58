// Serial numbers and validity windows for new certificates.
import { randomBytes } from 'node:crypto'
import { NetkernelError } from '../errors.js'

const DAY_MS = 86_400_000
/** New certificates start a minute in the past, so a peer whose clock is a little behind accepts them. */
const SKEW_MS = 60_000

export interface ValidityOptions {
  /** Lifetime in days from notBefore (ignored when notAfter is given). */
  days?: number
  notBefore?: Date
  notAfter?: Date
}

/** The validity window: notBefore defaults to a minute ago, notAfter to notBefore + days. */
export function validity(opts: ValidityOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = opts.days ?? defaultDays
  if (!(Number.isFinite(days) && days > 0))
    throw new NetkernelError('ERR_BAD_ARGUMENT', `days must be a positive number, got ${String(opts.days)}`)
  for (const k of ['notBefore', 'notAfter'] as const) {
    const d = opts[k]
    if (d !== undefined && !(d instanceof Date && Number.isFinite(d.getTime()))) {
      throw new NetkernelError('ERR_BAD_ARGUMENT', `${k} must be a valid Date`)
    }
  }
  let notBefore = opts.notBefore ?? new Date(Date.now() - SKEW_MS)
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS)
  // Only notAfter given, and in the past (an expired certificate for tests): start before it.
  if (opts.notBefore === undefined && notAfter.getTime() <= notBefore.getTime()) notBefore = new Date(notAfter.getTime() - days * DAY_MS)
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new NetkernelError(
      'ERR_BAD_ARGUMENT',
      `notAfter (${notAfter.toISOString()}) must be later than notBefore (${notBefore.toISOString()})`,
    )
  }
  return { notBefore, notAfter }
}

/** A random positive 128-bit serial number, as hex (RFC 5280: unique per CA, at most 20 bytes). */
export function serialNumber(): string {
  const b = randomBytes(16)
  b[0] = (b[0] as number) & 0x7f // positive in DER
  if (b[0] === 0) b[0] = 1 // no leading zero byte to strip
  return b.toString('hex')
}
