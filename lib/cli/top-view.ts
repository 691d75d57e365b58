// What `netkernel top` draws: one screen of text from a node's stats snapshot (NodeStats),
// rates being the difference from the previous snapshot over the time between them, on the
// observed node's own clock. Pure, so it is tested without a terminal.
import type { ConnectionStats, NodeStats } from '../kernel/stats.js'

export interface TopScreen {
  /** The node observed. */
  target: string
  /** The hidden node top runs as. */
  self: string
  interval: number
  /** The latest snapshot (undefined until one arrived). */
  cur: NodeStats | undefined
  /** The snapshot before it, for rates. */
  prev: NodeStats | undefined
  /** Why the latest snapshot could not be had. */
  error?: string
  /** Lines are cut to this width (0: not cut). */
  width: number
  /** The key hint in the title (live view only). */
  hint?: string
}

const UNITS = ['', 'k', 'M', 'G', 'T']

/** 950 → '950', 12_345 → '12.3k', 4_200_000 → '4.2M'. */
export function count(n: number): string {
  let i = 0
  while (Math.abs(n) >= 1000 && i < UNITS.length - 1) {
    n /= 1000
    i++
  }
  return i === 0 ? String(Math.round(n)) : `${n < 100 ? n.toFixed(1) : Math.round(n)}${UNITS[i]}`
}

/** 512 → '512 B', 1536 → '1.5 KB', 3_145_728 → '3.0 MB' (binary multiples). */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return i === 0 ? `${Math.round(n)} B` : `${n < 100 ? n.toFixed(1) : Math.round(n)} ${units[i]}`
}

/** 45_000 → '45s', 185_000 → '3m05s', 7_380_000 → '2h03m', 100_800_000 → '1d04h'. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const two = (n: number): string => String(n).padStart(2, '0')
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`
}

/** Per-second rates of one connection between two snapshots; undefined without a previous one. */
function rates(c: ConnectionStats, cur: NodeStats, prev: NodeStats | undefined): number[] | undefined {
  // The same connection: same peer, same moment it came up (not a reconnection).
  const p = prev?.connections.find(x => x.peer === c.peer && x.upSince === c.upSince)
  const dt = prev === undefined ? 0 : (cur.at - prev.at) / 1000
  if (p === undefined || dt <= 0) return undefined
  return [c.messagesIn - p.messagesIn, c.messagesOut - p.messagesOut, c.bytesIn - p.bytesIn, c.bytesOut - p.bytesOut].map(d => d / dt)
}

const HEAD = ['PEER', 'TYPE', 'TRANSPORT', 'MSG/S IN', 'MSG/S OUT', 'B/S IN', 'B/S OUT', 'MSGS IN', 'MSGS OUT', 'QUEUED', 'BUSY', 'UP']
/** Columns aligned left (the others, numbers, right). */
const LEFT = new Set([0, 1, 2, 10])

function table(rows: string[][]): string[] {
  const widths = HEAD.map((_, i) => Math.max(...rows.map(r => (r[i] as string).length)))
  return rows.map(r =>
    r
      .map((cell, i) => (LEFT.has(i) ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd(),
  )
}

function connectionRows(cur: NodeStats, prev: NodeStats | undefined): string[][] {
  return cur.connections.map(c => {
    const r = rates(c, cur, prev)
    const rate = (i: number, f: (n: number) => string): string => (r === undefined ? '-' : f(r[i] as number))
    return [
      c.peer,
      c.type,
      c.transport,
      rate(0, count),
      rate(1, count),
      rate(2, n => `${bytes(n)}`),
      rate(3, n => `${bytes(n)}`),
      count(c.messagesIn),
      count(c.messagesOut),
      bytes(c.queuedBytes),
      c.busy ? 'BUSY' : '-',
      duration(cur.at - c.upSince),
    ]
  })
}

/** The screen's lines. */
export function renderTop(s: TopScreen): string[] {
  const lines: string[] = []
  lines.push(`netkernel top  ${s.target}  (observed from ${s.self}, hidden; every ${s.interval} ms)${s.hint ? `  ${s.hint}` : ''}`)
  if (s.error !== undefined) lines.push(`!! ${s.error}`)
  const cur = s.cur
  if (cur === undefined) {
    lines.push('', 'waiting for the first snapshot...')
    return cut(lines, s.width)
  }
  const hidden = cur.connections.filter(c => c.type === 'hidden').length
  const names = cur.registered.length === 0 ? '' : `: ${[...cur.registered].sort().join(' ')}`
  lines.push(
    `processes ${cur.processes}   connections ${cur.connections.length} (${hidden} hidden)   registered ${cur.registered.length}${names}`,
    '',
  )
  lines.push(...(cur.connections.length === 0 ? ['no connections'] : table([HEAD, ...connectionRows(cur, s.prev)])))
  lines.push('')
  const peers = Object.keys(cur.refused).sort()
  if (peers.length === 0) {
    lines.push('refused: nothing')
  } else {
    lines.push('refused (operations a peer asked for and was refused):')
    for (const p of peers) {
      const ops = Object.entries(cur.refused[p] ?? {})
        .map(([op, n]) => `${op} ${n}`)
        .join('  ')
      lines.push(`  ${p}  ${ops}`)
    }
  }
  return cut(lines, s.width)
}

function cut(lines: string[], width: number): string[] {
  return width > 0 ? lines.map(l => (l.length > width ? l.slice(0, width) : l)) : lines
}
