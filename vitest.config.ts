import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', '{lib,server,models}/**/*.test.ts'],
    environment: 'node',
    // TF.js wasm keeps process-wide state; separate processes keep test files independent.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
