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
})
