// ESLint over the whole tree, with type information (typescript-eslint).
// Two jobs: catch promises nobody awaits and keep imports type-only where they are, and
// encode the layering so that an import across a layer boundary fails CI.
// test/layering.test.ts proves each layering rule fires on a forbidden import.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

// --- Layering --------------------------------------------------------------------------
// Imports are relative ('../kernel/x.js', '../../transports/tcp.js'), so each restriction
// is a regular expression over the import string, written for the files it applies to.
// The directories under lib/ are flat, but the patterns accept any number of '../'.

const up = String.raw`^(\.\./)+`

const noTestCode = {
  regex: String.raw`${up}(test|bench|fuzz|soak)(/|$)`,
  message: 'lib/ is the shipped library: it imports nothing from test/, bench/, fuzz/ or soak/.',
}

const processRule =
  'lib/process is the runtime below the network: it imports nothing from lib/kernel, lib/epmd, ' +
  'lib/node.ts, lib/cli, transports/ or auth/.'
const termsRule =
  'lib/terms (codec, framing) is the bottom layer: it imports nothing from lib/process, lib/kernel, ' +
  'lib/epmd, lib/node.ts, lib/cli, transports/ or auth/.'
const strategyRule =
  'transports and authenticators import only the contracts (lib/transport.ts, lib/authenticator.ts) ' +
  'and shared helpers (lib/errors.ts, lib/node-name.ts, lib/clock.ts, lib/net, lib/certs, …): never lib/kernel, ' +
  'lib/epmd, lib/process, lib/node.ts or lib/cli.'

/** Restriction patterns forbidding the named directories under lib/ (from a file one level down). */
function forbid(message, { libDirs = [], libFiles = [], topDirs = [], selfImport = true }) {
  const patterns = []
  if (libDirs.length > 0) {
    patterns.push({ regex: `${up}(lib/)?(${libDirs.join('|')})(/|$)`, message })
  }
  if (libFiles.length > 0) {
    patterns.push({ regex: `${up}(lib/)?(${libFiles.join('|')})(\\.js|\\.ts)?$`, message })
  }
  if (topDirs.length > 0) {
    patterns.push({ regex: `${up}(${topDirs.join('|')})(/|$)`, message })
  }
  // The package's own name resolves to lib/index.ts, which is every layer at once.
  if (selfImport) patterns.push({ regex: '^netkernel(/|$)', message })
  return patterns
}

/** Per-directory layering blocks (exported for test/layering.test.ts). */
export const layering = [
  {
    files: ['lib/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noTestCode] }] },
  },
  {
    // (1) the process runtime stays below the network.
    files: ['lib/process/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noTestCode,
            ...forbid(processRule, { libDirs: ['kernel', 'epmd', 'cli'], libFiles: ['node'], topDirs: ['transports', 'auth'] }),
          ],
        },
      ],
    },
  },
  {
    // (2) the term codec is the bottom layer.
    files: ['lib/terms/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noTestCode,
            ...forbid(termsRule, { libDirs: ['process', 'kernel', 'epmd', 'cli'], libFiles: ['node'], topDirs: ['transports', 'auth'] }),
          ],
        },
      ],
    },
  },
  {
    // (3) strategies see the contracts, not the kernel that drives them.
    files: ['transports/**/*.ts', 'auth/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbid(strategyRule, { libDirs: ['kernel', 'epmd', 'process', 'cli'], libFiles: ['node'] }),
        },
      ],
    },
  },
]

export default defineConfig(
  {
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**', 'bench/results/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // tap queues a subtest when t.test() is called; its promise needs no await (tap's own idiom).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: ['test', 'skip', 'todo'] }],
        },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        {
          prefer: 'type-imports',
          fixStyle: 'inline-type-imports',
          disallowTypeAnnotations: false, // `typeof import('…')` in test fixtures is fine
        },
      ],
      // With the rule above, `eslint --fix` writes the codebase's two forms: `import type { A }`
      // when every name is a type, `import { a, type B }` when mixed.
      '@typescript-eslint/no-import-type-side-effects': 'error',

      // From the recommended sets, kept: every promise and async rule that catches real
      // mistakes (await-thenable, no-misused-promises, …), no-unused-vars for variables and
      // imports, no-empty outside catch blocks, prefer-const. Turned off, with the count each
      // found when this file was written (fixing them would be hundreds of edits of taste,
      // not bugs):
      // - the value is typed `any` on purpose (JSON, ssh2, msgpack, tap's matchers): 201
      //   findings, mostly in tests.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-explicit-any': 'off', // Proc.receive<T = any> is public API
      // 228 assertions TypeScript can prove: harmless noise, a sweeping autofix.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // 110 `async` functions without an await, mostly tap callbacks; async is the contract there.
      '@typescript-eslint/require-await': 'off',
      // 40: the codec and strategies are objects of plain functions, passed around by design.
      '@typescript-eslint/unbound-method': 'off',
      // 18: rejecting with an AbortSignal's reason (typed unknown) is the convention.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // 6: a process's exit marker and a fuzz failure are thrown as non-Error values on purpose.
      '@typescript-eslint/only-throw-error': 'off',
      // 7 + 2: String(unknown) and `${atom}` in messages are meant.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      // 4: the error-class brands are keyed by constructor.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // 1: `a(), b()` as a statement is style, not a bug TypeScript misses.
      '@typescript-eslint/no-unused-expressions': 'off',
      // Parameters are kept to show a callback's signature; an ignored catch needs no comment.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      // A `let` read by a closure before its one assignment cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  ...layering,
  {
    // Node 20's globals Buffer, process and performance are getters on globalThis, called at
    // every use: ~15 ns a decoded binary for Buffer (bench/README.md, "What an idle round trip
    // allocates"), a call per flush for process.nextTick. The shipped code imports them.
    files: ['lib/**/*.ts', 'transports/**/*.ts', 'auth/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: "import { Buffer } from 'node:buffer': the global is a getter, called at every use (Node 20)." },
        { name: 'process', message: "import process from 'node:process': the global is a getter, called at every use (Node 20)." },
        {
          name: 'performance',
          message: "import { performance } from 'node:perf_hooks': the global is a getter, called at every use (Node 20).",
        },
      ],
    },
  },
)
