// A refused or failed connection, said once: the shell and `netkernel node` print each
// connectError the node emits (a wrong cookie, a certificate naming another node, a tcp
// node dialling a tls one) with its code and reason. A repeat of the same refusal (same
// direction, peer and code) stays quiet until it changes or the peer comes up. A setup the
// node's own stop cut short (ERR_NODE_STOPPED) is no refusal, and is not said: a node
// stopped by Ctrl+C while it dialled printed one line after the user had asked it to end.
import type { Node } from '../node.js'

/** Bound on the refusals remembered (many peers, or one at many addresses). */
const REMEMBERED = 1000

type ConnectErrorInfo = { direction: 'in' | 'out'; code: string; error: Error; address?: unknown }

/** The line for one refusal: the peer named once (the error's message names it, as a rule). */
export function refusalLine(peer: string | undefined, info: ConnectErrorInfo): string {
  const from = info.address === undefined ? '' : String(info.address)
  const named = peer !== undefined && info.error.message.includes(peer)
  let who: string
  if (info.direction === 'out') who = named ? 'connection failed' : `connection to ${peer ?? 'a node'} failed`
  else if (named || peer === undefined) who = `connection from ${from || 'a node'} refused`
  else who = `connection from ${peer}${from !== '' ? ` (${from})` : ''} refused`
  return `netkernel: ${who}: ${info.code}: ${info.error.message}`
}

/** Print each new refusal `node` reports through `write`; returns a function that stops it. */
export function reportRefusals(node: Node, write: (line: string) => void): () => void {
  /** peer key → the code last printed for it */
  const last = new Map<string, string>()
  const key = (peer: string | undefined, info: ConnectErrorInfo): string => `${info.direction} ${peer ?? `@${String(info.address ?? '')}`}`
  const onError = (peer: string | undefined, info: ConnectErrorInfo): void => {
    if (info.code === 'ERR_NODE_STOPPED') return
    const k = key(peer, info)
    if (last.get(k) === info.code) return
    if (last.size >= REMEMBERED) last.clear()
    last.set(k, info.code)
    write(refusalLine(peer, info))
  }
  const onUp = (peer: string): void => {
    for (const k of [...last.keys()]) if (k.endsWith(` ${peer}`)) last.delete(k)
  }
  node.on('connectError', onError)
  node.on('nodeup', onUp)
  return () => {
    node.off('connectError', onError)
    node.off('nodeup', onUp)
  }
}
