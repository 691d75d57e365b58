// The SVG bar chart of bench/main.ts's results, written by hand (no dependencies):
//   top:    throughput per scenario relative to Erlang/OTP (default flags) in the same run,
//           log scale (1 = OTP);
//   bottom: round-trip latency p50 / p99 in µs (ping-pong, gen_server calls, ping during a
//           stream), log scale.

type Figures = Record<string, Record<string, number>>

/** The variants of the latency scenarios (ping, call, hol), in the order tables and charts show them. */
export const LATENCY_VARIANTS = [
  'nk-tcp',
  'nk-tcp-bw',
  'nk-tls',
  'nk-ssh',
  'otp',
  'otp-nobw',
  'otp-tuned',
  'otp-tls',
  'nk-otp',
  'otp-nk',
  'nk-otp-tls',
  'otp-nk-tls',
  'raw',
  'raw-bw',
] as const

/** The variants of the throughput scenarios, in the order tables and charts show them. */
export const TPUT_VARIANTS = [
  'nk-tcp',
  'nk-tls',
  'nk-ssh',
  'otp',
  'otp-tuned',
  'otp-tls',
  'nk-otp',
  'otp-nk',
  'nk-otp-tls',
  'otp-nk-tls',
  'raw',
  'raw-copy',
  'codec',
] as const

const COLORS: Record<string, string> = {
  'nk-tcp': '#1f77b4',
  'nk-tcp-bw': '#aec7e8',
  'nk-tls': '#2ca02c',
  'nk-ssh': '#17becf',
  otp: '#d62728',
  'otp-tuned': '#ff7f0e',
  'otp-tls': '#e377c2',
  'otp-nobw': '#ff9896',
  'nk-otp': '#9467bd',
  'otp-nk': '#8c564b',
  'nk-otp-tls': '#c5b0d5',
  'otp-nk-tls': '#c49c94',
  raw: '#7f7f7f',
  'raw-bw': '#c7c7c7',
  'raw-copy': '#393b79',
  codec: '#bcbd22',
}
const LABELS: Record<string, string> = {
  'nk-tcp': 'netkernel tcp',
  'nk-tcp-bw': 'netkernel tcp, busyWait',
  'nk-tls': 'netkernel tls',
  'nk-ssh': 'netkernel ssh',
  otp: 'OTP',
  'otp-tuned': 'OTP +zdbbl 32768',
  'otp-tls': 'OTP inet_tls',
  'otp-nobw': 'OTP +sbwt none',
  'nk-otp': 'netkernel→OTP',
  'otp-nk': 'OTP→netkernel',
  'nk-otp-tls': 'netkernel tls→OTP inet_tls',
  'otp-nk-tls': 'OTP inet_tls→netkernel tls',
  raw: 'raw socket pipe',
  'raw-bw': 'raw socket, busy-wait',
  'raw-copy': 'raw pipe, body copied',
  codec: 'bare codec loop',
}
const SIZE_LABEL: Record<string, string> = { '10': '10 B', '100': '100 B', '1024': '1 KB', '65536': '64 KB', '1048576': '1 MB' }

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const num = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

interface Group {
  label: string
  bars: { variant: string; value: number }[]
}

/** One panel of grouped bars on a log scale; returns SVG elements and the panel height. */
function panel(title: string, groups: Group[], ticks: number[], y0: number, width: number, unit: (x: number) => string): string {
  const h = 220
  const left = 60
  const right = 10
  const top = y0 + 28
  const lo = Math.log(ticks[0]!)
  const hi = Math.log(ticks[ticks.length - 1]!)
  const y = (v: number): number => top + h - ((Math.log(Math.min(Math.max(v, ticks[0]!), ticks[ticks.length - 1]!)) - lo) / (hi - lo)) * h
  const out: string[] = [`<text x="${left}" y="${y0 + 16}" font-size="14" font-weight="bold">${esc(title)}</text>`]
  for (const t of ticks) {
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="${t === 1 ? '#444' : '#ddd'}" stroke-width="${t === 1 ? 1.2 : 0.8}"/>`,
    )
    out.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" font-size="11" text-anchor="end">${esc(unit(t))}</text>`)
  }
  const gw = (width - left - right) / Math.max(1, groups.length)
  groups.forEach((g, i) => {
    const x0 = left + i * gw
    const bw = Math.min(16, (gw - 12) / Math.max(1, g.bars.length))
    const start = x0 + (gw - bw * g.bars.length) / 2
    g.bars.forEach((b, j) => {
      const x = start + j * bw
      const yt = y(b.value)
      const base = y(ticks[0]!)
      out.push(
        `<rect x="${x.toFixed(1)}" y="${yt.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${Math.max(0.5, base - yt).toFixed(1)}" fill="${COLORS[b.variant] ?? '#999'}"><title>${esc(`${g.label}, ${LABELS[b.variant] ?? b.variant}: ${num(b.value)}`)}</title></rect>`,
      )
      out.push(
        `<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(yt - 3).toFixed(1)}" font-size="8" text-anchor="middle">${esc(num(b.value))}</text>`,
      )
    })
    out.push(`<text x="${(x0 + gw / 2).toFixed(1)}" y="${top + h + 16}" font-size="12" text-anchor="middle">${esc(g.label)}</text>`)
  })
  return out.join('\n')
}

export function chart(figures: Figures, subtitle: string): string {
  const width = 980
  const tputVariants = TPUT_VARIANTS
  const tputGroups: Group[] = []
  for (const sc of [...Object.keys(SIZE_LABEL).map(s => `tput-${s}`), 'm2o-100']) {
    const otp = figures[`${sc}|otp`]?.rate
    const bars = tputVariants
      .map(v => ({ variant: v, value: (figures[`${sc}|${v}`]?.rate ?? NaN) / (otp ?? NaN) }))
      .filter(b => Number.isFinite(b.value))
    if (bars.length > 0) tputGroups.push({ label: sc === 'm2o-100' ? '8→1, 100 B' : SIZE_LABEL[sc.slice(5)]!, bars })
  }
  const latVariants = LATENCY_VARIANTS
  const latGroups: Group[] = []
  for (const [sc, m, label] of [
    ['ping', 'p50', 'ping-pong p50'],
    ['ping', 'p99', 'ping-pong p99'],
    ['ping', 'p999', 'ping-pong p99.9'],
    ['call', 'p50', 'gen_server call p50'],
    ['call', 'p99', 'gen_server call p99'],
    ['hol', 'p50', 'during 1 MB stream p50'],
    ['hol', 'p99', 'during 1 MB stream p99'],
  ] as const) {
    const bars = latVariants.map(v => ({ variant: v, value: figures[`${sc}|${v}`]?.[m] ?? NaN })).filter(b => Number.isFinite(b.value))
    if (bars.length > 0) latGroups.push({ label, bars })
  }
  const parts: string[] = []
  parts.push(`<text x="10" y="20" font-size="16" font-weight="bold">netkernel vs Erlang/OTP distribution (bench/main.ts)</text>`)
  parts.push(`<text x="10" y="38" font-size="11" fill="#555">${esc(subtitle)}</text>`)
  // Legend: every variant with a bar.
  const shown = new Set([...tputGroups, ...latGroups].flatMap(g => g.bars.map(b => b.variant)))
  const legend = [...new Set([...tputVariants, ...latVariants])].filter(v => shown.has(v))
  legend.forEach((v, i) => {
    // Rows of six.
    const x = 10 + (i % 6) * 160
    const ly = 48 + Math.floor(i / 6) * 14
    parts.push(
      `<rect x="${x}" y="${ly}" width="10" height="10" fill="${COLORS[v]}"/><text x="${x + 14}" y="${ly + 9}" font-size="11">${esc(LABELS[v]!)}</text>`,
    )
  })
  let y = 52 + Math.ceil(legend.length / 6) * 14
  if (tputGroups.length > 0) {
    parts.push(
      panel(
        'Throughput relative to OTP (default flags) in the same run; log scale, 1 = OTP',
        tputGroups,
        [0.03125, 0.125, 0.5, 1, 2, 8, 32, 128],
        y,
        width,
        t => `${t < 1 ? t.toFixed(t < 0.1 ? 3 : 2) : t}×`,
      ),
    )
    y += 290
  }
  if (latGroups.length > 0) {
    parts.push(
      panel('Round-trip latency, µs (lower is better); log scale', latGroups, [10, 30, 100, 300, 1000, 3000, 10000, 100000], y, width, t =>
        t >= 1000 ? `${t / 1000}k` : String(t),
      ),
    )
    y += 290
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}
