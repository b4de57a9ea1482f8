import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import { ActivityImportService } from './activity-import.service.js';
import { PerformanceService } from './performance.service.js';
import { ValuationJob } from './valuation.job.js';
import { ValuationService } from './valuation.service.js';

/** The analytics door: valuations (and their daily job), performance, activity imports. */
export interface AnalyticsServices {
  valuations: ValuationService;
  performance: PerformanceService;
  imports: ActivityImportService;
  job: ValuationJob;
}

export function createAnalytics(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  config: { closeTimesUtc: string[]; riskFreeRate: number };
}): AnalyticsServices {
  const valuations = new ValuationService({ db: deps.db, clock: deps.clock, logger: deps.logger.child({ component: 'valuations' }) });
  return {
    valuations,
    performance: new PerformanceService({ ...deps, valuations, riskFreeRate: deps.config.riskFreeRate }),
    imports: new ActivityImportService({ ...deps, valuations }),
    job: new ValuationJob({ clock: deps.clock, logger: deps.logger, valuations, closeTimesUtc: deps.config.closeTimesUtc }),
  };
}
