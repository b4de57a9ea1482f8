import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type express from 'express';
import type { Request } from 'express';

/**
 * What the GraphiQL page and the dashboard share: a browser bundle built by a script under scripts/ into
 * dist/<name>/, served with content-hash versions, gzip and a strict Content-Security-Policy.
 *
 * Missing bundle policy: in a checkout (where the build script and the dev dependencies exist) the bundle is
 * built on demand, at start-up and again on the first page request if it has gone missing since. Where it
 * cannot be built (the production image ships only the prebuilt bundle), the page answers 500 with a message
 * naming the npm script to run; the API itself is unaffected.
 */

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;
const CONTENT_TYPES = { js: 'js', css: 'css' } as const;

/** One browser bundle: where it is, what it holds, and how it is (re)built. */
export interface BundleSpec {
  /** Folder of the built files, e.g. dist/web under the package root. */
  distDir: string;
  /** The files a page links, e.g. ['app.js', 'app.css']; the bundle is present only when all exist. */
  assets: readonly string[];
  /** The build script (scripts/build-*.mjs), used only when it exists (a checkout). */
  buildScript: string;
  /** Name of the build function the script exports. */
  buildExport: string;
  /** The npm script an operator runs when the bundle is missing. */
  npmScript: string;
}

/** Content hash of a bundle, recomputed only when a file's mtime or size changes (a rebuild). */
export class AssetVersions {
  private cached: { stamp: string; version: string } | undefined;

  constructor(
    private readonly distDir: string,
    private readonly assets: readonly string[],
  ) {}

  async current(): Promise<string> {
    const files = this.assets.map((name) => path.join(this.distDir, name));
    const stats = await Promise.all(files.map((f) => stat(f)));
    const stamp = stats.map((s) => `${s.mtimeMs}:${s.size}`).join('|');
    if (this.cached?.stamp === stamp) return this.cached.version;
    const hash = createHash('sha256');
    for (const f of files) hash.update(await readFile(f));
    const version = hash.digest('hex').slice(0, 16);
    this.cached = { stamp, version };
    return version;
  }
}

/**
 * Serves `GET <assetsPath>/<asset>` for every asset of the bundle: gzip-encoded when accepted; immutable
 * caching when requested with the content hash the page links (`?v=`), revalidation otherwise. A missing
 * file falls through to the next handler (a 404).
 */
export function serveBundleAssets(router: express.Router, p: { assetsPath: string; distDir: string; assets: readonly string[]; versions: AssetVersions }): void {
  for (const name of p.assets) {
    const ext = name.slice(name.lastIndexOf('.') + 1) as keyof typeof CONTENT_TYPES;
    router.get(`${p.assetsPath}/${name}`, async (req, res, next) => {
      try {
        const v = await p.versions.current();
        const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip' && existsSync(path.join(p.distDir, `${name}.gz`));
        res.type(CONTENT_TYPES[ext] ?? 'application/octet-stream');
        res.set({
          Vary: 'Accept-Encoding',
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': req.query.v === v ? `public, max-age=${ONE_YEAR_SECONDS}, immutable` : 'no-cache',
        });
        if (gzip) res.set('Content-Encoding', 'gzip');
        res.sendFile(path.join(p.distDir, gzip ? `${name}.gz` : name), { cacheControl: false, acceptRanges: false }, (err) => {
          if (err && !res.headersSent) {
            res.removeHeader('Content-Encoding');
            res.removeHeader('Cache-Control');
            next();
          }
        });
      } catch {
        next();
      }
    });
  }
}

const building = new Map<string, Promise<void>>();

/**
 * Makes sure a bundle exists and, in a checkout, is up to date with its sources. Cheap when fresh (a few
 * hundred stat() calls). Concurrent calls share one build.
 *
 * @throws Error naming the npm script when the bundle is missing and cannot be built here
 */
export async function ensureBundleBuilt(spec: BundleSpec): Promise<void> {
  if (!existsSync(spec.buildScript)) {
    if (await bundlePresent(spec)) return;
    throw new Error(`the bundle is missing from ${spec.distDir}; run \`npm run ${spec.npmScript}\``);
  }
  let run = building.get(spec.buildScript);
  if (!run) {
    run = runBuildScript(spec).finally(() => building.delete(spec.buildScript));
    building.set(spec.buildScript, run);
  }
  try {
    await run;
  } catch (err) {
    // A checkout without dev dependencies (npm ci --omit=dev) cannot build, but may still have a bundle.
    if (await bundlePresent(spec)) return;
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`the bundle is missing and building it failed (${reason}); run \`npm run ${spec.npmScript}\``);
  }
}

async function runBuildScript(spec: BundleSpec): Promise<void> {
  // A computed specifier keeps tsc (rootDir src) from pulling scripts/ into the server build.
  const mod: unknown = await import(pathToFileURL(spec.buildScript).href);
  const build = (mod as Record<string, unknown>)[spec.buildExport];
  if (typeof build !== 'function') throw new Error(`${spec.buildScript} does not export ${spec.buildExport}()`);
  await (build as (o: { quiet: boolean }) => Promise<unknown>)({ quiet: true });
}

async function bundlePresent(spec: BundleSpec): Promise<boolean> {
  const found = await Promise.all(spec.assets.map((name) => stat(path.join(spec.distDir, name)).then(() => true, () => false)));
  return found.every(Boolean);
}

/**
 * Only this origin: scripts and styles from our bundle, fetches and the graphql-ws socket to this host.
 * `inlineStyles` allows `<style>` elements injected at run time (GraphiQL's dialogs need it); scripts stay
 * strict ('self', no inline, no eval).
 */
export function contentSecurityPolicy(req: Request, opts: { inlineStyles: boolean }): string {
  const host = (req.get('host') ?? '').replace(/[^A-Za-z0-9.:[\]-]/g, '');
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    opts.inlineStyles ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers of an HTML page that loads a bundle. */
export function pageHeaders(req: Request, opts: { inlineStyles: boolean }): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': contentSecurityPolicy(req, opts),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    Vary: 'Accept',
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

