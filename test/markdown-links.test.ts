// Every link in the repository's Markdown documents leads somewhere: a relative link names a
// file or folder the repository tracks (not one a build makes), and a `#anchor` names a
// heading of its target as GitHub renders it. A reader who follows the README into docs/ or
// bench/README.md never lands on a 404 or at the top of a page instead of its section.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { headingAnchors, isExternal, markdownLinks } from './fixtures/markdown-links.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const tracked = (await promisify(execFile)('git', ['ls-files', '-z'], { cwd: ROOT })).stdout.split('\0').filter(Boolean)
const files = new Set(tracked)
const isDir = (p: string): boolean => tracked.some(f => f.startsWith(`${p}/`))
const docs = tracked.filter(f => f.endsWith('.md'))
const anchorsOf = new Map(docs.map(d => [d, headingAnchors(readFileSync(join(ROOT, d), 'utf8'))]))

t.test('the anchor rules: GitHub-style heading slugs', async t => {
  const a = headingAnchors(
    [
      "# Large messages and V8's heap",
      '## `busyWait`: polling ÷ sleeping (2026-12-05, morning)',
      '### Same',
      '### Same',
      '```',
      '# not a heading',
      '```',
      '## [A link](x.html) and **bold**',
    ].join('\n'),
  )
  t.same([...a], ['large-messages-and-v8s-heap', 'busywait-polling--sleeping-2026-12-05-morning', 'same', 'same-1', 'a-link-and-bold'])
  t.same(
    markdownLinks('see [a](docs/a.txt#x) and `[b](not.txt)`\n```\n[c](nor.txt)\n```\n![i](img.png "t") [e](https://x.y)').map(
      l => l.target,
    ),
    ['docs/a.txt#x', 'img.png', 'https://x.y'],
  )
})

t.test('every relative link in a Markdown document names a tracked file and an existing heading', async t => {
  t.ok(docs.length >= 5, `${docs.length} documents: ${docs.join(', ')}`)
  let count = 0
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8')
    for (const { target, line } of markdownLinks(text)) {
      if (isExternal(target)) continue
      count++
      const hash = target.indexOf('#')
      const path = hash < 0 ? target : target.slice(0, hash)
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1))
      const file = path === '' ? doc : normalize(join(dirname(doc), decodeURIComponent(path))).replace(/\/$/, '')
      const where = `${doc}:${line} → ${target}`
      if (!files.has(file) && !isDir(file)) {
        t.fail(`${where}: ${file} is not a file of the repository`)
        continue
      }
      if (anchor === undefined) continue
      const anchors = anchorsOf.get(file)
      if (anchors === undefined) t.fail(`${where}: an anchor into ${file}, which is not a Markdown document`)
      else t.ok(anchors.has(anchor), `${where}: ${file} has a heading #${anchor}`)
    }
  }
  t.ok(count >= 50, `${count} relative links checked`)
})
