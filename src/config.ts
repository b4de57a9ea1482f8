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
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
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
  /** Old ENCRYPTION_KEYs (comma-separated, base64) still readable until `rotate-key` re-seals under the new one. */
  ENCRYPTION_KEY_PREVIOUS: z.string().optional(),
  /** How often workers poll connected brokers' order and trade books (the safety net for lost pushes). */
  BROKER_POLL_INTERVAL_MS: z.coerce.number().int().min(20).default(5_000),
  /** Groww publishes no limits: a conservative order rate per account. */
  BROKER_GROWW_ORDERS_PER_SECOND: z.coerce.number().int().min(1).max(50).default(5),
});

/** Production endpoints of each real broker; BROKER_<NAME>_BASE_URL / _LOGIN_URL / _WS_URL override them. */
const BROKER_DEFAULTS: Record<string, { baseUrl: string; loginUrl?: string; wsUrl?: string; orderUrl?: string; product: string }> = {
  zerodha: { baseUrl: 'https://api.kite.trade', loginUrl: 'https://kite.zerodha.com/connect/login', wsUrl: 'wss://ws.kite.trade', product: 'CNC' },
  upstox: { baseUrl: 'https://api.upstox.com', loginUrl: 'https://api.upstox.com/v2/login/authorization/dialog', orderUrl: 'https://api-hft.upstox.com', product: 'D' },
  fyers: { baseUrl: 'https://api-t1.fyers.in', loginUrl: 'https://api-t1.fyers.in/api/v3/generate-authcode', wsUrl: 'wss://socket.fyers.in/trade/v3', product: 'CNC' },
  angelone: { baseUrl: 'https://apiconnect.angelone.in', wsUrl: 'wss://tns.angelone.in/smart-order-update', product: 'DELIVERY' },
  groww: { baseUrl: 'https://api.groww.in', product: 'CNC' },
};

export interface BrokerEndpoint {
  baseUrl: string;
  loginUrl?: string;
  wsUrl?: string;
  /** Upstox's order host (BROKER_UPSTOX_ORDER_URL); follows BASE_URL when only that is set. */
  orderUrl?: string;
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
  market: { simulate: boolean; seed: number; tickMs: number };
  workerConcurrency: number;
  shutdownTimeoutMs: number;
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
  };
  /** Keys that sealed broker secrets before the current ENCRYPTION_KEY. */
  previousEncryptionKeys: Buffer[];
  brokers: { pollIntervalMs: number; endpoints: Record<string, BrokerEndpoint>; growwOrdersPerSecond: number };
}

export class ConfigError extends Error {}

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
    seedDemo: e.SEED_DEMO ?? !scaled,
    demo: { email: e.DEMO_EMAIL, password: e.DEMO_PASSWORD },
    market: { simulate: e.MARKET_SIM, seed: e.MARKET_SEED, tickMs: e.MARKET_TICK_MS },
    workerConcurrency: e.WORKER_CONCURRENCY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
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
    },
    previousEncryptionKeys: (e.ENCRYPTION_KEY_PREVIOUS ?? '').split(',').filter(Boolean).map((k) => decodeKey(k.trim())),
    brokers: { pollIntervalMs: e.BROKER_POLL_INTERVAL_MS, endpoints: brokerEndpoints(present), growwOrdersPerSecond: e.BROKER_GROWW_ORDERS_PER_SECOND },
  };
}
