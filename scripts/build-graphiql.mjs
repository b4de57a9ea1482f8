#!/usr/bin/env node
/**
 * Builds the GraphiQL page's browser bundle into dist/graphiql/:
 *
 *   graphiql.js   (+ .gz)  React + GraphiQL + our fetcher, minified, NODE_ENV=production
 *   graphiql.css  (+ .gz)  GraphiQL's stylesheet (fonts are inlined as data: URLs by GraphiQL itself)
 *   meta.json              every input file esbuild read, so the next run can tell whether it is stale
 *
 * Usage: `node scripts/build-graphiql.mjs [--force] [--quiet]`. Without --force the build is skipped when
 * every output is newer than every input, so `npm start` (and the server's start-up) can call it every
 * time for the price of a few hundred stat() calls.
 *
 * The server imports {@link buildGraphiql} from here at run time (dev only: the production image ships
 * the prebuilt bundle and not this script).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, ROOT, runIfMain } from './bundle.mjs';

/** Outputs the server serves; the build is "present" only when all of them exist. */
export const GRAPHIQL_ASSETS = ['graphiql.js', 'graphiql.css'];

/**
 * Builds the bundle unless it is up to date.
 * @param {{ force?: boolean, outDir?: string, quiet?: boolean }} [options]
 */
export async function buildGraphiql(options = {}) {
  return buildBundle(
    {
      name: 'graphiql',
      entry: path.join(ROOT, 'src/server/graphiql/app.ts'),
      entryName: 'graphiql',
      outDir: options.outDir ?? path.join(ROOT, 'dist/graphiql'),
      assets: GRAPHIQL_ASSETS,
      script: fileURLToPath(import.meta.url),
    },
    options,
  );
}

runIfMain(import.meta.url, 'graphiql', buildGraphiql);
