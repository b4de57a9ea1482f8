import type { AuditPort } from '../people/audit.service.js';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { dec } from '../../lib/decimal.js';
import type { OutboxRelay } from '../../events/outbox.js';
import type { OrderQueue } from '../../jobs/jobs.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioRow, PortfolioService } from '../portfolio.service.js';
import type { CostModel } from './planner.js';
import { BasketRunService } from './basket-run.service.js';
import { SmallcaseService } from './smallcase.service.js';
import { InvestmentService } from './investment.service.js';
import { TargetPortfolioService } from './target-portfolio.service.js';

export { BasketRunService, SmallcaseService, InvestmentService, TargetPortfolioService };

/** The order loop's market buffer: a market buy holds its notional at ask × (1 + this). Same default as OrderService. */
export const MARKET_BUFFER = '0.05';

export interface BasketServices {
  smallcases: SmallcaseService;
  investments: InvestmentService;
  runs: BasketRunService;
  targets: TargetPortfolioService;
}

/** Builds the basket services from the ports, with one cost model (buffer + the broker's fee bound). */
export function createBasketServices(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  queue: OrderQueue;
  relay: OutboxRelay;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  brokers: BrokerRegistry;
  maxOrderNotional: string;
  minTicket: Record<string, string>;
  marketBuffer?: string;
  /** The audit log (each run placed). */
  audit?: AuditPort;
}): BasketServices {
  const buffer = dec(deps.marketBuffer ?? MARKET_BUFFER);
  const costFor = (broker: string, currency: string): CostModel => {
    const b = deps.brokers.get(broker);
    return { buffer, feeBound: (n) => dec(b.feeBound?.(currency, n.toFixed()) ?? 0) };
  };
  const cost = (p: PortfolioRow) => costFor(p.broker, p.baseCurrency);
  const runs = new BasketRunService({ ...deps, cost, buffer });
  const smallcases = new SmallcaseService({ db: deps.db, clock: deps.clock, instruments: deps.instruments, cost: (currency) => costFor('paper', currency) });
  const investments = new InvestmentService({
    db: deps.db,
    clock: deps.clock,
    instruments: deps.instruments,
    portfolios: deps.portfolios,
    smallcases,
    runs,
    cost,
    minTicket: (currency) => dec(deps.minTicket[currency] ?? 0),
  });
  const targets = new TargetPortfolioService({ db: deps.db, instruments: deps.instruments, portfolios: deps.portfolios, runs, cost });
  return { smallcases, investments, runs, targets };
}
