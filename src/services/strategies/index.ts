import type { NotifierPort } from '../../notifications/notification.service.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { PubSub } from '../../events/pubsub.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { BullMqScheduler } from '../../strategies/scheduler/bullmq.scheduler.js';
import { MemoryScheduler } from '../../strategies/scheduler/memory.scheduler.js';
import type { SchedulerPort } from '../../strategies/scheduler/scheduler.js';
import type { InstrumentService } from '../instrument.service.js';
import type { OrderService } from '../orders/order.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import { MarketDataService } from './market-data.service.js';
import { SignalStream } from './signal-stream.js';
import { StrategyRunner } from './strategy-runner.js';
import { StrategyService } from './strategy.service.js';
import type { UniverseSources } from './universe.js';
import { BacktestService } from './backtest.service.js';
import { ScreenerService } from './screener.service.js';
import type { WatchlistService } from '../watchlists/watchlist.service.js';
import { runBacktestJob, type StrategyJobMap } from './jobs.js';
import { createQueue } from '../../jobs/index.js';

/** The strategies capability's doors, merged into `Services`. */
export interface StrategyServices {
  marketData: MarketDataService;
  strategies: StrategyService;
  strategySignals: SignalStream;
  backtests: BacktestService;
  screeners: ScreenerService;
}

export interface StrategyCapability {
  services: StrategyServices;
  scheduler: SchedulerPort;
  /** Worker side: deliver schedule ticks, run catch-ups. */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Build the strategies capability from the process's ports: the schedule adapter follows the mode
 * (BullMQ job schedulers with Redis, in-process timers without).
 */
export function createStrategyCapability(deps: {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  pubsub: PubSub;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  orders: OrderService;
  watchlists: WatchlistService;
  smallcases: UniverseSources['smallcases'];
  /** Notifications of new signals (the people capability's notifier). */
  notifier?: NotifierPort;
}): StrategyCapability {
  const { config, db, clock, pubsub } = deps;
  const logger = deps.logger.child({ capability: 'strategies' });
  const scheduler: SchedulerPort = config.redisUrl
    ? new BullMqScheduler({ url: config.redisUrl, prefix: config.redisPrefix, logger })
    : new MemoryScheduler({ clock, logger });
  const universe: UniverseSources = { db, instruments: deps.instruments, watchlists: deps.watchlists, smallcases: deps.smallcases };
  const marketData = new MarketDataService({ db, instruments: deps.instruments, clock });
  const runner = new StrategyRunner({ db, clock, logger, pubsub, instruments: deps.instruments, portfolios: deps.portfolios, orders: deps.orders, marketData, universe, notifier: deps.notifier });
  const strategies = new StrategyService({ db, clock, logger, instruments: deps.instruments, portfolios: deps.portfolios, runner, scheduler, universe });
  const strategySignals = new SignalStream({ db, pubsub, strategies });
  const queue = createQueue<StrategyJobMap>({ redisUrl: config.redisUrl, prefix: config.redisPrefix, name: 'strategies', logger });
  const backtests = new BacktestService({
    db,
    clock,
    logger,
    pubsub,
    marketData,
    strategies,
    universe,
    limits: config.strategies,
    queue: () => ({ enqueue: (id) => queue.add('run-backtest', { backtestId: id }, { jobId: id }) }),
  });
  const screeners = new ScreenerService({ db, clock, logger, instruments: deps.instruments, marketData, watchlists: deps.watchlists, universe, scheduler });
  return {
    services: { marketData, strategies, strategySignals, backtests, screeners },
    scheduler,
    startWorker: async () => {
      await queue.work({ 'run-backtest': runBacktestJob(backtests) }, { concurrency: 2 });
      await scheduler.start(async (target, at) => {
        if (target.kind === 'strategy') await strategies.onTick(target.id, at);
        else await screeners.onTick(target.id, at);
      });
      await strategies.restoreSchedules();
    },
    stop: async () => {
      await scheduler.close();
      await queue.close();
    },
  };
}
