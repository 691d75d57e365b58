import { defineConfig } from 'tsup'

// One entry per public import path of package.json "exports" (plus the CLI). Paths under
// dist/ mirror the source tree so `exports` in package.json stays readable.
export default defineConfig({
  entry: {
    'lib/index': 'lib/index.ts',
    'lib/cli/main': 'lib/cli/main.ts',
    'transports/tcp': 'transports/tcp.ts',
    'auth/cookie': 'auth/cookie.ts',
    'transports/tls': 'transports/tls.ts',
    'transports/ssh': 'transports/ssh.ts',
    'auth/tls-cert': 'auth/tls-cert.ts',
    'lib/certs/index': 'lib/certs/index.ts',
    'lib/compliance/index': 'lib/compliance/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  shims: true,
  external: ['ssh2'],
  // In the CommonJS build `import.meta.url` is a shim evaluated in a shared chunk, not in the
  // module that reads it; a module that must name its own file reads this instead
  // (lib/epmd/daemon-main.ts: the detached port mapper runs that file).
  esbuildOptions(options, context) {
    options.define = { ...options.define, NETKERNEL_CJS_FILENAME: context.format === 'cjs' ? '__filename' : 'undefined' }
  },
})
