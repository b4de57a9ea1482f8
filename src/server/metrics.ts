import client from 'prom-client';
import type { RequestHandler } from 'express';
import type { OrderEventName, OrderMetrics } from '../services/orders/order-metrics.js';

/** How often the event loop's delay is sampled for `nodejs_eventloop_lag_*`. */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** One registry per process: process figures, HTTP, GraphQL and job-queue metrics. */
export class Metrics implements OrderMetrics {
  readonly registry = new client.Registry();
  readonly httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  readonly graphqlOperations: client.Counter<'type' | 'outcome'>;
  readonly wsConnections: client.Gauge;
  readonly jobs: client.Counter<'name' | 'outcome'>;
  readonly jobDuration: client.Histogram<'name'>;
  readonly orders: client.Counter<'event'>;
  /** SQL statements this process sent to Postgres (postgres.js; PGlite is not counted). */
  readonly dbStatements: client.Counter;

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    // The event loop's delay is sampled every 100 ms (prom-client's default is 10 ms: a timer wake-up of
    // its own 100 times a second, about 12 ms of CPU a second per process on the 2-core machine).
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.httpDuration = new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.graphqlOperations = new client.Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [this.registry],
    });
    this.wsConnections = new client.Gauge({ name: 'graphql_ws_connections', help: 'Open graphql-ws sockets', registers: [this.registry] });
    this.jobs = new client.Counter({ name: 'jobs_processed_total', help: 'Jobs processed by name and outcome', labelNames: ['name', 'outcome'], registers: [this.registry] });
    this.jobDuration = new client.Histogram({
      name: 'job_duration_seconds',
      help: 'Job handler duration',
      labelNames: ['name'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [this.registry],
    });
    this.orders = new client.Counter({ name: 'orders_total', help: 'Order lifecycle events', labelNames: ['event'], registers: [this.registry] });
    this.dbStatements = new client.Counter({ name: 'db_statements_total', help: 'SQL statements sent to Postgres', registers: [this.registry] });
  }

  /** The order loop's port: one `orders_total{event}` count. */
  orderEvent(event: OrderEventName, count = 1): void {
    this.orders.inc({ event }, count);
  }

  /** Gauges read on each scrape (e.g. queue depth). */
  gaugeOnScrape(name: string, help: string, labelNames: string[], collect: (set: (labels: Record<string, string>, v: number) => void) => Promise<void>): void {
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        await collect((labels, v) => this.set(labels, v));
      },
    });
  }

  httpMiddleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.httpDuration.startTimer();
      res.on('finish', () => {
        const route = req.route?.path ?? (req.path.startsWith('/graphql') ? '/graphql' : req.path);
        end({ method: req.method, route: typeof route === 'string' ? route : 'unknown', status: String(res.statusCode) });
      });
      next();
    };
  }

  handler(): RequestHandler {
    return async (_req, res) => {
      res.setHeader('Content-Type', this.registry.contentType);
      res.send(await this.registry.metrics());
    };
  }
}
