import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';

/** Liveness, readiness (each named check must pass within 2 s) and Prometheus metrics on an express app. */
export function mountOps(
  app: express.Express,
  deps: { logger: Logger; metrics: Metrics; readiness: Record<string, () => Promise<void>>; metricsAccess?: MetricsAccess },
): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          checks[name] = 'ok';
        } catch (err) {
          ok = false;
          checks[name] = 'down';
          deps.logger.warn({ err, check: name }, 'readiness check failed');
        }
      }),
    );
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
  });
  if (deps.metricsAccess?.elsewhere) return;
  mountMetrics(app, deps.metrics, deps.metricsAccess?.token);
}

/** Where /metrics is served: `elsewhere` when it has a port of its own; `token` to require a bearer token. */
export interface MetricsAccess {
  elsewhere?: boolean;
  token?: string;
}

/** GET /metrics, optionally only with `Authorization: Bearer <token>` (compared in constant time). */
export function mountMetrics(app: express.Express, metrics: Metrics, token?: string): void {
  const expected = token ? createHash('sha256').update(token).digest() : null;
  app.get(
    '/metrics',
    (req, res, next) => {
      if (!expected) return next();
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const given = createHash('sha256').update(m?.[1] ?? '').digest();
      if (m && timingSafeEqual(given, expected)) return next();
      res.status(401).setHeader('www-authenticate', 'Bearer').json({ error: 'metrics token required' });
    },
    metrics.handler(),
  );
}

/** A server with only /metrics (METRICS_PORT), so the public port never shows it. */
export async function startMetricsServer(deps: { host: string; port: number; metrics: Metrics; token?: string }) {
  const app = express();
  app.disable('x-powered-by');
  mountMetrics(app, deps.metrics, deps.token);
  return listen(app, deps.host, deps.port);
}

/**
 * The worker role's own small server: the same /healthz, /readyz and /metrics as the api, so an
 * orchestrator can probe workers and Prometheus can scrape their job figures.
 */
export async function startOpsServer(deps: {
  host: string;
  port: number;
  logger: Logger;
  metrics: Metrics;
  readiness: Record<string, () => Promise<void>>;
  metricsAccess?: MetricsAccess;
}): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  mountOps(app, deps);
  return listen(app, deps.host, deps.port);
}

async function listen(app: express.Express, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}
