import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../lib/package-root.js';

const CACHE_DIR = path.join(PACKAGE_ROOT, 'node_modules/.cache/tradegraph');
const MIGRATIONS = path.join(PACKAGE_ROOT, 'drizzle');

function pgliteVersion(): string {
  const pkgFile = path.join(PACKAGE_ROOT, 'node_modules/@electric-sql/pglite/package.json');
  return JSON.parse(readFileSync(pkgFile, 'utf8')).version as string;
}

let migrationsKeyMemo: string | undefined;
/**
 * A digest of the migrations (their journal and every SQL file): a migrated template is only ever loaded
 * by code whose migrations are exactly the ones that built it.
 */
export function migrationsKey(): string {
  if (migrationsKeyMemo) return migrationsKeyMemo;
  const h = createHash('sha256');
  h.update(readFileSync(path.join(MIGRATIONS, 'meta/_journal.json')));
  for (const f of readdirSync(MIGRATIONS).filter((n) => n.endsWith('.sql')).sort()) {
    h.update(f).update('\0').update(readFileSync(path.join(MIGRATIONS, f))).update('\0');
  }
  return (migrationsKeyMemo = h.digest('hex').slice(0, 16));
}

function plainFile(): string {
  return path.join(CACHE_DIR, `pglite-${pgliteVersion()}.tar`);
}

function migratedFile(): string {
  return path.join(CACHE_DIR, `pglite-${pgliteVersion()}-migrated-${migrationsKey()}.tar`);
}

export interface PgliteTemplate {
  blob: Blob;
  /** The cluster already has this code's migrations applied (`migrate` then finds nothing to do). */
  migrated: boolean;
}

/**
 * The best cluster tarball to start a fresh PGlite from, or null when there is none (then PGlite runs
 * initdb itself, a few seconds slower): the migrated template for this code's migrations when one was
 * saved (`saveMigratedTemplate`), else the initialised, empty cluster that `npm ci` builds
 * (scripts/pglite-template.mjs) for the installed PGlite version. Both are build artifacts in
 * node_modules/.cache, never committed.
 */
export async function pgliteTemplate(): Promise<PgliteTemplate | null> {
  try {
    for (const [file, migrated] of [[migratedFile(), true], [plainFile(), false]] as const) {
      if (existsSync(file)) return { blob: new Blob([await readFile(file)]), migrated };
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * Save a freshly created cluster, just migrated and holding nothing else, as the migrated template, so
 * the next fresh cluster of this code skips the migrations (≈ 1–3 s of WASM each: every in-memory test
 * database, a first `npm start`). Written to a temporary file and renamed, so a concurrent reader sees
 * the whole file or none. Best effort: a failure only means the next start migrates again.
 */
export async function saveMigratedTemplate(dump: () => Promise<Blob>): Promise<void> {
  try {
    const file = migratedFile();
    if (existsSync(file)) return;
    const blob = await dump();
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    renameSync(tmp, file);
    // Templates of earlier migrations are never loaded again (40 MB each).
    for (const old of readdirSync(CACHE_DIR)) {
      if (old.includes('-migrated-') && old.endsWith('.tar') && path.join(CACHE_DIR, old) !== file) rmSync(path.join(CACHE_DIR, old), { force: true });
    }
  } catch {
    // The cache directory may be read-only (an installed package): the start just stays slower.
  }
}

/** A data directory that PGlite has not initialised yet (it would run initdb there). */
export function isFreshDataDir(dir: string): boolean {
  return !existsSync(path.join(dir, 'PG_VERSION'));
}
