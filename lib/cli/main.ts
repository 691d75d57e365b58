#!/usr/bin/env node
// `netkernel <command>`: shell, epmd, node, top, certs, demo, bench; --version.
import process from 'node:process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { epmdMain } from './epmd.js'
import { nodeMain } from './node-cmd.js'
import { demoMain } from './demo.js'
import { shellMain } from './shell.js'
import { topMain } from './top.js'
import { UsageError, usageError } from './usage.js'

const USAGE = `usage: netkernel <command> [options]

commands:
  shell   an interactive node: erl's shell in JavaScript
  epmd    run or query a port mapper (speaks Erlang's EPMD protocol)
  node    run a headless node that hosts the seed's example modules
  top     a live view of a running node: connections, message rates, queues, processes
  certs   make a CA and node certificates for TLS distribution
  demo    the seed's examples across separate OS processes
  bench   the side-by-side benchmark against Erlang/OTP (from a source checkout)

Run 'netkernel <command> --help' for a command's options; 'netkernel --version' for the version.`

/** The version in netkernel's package.json, found upward from this file (sources or dist/). */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (!existsSync(file)) continue
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
    if (pkg.name === 'netkernel' && pkg.version !== undefined) return pkg.version
  }
  return 'unknown'
}

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  shell: shellMain,
  epmd: epmdMain,
  node: nodeMain,
  top: topMain,
  demo: demoMain,
  // node-forge is loaded only by the certs command
  certs: async argv => (await import('./certs.js')).certsMain(argv),
  bench: async argv => (await import('./bench.js')).benchMain(argv),
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined) return usageError('', `give a command: ${Object.keys(commands).join(', ')}`)
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
    process.stdout.write(`netkernel ${version()}\n`)
    return 0
  }
  const run = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined
  if (run === undefined) return usageError('', `unknown command '${cmd}' (${Object.keys(commands).join(', ')})`)
  try {
    return await run(rest)
  } catch (err) {
    // The commands report their own usage errors; one that slipped through is still one.
    if (err instanceof UsageError) return usageError(cmd, err.message)
    const e = err as Error & { code?: string }
    process.stderr.write(`netkernel ${cmd}: ${e.code ? `${e.code}: ` : ''}${e.message}\n`)
    return 1
  }
}

// A usage error exits 2 (usage.ts); any other failure, 1.
main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code
  },
  (err: Error & { code?: string }) => {
    process.stderr.write(`netkernel: ${err.code ? `${err.code}: ` : ''}${err.message}\n`)
    process.exitCode = 1
  },
)
