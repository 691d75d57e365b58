// `npm run soak [-- --messages N --kills K --minutes M]`: the long soak (soak/run.ts), with its
// figures on stdout. Defaults: 10,000,000 messages, 3 kills of b, give up after 10 minutes.
// Exits 1 when anything was lost, duplicated or reordered on a live connection.
import { parseArgs } from 'node:util'
import { runSoak } from './run.js'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000000' },
    kills: { type: 'string', default: '3' },
    minutes: { type: 'string', default: '10' },
  },
})
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`
const r = await runSoak({
  messages: Number(values.messages),
  kills: Number(values.kills),
  deadlineMs: Number(values.minutes) * 60_000,
  log: line => console.log(line),
})
console.log(`
messages exchanged   ${r.messages} (${r.delivered} sequence numbers, each a → b and back)
rate                 ${Math.round(r.messages / (r.elapsedMs / 1000))} messages/s over ${(r.elapsedMs / 1000).toFixed(1)} s
lost                 ${r.lost}${r.unfinished > 0 ? ` (${r.unfinished} still missing at the deadline)` : ''}
duplicated           ${r.duplicated}
reordered            ${r.reordered}
foreign              ${r.foreign}
lost at a break      ${r.lostAtBreak} (in flight when b was killed: allowed)
connections a → b    ${r.connections}; b killed ${r.kills} time(s)
churn (c → a)        ${r.churn.connected} connects, ${r.churn.pinged} pings answered, ${r.churn.failed} failed connects
RSS a                ${mib(r.rss.a.start)} → ${mib(r.rss.a.end)}
RSS b                ${mib(r.rss.b.start)} (first) → ${mib(r.rss.b.end)} (last incarnation)
RSS c                ${mib(r.rss.c.start)} → ${mib(r.rss.c.end)}`)
process.exitCode = r.lost + r.duplicated + r.reordered + r.foreign === 0 ? 0 : 1
