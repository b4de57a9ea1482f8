import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The initialised-cluster tarball that `npm ci` builds (scripts/pglite-template.mjs) for the installed
 * PGlite version, or null when there is none (then PGlite runs initdb itself, a few seconds slower).
 */
export async function pgliteTemplate(): Promise<Blob | null> {
  try {
    const pkgFile = path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json');
    const version = JSON.parse(readFileSync(pkgFile, 'utf8')).version as string;
    const file = path.join(ROOT, 'node_modules/.cache/tradegraph', `pglite-${version}.tar`);
    if (!existsSync(file)) return null;
    return new Blob([await readFile(file)]);
  } catch {
    return null;
  }
}

/** A data directory that PGlite has not initialised yet (it would run initdb there). */
export function isFreshDataDir(dir: string): boolean {
  return !existsSync(path.join(dir, 'PG_VERSION'));
}
