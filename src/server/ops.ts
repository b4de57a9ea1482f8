import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';

/** Liveness, readiness (each named check must pass within 2 s) and Prometheus metrics on an express app. */
export function mountOps(app: express.Express, deps: { logger: Logger; metrics: Metrics; readiness: Record<string, () => Promise<void>> }): void {
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
  app.get('/metrics', deps.metrics.handler());
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
}): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  mountOps(app, deps);
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => resolve());
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
