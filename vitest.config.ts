import { defineConfig } from 'vitest/config';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One copy of graphql for type-graphql, Apollo and graphql-ws (the ESM and CJS entries would be two).
    alias: { graphql: require.resolve('graphql/index.js') },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // Each test file runs in a fresh process that starts PGlite (Postgres compiled to WASM) for a few
    // seconds: V8's optimizing tier would recompile the 10 MB module's hot functions in the background,
    // work a short-lived process never earns back. Baseline (Liftoff) code only: a test file's CPU falls
    // by about a quarter (8 embedded integration files: 108 → 80 CPU s; their run 85 → 76 s).
    execArgv: ['--liftoff-only'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['reflect-metadata'],
  },
});
