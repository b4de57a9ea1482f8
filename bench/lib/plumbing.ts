/**
 * The plumbing alone: the same services, SQL transactions and BullMQ queue operations as the product, in
 * this process, with no HTTP, GraphQL or WebSocket. Wired as src/app.ts wires the `worker` role (plus the
 * OrderService the api role uses), on its own fresh database and Redis prefix. Its Postgres client counts
 * statements, so the report can say how many round trips an order costs.
 */
import { unixSocket } from '../../src/db/client.js';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate, openDb, preparing, schema, type Db, type DbHandle } from '../../src/db/client.js';
import { sql as drizzleSql } from 'drizzle-orm';
import type { Sql } from './verify.js';
import { seedInstruments } from '../../src/db/seed/instruments.js';
import { silentLogger } from '../../src/lib/logger.js';
import { systemClock } from '../../src/lib/clock.js';
import { createQueue } from '../../src/jobs/index.js';
import type { JobMap, OrderQueue } from '../../src/jobs/jobs.js';
import { createPubSub } from '../../src/events/index.js';
import { OutboxRelay } from '../../src/events/outbox.js';
import { createRateLimiter } from '../../src/lib/rate-limiter.factory.js';
import { AccessTokens, type Principal } from '../../src/auth/tokens.js';
import { AuthService } from '../../src/services/auth.service.js';
import { InstrumentService } from '../../src/services/instrument.service.js';
import { PortfolioService } from '../../src/services/portfolio.service.js';
import { OrderService } from '../../src/services/orders/order.service.js';
import { OrderExecutionService } from '../../src/services/orders/order-execution.service.js';
import { BrokerRegistry } from '../../src/brokers/registry.js';
import { PaperBroker } from '../../src/brokers/paper/index.js';
import { MarketFeedService } from '../../src/market/market-feed.service.js';
import { MarketRepository } from '../../src/market/market.repository.js';
import { QuoteCache } from '../../src/market/quote-cache.js';
import { Metrics } from '../../src/server/metrics.js';
import { registerWorkers } from '../../src/jobs/workers.js';
import { DomainError } from '../../src/errors.js';
import { createDatabase, deleteRedisPrefix, newRedisPrefix, type FreshDatabase } from './infra.js';
import type { Placer } from './load.js';
import { RedisCommandCounter } from './redis-counter.js';
import { openSql as openVerifySql } from './verify.js';
import { BENCH_JWT_SECRET, FUNDING, benchOrder, type PathOptions } from './graphql-path.js';

/** Statements sent to Postgres by this process, by leading keyword. */
export class StatementCounter {
  total = 0;
  readonly byKind = new Map<string, number>();
  /** Per statement text (its start and end when long), when `BENCH_STATEMENT_TEXTS` is set: which statements an order costs. */
  readonly byText = process.env.BENCH_STATEMENT_TEXTS ? new Map<string, number>() : null;

  count(query: string): void {
    this.total++;
    if (this.byText) {
      const flat = query.replace(/\s+/g, ' ');
      const text = flat.length > 240 ? `${flat.slice(0, 110)} … ${flat.slice(-120)}` : flat;
      this.byText.set(text, (this.byText.get(text) ?? 0) + 1);
    }
    const kind = /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase() ?? 'other';
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
  }

  snapshot(): { total: number; byKind: Map<string, number> } {
    return { total: this.total, byKind: new Map(this.byKind) };
  }
}

export class PlumbingPath {
  readonly statements = new StatementCounter();
  readonly redisCommands = new RedisCommandCounter();
  db!: FreshDatabase;
  prefix!: string;
  private stops: (() => Promise<void>)[] = [];
  private accounts: { principal: Principal; portfolioId: string }[] = [];
  private orders!: OrderService;

  /** Verification queries on this path's database (postgres.js, or PGlite behind the same tag). */
  verifySql!: Sql;

  /** `embedded`: PGlite in memory, the in-process queue, pub/sub and rate limiter (npm start's mode). */
  constructor(
    private readonly env: { databaseUrl: string; redisUrl: string },
    private readonly opts: Omit<PathOptions, 'runtime' | 'nodeArgs' | 'logLevel'> & { embedded?: boolean },
  ) {}

  get portfolioIds(): string[] {
    return this.accounts.map((a) => a.portfolioId);
  }

  async start(): Promise<void> {
    this.redisCommands.install();
    const logger = silentLogger;
    const clock = systemClock;
    const onStop = (fn: () => Promise<void>) => this.stops.unshift(fn);
    let db: Db;
    let redisUrl: string | undefined;
    if (this.opts.embedded) {
      const handle = await openDb({ dataDir: 'memory://' });
      onStop(() => handle.close());
      db = handle.db;
      this.db = { name: 'pglite (memory)', url: '', drop: async () => {} };
      this.verifySql = ((strings: TemplateStringsArray, ...values: unknown[]) =>
        db.execute(drizzleSql(strings, ...values)).then((r) => (r as unknown as { rows: unknown[] }).rows)) as unknown as Sql;
      await migrate(handle);
    } else {
      db = await this.openPostgres(onStop);
      redisUrl = this.env.redisUrl;
    }
    this.prefix = newRedisPrefix('p');
    await this.wire(db, redisUrl, logger, clock, onStop);
  }

  private async openPostgres(onStop: (fn: () => Promise<void>) => void): Promise<Db> {
    this.db = await createDatabase(this.env.databaseUrl);
    const { url: dbUrl, path: socketPath } = unixSocket(this.db.url);
    const sql = postgres(dbUrl, {
      ...(socketPath ? { path: socketPath } : {}),
      max: this.opts.poolSize,
      onnotice: () => {},
      connection: { application_name: 'tradegraph-bench' },
      debug: (_conn, query) => this.statements.count(query),
    });
    onStop(() => sql.end({ timeout: 5 }));
    // With BENCH_STATEMENT_TEXTS: how each connection's prepared statements were planned (custom plans are
    // planned again on every execution; generic ones once per connection).
    if (process.env.BENCH_STATEMENT_TEXTS) {
      onStop(async () => {
        const conns = await Promise.all(Array.from({ length: this.opts.poolSize }, () => sql.reserve()));
        const plans = new Map<string, { generic: number; custom: number }>();
        for (const c of conns) {
          const rows = await c.unsafe<{ statement: string; generic_plans: string; custom_plans: string }[]>('select statement, generic_plans, custom_plans from pg_prepared_statements');
          for (const r of rows) {
            const text = r.statement.replace(/\s+/g, ' ').slice(0, 150);
            const p = plans.get(text) ?? { generic: 0, custom: 0 };
            p.generic += Number(r.generic_plans);
            p.custom += Number(r.custom_plans);
            plans.set(text, p);
          }
        }
        for (const c of conns) c.release();
        console.log('  prepared statements by plans used (generic / custom), all connections:');
        for (const [text, p] of [...plans].sort((a, b) => b[1].generic + b[1].custom - a[1].generic - a[1].custom).slice(0, 30)) {
          console.log(`    ${String(p.generic).padStart(7)} / ${String(p.custom).padEnd(7)} ${text}`);
        }
      });
    }
    // As src/db/client.ts opens it: every statement prepared.
    const db = drizzle(preparing(sql), { schema }) as unknown as Db;
    const handle: DbHandle = { db, kind: 'postgres', ping: async () => void (await sql`select 1`), close: () => sql.end({ timeout: 5 }) };
    await migrate(handle);
    this.verifySql = openVerifySql(this.db.url);
    onStop(() => this.verifySql.end());
    return db;
  }

  private async wire(db: Db, redisUrl: string | undefined, logger: typeof silentLogger, clock: typeof systemClock, onStop: (fn: () => Promise<void>) => void): Promise<void> {
    await seedInstruments(db);
    const pubsub = createPubSub({ redisUrl, prefix: this.prefix, logger });
    onStop(() => pubsub.close());
    const rateLimiter = createRateLimiter({ redisUrl, prefix: this.prefix, clock });
    onStop(() => rateLimiter.close());
    const queue: OrderQueue = createQueue<JobMap>({ redisUrl, prefix: this.prefix, name: 'orders', logger });

    const repo = new MarketRepository(db);
    const cache = new QuoteCache({ snapshot: repo, logger });
    await cache.start(pubsub, await repo.loadInstruments());
    onStop(() => cache.stop());
    const brokers = new BrokerRegistry();
    const paper = new PaperBroker({ db, quotes: cache, clock, logger, matching: false });
    brokers.register(paper);
    onStop(() => brokers.close());

    const relay = new OutboxRelay({ db, pubsub, clock, logger });
    const accessTokens = new AccessTokens(new TextEncoder().encode(BENCH_JWT_SECRET), 3600);
    const instruments = new InstrumentService({ db, quotes: cache });
    const portfolios = new PortfolioService({ db, clock, relay, instruments, brokers });
    this.orders = new OrderService({
      db,
      clock,
      logger,
      queue,
      relay,
      rateLimiter,
      instruments,
      portfolios,
      brokers,
      limits: { ordersPerSecond: 1_000_000, maxOrderNotional: '100000000' },
    });
    const auth = new AuthService({ db, clock, logger, accessTokens, refreshTtlSeconds: 3600 });
    const metrics = new Metrics({ role: 'bench-plumbing' });
    const execution = new OrderExecutionService({ db, clock, logger, queue, relay, rateLimiter, brokers, metrics });

    relay.start();
    onStop(() => relay.stop());
    onStop(() => queue.close());
    await registerWorkers({ queue, execution, brokers, logger, metrics, concurrency: this.opts.workerConcurrency });
    const market = await MarketFeedService.create({ db, pubsub, clock, logger, seed: 20260105, tickMs: this.opts.tickMs });
    market.start();
    onStop(() => market.close());
    paper.setMatching(true);

    const run = Date.now().toString(36);
    this.accounts = await Promise.all(
      Array.from({ length: this.opts.users }, async (_, i) => {
        const r = await auth.register({ email: `plumb-${run}-${i}@example.com`, password: 'bench-password-123', name: 'Bench' });
        const principal: Principal = { userId: r.user.id, role: r.user.role };
        const p = await portfolios.create(principal, { name: `bench-${i}`, baseCurrency: 'INR' });
        await portfolios.deposit(principal, p.id, FUNDING);
        return { principal, portfolioId: p.id };
      }),
    );
  }

  readonly place: Placer = async (portfolioIndex, clientOrderId) => {
    const a = this.accounts[portfolioIndex];
    try {
      await this.orders.place(a.principal, benchOrder(a.portfolioId, portfolioIndex, clientOrderId));
      return { ok: true };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, code: err.code };
      return { ok: false, code: (err as Error).message.slice(0, 80) };
    }
  };

  async stop(): Promise<void> {
    for (const s of this.stops.splice(0)) {
      try {
        await s();
      } catch (err) {
        console.error('plumbing shutdown step failed:', err);
      }
    }
  }

  async cleanUp(): Promise<void> {
    try {
      await this.db?.drop();
    } finally {
      if (this.prefix && !this.opts.embedded) await deleteRedisPrefix(this.env.redisUrl, this.prefix);
    }
  }
}
