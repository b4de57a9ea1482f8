import { and, asc, eq, gt } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import type { Db } from '../../db/client.js';
import { strategies, strategySignals } from '../../db/schema/index.js';
import { toAsyncIterator } from '../../events/async-iterator.js';
import type { PubSub } from '../../events/pubsub.js';
import type { SignalRow, StrategyService } from './strategy.service.js';

/**
 * strategySignal: the caller's signals as they are recorded, optionally of one strategy (checked as
 * theirs). With `after`, signals recorded since then are replayed first (a reconnecting client loses
 * nothing); each signal is pushed once.
 */
export class SignalStream {
  constructor(private readonly deps: { db: Db; pubsub: PubSub; strategies: StrategyService }) {}

  async stream(viewer: Principal, strategyId: string | null, after: Date | null = null): Promise<AsyncIterableIterator<SignalRow>> {
    if (strategyId) await this.deps.strategies.get(viewer, strategyId);
    const seen = new Set<string>();
    const it = toAsyncIterator<SignalRow>(
      async (push) => {
        const once = (row: SignalRow | undefined) => {
          if (!row || seen.has(row.id)) return;
          seen.add(row.id);
          push(row);
        };
        const unsub = await this.deps.pubsub.subscribe('strategy-signals', viewer.userId, (m) => {
          if (strategyId && m.strategyId !== strategyId) return;
          void this.deps.db
            .select()
            .from(strategySignals)
            .where(eq(strategySignals.id, m.signalId))
            .then(([row]) => once(row))
            .catch(() => undefined);
        });
        if (after) {
          const rows = await this.deps.db
            .select({ s: strategySignals })
            .from(strategySignals)
            .innerJoin(strategies, eq(strategies.id, strategySignals.strategyId))
            .where(and(eq(strategies.ownerId, viewer.userId), strategyId ? eq(strategySignals.strategyId, strategyId) : undefined, gt(strategySignals.createdAt, after)))
            .orderBy(asc(strategySignals.createdAt), asc(strategySignals.id))
            .limit(1000);
          for (const r of rows) once(r.s);
        }
        return unsub;
      },
      { overflow: 'drop-oldest', bufferSize: 1024 },
    );
    await it.ready;
    return it;
  }
}
