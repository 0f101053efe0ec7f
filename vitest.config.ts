import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const alias = { '@': fileURLToPath(new URL('.', import.meta.url)) };
/** Tests that measure time: run after everything else, one file at a time. */
const TIMING_TESTS = [
  'tests/integration/engine-lag.test.ts',
  // Failover within 2 s and 5 s, with four server processes of its own.
  'tests/integration/cluster.test.ts',
];

const shared = {
  environment: 'node',
  // TF.js wasm keeps process-wide state; separate processes keep test files independent.
  pool: 'forks',
  testTimeout: 120_000,
  hookTimeout: 120_000,
} as const;

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          ...shared,
          name: 'main',
          include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', '{lib,server,models}/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...TIMING_TESTS],
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias },
        test: {
          ...shared,
          name: 'timing',
          include: TIMING_TESTS,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
