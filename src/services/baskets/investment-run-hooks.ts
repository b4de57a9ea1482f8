import type { Tx } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import type { BasketRunRow } from './basket-run.service.js';
import type { InvestmentRepository, InvestmentStatus } from './investment.repository.js';
import type { RunOrderView } from './run-summary.js';

/**
 * The basket-run hooks of smallcase investments (InvestmentService plugs them into BasketRunService): a
 * run's buys and fills move its investment's targets, holdings and status, inside the run's transactions.
 */
export class InvestmentRunHooks {
  private readonly repo: InvestmentRepository;

  constructor(private readonly deps: { repo: InvestmentRepository; clock: Clock }) {
    this.repo = deps.repo;
  }

  // ---- run hooks (inside the run's transactions) ----

  async onBuysPlaced(tx: Tx, run: BasketRunRow, placed: { instrumentId: string; quantity: string }[]): Promise<void> {
    if (!run.investmentId || placed.length === 0 || run.kind !== 'REBALANCE') return;
    const holdings = new Map((await this.repo.holdings(run.investmentId, tx)).map((h) => [h.instrumentId, h]));
    const targets = new Map<string, Decimal>();
    for (const o of placed) targets.set(o.instrumentId, dec(holdings.get(o.instrumentId)?.targetQuantity ?? 0).add(o.quantity));
    await this.repo.setTargets(tx, run.investmentId, targets, this.deps.clock.now());
  }

  async onRunCompleted(tx: Tx, run: BasketRunRow, orders: RunOrderView[], status: 'COMPLETED' | 'PARTIAL' | 'FAILED'): Promise<void> {
    if (!run.investmentId) return;
    const inv = await this.repo.byId(run.investmentId, tx);
    if (!inv) return;
    const now = this.deps.clock.now();
    const after = await this.repo.applyFills(tx, inv, orders, now);
    let next: InvestmentStatus = status === 'COMPLETED' ? 'ACTIVE' : 'NEEDS_REPAIR';
    if (run.kind === 'EXIT' && after.every((h) => dec(h.quantity).isZero())) next = 'EXITED';
    if (run.kind === 'REBALANCE' && status === 'COMPLETED') {
      // Rounding and skipped small tickets leave targets at what was actually reached.
      await this.repo.setTargets(tx, inv.id, new Map(after.map((h) => [h.instrumentId, dec(h.quantity)])), now);
    }
    await this.repo.setStatus(tx, inv.id, next, now);
  }
}
