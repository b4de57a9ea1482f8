import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express, { type Request } from 'express';

/**
 * GraphiQL served from our own bundle (dist/graphiql/, built by scripts/build-graphiql.mjs): the page works
 * with no internet and runs subscriptions over graphql-ws on the GraphQL endpoint itself.
 *
 * Missing bundle policy: in a checkout (where scripts/build-graphiql.mjs and the dev dependencies exist)
 * the bundle is built on demand, at start-up by {@link ensureGraphiqlBuilt} and again on the first page
 * request if it has gone missing since; that takes about a second and spares developers a manual step.
 * Where it cannot be built (the production image ships only the prebuilt bundle), the page answers 500
 * with a message telling the operator to run `npm run build:graphiql`; the API itself is unaffected.
 */

const ASSETS = { 'graphiql.js': 'js', 'graphiql.css': 'css' } as const;
type AssetName = keyof typeof ASSETS;
const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/** The package root: the nearest folder above this module holding package.json (the checkout, or /app). */
const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
const DEFAULT_DIST_DIR = path.join(PACKAGE_ROOT, 'dist/graphiql');
const BUILD_SCRIPT = path.join(PACKAGE_ROOT, 'scripts/build-graphiql.mjs');

/** Options of {@link graphiqlMiddleware}. */
export interface GraphiqlOptions {
  /** The GraphQL endpoint path, e.g. `/graphql`; assets are served under `<endpoint>/assets/`. */
  endpoint: string;
  /** Where the bundle lives; defaults to `dist/graphiql` under the package root. */
  distDir?: string;
  /** Page title. */
  title?: string;
}

/**
 * Express router serving GraphiQL. Mount it before Apollo with `app.use(graphiqlMiddleware({ endpoint }))`
 * (not `app.get(endpoint, …)`: it also serves `<endpoint>/assets/*`).
 *
 * - `GET <endpoint>` whose `Accept` prefers `text/html` (a browser) and that has no `query` or `extensions`
 *   parameter: the page, with a strict Content-Security-Policy (only this origin and its WebSocket).
 * - `GET <endpoint>/assets/graphiql.js|graphiql.css`: the bundle, gzip-encoded when accepted; immutable
 *   caching when requested with the content hash the page links (`?v=`), revalidation otherwise.
 * - Everything else falls through to the next handler (Apollo).
 *
 * @param opts - endpoint path and optional bundle folder
 */
export function graphiqlMiddleware(opts: GraphiqlOptions): express.Router {
  const endpoint = opts.endpoint.replace(/\/+$/, '') || '/';
  const assetsPath = `${endpoint === '/' ? '' : endpoint}/assets`;
  const distDir = opts.distDir ?? DEFAULT_DIST_DIR;
  const title = opts.title ?? 'TradeGraph · GraphiQL';
  const versions = new AssetVersions(distDir);
  const router = express.Router();

  router.get(endpoint, async (req, res, next) => {
    if (!wantsGraphiql(req)) return next();
    try {
      await ensureGraphiqlBuilt({ distDir });
      const v = await versions.current();
      res
        .status(200)
        .set({
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-cache',
          'Content-Security-Policy': contentSecurityPolicy(req),
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          Vary: 'Accept',
        })
        .send(renderPage({ endpoint, assetsPath, title, version: v }));
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .set('Cache-Control', 'no-store')
        .send(`GraphiQL is unavailable: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });

  for (const name of Object.keys(ASSETS) as AssetName[]) {
    router.get(`${assetsPath}/${name}`, async (req, res, next) => {
      try {
        const v = await versions.current();
        const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip' && existsSync(path.join(distDir, `${name}.gz`));
        res.type(ASSETS[name]);
        res.set({
          Vary: 'Accept-Encoding',
          'X-Content-Type-Options': 'nosniff',
          // The page links `?v=<content hash>`, so such a URL never changes content; anything else revalidates.
          'Cache-Control': req.query.v === v ? `public, max-age=${ONE_YEAR_SECONDS}, immutable` : 'no-cache',
        });
        if (gzip) res.set('Content-Encoding', 'gzip');
        res.sendFile(path.join(distDir, gzip ? `${name}.gz` : name), { cacheControl: false, acceptRanges: false }, (err) => {
          if (err && !res.headersSent) {
            res.removeHeader('Content-Encoding');
            res.removeHeader('Cache-Control');
            next();
          }
        });
      } catch {
        // No bundle: a 404 from whatever comes next; the page itself explains what to do.
        next();
      }
    });
  }
  return router;
}

/** Options of {@link ensureGraphiqlBuilt}. */
export interface EnsureGraphiqlOptions {
  /** Bundle folder; only the default one is (re)built, a custom one is only checked. */
  distDir?: string;
}

let building: Promise<void> | undefined;

/**
 * Makes sure the GraphiQL bundle exists and, in a checkout, is up to date with its sources. Call it at
 * start-up (it is cheap when the bundle is fresh: a few hundred stat() calls). Concurrent calls share one
 * build.
 *
 * @throws Error naming `npm run build:graphiql` when the bundle is missing and cannot be built here; the
 *   caller should log it and carry on, since only the GraphiQL page depends on it
 */
export async function ensureGraphiqlBuilt(opts: EnsureGraphiqlOptions = {}): Promise<void> {
  const distDir = opts.distDir ?? DEFAULT_DIST_DIR;
  const canBuild = distDir === DEFAULT_DIST_DIR && existsSync(BUILD_SCRIPT);
  if (!canBuild) {
    if (await bundlePresent(distDir)) return;
    throw new Error(`the GraphiQL bundle is missing from ${distDir}; run \`npm run build:graphiql\``);
  }
  building ??= runBuildScript().finally(() => {
    building = undefined;
  });
  try {
    await building;
  } catch (err) {
    // A checkout without dev dependencies (npm ci --omit=dev) cannot build, but may still have a bundle.
    if (await bundlePresent(distDir)) return;
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`the GraphiQL bundle is missing and building it failed (${reason}); run \`npm run build:graphiql\``);
  }
}

/** The build script's exported entry, loaded by path: it is not part of the compiled server. */
type BuildGraphiql = (options: { quiet?: boolean }) => Promise<unknown>;

async function runBuildScript(): Promise<void> {
  // A computed specifier keeps tsc (rootDir src) from pulling scripts/ into the server build.
  const mod: unknown = await import(pathToFileURL(BUILD_SCRIPT).href);
  const build = (mod as { buildGraphiql?: unknown }).buildGraphiql;
  if (typeof build !== 'function') throw new Error(`${BUILD_SCRIPT} does not export buildGraphiql()`);
  await (build as BuildGraphiql)({ quiet: true });
}

async function bundlePresent(distDir: string): Promise<boolean> {
  const found = await Promise.all(Object.keys(ASSETS).map((name) => stat(path.join(distDir, name)).then(() => true, () => false)));
  return found.every(Boolean);
}

/** True for a browser navigating to the endpoint, false for a GraphQL-over-HTTP GET or a non-HTML client. */
function wantsGraphiql(req: Request): boolean {
  if (req.query.query !== undefined || req.query.extensions !== undefined) return false;
  // The first type wins ties (`*/*`, no Accept header), so only a client that prefers HTML gets the page.
  return req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) === 'text/html';
}

/**
 * Only this origin: scripts and styles from our bundle, fetches and the graphql-ws socket to this host.
 * Styles allow 'unsafe-inline' because GraphiQL's dialogs inject <style> elements at run time; scripts
 * stay strict ('self', no inline, no eval).
 */
function contentSecurityPolicy(req: Request): string {
  const host = (req.get('host') ?? '').replace(/[^A-Za-z0-9.:[\]-]/g, '');
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function renderPage(p: { endpoint: string; assetsPath: string; title: string; version: string }): string {
  const v = encodeURIComponent(p.version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(p.assetsPath)}/graphiql.css?v=${v}">
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql" data-endpoint="${escapeHtml(p.endpoint)}"><noscript>GraphiQL needs JavaScript. The API answers GraphQL over HTTP POST at ${escapeHtml(p.endpoint)}.</noscript></div>
<script src="${escapeHtml(p.assetsPath)}/graphiql.js?v=${v}" defer></script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Content hash of the bundle, recomputed only when a file's mtime or size changes (a rebuild). */
class AssetVersions {
  private cached: { stamp: string; version: string } | undefined;

  constructor(private readonly distDir: string) {}

  async current(): Promise<string> {
    const files = Object.keys(ASSETS).map((name) => path.join(this.distDir, name));
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

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
