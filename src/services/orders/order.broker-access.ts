import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { instruments, portfolios } from '../../db/schema/index.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { BrokerRateLimitedError, type BrokerAdapter, type BrokerAuthError, type BrokerInstrument } from '../../brokers/broker.js';
import type { OrderRow } from './order.snapshot.js';
import { PermanentError } from '../../errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the order loop's worker side needs before it talks to a broker, shared by its use cases (submit,
 * cancel, sync): the account an order trades in, a permit from the per-account rate limit, the
 * instrument's broker-facing fields, and the answer to a broker refusing the connection's credentials.
 */
export class BrokerAccess {
  constructor(private readonly deps: { db: Db; logger: Logger; rateLimiter: RateLimiter }) {}

  /**
   * The account at the broker: a portfolio on a broker connection trades through that connection (the
   * adapter reads its credentials); for the paper exchange each portfolio is its own account. A
   * portfolio's connection never changes, so it is cached.
   */
  private readonly accounts = new Map<string, Promise<string>>();
  account(o: Pick<OrderRow, 'portfolioId'>): Promise<string> {
    // The promise is cached, so the orders of a run submitted together look their portfolio up once.
    let hit = this.accounts.get(o.portfolioId);
    if (!hit) {
      hit = this.deps.db
        .select({ c: portfolios.brokerConnectionId })
        .from(portfolios)
        .where(eq(portfolios.id, o.portfolioId))
        .then(([p]) => p?.c ?? o.portfolioId);
      this.accounts.set(o.portfolioId, hit);
      hit.catch(() => this.accounts.delete(o.portfolioId));
    }
    return hit;
  }

  /** The broker refused the connection's credentials: nothing is retried until the user reconnects. */
  authRequired(orderId: string, err: BrokerAuthError): never {
    this.deps.logger.warn({ orderId, reason: err.message }, 'broker connection needs reconnecting; not retrying');
    throw new PermanentError(`BROKER_AUTH_REQUIRED: ${err.message}`);
  }

  /** Wait for a permit from the per-account limit shared by all workers (in Redis when scaled). */
  async throttle(broker: BrokerAdapter, account: string): Promise<void> {
    if (broker.unthrottled) return;
    const key = `broker:${broker.name}:${account}`;
    for (let waited = 0; ; ) {
      const wait = await this.deps.rateLimiter.tryAcquire(key, broker.rateLimit);
      if (wait === 0) return;
      if (waited > 5_000) throw new BrokerRateLimitedError(wait);
      await sleep(wait);
      waited += wait;
    }
  }

  /** Instruments' broker-facing fields, cached: reference data that does not change under an order. */
  private readonly instrumentCache = new Map<string, BrokerInstrument>();
  async instrumentOf(id: string): Promise<BrokerInstrument> {
    const hit = this.instrumentCache.get(id);
    if (hit) return hit;
    const [i] = await this.deps.db.select().from(instruments).where(eq(instruments.id, id));
    const inst = { symbol: i.symbol, exchange: i.exchange, currency: i.currency, tickSize: i.tickSize, lotSize: i.lotSize };
    this.instrumentCache.set(id, inst);
    return inst;
  }
}
