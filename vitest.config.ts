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
    // The files of a worker share one process and one module registry: a file no longer pays for a
    // process of its own, the app's import graph (about 1 s a file) and PGlite's WASM module. Every test
    // file closes what it starts (servers, harnesses, sockets) and restores the mocks it makes, so nothing
    // of one file runs on into the next. CI on this 2-core machine: 17 min 46 s → about 13 min.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['reflect-metadata', './test/support/closes-what-it-opens.ts'],
  },
});
