import path from 'node:path';
import express, { type Request } from 'express';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import { AssetVersions, ensureBundleBuilt, escapeHtml, pageHeaders, serveBundleAssets, type BundleSpec } from './static-bundle.js';

/**
 * GraphiQL served from our own bundle (dist/graphiql/, built by scripts/build-graphiql.mjs): the page works
 * with no internet and runs subscriptions over graphql-ws on the GraphQL endpoint itself. The missing-bundle
 * policy is {@link ensureBundleBuilt}'s.
 */

const ASSETS = ['graphiql.js', 'graphiql.css'] as const;
const DEFAULT_DIST_DIR = path.join(PACKAGE_ROOT, 'dist/graphiql');

function bundleSpec(distDir: string): BundleSpec {
  return {
    distDir,
    assets: ASSETS,
    // Only the default folder is (re)built; a custom one is only checked.
    buildScript: distDir === DEFAULT_DIST_DIR ? path.join(PACKAGE_ROOT, 'scripts/build-graphiql.mjs') : path.join(distDir, '.no-build-script'),
    buildExport: 'buildGraphiql',
    npmScript: 'build:graphiql',
  };
}

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
 * - `GET <endpoint>/assets/graphiql.js|graphiql.css`: the bundle.
 * - Everything else falls through to the next handler (Apollo).
 */
export function graphiqlMiddleware(opts: GraphiqlOptions): express.Router {
  const endpoint = opts.endpoint.replace(/\/+$/, '') || '/';
  const assetsPath = `${endpoint === '/' ? '' : endpoint}/assets`;
  const spec = bundleSpec(opts.distDir ?? DEFAULT_DIST_DIR);
  const title = opts.title ?? 'TradeGraph · GraphiQL';
  const versions = new AssetVersions(spec.distDir, ASSETS);
  const router = express.Router();

  router.get(endpoint, async (req, res, next) => {
    if (!wantsGraphiql(req)) return next();
    try {
      await ensureBundleBuilt(spec);
      const v = await versions.current();
      // Styles allow 'unsafe-inline' because GraphiQL's dialogs inject <style> elements at run time.
      res.status(200).set(pageHeaders(req, { inlineStyles: true })).send(renderPage({ endpoint, assetsPath, title, version: v }));
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .set('Cache-Control', 'no-store')
        .send(`GraphiQL is unavailable: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  serveBundleAssets(router, { assetsPath, distDir: spec.distDir, assets: ASSETS, versions });
  return router;
}

/**
 * Makes sure the GraphiQL bundle exists and, in a checkout, is up to date with its sources. Call it at
 * start-up; the caller should log a failure and carry on, since only the GraphiQL page depends on it.
 */
export async function ensureGraphiqlBuilt(opts: { distDir?: string } = {}): Promise<void> {
  await ensureBundleBuilt(bundleSpec(opts.distDir ?? DEFAULT_DIST_DIR));
}

/** True for a browser navigating to the endpoint, false for a GraphQL-over-HTTP GET or a non-HTML client. */
function wantsGraphiql(req: Request): boolean {
  if (req.query.query !== undefined || req.query.extensions !== undefined) return false;
  // The first type wins ties (`*/*`, no Accept header), so only a client that prefers HTML gets the page.
  return req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) === 'text/html';
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
