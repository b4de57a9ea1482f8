// Builds the PGlite template: an initialised, empty Postgres data directory dumped to a tarball, so a
// first `npm start` (and every in-memory test database) loads it in well under a second instead of
// running initdb in WASM for several seconds. It is a build artifact of the installed PGlite version,
// kept in node_modules/.cache, never committed. Plain JS: it runs from `postinstall`.
import { mkdirSync, renameSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the template for the installed PGlite version lives (the same rule as src/db/pglite-template.ts). */
export function templateFile() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'));
  return path.join(root, 'node_modules/.cache/tradegraph', `pglite-${pkg.version}.tar`);
}

export async function buildPgliteTemplate({ force = false } = {}) {
  const file = templateFile();
  if (!force && existsSync(file)) return { file, built: false };
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  await db.waitReady;
  const blob = await db.dumpDataDir('none');
  await db.close();
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
  renameSync(tmp, file);
  return { file, built: true };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t = performance.now();
  const r = await buildPgliteTemplate({ force: process.argv.includes('--force') });
  console.log(`pglite template ${r.built ? 'built' : 'up to date'}: ${path.relative(root, r.file)} (${Math.round(performance.now() - t)} ms)`);
}
