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
