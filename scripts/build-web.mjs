#!/usr/bin/env node
/**
 * Builds the dashboard (web/) into dist/web/: app.js and app.css (each with a .gz), React + our pages +
 * lightweight-charts, minified. Prints each file's size and the gzipped total (budget: 500 KB).
 *
 * Usage: `node scripts/build-web.mjs [--force] [--quiet]`; skipped when up to date, like the GraphiQL bundle.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, ROOT, runIfMain } from './bundle.mjs';

export const WEB_ASSETS = ['app.js', 'app.css'];
/** The gzipped size the dashboard must stay under (issue: "the bundle under 500 KB gzipped"). */
export const WEB_BUDGET_GZIP_BYTES = 500 * 1024;

/** @param {{ force?: boolean, outDir?: string, quiet?: boolean }} [options] */
export async function buildWeb(options = {}) {
  const result = await buildBundle(
    {
      name: 'web',
      entry: path.join(ROOT, 'web/src/main.tsx'),
      entryName: 'app',
      outDir: options.outDir ?? path.join(ROOT, 'dist/web'),
      assets: WEB_ASSETS,
      script: fileURLToPath(import.meta.url),
    },
    options,
  );
  if (result.built) {
    const total = result.sizes.reduce((n, s) => n + s.gzipBytes, 0);
    if (!options.quiet) console.log(`web: ${(total / 1024).toFixed(1)} KiB gzipped in all (budget ${WEB_BUDGET_GZIP_BYTES / 1024} KiB)`);
    if (total > WEB_BUDGET_GZIP_BYTES) throw new Error(`dashboard bundle is ${total} bytes gzipped, over the ${WEB_BUDGET_GZIP_BYTES} budget`);
  }
  return result;
}

runIfMain(import.meta.url, 'web', buildWeb);
