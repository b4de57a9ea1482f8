import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { OutboxRelay } from '../../events/outbox.js';
import type { Principal } from '../../auth/tokens.js';
import type { InstrumentService } from '../instrument.service.js';
import type { OrderQueue } from '../../jobs/jobs.js';
import { PooledRepository } from './pooled.repository.js';
import { PooledAccountService } from './pooled-account.service.js';
import { PooledWindowService } from './pooled-window.service.js';
import { ParentDriver } from './parent-driver.service.js';
import { ReconciliationCheck } from './reconciliation-check.service.js';
import { ChildCancelService } from './child-cancel.service.js';
import { PooledWindowSchedule } from './window-schedule.js';
import { AccessPolicy } from '../people/access.policy.js';
import type { NotifierPort } from '../../notifications/notification.service.js';

export { PooledWindowSchedule };

export interface PooledServices {
  accounts: PooledAccountService;
  windows: PooledWindowService;
  driver: ParentDriver;
  reconciliation: ReconciliationCheck;
  /** Members' cancels after their window closed: the parent reduced at the broker. */
  childCancels: ChildCancelService;
  /** When `windowTick` was given: the window tick's schedule, synced by each worker at start. */
  schedule?: PooledWindowSchedule;
}

/** Pooled master accounts, wired from the process's ports (see DESIGN.md §14). */
export function createPooled(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  relay: OutboxRelay;
  rateLimiter: RateLimiter;
  brokers: BrokerRegistry;
  instruments: InstrumentService;
  connections?: { forPortfolio(viewer: Principal, id: string): Promise<{ id: string; broker: string }> };
  /** The one access policy (built here from `db` when not given). */
  policy?: AccessPolicy;
  /** Admin alerts of reconciliation differences (built later than this; hence a getter). */
  notifier?: () => NotifierPort | undefined;
  reconcileMs?: number;
  /** Early close at this many member orders in a window (0 or absent: on time only). */
  maxWindowOrders?: number;
  /** The window tick's queue and interval (window-schedule.ts); absent: accounts schedule nothing. */
  windowTick?: { queue: Pick<OrderQueue, 'repeat' | 'unrepeat'>; tickMs: number };
}): PooledServices {
  const repo = new PooledRepository(deps.db);
  const schedule = deps.windowTick ? new PooledWindowSchedule({ ...deps.windowTick, anyAccount: () => repo.anyAccount() }) : undefined;
  const logger = deps.logger.child({ part: 'pooled' });
  const driver = new ParentDriver({ ...deps, logger, repo });
  const windows = new PooledWindowService({ ...deps, logger, repo, driver });
  const childCancels = new ChildCancelService({ ...deps, logger, repo, driver });
  driver.reductions = childCancels;
  const accounts = new PooledAccountService({ repo, policy: deps.policy ?? new AccessPolicy({ db: deps.db }), clock: deps.clock, brokers: deps.brokers, connections: deps.connections, window: () => windows, childCancels, onAccountCreated: schedule && (() => schedule.accountCreated()) });
  const reconciliation = new ReconciliationCheck({ db: deps.db, clock: deps.clock, logger, repo, accounts, notifier: deps.notifier ?? (() => undefined), periodMs: deps.reconcileMs ?? 60_000 });
  return { accounts, windows, driver, reconciliation, childCancels, schedule };
}
