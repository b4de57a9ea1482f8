/**
 * The only reader of the environment. Parsed once at start into a typed object; a bad value fails fast
 * with a message naming the variable.
 *
 * The pieces it is parsed with live in config/: the variables (env.schema.ts), the typed result
 * (config.type.ts), broker endpoints, secrets and the holiday file. None of them reads process.env.
 */
import path from 'node:path';
import { brokerEndpoints } from './config/brokers.js';
import { ConfigError } from './config/config-error.js';
import type { Config } from './config/config.type.js';
import { EnvSchema } from './config/env.schema.js';
import { loadHolidays } from './config/holidays.js';
import { decodeKey, refuseUnsafeProduction, secret } from './config/secrets.js';

export { ConfigError } from './config/config-error.js';
export type { BrokerEndpoint, Config, IbkrSettings, Role } from './config/config.type.js';

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
