// The reassembly of fragmented frames (lib/kernel/fragments.ts) on its own: a stream's pieces,
// whole or as the views a frame decoder hands on (split anywhere, the header too), come back as
// the body they were cut from; the bytes a piece takes are counted for acknowledgements.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Reassembly, fragmentHeader } from '../lib/kernel/fragments.js'

/** The fragment bodies (without length prefixes) of `body` cut into pieces of `piece` bytes. */
function pieces(id: number, body: Buffer, piece: number): Buffer[] {
  const out: Buffer[] = []
  for (let off = 0; off < body.length; off += piece) {
    const end = Math.min(off + piece, body.length)
    const h = fragmentHeader(id, end - off, end === body.length, off === 0 ? body.length : undefined)
    out.push(Buffer.concat([h.subarray(4), body.subarray(off, end)]))
  }
  return out
}

t.test('pieces taken whole give back the body, and count their bytes', async t => {
  const r = new Reassembly('peer@h', 1 << 20)
  const body = randomBytes(100_000)
  let whole: Buffer | undefined
  for (const p of pieces(3, body, 30_000)) whole = r.push(p)
  t.ok(whole?.equals(body))
  t.equal(r.pieceBytes, body.length, 'every byte of the pieces, no header')
  t.equal(r.inFlight, 0)
})

t.test('pieces as views split at every place, the header included, give back the body', async t => {
  const body = randomBytes(5000)
  for (let cut = 1; cut < 20; cut++) {
    const r = new Reassembly('peer@h', 1 << 20)
    let whole: Buffer | undefined
    for (const p of pieces(7, body, 2000)) whole = r.pushParts([p.subarray(0, cut), p.subarray(cut)], p.length)
    t.ok(whole?.equals(body), `cut after ${cut} bytes`)
  }
})
