import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The only reader of the environment. Parsed once at start into a typed object; a bad value fails fast
 * with a message naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const EnvSchema = z.object({
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
  MAX_QUERY_COST: z.coerce.number().int().min(10).default(5000),
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

/** Production endpoints of each real broker; BROKER_<NAME>_BASE_URL / _LOGIN_URL / _WS_URL override them. */
const BROKER_DEFAULTS: Record<string, { baseUrl: string; loginUrl?: string; wsUrl?: string; orderUrl?: string; dataUrl?: string; product: string }> = {
  zerodha: { baseUrl: 'https://api.kite.trade', loginUrl: 'https://kite.zerodha.com/connect/login', wsUrl: 'wss://ws.kite.trade', product: 'CNC' },
  // Upstox's wsUrl only switches the portfolio stream on: each connect asks /v2/feed/portfolio-stream-feed/authorize for its URI.
  upstox: { baseUrl: 'https://api.upstox.com', loginUrl: 'https://api.upstox.com/v2/login/authorization/dialog', wsUrl: 'wss://api.upstox.com/v2/feed/portfolio-stream-feed', orderUrl: 'https://api-hft.upstox.com', product: 'D' },
  fyers: { baseUrl: 'https://api-t1.fyers.in', loginUrl: 'https://api-t1.fyers.in/api/v3/generate-authcode', wsUrl: 'wss://socket.fyers.in/trade/v3', product: 'CNC' },
  angelone: { baseUrl: 'https://apiconnect.angelone.in', wsUrl: 'wss://tns.angelone.in/smart-order-update', product: 'DELIVERY' },
  groww: { baseUrl: 'https://api.groww.in', product: 'CNC' },
  // Live hosts; paper keys need BROKER_ALPACA_BASE_URL=https://paper-api.alpaca.markets and _WS_URL=wss://paper-api.alpaca.markets/stream.
  alpaca: { baseUrl: 'https://api.alpaca.markets', wsUrl: 'wss://api.alpaca.markets/stream', dataUrl: 'https://data.alpaca.markets', product: 'simple' },
  // API v3 (sim accounts: BROKER_TRADESTATION_BASE_URL=https://sim-api.tradestation.com/v3); PRODUCT is the order Route.
  tradestation: { baseUrl: 'https://api.tradestation.com/v3', loginUrl: 'https://signin.tradestation.com/authorize', product: 'Intelligent' },
  // The user's own Client Portal Gateway; its websocket follows BASE_URL (…/ws) unless _WS_URL is set.
  ibkr: { baseUrl: 'https://localhost:5000/v1/api', wsUrl: 'wss://localhost:5000/v1/api/ws', product: 'STK' },
};

export interface BrokerEndpoint {
  baseUrl: string;
  loginUrl?: string;
  wsUrl?: string;
  /** Upstox's order host (BROKER_UPSTOX_ORDER_URL); follows BASE_URL when only that is set. */
  orderUrl?: string;
  /** Market data host (BROKER_<NAME>_DATA_URL), where the broker keeps one apart (Alpaca). */
  dataUrl?: string;
  /** Product for orders (delivery by default): BROKER_<NAME>_PRODUCT. */
  product: string;
}

function brokerEndpoints(env: Record<string, string | undefined>): Record<string, BrokerEndpoint> {
  const out: Record<string, BrokerEndpoint> = {};
  const url = z.string().url();
  for (const [name, d] of Object.entries(BROKER_DEFAULTS)) {
    const key = `BROKER_${name.toUpperCase()}_`;
    const pick = (suffix: string, fallback?: string) => {
      const v = env[key + suffix];
      if (v === undefined) return fallback;
      if (!url.safeParse(v).success) throw new ConfigError(`Invalid configuration:\n  ${key + suffix}: must be a URL`);
      return v;
    };
    const baseUrl = pick('BASE_URL', d.baseUrl)!;
    // A base URL pointed elsewhere (a sandbox, a test fake) must not leave the order host or socket on
    // production: they follow it (orders) or stay off (sockets) unless set too.
    const moved = Boolean(env[key + 'BASE_URL']);
    const orderUrl = pick('ORDER_URL', moved ? baseUrl : d.orderUrl);
    out[name] = { baseUrl, loginUrl: pick('LOGIN_URL', d.loginUrl), wsUrl: pick('WS_URL', moved ? undefined : d.wsUrl), orderUrl, product: env[key + 'PRODUCT'] ?? d.product };
    const dataUrl = pick('DATA_URL', d.dataUrl);
    if (dataUrl) out[name].dataUrl = dataUrl;
  }
  return out;
}

export type Role = 'all' | 'api' | 'worker' | 'migrate';

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  publicUrl: string;
  mode: 'embedded' | 'scaled';
  databaseUrl?: string;
  databasePoolSize: number;
  dataDir: string;
  redisUrl?: string;
  redisPrefix: string;
  jwtSecret: Uint8Array;
  encryptionKey: Buffer;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  logLevel: string;
  seedDemo: boolean;
  demo: { email: string; password: string };
  market: { simulate: boolean; seed: number; tickMs: number; spreadTicks: boolean; history: { enabled: boolean; dailyDays: number; minuteDays: number } };
  strategies: { backtestMaxDays: number; backtestMaxBars: number };
  workerConcurrency: number;
  shutdownTimeoutMs: number;
  /** Exchange sessions: whether the simulated market follows them, and the holidays of the calendar. */
  sessions: { mode: 'always' | 'exchange'; holidays: Record<string, string[]> };
  /** Published outbox events older than this many hours are pruned; 0 keeps them. */
  outboxRetentionHours: number;
  baskets: { minTicket: Record<string, string>; sweepMs: number };
  /** Pooled accounts: the window job's period. */
  pooled: { tickMs: number; reconcileMs: number; maxWindowOrders: number };
  limits: {
    maxDepth: number;
    maxCost: number;
    maxAliases: number;
    maxTokens: number;
    maxPageSize: number;
    bodyLimit: string;
    userRequestsPerMinute: number;
    ordersPerSecond: number;
    maxOrderNotional: string;
    socketSubscribesPerMinute: number;
    maxSubscriptionsPerSocket: number;
    maxSubscriptionsPerUser: number;
    maxStringLength: number;
  };
  /** How queries and mutations over HTTP are executed (server/jit-executor.ts). */
  graphqlExecutor: 'jit' | 'graphql-js';
  /** What the api shows beyond GraphQL itself (production posture). */
  exposure: {
    introspection: boolean;
    graphiql: boolean;
    metricsPort?: number;
    metricsToken?: string;
    /** Production without METRICS_PORT or METRICS_TOKEN: /metrics is not served at all. */
    metricsOff: boolean;
  };
  analytics: { closeTimesUtc: string[]; riskFreeRate: number };
  people: {
    adminEmail?: string;
    oidc?: { issuer: string; audience?: string; autoProvision: boolean; jwksCooldownMs: number };
    webhooks: { allowPrivate: boolean; maxAttempts: number; backoffMs: number; disableAfter: number; timeoutMs: number };
    email: { smtpUrl?: string; from: string };
  };
  /** Keys that sealed broker secrets before the current ENCRYPTION_KEY. */
  previousEncryptionKeys: Buffer[];
  brokers: { pollIntervalMs: number; endpoints: Record<string, BrokerEndpoint>; growwOrdersPerSecond: number; alpacaFractional?: boolean; ibkr?: IbkrSettings };
}

/** IBKR Client Portal settings (BROKER_IBKR_*). */
export interface IbkrSettings {
  confirm: string;
  insecureTls: boolean;
  tickleMs: number;
  penaltyMs: number;
}

export class ConfigError extends Error {}

/** For the entry points: the configuration, or its error printed and exit code 2 (no stack for a bad value). */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** A secret from the environment, or (embedded mode only) one generated once and kept in the data folder. */
function secret(value: string | undefined, name: string, dataDir: string | undefined, bytes: number): Buffer {
  if (value) return name === 'ENCRYPTION_KEY' ? decodeKey(value) : Buffer.from(value, 'utf8');
  if (!dataDir) throw new ConfigError(`${name} is required when DATABASE_URL is set (every replica must share it)`);
  const file = path.join(dataDir, `.${name.toLowerCase()}`);
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dataDir, { recursive: true });
  const generated = randomBytes(bytes);
  writeFileSync(file, generated.toString('base64'), { mode: 0o600 });
  return generated;
}

function decodeKey(value: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new ConfigError('ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  return key;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`FOO=` in a .env file or compose) means unset, not an invalid value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${lines}`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production') refuseUnsafeProduction(e);
  const scaled = Boolean(e.DATABASE_URL);
  const secretDir = scaled ? undefined : e.DATA_DIR === 'memory://' ? path.join('.', 'data') : e.DATA_DIR;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    mode: scaled ? 'scaled' : 'embedded',
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    jwtSecret: new Uint8Array(secret(e.JWT_SECRET, 'JWT_SECRET', secretDir, 48)),
    encryptionKey: secret(e.ENCRYPTION_KEY, 'ENCRYPTION_KEY', secretDir, 32),
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.NODE_ENV === 'production' ? false : (e.SEED_DEMO ?? !scaled),
    demo: { email: e.DEMO_EMAIL, password: e.DEMO_PASSWORD },
    market: {
      simulate: e.MARKET_SIM,
      seed: e.MARKET_SEED,
      tickMs: e.MARKET_TICK_MS,
      spreadTicks: e.MARKET_TICK_SPREAD,
      history: { enabled: e.MARKET_HISTORY, dailyDays: e.MARKET_HISTORY_DAILY_DAYS, minuteDays: e.MARKET_HISTORY_MINUTE_DAYS },
    },
    strategies: { backtestMaxDays: e.BACKTEST_MAX_DAYS, backtestMaxBars: e.BACKTEST_MAX_BARS },
    workerConcurrency: e.WORKER_CONCURRENCY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    sessions: { mode: e.MARKET_SESSIONS, holidays: e.MARKET_HOLIDAYS_FILE ? loadHolidays(e.MARKET_HOLIDAYS_FILE) : {} },
    outboxRetentionHours: e.OUTBOX_RETENTION_HOURS,
    baskets: { minTicket: Object.fromEntries(e.BASKET_MIN_TICKET.split(',').map((p) => p.split(':') as [string, string])), sweepMs: e.BASKET_SWEEP_MS },
    pooled: { tickMs: e.POOLED_TICK_MS, reconcileMs: e.POOLED_RECONCILE_MS, maxWindowOrders: e.POOLED_WINDOW_MAX_ORDERS },
    limits: {
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxPageSize: e.MAX_PAGE_SIZE,
      bodyLimit: e.BODY_LIMIT,
      userRequestsPerMinute: e.USER_RATE_LIMIT_PER_MINUTE,
      ordersPerSecond: e.ORDER_RATE_LIMIT_PER_SECOND,
      maxOrderNotional: e.MAX_ORDER_NOTIONAL,
      socketSubscribesPerMinute: e.SOCKET_SUBSCRIBES_PER_MINUTE,
      maxSubscriptionsPerSocket: e.MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxSubscriptionsPerUser: e.MAX_SUBSCRIPTIONS_PER_USER,
      maxStringLength: e.MAX_STRING_LENGTH,
    },
    graphqlExecutor: e.GRAPHQL_EXECUTOR,
    exposure: {
      introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
      graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
      metricsPort: e.METRICS_PORT,
      metricsToken: e.METRICS_TOKEN,
      // Production never shows /metrics on the public port unguarded: its own port, a token, or not at all.
      metricsOff: e.NODE_ENV === 'production' && e.METRICS_PORT === undefined && !e.METRICS_TOKEN,
    },
    analytics: { closeTimesUtc: e.ANALYTICS_CLOSE_TIMES_UTC.split(',').filter(Boolean), riskFreeRate: e.ANALYTICS_RISK_FREE_RATE },
    people: {
      adminEmail: e.ADMIN_EMAIL?.toLowerCase(),
      oidc: e.OIDC_ISSUER
        ? { issuer: e.OIDC_ISSUER, audience: e.OIDC_AUDIENCE, autoProvision: e.OIDC_AUTO_PROVISION, jwksCooldownMs: e.OIDC_JWKS_COOLDOWN_MS }
        : undefined,
      webhooks: {
        allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
        maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
        backoffMs: e.WEBHOOK_BACKOFF_MS,
        disableAfter: e.WEBHOOK_DISABLE_AFTER,
        timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      },
      email: { smtpUrl: e.SMTP_URL, from: e.EMAIL_FROM },
    },
    previousEncryptionKeys: (e.ENCRYPTION_KEY_PREVIOUS ?? '').split(',').filter(Boolean).map((k) => decodeKey(k.trim())),
    brokers: { pollIntervalMs: e.BROKER_POLL_INTERVAL_MS, endpoints: brokerEndpoints(present), growwOrdersPerSecond: e.BROKER_GROWW_ORDERS_PER_SECOND, alpacaFractional: e.BROKER_ALPACA_FRACTIONAL,
      ibkr: { confirm: e.BROKER_IBKR_CONFIRM, insecureTls: e.BROKER_IBKR_INSECURE_TLS, tickleMs: e.BROKER_IBKR_TICKLE_MS, penaltyMs: e.BROKER_IBKR_PENALTY_MS } },
  };
}

/** Secrets that are published (docs, tests, examples) and so protect nothing. */
const KNOWN_SECRETS = [
  'test-secret-that-is-long-enough-for-hs256-000000',
  Buffer.alloc(32, 7).toString('base64'),
  Buffer.alloc(32, 0).toString('base64'),
  'change-me',
  'changeme',
  'secret',
];

/**
 * NODE_ENV=production refuses to start unsafe: secrets must be given (never generated into a data
 * folder), must not be published defaults or trivially repetitive, and the demo user (a known
 * password) is never seeded.
 */
function refuseUnsafeProduction(e: z.infer<typeof EnvSchema>): void {
  const problems: string[] = [];
  for (const name of ['JWT_SECRET', 'ENCRYPTION_KEY'] as const) {
    const v = e[name];
    if (!v) problems.push(`${name} is required in production`);
    else if (KNOWN_SECRETS.some((k) => v.toLowerCase() === k.toLowerCase()) || (name === 'JWT_SECRET' && new Set(v).size < 8)) {
      problems.push(`${name} is a default or example value; generate one (openssl rand -base64 48)`);
    }
  }
  if (e.SEED_DEMO) problems.push('SEED_DEMO cannot be on in production (the demo password is public)');
  if (problems.length) throw new ConfigError(`Refusing to start in production:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

const HolidayFile = z.record(z.string(), z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'dates are YYYY-MM-DD')));

/** MARKET_HOLIDAYS_FILE: exchange → local dates on which it does not open. */
function loadHolidays(file: string): Record<string, string[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`MARKET_HOLIDAYS_FILE: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const parsed = HolidayFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`MARKET_HOLIDAYS_FILE: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
