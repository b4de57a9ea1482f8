/**
 * The product as deployed in the scaled mode: one `api` and one `worker` process on a fresh database and
 * Redis prefix, driven over GraphQL (keep-alive HTTP) with fills watched over graphql-ws. Or, with
 * `embedded`, as `npm start` runs it: one process of every role on PGlite files in a fresh `DATA_DIR`,
 * with the in-process queue and pub/sub (no Postgres or Redis of the bench's).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { createDatabase, deleteRedisPrefix, freePort, newRedisPrefix, type FreshDatabase } from './infra.js';
import { LOG_DIR, runToCompletion, startRole, waitReady, type RoleProcess, type Runtime } from './processes.js';
import { GqlHttp, wsClient } from './gql-client.js';
import type { PlaceOutcome, Placer } from './load.js';
import { wallNow } from './stats.js';

export const BENCH_JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0000';
export const BENCH_ENCRYPTION_KEY = Buffer.alloc(32, 9).toString('base64');
/** api and worker run as in production, where /metrics needs a token (the benches read it). */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-000000000000';

/** Cheap NSE names (one share well under ₹500), rotated so positions spread over instruments. */
export const SYMBOLS = ['ITC', 'WIPRO', 'NTPC', 'POWERGRID', 'ONGC', 'TATASTEEL', 'NIFTYBEES'] as const;

/** The one order both paths place, so the GraphQL / plumbing ratio compares the same work. */
export function benchOrder(portfolioId: string, portfolioIndex: number, clientOrderId: string) {
  return {
    portfolioId,
    symbol: SYMBOLS[portfolioIndex % SYMBOLS.length],
    exchange: 'NSE',
    side: 'BUY',
    type: 'MARKET',
    quantity: '1',
    clientOrderId,
  } as const;
}

/** Cash per portfolio: enough for every order of a run at one share each. Decimal string. */
export const FUNDING = '10000000';

/** The api's GRAPHQL_EXECUTOR, from a bench's `--executor` (to compare the two in one build). */
export type Executor = 'jit' | 'graphql-js';

export function executorOption(v: string): Executor {
  if (v !== 'jit' && v !== 'graphql-js') throw new Error('--executor must be jit or graphql-js');
  return v;
}

export interface PathOptions {
  runtime: Runtime;
  users: number;
  workerConcurrency: number;
  poolSize: number;
  tickMs: number;
  /** Extra node flags for api and worker (e.g. --cpu-prof). */
  nodeArgs: string[];
  /** LOG_LEVEL of api and worker (warn: what goes wrong is still in the logs). */
  logLevel: string;
  /** More environment for api and worker (e.g. subscription caps for bench:subscribers). */
  extraEnv?: Record<string, string>;
  /**
   * npm start's mode: one process (`all`) on PGlite under a fresh `DATA_DIR`, in-process queue and pub/sub.
   * `api` and `worker` are then that one process, and `db` / `prefix` are not set; the data directory can
   * be opened (once the process has stopped) to check the run in SQL.
   */
  embedded?: boolean;
  /**
   * Scaled mode: api processes, as the compose file's api replicas (default 1). HTTP requests go to them
   * round-robin, as a load balancer in front would send them; subscriptions go to the first (every replica
   * gets every event through Redis).
   */
  apiReplicas?: number;
}

const PLACE = `mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }`;
/**
 * From sequence 0: the portfolio's events are replayed before the subscription goes live, so a fill that
 * happens before the server has registered the subscription (graphql-ws does not acknowledge a subscribe)
 * still reaches the client, once. Without it the embedded server, slower to register 20 subscriptions
 * while the warm-up's first orders fill, lost up to three quarters of the warm-up's events.
 */
const FILLS = `subscription($p: ID) { fillReceived(portfolioId: $p, afterSequence: 0) { sequence fill { id quantity price fee } order { id clientOrderId status filledQuantity } } }`;

interface Account {
  token: string;
  portfolioId: string;
}

/** Arrivals of fillReceived events at the client, by client order id. */
export class FillWatcher {
  readonly counts = new Map<string, number>();
  readonly firstAt = new Map<string, number>();
  lastAt = 0;
  private waiters: { prefix: string; n: number; resolve: () => void }[] = [];
  private byPrefix = new Map<string, number>();

  record(clientOrderId: string): void {
    const at = wallNow();
    const n = (this.counts.get(clientOrderId) ?? 0) + 1;
    this.counts.set(clientOrderId, n);
    if (n > 1) return;
    this.firstAt.set(clientOrderId, at);
    this.lastAt = at;
    const prefix = clientOrderId.replace(/\d+$/, '');
    const seen = (this.byPrefix.get(prefix) ?? 0) + 1;
    this.byPrefix.set(prefix, seen);
    this.waiters = this.waiters.filter((w) => {
      if (w.prefix === prefix && seen >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  seen(prefix: string): number {
    return this.byPrefix.get(prefix) ?? 0;
  }

  /** Resolves true once `n` distinct orders with this id prefix have had a fill event, false on timeout. */
  waitFor(prefix: string, n: number, timeoutMs: number): Promise<boolean> {
    if (this.seen(prefix) >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        prefix,
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

export class GraphqlPath {
  readonly fills = new FillWatcher();
  readonly subscriptionErrors: string[] = [];
  api!: RoleProcess;
  /** Every api process (scaled: `apiReplicas` of them; embedded: the one process). */
  apis: RoleProcess[] = [];
  worker!: RoleProcess;
  db!: FreshDatabase;
  prefix!: string;
  /** The Redis the run's api and worker use (its queue's finished jobs are read after a phase). */
  get redisUrl(): string {
    return this.env.redisUrl;
  }
  private http!: GqlHttp;
  private accounts: Account[] = [];
  private sockets: Client[] = [];
  private disposers: (() => void)[] = [];
  private apiUrl = '';
  private apiUrls: string[] = [];
  private workerUrl = '';

  constructor(
    private readonly env: { databaseUrl: string; redisUrl: string },
    private readonly opts: PathOptions,
  ) {}

  get portfolioIds(): string[] {
    return this.accounts.map((a) => a.portfolioId);
  }

  /** The api's base URL and the accounts set up (benchmarks that drive more than placeOrder). */
  get apiBaseUrl(): string {
    return this.apiUrl;
  }

  get accountList(): readonly Account[] {
    return this.accounts;
  }

  /** The embedded process's PGlite data directory (embedded only). */
  get dataDir(): string {
    return path.join(LOG_DIR, 'embedded-data');
  }

  /** The environment every role of a run gets, with the mode's own variables (database, Redis, data directory). */
  private roleEnv(mode: Record<string, string>): Record<string, string> {
    return {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      ...mode,
      JWT_SECRET: BENCH_JWT_SECRET,
      ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
      LOG_LEVEL: this.opts.logLevel,
      SEED_DEMO: 'false',
      // A first start writes two years of simulated history in the background (a one-off that took about
      // a core for minutes); the benches measure the steady state, so they start without it.
      MARKET_HISTORY: 'false',
      MARKET_TICK_MS: String(this.opts.tickMs),
      WORKER_CONCURRENCY: String(this.opts.workerConcurrency),
      USER_RATE_LIMIT_PER_MINUTE: '100000000',
      ORDER_RATE_LIMIT_PER_SECOND: '1000000',
      ACCESS_TOKEN_TTL_SECONDS: '7200',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      ...this.opts.extraEnv,
    };
  }

  async start(maxSockets: number): Promise<void> {
    if (this.opts.embedded) return this.startEmbedded(maxSockets);
    this.db = await createDatabase(this.env.databaseUrl);
    this.prefix = newRedisPrefix('g');
    const workerPort = await freePort();
    const base = this.roleEnv({
      DATABASE_URL: this.db.url,
      DATABASE_POOL_SIZE: String(this.opts.poolSize),
      REDIS_URL: this.env.redisUrl,
      REDIS_PREFIX: this.prefix,
    });
    await runToCompletion(this.opts.runtime, 'migrate', { ...base, PORT: '0' });
    this.worker = startRole(this.opts.runtime, 'worker', { ...base, PORT: String(workerPort) }, this.opts.nodeArgs);
    for (let i = 0; i < Math.max(1, this.opts.apiReplicas ?? 1); i++) {
      const apiPort = await freePort();
      this.apis.push(startRole(this.opts.runtime, 'api', { ...base, PORT: String(apiPort) }, this.opts.nodeArgs));
      this.apiUrls.push(`http://127.0.0.1:${apiPort}`);
    }
    this.api = this.apis[0];
    this.apiUrl = this.apiUrls[0];
    this.workerUrl = `http://127.0.0.1:${workerPort}`;
    await Promise.all([...this.apis.map((a, i) => waitReady(a, `${this.apiUrls[i]}/readyz`)), waitReady(this.worker, `http://127.0.0.1:${workerPort}/readyz`)]);
    this.http = new GqlHttp(this.apiUrls, maxSockets);
  }

  private async startEmbedded(maxSockets: number): Promise<void> {
    const port = await freePort();
    const env = this.roleEnv({ PORT: String(port), DATA_DIR: this.dataDir });
    rmSync(this.dataDir, { recursive: true, force: true });
    // Every role in one process, as `npm start` (which migrates the fresh data directory itself).
    this.api = startRole(this.opts.runtime, 'all', env, this.opts.nodeArgs, 'embedded');
    this.worker = this.api;
    this.apis = [this.api];
    this.apiUrl = `http://127.0.0.1:${port}`;
    this.apiUrls = [this.apiUrl];
    this.workerUrl = this.apiUrl;
    await waitReady(this.api, `${this.apiUrl}/readyz`, 120_000);
    this.http = new GqlHttp(this.apiUrl, maxSockets);
  }

  /** K users, each with one funded INR paper portfolio (a paper account each) and a fillReceived subscription. */
  async setUp(): Promise<void> {
    const run = Date.now().toString(36);
    this.accounts = await Promise.all(
      Array.from({ length: this.opts.users }, async (_, i) => {
        const reg = await this.http.must<{ register: { accessToken: string } }>(
          `mutation($e: String!, $p: String!) { register(email: $e, password: $p, name: "Bench") { accessToken } }`,
          { e: `bench-${run}-${i}@example.com`, p: 'bench-password-123' },
        );
        const token = reg.register.accessToken;
        const p = await this.http.must<{ createPortfolio: { id: string } }>(
          `mutation($n: String!) { createPortfolio(name: $n, baseCurrency: "INR") { id } }`,
          { n: `bench-${i}` },
          token,
        );
        await this.http.must(`mutation($p: ID!, $a: Decimal!) { deposit(portfolioId: $p, amount: $a) { id } }`, { p: p.createPortfolio.id, a: FUNDING }, token);
        return { token, portfolioId: p.createPortfolio.id };
      }),
    );
    const wsUrl = `${this.apiUrl.replace(/^http/, 'ws')}/graphql`;
    for (const a of this.accounts) {
      const client = wsClient(wsUrl, a.token);
      this.sockets.push(client);
      this.disposers.push(
        client.subscribe<{ fillReceived: { order: { clientOrderId: string } } }>(
          { query: FILLS, variables: { p: a.portfolioId } },
          {
            next: (v) => {
              if (v.errors?.length) this.subscriptionErrors.push(JSON.stringify(v.errors));
              const id = v.data?.fillReceived.order.clientOrderId;
              if (id) this.fills.record(id);
            },
            error: (e) => this.subscriptionErrors.push(String((e as Error)?.message ?? JSON.stringify(e))),
            complete: () => {},
          },
        ),
      );
    }
  }

  /** A GraphQL request over the api's HTTP as the user of portfolio `portfolioIndex`. */
  request<T>(portfolioIndex: number, query: string, variables: Record<string, unknown>) {
    return this.http.request<T>(query, variables, this.accounts[portfolioIndex].token);
  }

  /** Where api and worker serve /metrics, with the token it needs. */
  get metricsTargets(): { name: string; url: string; token: string }[] {
    if (this.opts.embedded) return [{ name: 'embedded', url: `${this.apiUrl}/metrics`, token: this.opts.extraEnv?.METRICS_TOKEN ?? BENCH_METRICS_TOKEN }];
    return [
      ...this.apiUrls.map((u, i) => ({ name: i === 0 ? 'api' : `api ${i + 1}`, url: `${u}/metrics`, token: this.opts.extraEnv?.METRICS_TOKEN ?? BENCH_METRICS_TOKEN })),
      { name: 'worker', url: `${this.workerUrl}/metrics`, token: this.opts.extraEnv?.METRICS_TOKEN ?? BENCH_METRICS_TOKEN },
    ];
  }

  /** The api's base URL (http://127.0.0.1:port). */
  get url(): string {
    return this.apiUrl;
  }

  /** Every api process's base URL (one per replica). */
  get urls(): readonly string[] {
    return this.apiUrls;
  }

  readonly place: Placer = async (portfolioIndex, clientOrderId) => {
    const a = this.accounts[portfolioIndex];
    const r = await this.http.request<{ placeOrder: { id: string } }>(
      PLACE,
      { i: benchOrder(a.portfolioId, portfolioIndex, clientOrderId) },
      a.token,
    );
    if (r.data?.placeOrder?.id) return { ok: true } satisfies PlaceOutcome;
    return { ok: false, code: r.errors?.[0]?.extensions?.code ?? `HTTP_${r.status}` };
  };

  async stop(): Promise<{ api: number | null; worker: number | null }> {
    for (const d of this.disposers) d();
    await Promise.all(this.sockets.map((s) => s.dispose()));
    this.http?.close();
    // A process's stop() is memoised, so the embedded one (api and worker at once) is stopped once.
    const [worker, ...apis] = await Promise.all([this.worker?.stop(), ...this.apis.map((a) => a.stop())]);
    // 0 when every api process drained cleanly, else the first other code (null: none was started).
    const bad = apis.length ? apis.find((c) => c !== 0) : null;
    return { api: bad === undefined ? 0 : bad, worker: worker ?? null };
  }

  async cleanUp(): Promise<void> {
    if (this.opts.embedded) return rmSync(this.dataDir, { recursive: true, force: true });
    try {
      await this.db?.drop();
    } finally {
      if (this.prefix) await deleteRedisPrefix(this.env.redisUrl, this.prefix);
    }
  }
}
