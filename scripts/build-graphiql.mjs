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
 * time for the price of a few hundred stat() calls. No network: esbuild bundles from node_modules.
 *
 * The server imports {@link buildGraphiql} from here at run time (dev only: the production image ships
 * the prebuilt bundle and not this script).
 */
import { build } from 'esbuild';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'src/server/graphiql/app.ts');
const DEFAULT_OUT_DIR = path.join(ROOT, 'dist/graphiql');
/** Outputs the server serves; the build is "present" only when all of them exist. */
export const GRAPHIQL_ASSETS = ['graphiql.js', 'graphiql.css'];
const META_FILE = 'meta.json';

/**
 * Builds the bundle unless it is up to date.
 *
 * @param {{ force?: boolean, outDir?: string, quiet?: boolean }} [options]
 * @returns {Promise<{ built: boolean, outDir: string, ms: number }>} whether a build ran, and how long it took
 */
export async function buildGraphiql(options = {}) {
  const started = performance.now();
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  if (!options.force && (await isFresh(outDir))) {
    return { built: false, outDir, ms: performance.now() - started };
  }

  const result = await build({
    entryPoints: { graphiql: ENTRY },
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    // React and GraphiQL pick their production code paths (and drop dev warnings) on this define.
    define: { 'process.env.NODE_ENV': '"production"' },
    // The only CSS imported is GraphiQL's; its fonts and icons are already data: URLs.
    loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl', '.png': 'dataurl' },
    legalComments: 'none',
    metafile: true,
    write: false,
    outdir: outDir,
    logLevel: options.quiet ? 'error' : 'warning',
  });

  await mkdir(outDir, { recursive: true });
  // Write each file under a temporary name and rename it into place: several processes (parallel test
  // workers, a server building on first request) may build at once, and a reader must never see half a file.
  const suffix = `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  for (const file of result.outputFiles) {
    await writeAtomically(file.path, file.contents, suffix);
    await writeAtomically(`${file.path}.gz`, gzipSync(file.contents, { level: 9 }), suffix);
  }
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(ROOT, p));
  inputs.push(fileURLToPath(import.meta.url));
  // meta.json is written last: its presence says the outputs beside it are complete.
  await writeAtomically(path.join(outDir, META_FILE), JSON.stringify({ inputs }), suffix);

  const ms = performance.now() - started;
  if (!options.quiet) {
    const sizes = result.outputFiles.map((f) => `${path.basename(f.path)} ${(f.contents.length / 1024).toFixed(0)} KiB`);
    console.log(`graphiql: built ${sizes.join(', ')} into ${path.relative(ROOT, outDir) || outDir} in ${ms.toFixed(0)} ms`);
  }
  return { built: true, outDir, ms };
}

/** True when every output exists and is newer than every input recorded by the previous build. */
async function isFresh(outDir) {
  let inputs;
  try {
    inputs = JSON.parse(await readFile(path.join(outDir, META_FILE), 'utf8')).inputs;
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  const outputTimes = await Promise.all(
    GRAPHIQL_ASSETS.map((name) => mtime(path.join(outDir, name))),
  );
  if (outputTimes.some((t) => t === undefined)) return false;
  const oldestOutput = Math.min(...outputTimes);
  // A new file next to the entry (not yet in the recorded inputs) must trigger a build too, so the
  // entry's folder itself counts as an input: adding or renaming a file there bumps its mtime.
  const candidates = [...inputs, path.dirname(ENTRY)];
  const inputTimes = await Promise.all(candidates.map((p) => mtime(p)));
  // A vanished input (a dependency upgraded or removed) also means the bundle must be rebuilt.
  if (!inputTimes.every((t) => t !== undefined && t <= oldestOutput)) return false;
  // npm extracts packages with a fixed 1985 mtime, so an upgraded dependency looks old; npm rewrites
  // node_modules/.package-lock.json on every install, which is the signal that dependencies changed.
  const installed = await mtime(path.join(ROOT, 'node_modules/.package-lock.json'));
  return installed === undefined || installed <= oldestOutput;
}

async function mtime(file) {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function writeAtomically(file, contents, suffix) {
  const tmp = `${file}${suffix}`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

// Run as a script (not when imported by the server).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = new Set(process.argv.slice(2));
  buildGraphiql({ force: args.has('--force'), quiet: args.has('--quiet') }).then(
    ({ built, ms }) => {
      if (!built && !args.has('--quiet')) console.log(`graphiql: bundle up to date (checked in ${ms.toFixed(0)} ms)`);
    },
    (err) => {
      console.error('graphiql: build failed:', err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
