import { eq } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import type { Db } from '../../db/client.js';
import { strategySignals } from '../../db/schema/index.js';
import { toAsyncIterator } from '../../events/async-iterator.js';
import type { PubSub } from '../../events/pubsub.js';
import type { SignalRow, StrategyService } from './strategy.service.js';

/** strategySignal: the caller's signals as they are recorded, optionally of one strategy (checked as theirs). */
export class SignalStream {
  constructor(private readonly deps: { db: Db; pubsub: PubSub; strategies: StrategyService }) {}

  async stream(viewer: Principal, strategyId: string | null): Promise<AsyncIterableIterator<SignalRow>> {
    if (strategyId) await this.deps.strategies.get(viewer, strategyId);
    const it = toAsyncIterator<SignalRow>(
      async (push) =>
        this.deps.pubsub.subscribe('strategy-signals', viewer.userId, (m) => {
          if (strategyId && m.strategyId !== strategyId) return;
          void this.deps.db
            .select()
            .from(strategySignals)
            .where(eq(strategySignals.id, m.signalId))
            .then(([row]) => row && push(row))
            .catch(() => undefined);
        }),
      { overflow: 'drop-oldest', bufferSize: 1024 },
    );
    await it.ready;
    return it;
  }
}
