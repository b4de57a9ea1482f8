import type { Config, Role } from './config.js';
import { migrate, openDb, type DbHandle } from './db/client.js';
import { createLogger, type Logger } from './lib/logger.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createQueue } from './jobs/index.js';
import type { OrderQueue, JobMap } from './jobs/jobs.js';
import { createPubSub } from './events/index.js';
import type { PubSub } from './events/pubsub.js';
import { OutboxRelay } from './events/outbox.js';
import { createRateLimiter, type ClosableRateLimiter } from './lib/rate-limiter.factory.js';
import { RedisLeadership, SoleLeadership, type Leadership } from './lib/leader.js';
import { AccessTokens } from './auth/tokens.js';
import { AuthService } from './services/auth.service.js';
import { UserService } from './services/user.service.js';
import { InstrumentService } from './services/instrument.service.js';
import { PortfolioService } from './services/portfolio.service.js';
import { OrderService } from './services/orders/order.service.js';
import { OrderExecutionService } from './services/orders/order-execution.service.js';
import { EventService } from './services/event.service.js';
import type { Services } from './services/index.js';
import { BrokerRegistry } from './brokers/registry.js';
import { PaperBroker } from './brokers/paper/index.js';
import { MarketFeedService } from './market/market-feed.service.js';
import { MarketRepository } from './market/market.repository.js';
import { QuoteCache } from './market/quote-cache.js';
import type { QuoteSource } from './market/quote.js';
import { seedInstruments } from './db/seed/instruments.js';
import { seedDemo } from './db/seed/demo.js';
import { buildAppSchema } from './schema/index.js';
import { Metrics } from './server/metrics.js';
import { startHttpServer, type RunningHttpServer } from './server/http.js';
import { startMetricsServer, startOpsServer } from './server/ops.js';
import { graphiqlMiddleware, ensureGraphiqlBuilt } from './server/graphiql.js';
import { registerWorkers } from './jobs/workers.js';
import { ensureWebBuilt, webMiddleware } from './server/web.js';
import { ExchangeCalendar, DEFAULT_SESSIONS } from './market/calendar.js';
import { DayOrderExpiry } from './services/orders/day-expiry.service.js';
import { OutboxRetention } from './events/outbox-retention.js';
import { analyzeGrown } from './db/table-stats.js';
import { MarketHistoryService, type HistoryWriteResult } from './market/history.service.js';
import { createStrategyCapability } from './services/strategies/index.js';
import { createAnalytics } from './services/analytics/index.js';
import { createBasketServices } from './services/baskets/index.js';
import { WatchlistService } from './services/watchlists/watchlist.service.js';
import { AccessPolicy } from './services/people/access.policy.js';
import { AuditService } from './services/people/audit.service.js';
import { PeopleService } from './services/people/people.service.js';
import { ProfileService } from './services/people/profile.service.js';
import { ApiKeyService } from './auth/api-keys.service.js';
import { PrincipalResolver } from './auth/principals.js';
import { OidcVerifier } from './auth/oidc.js';
import { buildPeople } from './services/people/people.module.js';
import { eventId } from './notifications/events.js';
import { Vault } from './brokers/connections/vault.js';
import { isConnectable } from './brokers/connections/connector.js';
import { realBrokers } from './brokers/real-brokers.js';
import { ConnectionRepository } from './services/brokers/connection.repository.js';
import { ConnectionService } from './services/brokers/connection.service.js';
import { BrokerPushService } from './services/brokers/push.service.js';
import { createPooled } from './services/pooled/index.js';
import { InstrumentMasterRepository } from './services/brokers/instrument-master.repository.js';
import { InstrumentImportService } from './services/brokers/instrument-import.service.js';
import { quoteFanout } from './market/quote-fanout.js';

/** Embedded, a first start's history goes in statements of this many bars (≈ 12 ms each of the one thread). */
const EMBEDDED_HISTORY_BARS_PER_STATEMENT = 500;

export interface App {
  role: Role;
  config: Config;
  logger: Logger;
  clock: Clock;
  db: DbHandle;
  queue: OrderQueue;
  pubsub: PubSub;
  services: Services;
  execution: OrderExecutionService;
  brokers: BrokerRegistry;
  quotes: QuoteSource;
  metrics: Metrics;
  /** The simulated market, in the process that runs it (embedded, or the leader worker). */
  market(): MarketFeedService | undefined;
  /** Settles when the simulated history of this process's first election is written (or was not needed). */
  marketHistory(): Promise<HistoryWriteResult | undefined>;
  http?: RunningHttpServer;
  /** Stop accepting, drain in-flight requests and jobs, close sockets and pools. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  /** Extra broker adapters (tests); the paper broker is always registered. */
  brokers?: (deps: { quotes: QuoteSource; db: DbHandle }) => import('./brokers/broker.js').BrokerAdapter[];
}

/**
 * The composition root: builds every port from configuration and starts what the role runs.
 * `all` = api + worker + market in one process; `api` and `worker` are the scaled roles.
 */
export async function startApp(config: Config, role: Exclude<Role, 'migrate'>, opts: StartOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const metrics = new Metrics({ role });
  const stops: Array<() => Promise<void>> = [];
  const onStop = (fn: () => Promise<void>) => stops.unshift(fn);

  const db = await openDb({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize, onStatement: () => metrics.dbStatements.inc() });
  onStop(() => db.close());
  try {
    if (config.mode === 'embedded' || role === 'all') {
      await migrate(db);
      await seedInstruments(db.db);
    }
    const pubsub = createPubSub({ redisUrl: config.redisUrl, prefix: config.redisPrefix, logger });
    onStop(() => pubsub.close());
    const quoteBursts = quoteFanout(pubsub).bursts;
    metrics.gaugeOnScrape('quote_fanout_burst', 'Quote fan-out per tick, last 10 s: lag and drain (ms), deliveries, µs per delivery', ['stat'], async (set) => {
      for (const [stat, v] of Object.entries(quoteBursts.summary(10_000))) set({ stat }, v);
    });
    const rateLimiter: ClosableRateLimiter = createRateLimiter({ redisUrl: config.redisUrl, prefix: config.redisPrefix, clock });
    onStop(() => rateLimiter.close());
    const queue: OrderQueue = createQueue<JobMap>({ redisUrl: config.redisUrl, prefix: config.redisPrefix, name: 'orders', logger });
    metrics.gaugeOnScrape('job_queue_jobs', 'Jobs in the order queue by state', ['state'], async (set) => {
      const c = await queue.counts();
      for (const [state, n] of Object.entries(c)) set({ state }, n);
    });

    // Market data: the feed runs in one process (the leader); every process, the feed's own included,
    // reads quotes from a cache fed by pub/sub, so embedded and scaled share one code path.
    const repo = new MarketRepository(db.db);
    const runsWorker = role === 'all' || role === 'worker';
    const leadership: Leadership =
      config.redisUrl && role !== 'all' ? new RedisLeadership({ url: config.redisUrl, key: `${config.redisPrefix}:leader:market`, logger }) : new SoleLeadership();
    let market: MarketFeedService | undefined;
    let history: Promise<HistoryWriteResult | undefined> = Promise.resolve(undefined);
    // Work that waits until this process serves (its HTTP server listens): on a first start, the history.
    let serving = false;
    const whenServing: Array<() => void> = [];
    const onceServing = (fn: () => void) => (serving ? fn() : whenServing.push(fn));
    const cache = new QuoteCache({ snapshot: repo, logger });
    await cache.start(pubsub, await repo.loadInstruments());
    onStop(() => cache.stop());

    const brokers = new BrokerRegistry();
    // Exchange calendars: DAY orders expire at the close; MARKET_SESSIONS=exchange also gates the simulated market.
    const calendar = new ExchangeCalendar(DEFAULT_SESSIONS, config.sessions.holidays);
    const isSessionOpen = config.sessions.mode === 'exchange' ? (exchange: string, at: Date) => calendar.isOpen(exchange, at) : undefined;
    const paper = new PaperBroker({ db: db.db, quotes: cache, clock, logger: logger.child({ broker: 'paper' }), matching: false, isSessionOpen });
    brokers.register(paper);
    // Real brokers: every adapter reads its connection's sealed credentials through the repository.
    const vault = new Vault(config.encryptionKey, config.previousEncryptionKeys);
    const connectionRepo = new ConnectionRepository({ db: db.db, vault, clock, logger: logger.child({ part: 'broker-connections' }), brokers, lock: db.withAdvisoryLock?.bind(db) });
    const brokerInstruments = new InstrumentMasterRepository(db.db);
    for (const b of realBrokers({ config, sessions: connectionRepo, refs: connectionRepo, limiter: rateLimiter, logger, instruments: brokerInstruments })) brokers.register(b);
    for (const b of opts.brokers?.({ quotes: cache, db }) ?? []) brokers.register(b);
    const audit = new AuditService({ db: db.db, clock, logger });
    const brokerConnections = new ConnectionService({ db: db.db, clock, logger, brokers, repo: connectionRepo, publicUrl: config.publicUrl, audit });
    onStop(() => brokers.close());

    const relay = new OutboxRelay({ db: db.db, pubsub, clock, logger });
    const accessTokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds);
    const instruments = new InstrumentService({ db: db.db, quotes: cache });
    const policy = new AccessPolicy({ db: db.db });
    const portfolios = new PortfolioService({ db: db.db, clock, relay, instruments, brokers, policy, connections: brokerConnections });
    const pooled = createPooled({ db: db.db, clock, logger, relay, rateLimiter, brokers, instruments, connections: brokerConnections, policy, notifier: () => services?.notifications, reconcileMs: config.pooled.reconcileMs, maxWindowOrders: config.pooled.maxWindowOrders, windowTick: { queue, tickMs: config.pooled.tickMs } });
    const orders = new OrderService({ db: db.db, clock, logger, queue, relay, rateLimiter, instruments, portfolios, brokers, limits: config.limits, audit, connections: brokerConnections, pooled: pooled.accounts });
    const apiKeys = new ApiKeyService({ db: db.db, clock, audit });
    const oidc = config.people.oidc ? new OidcVerifier({ db: db.db, logger, audit }, config.people.oidc) : null;
    // Roles kept per process, forgotten on every process when one changes (auth/principals.ts).
    const principals = new PrincipalResolver({ db: db.db, accessTokens, apiKeys, oidc, pubsub, clock });
    await principals.start();
    onStop(() => principals.stop());
    const people = new PeopleService({
      db: db.db,
      policy,
      audit,
      logger,
      onRoleChanged: async (userId) => {
        principals.forget(userId);
        await pubsub.publish('user-role-changed', '*', { userId });
      },
      onAccessChanged: (userIds) => pubsub.publish('access-changed', '*', { userIds }),
    });
    await people.promoteConfiguredAdmin(config.people.adminEmail);
    const events = new EventService({ db: db.db, pubsub, portfolios, instruments, policy });
    onStop(() => events.stop());
    const baskets = createBasketServices({ db: db.db, clock, logger, queue, relay, instruments, portfolios, brokers, maxOrderNotional: config.limits.maxOrderNotional, minTicket: config.baskets.minTicket, audit });
    const peopleParts = buildPeople({ config, db: db.db, clock, logger, pubsub, relay, policy, audit, instruments, orders, baskets });
    const notifier = peopleParts.services.notifications;
    connectionRepo.notifyExpiryTo((e) =>
      notifier.emit({
        id: eventId(`broker_connection.expired:${e.connectionId}:${e.at.toISOString()}`),
        type: 'broker_connection.expired',
        userId: e.userId,
        title: `Your ${e.broker} connection expired`,
        body: `Orders through it fail until you reconnect it (startBrokerConnection). ${e.reason}`,
        data: { connectionId: e.connectionId, broker: e.broker, reason: e.reason },
      }),
    );
    onStop(() => peopleParts.close());
    const watchlists = new WatchlistService({ db: db.db, clock, instruments, pubsub });
    const strategyCapability = createStrategyCapability({ config, db: db.db, clock, logger, pubsub, instruments, portfolios, orders, watchlists, smallcases: baskets.smallcases, notifier });
    onStop(() => strategyCapability.stop());
    const services: Services = {
      ...strategyCapability.services,
      auth: new AuthService({
        db: db.db,
        clock,
        logger,
        accessTokens,
        refreshTtlSeconds: config.refreshTokenTtlSeconds,
        onSessionRevoked: (sessionId) => pubsub.publish('session-revoked', '*', { sessionId }),
        audit,
        adminEmail: config.people.adminEmail,
      }),
      users: new UserService({ db: db.db }),
      instruments,
      portfolios,
      orders,
      events,
      accessTokens,
      rateLimiter,
      pubsub,
      limits: config.limits,
      analytics: createAnalytics({ db: db.db, clock, logger, instruments, portfolios, investments: baskets.investments, config: config.analytics }),
      baskets,
      watchlists,
      policy,
      people,
      profiles: new ProfileService({ db: db.db, clock, policy, audit }),
      audit,
      apiKeys,
      principals,
      ...peopleParts.services,
      brokerConnections,
      brokerPush: new BrokerPushService({ brokers, queue, logger }),
      pooled: pooled.accounts,
      instrumentImport: new InstrumentImportService({ repo: brokerInstruments }),
    };
    const execution = new OrderExecutionService({ db: db.db, clock, logger, queue, relay, rateLimiter, brokers, metrics, pooled: pooled.accounts, endings: peopleParts.services.notifications });

    if (config.seedDemo && role === 'all') await seedDemo({ db: db.db, services, config, logger });

    if (runsWorker) {
      relay.start();
      onStop(() => relay.stop());
    }
    // Drain jobs before the relay, brokers and pools they use are closed (stops run in reverse).
    onStop(() => queue.close());
    if (runsWorker) {
      await registerWorkers({
        queue,
        execution,
        brokers,
        logger,
        metrics,
        concurrency: config.workerConcurrency,
        expiry: new DayOrderExpiry({ db: db.db, clock, logger, calendar, brokers, queue, execution }),
        outboxRetention: new OutboxRetention({ db: db.db, clock, logger, retentionHours: config.outboxRetentionHours }),
        analyzeTables: () => analyzeGrown(db.db),
        basketRuns: baskets.runs,
        basketSweepMs: config.baskets.sweepMs,
        pooled: { windows: pooled.windows, driver: pooled.driver, tickMs: config.pooled.tickMs, reconciliation: pooled.reconciliation, reconcileMs: config.pooled.reconcileMs, schedule: pooled.schedule },
      });
      await strategyCapability.startWorker();
      await peopleParts.startWorkers();
      await leadership.start(
        async () => {
          if (config.market.simulate) {
            market = await MarketFeedService.create({ db: db.db, pubsub, clock, logger, seed: config.market.seed, tickMs: config.market.tickMs, isSessionOpen, spreadTicks: config.market.spreadTicks });
            market.start();
            // In the background, once the API serves: half a million bars on a first start. Embedded, PGlite
            // runs them on the API's one thread, so they go in small statements that requests queue between.
            if (config.market.history.enabled) {
              const writer = new MarketHistoryService({
                db: db.db,
                clock,
                logger,
                seed: config.market.seed,
                ...config.market.history,
                barsPerStatement: config.databaseUrl ? undefined : EMBEDDED_HISTORY_BARS_PER_STATEMENT,
              });
              onStop(async () => {
                writer.stop();
                await history;
              });
              onceServing(() => {
                history = repo.loadInstruments().then((list) => writer.ensure(list)).catch((err: unknown) => {
                  logger.error({ err }, 'writing market history failed');
                  return undefined;
                });
              });
            }
          }
          paper.setMatching(true);
          services.analytics.job.start();
          // The leader polls connected brokers' books: the safety net for pushes that never arrive.
          for (const b of brokers.all()) if (isConnectable(b)) b.startPolling?.(config.brokers.pollIntervalMs);
        },
        async () => {
          await services.analytics.job.stop();
          paper.setMatching(false);
          await market?.close();
          market = undefined;
        },
      );
      onStop(() => leadership.stop());
    }

    const readiness = {
      database: () => db.ping(),
      ...(config.redisUrl ? { redis: () => rateLimiter.tryAcquire('readyz', { limit: 1_000_000, windowMs: 1000 }).then(() => undefined) } : {}),
    };
    let http: RunningHttpServer | undefined;
    const metricsAccess = { elsewhere: config.exposure.metricsPort !== undefined || config.exposure.metricsOff, token: config.exposure.metricsToken };
    if (role === 'worker') {
      const ops = await startOpsServer({ host: config.host, port: config.port, logger, metrics, readiness, metricsAccess });
      stops.unshift(() => ops.close());
    }
    if (config.exposure.metricsPort !== undefined) {
      const m = await startMetricsServer({ host: config.host, port: config.exposure.metricsPort, metrics, token: config.exposure.metricsToken });
      stops.unshift(() => m.close());
    }
    if (role === 'all' || role === 'api') {
      // A missing GraphiQL bundle must not keep the API down: the page then says how to build it.
      if (config.exposure.graphiql) await ensureGraphiqlBuilt().catch((err: unknown) => logger.warn({ err }, 'GraphiQL bundle unavailable'));
      await ensureWebBuilt().catch((err: unknown) => logger.warn({ err }, 'dashboard bundle unavailable'));
      http = await startHttpServer({
        config,
        logger,
        metrics,
        schema: await buildAppSchema(),
        services,
        graphiql: config.exposure.graphiql ? graphiqlMiddleware({ endpoint: '/graphql' }) : undefined,
        web: webMiddleware({ demo: config.seedDemo ? config.demo : undefined }),
        readiness,
        now: () => clock.now().getTime(),
      });
      // Stop accepting first: it is the first thing to stop.
      stops.unshift(() => http!.close());
    }

    serving = true;
    for (const fn of whenServing.splice(0)) fn();
    let stopping: Promise<void> | undefined;
    return {
      role,
      config,
      logger,
      clock,
      db,
      queue,
      pubsub,
      services,
      execution,
      brokers,
      quotes: cache,
      metrics,
      market: () => market,
      marketHistory: () => history,
      http,
      stop: () => (stopping ??= runStops(stops, logger)),
    };
  } catch (err) {
    await runStops(stops, logger);
    throw err;
  }
}

async function runStops(stops: Array<() => Promise<void>>, logger: Logger): Promise<void> {
  for (const s of stops) {
    try {
      await s();
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
    }
  }
}

/** The one-shot `migrate` role: apply migrations and reference data, then exit. */
export async function runMigrations(config: Config, logger: Logger): Promise<void> {
  const db = await openDb({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    const n = (await seedInstruments(db.db)).length;
    logger.info({ instruments: n }, 'migrations applied');
  } finally {
    await db.close();
  }
}
