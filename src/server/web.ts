import path from 'node:path';
import express from 'express';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import { AssetVersions, ensureBundleBuilt, escapeHtml, pageHeaders, serveBundleAssets, type BundleSpec } from './static-bundle.js';

/**
 * The dashboard (web/, built into dist/web by scripts/build-web.mjs), served at `/`: one HTML page with a
 * strict Content-Security-Policy (scripts and styles from this origin only, no inline code, sockets only to
 * this host). Routes are hashes (`/#/portfolio/<id>`), so `/` is the only page. It talks to the public
 * GraphQL API and its subscriptions only.
 */

const ASSETS = ['app.js', 'app.css'] as const;
const ASSETS_PATH = '/app/assets';

const SPEC: BundleSpec = {
  distDir: path.join(PACKAGE_ROOT, 'dist/web'),
  assets: ASSETS,
  buildScript: path.join(PACKAGE_ROOT, 'scripts/build-web.mjs'),
  buildExport: 'buildWeb',
  npmScript: 'build:web',
};

export interface WebOptions {
  /** Prefill the sign-in form with the demo login (the embedded mode with its demo user). */
  demo?: { email: string; password: string };
}

export function webMiddleware(opts: WebOptions = {}): express.Router {
  const versions = new AssetVersions(SPEC.distDir, ASSETS);
  const router = express.Router();
  router.get(['/', '/index.html'], async (req, res) => {
    try {
      await ensureBundleBuilt(SPEC);
      const v = encodeURIComponent(await versions.current());
      res.status(200).set(pageHeaders(req, { inlineStyles: false })).send(renderPage(v, opts));
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .set('Cache-Control', 'no-store')
        .send(`The dashboard is unavailable: ${err instanceof Error ? err.message : String(err)}\nThe API is at /graphql.\n`);
    }
  });
  serveBundleAssets(router, { assetsPath: ASSETS_PATH, distDir: SPEC.distDir, assets: ASSETS, versions });
  return router;
}

/** Builds the dashboard bundle at start-up when a checkout has a stale or missing one. */
export async function ensureWebBuilt(): Promise<void> {
  await ensureBundleBuilt(SPEC);
}

function renderPage(v: string, opts: WebOptions): string {
  const demo = opts.demo ? ` data-demo-email="${escapeHtml(opts.demo.email)}" data-demo-password="${escapeHtml(opts.demo.password)}"` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TradeGraph</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/app.css?v=${v}">
</head>
<body${demo}>
<div id="root"><noscript>The dashboard needs JavaScript. The API answers GraphQL at /graphql.</noscript></div>
<script src="${ASSETS_PATH}/app.js?v=${v}" defer></script>
</body>
</html>
`;
}
