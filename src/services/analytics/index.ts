import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import type { InvestmentService } from '../baskets/investment.service.js';
import { InvestmentPerformanceService } from './investment-performance.service.js';
import { ActivityImportService } from './activity-import.service.js';
import { PerformanceService } from './performance.service.js';
import { ValuationJob } from './valuation.job.js';
import { ValuationService } from './valuation.service.js';

/** The analytics door: valuations (and their daily job), performance, activity imports. */
export interface AnalyticsServices {
  valuations: ValuationService;
  performance: PerformanceService;
  imports: ActivityImportService;
  investments: InvestmentPerformanceService;
  job: ValuationJob;
}

export function createAnalytics(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  investments: InvestmentService;
  config: { closeTimesUtc: string[]; riskFreeRate: number };
}): AnalyticsServices {
  const valuations = new ValuationService({ db: deps.db, clock: deps.clock, logger: deps.logger.child({ component: 'valuations' }) });
  return {
    valuations,
    performance: new PerformanceService({ ...deps, valuations, riskFreeRate: deps.config.riskFreeRate }),
    imports: new ActivityImportService({ ...deps, valuations }),
    investments: new InvestmentPerformanceService({ db: deps.db, clock: deps.clock, investments: deps.investments, repo: valuations.repo, riskFreeRate: deps.config.riskFreeRate }),
    job: new ValuationJob({ clock: deps.clock, logger: deps.logger, valuations, closeTimesUtc: deps.config.closeTimesUtc }),
  };
}
