import { z } from 'zod';

/** The environment's variables and their defaults, as config.ts parses them (the only reader of the environment). */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Public base URL printed at start (defaults to http://localhost:PORT). */
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().default('./data'),
  REDIS_URL: z.string().url().optional(),
  /** Prefix for Redis keys and queue names, so several deployments (or test runs) can share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('tg'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  /** 32 bytes, base64: seals broker credentials (AES-256-GCM). */
  ENCRYPTION_KEY: z.string().optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).default(60 * 60 * 24 * 30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEED_DEMO: bool.optional(),
  DEMO_EMAIL: z.string().email().default('demo@tradegraph.dev'),
  DEMO_PASSWORD: z.string().min(8).default('demo-password-123'),
  MARKET_SIM: bool.default(true),
  MARKET_SEED: z.coerce.number().int().default(20260105),
  MARKET_TICK_MS: z.coerce.number().int().min(10).default(1000),
  /** Spread the instruments' ticks over each MARKET_TICK_MS (a real feed's phases) instead of all in one instant. */
  MARKET_TICK_SPREAD: bool.default(true),
  /** Write simulated history (daily and one-minute bars) for instruments that have none, on start. */
  MARKET_HISTORY: bool.default(true),
  MARKET_HISTORY_DAILY_DAYS: z.coerce.number().int().min(0).max(3650).default(730),
  MARKET_HISTORY_MINUTE_DAYS: z.coerce.number().int().min(0).max(90).default(30),
  /** Longest backtest range in days, and most bars one backtest may replay. */
  BACKTEST_MAX_DAYS: z.coerce.number().int().min(1).default(3660),
  BACKTEST_MAX_BARS: z.coerce.number().int().min(1000).default(5_000_000),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(64),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  MAX_QUERY_DEPTH: z.coerce.number().int().min(2).default(10),
  // graphql-armor's cost units (objects 2, scalars 1, ×1.5 per level, × first/last, variables included):
  // the largest answer the API promises, 10,000 candles, costs 110,000; two 50-row connections nested, 470,000.
  MAX_QUERY_COST: z.coerce.number().int().min(10).default(120_000),
  MAX_ALIASES: z.coerce.number().int().min(1).default(20),
  MAX_TOKENS: z.coerce.number().int().min(100).default(2000),
  MAX_PAGE_SIZE: z.coerce.number().int().min(1).default(200),
  BODY_LIMIT: z.string().default('100kb'),
  USER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  ORDER_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).default(50),
  MAX_ORDER_NOTIONAL: z.string().regex(/^\d+(\.\d+)?$/).default('100000000'),
  SOCKET_SUBSCRIBES_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).default(50),
  MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().min(1).default(200),
  MAX_STRING_LENGTH: z.coerce.number().int().min(64).default(20_000),
  /** jit: queries and mutations over HTTP run compiled by graphql-jit; graphql-js: by graphql's own execute. */
  GRAPHQL_EXECUTOR: z.enum(['jit', 'graphql-js']).default('jit'),
  /** Introspection and GraphiQL: on by default, off by default when NODE_ENV=production. */
  INTROSPECTION: bool.optional(),
  GRAPHIQL: bool.optional(),
  /** Serve /metrics on this port only (not on the api port). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Require `Authorization: Bearer <METRICS_TOKEN>` on /metrics. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  /** always: the simulated market trades around the clock (embedded default); exchange: only in sessions. */
  MARKET_SESSIONS: z.enum(['always', 'exchange']).default('always'),
  /** JSON file of exchange holidays: {"NSE": ["2026-01-26", ...], "NYSE": [...]} (local dates). */
  MARKET_HOLIDAYS_FILE: z.string().optional(),
  /** Published outbox events older than this are pruned (0 keeps them forever). */
  OUTBOX_RETENTION_HOURS: z.coerce.number().min(0).default(168),
  /** UTC times (HH:MM, comma-separated) after which the daily valuation job runs: NSE closes 10:00 UTC, NYSE 21:00 UTC (20:00 in US summer). */
  ANALYTICS_CLOSE_TIMES_UTC: z
    .string()
    .regex(/^$|^([01]\d|2[0-3]):[0-5]\d(,([01]\d|2[0-3]):[0-5]\d)*$/, 'comma-separated HH:MM times')
    .default('10:05,21:05'),
  /** Annual risk-free rate for Sharpe, Sortino and alpha, as a fraction (0.065 = 6.5 %). */
  ANALYTICS_RISK_FREE_RATE: z.coerce.number().min(-1).max(1).default(0),
  /** Rebalances skip trades worth less than this, per currency ("INR:500,USD:10"). */
  BASKET_MIN_TICKET: z.string().regex(/^([A-Z]{3}:\d+(\.\d+)?)(,[A-Z]{3}:\d+(\.\d+)?)*$/).default('INR:500,USD:10'),
  /** How often the worker sweeps basket runs whose phase has ended (a safety net for missed nudges). */
  BASKET_SWEEP_MS: z.coerce.number().int().min(100).default(2000),
  /** How often the pooled-window job looks for pooled accounts' windows to close. */
  POOLED_TICK_MS: z.coerce.number().int().min(50).default(250),
  /** How often pooled accounts are reconciled with their members (admins notified of differences). */
  POOLED_RECONCILE_MS: z.coerce.number().int().min(100).default(60_000),
  /** Early close: a pooled account's window closes at once when it holds this many member orders (0 = only on time). */
  POOLED_WINDOW_MAX_ORDERS: z.coerce.number().int().min(0).default(0),
  // People: roles, API keys, OIDC, notifications
  ADMIN_EMAIL: z.string().email().optional(),
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_AUDIENCE: z.string().optional(),
  OIDC_AUTO_PROVISION: bool.default(false),
  OIDC_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(1000),
  WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).default(3),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  SMTP_URL: z.string().url().optional(),
  EMAIL_FROM: z.string().default('TradeGraph <no-reply@tradegraph.dev>'),
  /** Old ENCRYPTION_KEYs (comma-separated, base64) still readable until `rotate-key` re-seals under the new one. */
  ENCRYPTION_KEY_PREVIOUS: z.string().optional(),
  /** How often workers poll connected brokers' order and trade books (the safety net for lost pushes). */
  BROKER_POLL_INTERVAL_MS: z.coerce.number().int().min(20).default(5_000),
  /** Groww publishes no limits: a conservative order rate per account. */
  BROKER_GROWW_ORDERS_PER_SECOND: z.coerce.number().int().min(1).max(50).default(5),
  /** Alpaca: allow fractional quantities for instruments whose lot size is below one share. */
  BROKER_ALPACA_FRACTIONAL: bool.default(true),
  /** IBKR: order warnings (reply messages) confirmed for the user: message ids (o163) and /regex/ on the text, comma-separated. Empty: none. */
  BROKER_IBKR_CONFIRM: z.string().default(''),
  /** IBKR: accept the gateway's self-signed TLS certificate (the local Client Portal Gateway has one). */
  BROKER_IBKR_INSECURE_TLS: bool.default(false),
  /** IBKR: POST /tickle interval that keeps the gateway session alive. */
  BROKER_IBKR_TICKLE_MS: z.coerce.number().int().min(50).default(60_000),
  /** IBKR: how long every request stops after a 429 (documented penalty box: 10 minutes). */
  BROKER_IBKR_PENALTY_MS: z.coerce.number().int().min(0).default(600_000),
});
