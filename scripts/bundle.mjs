/**
 * Builds a browser bundle with esbuild, only when it is stale: shared by the GraphiQL page
 * (scripts/build-graphiql.mjs) and the dashboard (scripts/build-web.mjs).
 *
 * Writes each output (and a .gz beside it) under a temporary name and renames it into place, since several
 * processes (parallel test workers, a server building on first request) may build at once; meta.json, written
 * last, lists every input esbuild read so the next call can tell whether anything changed. No network:
 * esbuild bundles from node_modules.
 */
import { build } from 'esbuild';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const META_FILE = 'meta.json';

/**
 * @typedef {object} BundleSpec
 * @property {string} name        label in log lines
 * @property {string} entry       entry file (absolute)
 * @property {string} entryName   output base name: `<entryName>.js` (and `.css` when the entry imports CSS)
 * @property {string} outDir      output folder (absolute)
 * @property {string[]} assets    output file names that must all exist for the bundle to count as present
 * @property {string} script      the calling build script (absolute): a change to it rebuilds
 * @property {Record<string, string>} [loader] extra esbuild loaders
 * @property {Record<string, string>} [alias] esbuild aliases
 */

/**
 * @param {BundleSpec} spec
 * @param {{ force?: boolean, quiet?: boolean }} [options]
 * @returns {Promise<{ built: boolean, outDir: string, ms: number, sizes: { file: string, bytes: number, gzipBytes: number }[] }>}
 */
export async function buildBundle(spec, options = {}) {
  const started = performance.now();
  if (!options.force && (await isFresh(spec))) {
    return { built: false, outDir: spec.outDir, ms: performance.now() - started, sizes: [] };
  }
  const result = await build({
    entryPoints: { [spec.entryName]: spec.entry },
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    // React picks its production code paths (and drops dev warnings) on this define.
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl', '.png': 'dataurl', ...spec.loader },
    alias: spec.alias,
    legalComments: 'none',
    metafile: true,
    write: false,
    outdir: spec.outDir,
    logLevel: options.quiet ? 'error' : 'warning',
  });

  await mkdir(spec.outDir, { recursive: true });
  const suffix = `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const sizes = [];
  for (const file of result.outputFiles) {
    const gz = gzipSync(file.contents, { level: 9 });
    await writeAtomically(file.path, file.contents, suffix);
    await writeAtomically(`${file.path}.gz`, gz, suffix);
    sizes.push({ file: path.basename(file.path), bytes: file.contents.length, gzipBytes: gz.length });
  }
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(ROOT, p));
  inputs.push(fileURLToPath(import.meta.url), spec.script);
  // meta.json is written last: its presence says the outputs beside it are complete.
  await writeAtomically(path.join(spec.outDir, META_FILE), JSON.stringify({ inputs, sizes }), suffix);

  const ms = performance.now() - started;
  if (!options.quiet) {
    const list = sizes.map((s) => `${s.file} ${(s.bytes / 1024).toFixed(0)} KiB (${(s.gzipBytes / 1024).toFixed(0)} KiB gzipped)`);
    console.log(`${spec.name}: built ${list.join(', ')} into ${path.relative(ROOT, spec.outDir) || spec.outDir} in ${ms.toFixed(0)} ms`);
  }
  return { built: true, outDir: spec.outDir, ms, sizes };
}

/** True when every output exists and is newer than every input recorded by the previous build. */
async function isFresh(spec) {
  let inputs;
  try {
    inputs = JSON.parse(await readFile(path.join(spec.outDir, META_FILE), 'utf8')).inputs;
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  const outputTimes = await Promise.all(spec.assets.map((name) => mtime(path.join(spec.outDir, name))));
  if (outputTimes.some((t) => t === undefined)) return false;
  const oldestOutput = Math.min(...outputTimes);
  // A new file next to the entry (not yet in the recorded inputs) must trigger a build too, so the
  // entry's folder itself counts as an input: adding or renaming a file there bumps its mtime.
  const candidates = [...inputs, path.dirname(spec.entry)];
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

/**
 * Runs `build` when the importing module is the process's entry script (`node scripts/build-x.mjs`),
 * honouring `--force` and `--quiet`.
 * @param {string} moduleUrl the caller's import.meta.url
 * @param {string} name label
 * @param {(options: { force?: boolean, quiet?: boolean }) => Promise<{ built: boolean, ms: number }>} run
 */
export function runIfMain(moduleUrl, name, run) {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const args = new Set(process.argv.slice(2));
  run({ force: args.has('--force'), quiet: args.has('--quiet') }).then(
    ({ built, ms }) => {
      if (!built && !args.has('--quiet')) console.log(`${name}: bundle up to date (checked in ${ms.toFixed(0)} ms)`);
    },
    (err) => {
      console.error(`${name}: build failed:`, err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
