import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { orders, pooledMembers, users } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { eventId } from '../../notifications/events.js';
import type { NotifierPort } from '../../notifications/notification.service.js';
import type { PooledAccountService } from './pooled-account.service.js';
import type { PooledRepository } from './pooled.repository.js';

/**
 * The scheduled reconciliation (job `pooled-reconcile`): for every pooled account with no window being
 * allocated, compare the broker account's positions with the sum of the members'; when they differ,
 * every admin gets a `pooled.reconciliation_mismatch` notification (one per account, differences and
 * period: the event id is derived from them, so repeated checks do not repeat it within a period).
 */
export class ReconciliationCheck {
  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; repo: PooledRepository; accounts: PooledAccountService; notifier: () => NotifierPort | undefined; periodMs: number },
  ) {}

  async run(): Promise<number> {
    const notifier = this.deps.notifier();
    let mismatched = 0;
    for (const account of await this.deps.repo.listAccounts()) {
      // A window being allocated is a difference on its way to settling, not a mismatch.
      const busy = await this.deps.db
        .select({ id: orders.id })
        .from(orders)
        .innerJoin(pooledMembers, eq(pooledMembers.portfolioId, orders.portfolioId))
        .where(and(eq(pooledMembers.pooledAccountId, account.id), inArray(orders.status, ['SUBMITTING', 'PARTIALLY_FILLED'])))
        .limit(1);
      if (busy.length) continue;
      const lines = (await this.deps.accounts.reconciliation(account)).filter((l) => l.difference !== '0');
      if (lines.length === 0) continue;
      mismatched++;
      this.deps.logger.warn({ accountId: account.id, lines }, 'pooled account does not reconcile');
      if (!notifier) continue;
      const period = Math.floor(this.deps.clock.now().getTime() / this.deps.periodMs);
      const admins = await this.deps.db.select({ id: users.id }).from(users).where(eq(users.role, 'ADMIN'));
      const summary = lines.map((l) => `${l.instrumentId}:${l.difference}`).join(',');
      for (const a of admins) {
        await notifier.emit({
          id: eventId(`pooled-reconciliation:${account.id}:${period}:${summary}:${a.id}`),
          type: 'pooled.reconciliation_mismatch',
          userId: a.id,
          title: `Pooled account ${account.name} does not reconcile`,
          body: `${lines.length} instrument(s) differ between the broker account and the members' positions`,
          data: { pooledAccountId: account.id, lines },
        });
      }
    }
    return mismatched;
  }
}
