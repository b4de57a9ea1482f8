import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { pooledParentFills, pooledParentOrders } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import { BrokerRejectedError, type BrokerAdapter, type BrokerFill } from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { OutboxRelay, StoredEvent } from '../../events/outbox.js';
import { BatchFillApplier } from './batch-fill.js';
import { PooledPublisher } from './pooled-publisher.js';
import { OrderTransitions } from '../orders/order.transitions.js';
import { isTerminal, type OrderStatus } from '../orders/order.state.js';
import { allocateFee, allocateNotional, allocateQuantity } from './allocation.js';
import type { ChildKey, ParentOrderRow, PooledRepository } from './pooled.repository.js';

/** The client order id a parent carries at the broker: tells its events apart from members' orders. */
export const PARENT_CLIENT_PREFIX = 'pool-';
export const parentClientOrderId = (parentId: string) => `${PARENT_CLIENT_PREFIX}${parentId}`;
export const CROSS_KEY = 'cross';
/** The smallest currency unit fees are allocated to (finer when the broker's fee itself is finer). */
const MINOR_UNIT = '0.01';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Drives one parent order to its end, re-entrantly (any step may be repeated after a crash): place it
 * at the broker (or adopt it there: the broker knows it by its client order id), allocate each broker
 * fill to the children (ONE transaction per parent fill, keyed by (parent, fill, child), so nothing is
 * lost or allocated twice), then, once the parent is done, the crossed part at the parent's average
 * price, and end the children that can get no more.
 */
export class ParentDriver {
  private readonly batch = new BatchFillApplier();
  private readonly transitions: OrderTransitions;
  /** Committed events go to the relay after the allocations, off their critical path (pooled-publisher.ts). */
  readonly publisher: PooledPublisher;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; relay: OutboxRelay; rateLimiter: RateLimiter; brokers: BrokerRegistry; repo: PooledRepository },
  ) {
    this.transitions = new OrderTransitions(deps);
    this.publisher = new PooledPublisher(deps.relay);
  }

  /**
   * Members' cancels after the close (child-cancel.service.ts), set once wired: a parent with a reduction
   * in flight is not driven and its fills are not allocated until the reduction's outcome is recorded.
   */
  reductions?: {
    holdDrive(parentId: string): Promise<boolean>;
    inFlight(tx: Tx, parentId: string): Promise<boolean>;
    /** The child whose cancel canceled this parent at the broker (it ends with its owner's reason). */
    canceledBy(parentId: string): Promise<string | null>;
    ownerReason: string;
  };

  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  /**
   * Drive a parent; calls for a parent this process is driving already join that run (which goes once
   * more after it, for what the broker reported meanwhile), so broker events, the window close and the
   * sweep do not each replay the same steps against one another's locks. Other processes' drives are
   * harmless (every step is guarded), only slower.
   */
  drive(parentId: string): Promise<void> {
    const running = this.running.get(parentId);
    if (running) {
      this.again.add(parentId);
      return running;
    }
    // Its children's events are published once the drive ends (or has run long: pooled-publisher.ts).
    const run = this.publisher.deferWhile(async () => {
      try {
        do {
          this.again.delete(parentId);
          await this.driveOnce(parentId);
        } while (this.again.has(parentId));
      } finally {
        this.running.delete(parentId);
        this.again.delete(parentId);
      }
    });
    this.running.set(parentId, run);
    return run;
  }

  /** Whether this process is driving `parentId` now. */
  isDriving(parentId: string): boolean {
    return this.running.has(parentId);
  }

  private async driveOnce(parentId: string): Promise<void> {
    let p = await this.deps.repo.parent(parentId);
    if (!p) return;
    const account = await this.deps.repo.account(p.pooledAccountId);
    if (!account) return;
    const broker = this.deps.brokers.get(account.broker);
    const brokerAccount = account.brokerConnectionId ?? account.id;
    if (!isTerminal(p.status as OrderStatus) && (await this.reductions?.holdDrive(p.id))) return; // driven when it ends
    if (!isTerminal(p.status as OrderStatus)) {
      p = await this.atBroker(p, broker, brokerAccount);
      if (p.brokerOrderId) {
        await this.throttle(broker, brokerAccount);
        for (const f of await broker.getFills(brokerAccount, p.brokerOrderId)) await this.allocateFill(p.id, f);
        await this.throttle(broker, brokerAccount);
        const remote = await broker.getOrder(brokerAccount, { brokerOrderId: p.brokerOrderId });
        p = (await this.deps.repo.parent(p.id))!;
        if (remote && ['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'].includes(remote.status) && dec(p.filledQuantity).gte(remote.filledQuantity)) {
          p = await this.setParent(p.id, { status: remote.status as OrderStatus, rejectReason: remote.rejectReason ?? null });
        }
      }
    }
    if (isTerminal(p.status as OrderStatus)) await this.settle(p);
  }

  /** Place the parent once: PENDING → SUBMITTING, then placeOrder, or adopt what the broker already has. */
  private async atBroker(p: ParentOrderRow, broker: BrokerAdapter, brokerAccount: string): Promise<ParentOrderRow> {
    if (p.brokerOrderId) return p;
    const clientOrderId = parentClientOrderId(p.id);
    if (p.status === 'PENDING') p = await this.setParent(p.id, { status: 'SUBMITTING' });
    else {
      await this.throttle(broker, brokerAccount);
      const found = await broker.getOrder(brokerAccount, { clientOrderId });
      if (found) return this.setParent(p.id, { brokerOrderId: found.brokerOrderId, status: 'OPEN' });
    }
    const inst = await this.deps.repo.instrument(p.instrumentId);
    try {
      await this.throttle(broker, brokerAccount);
      const ack = await broker.placeOrder({
        clientOrderId,
        account: brokerAccount,
        instrument: { symbol: inst.symbol, exchange: inst.exchange, currency: inst.currency, tickSize: inst.tickSize, lotSize: inst.lotSize },
        side: p.side,
        type: 'MARKET',
        timeInForce: 'DAY',
        quantity: p.quantity,
        protectionPrice: p.protectionPrice,
      });
      return this.setParent(p.id, { brokerOrderId: ack.brokerOrderId, status: 'OPEN' });
    } catch (err) {
      if (err instanceof BrokerRejectedError) return this.setParent(p.id, { status: 'REJECTED', rejectReason: err.reason });
      throw err; // transient: the job retries; the retry looks the parent up at the broker first
    }
  }

  private async setParent(id: string, set: Partial<typeof pooledParentOrders.$inferInsert>): Promise<ParentOrderRow> {
    const [u] = await this.deps.db
      .update(pooledParentOrders)
      .set({ ...set, updatedAt: this.deps.clock.now() })
      .where(eq(pooledParentOrders.id, id))
      .returning();
    return u;
  }

  /**
   * One parent fill, allocated to the children on the parent's side pro rata to their remaining
   * quantities, in ONE transaction with the parent fill's record and every child's fill. A replay finds
   * the parent fill recorded and does nothing.
   */
  async allocateFill(parentId: string, f: Pick<BrokerFill, 'brokerFillId' | 'quantity' | 'price' | 'fee' | 'executedAt' | 'brokerOrderId'>): Promise<boolean> {
    const now = this.deps.clock.now();
    const parent0 = await this.deps.repo.parent(parentId);
    if (!parent0) return false;
    const lot = (await this.deps.repo.instrument(parent0.instrumentId)).lotSize;
    const events = await this.deps.db.transaction(async (tx) => {
      if (this.reductions) {
        // A member's cancel is reducing this parent: the fill waits at the broker for the next drive.
        await tx.select({ id: pooledParentOrders.id }).from(pooledParentOrders).where(eq(pooledParentOrders.id, parentId)).for('update');
        if (await this.reductions.inFlight(tx, parentId)) return null;
      }
      const [recorded] = await tx
        .insert(pooledParentFills)
        .values({ parentId, brokerFillId: f.brokerFillId, quantity: f.quantity, price: f.price, fee: f.fee, executedAt: new Date(f.executedAt), createdAt: now })
        .onConflictDoNothing()
        .returning();
      if (!recorded) return null; // allocated before: the parent fill and its allocations commit together
      const [p] = await tx.select().from(pooledParentOrders).where(eq(pooledParentOrders.id, parentId)).for('update');
      const kids = (await this.deps.repo.childKeys(parentId, tx)).filter((k) => k.side === p.side);
      const out = await this.allocateInTx(tx, p, kids, lot, f.brokerFillId, dec(f.quantity), dec(f.price), dec(f.fee), f.brokerOrderId, new Date(f.executedAt), now);
      const filledBefore = dec(p.filledQuantity);
      const filled = filledBefore.add(f.quantity);
      const avg = dec(p.averageFillPrice ?? 0).mul(filledBefore).add(dec(f.price).mul(f.quantity)).div(filled).toDecimalPlaces(8);
      await tx
        .update(pooledParentOrders)
        .set({ filledQuantity: toDb(filled), averageFillPrice: toDb(avg), status: filled.gte(p.quantity) ? 'FILLED' : 'PARTIALLY_FILLED', updatedAt: now })
        .where(eq(pooledParentOrders.id, parentId));
      return out;
    });
    if (!events) return false;
    this.publisher.enqueue(events);
    return true;
  }

  /** Split (quantity, fee) among `kids` and apply each share through the order loop's fill path. */
  private async allocateInTx(
    tx: Tx,
    p: ParentOrderRow,
    kids: ChildKey[],
    lotSize: string,
    key: string,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    brokerOrderId: string,
    /** When the execution happened (the broker's time; the cross: when it is settled). */
    executedAt: Date,
    now: Date,
  ): Promise<StoredEvent[]> {
    if (quantity.isZero()) return [];
    // Locked in portfolio id order (as placement does), then everything read once under the locks.
    const state = await this.batch.load(tx, kids.map((k) => k.portfolioId), kids.map((k) => k.id));
    const claims = [...state.orders.values()]
      .filter((k) => !isTerminal(k.status as OrderStatus))
      .map((k) => ({ id: k.id, remaining: dec(k.quantity).sub(k.filledQuantity), seq: k.createdAt.getTime(), row: k }))
      .filter((c) => c.remaining.gt(0))
      .sort((a, b) => a.seq - b.seq || (a.id < b.id ? -1 : 1));
    const qty = allocateQuantity(quantity, lotSize, claims);
    const shares = claims.filter((c) => qty.get(c.id)!.gt(0)).map((c) => ({ id: c.id, quantity: qty.get(c.id)!, seq: c.seq }));
    const fees = allocateFee(fee, MINOR_UNIT, shares);
    // The cash each child's TRADE line moves: the execution's value q × price rounded to the paisa, split
    // to the paisa (the crossed part's price, the parent's average or a half-tick mid, has more decimals;
    // so may a broker price for fractional quantities). Both sides of a cross get the same total.
    const { amounts } = allocateNotional(price, MINOR_UNIT, shares);
    // Every child's fill in a few multi-row statements: one transaction for the whole parent fill. A child's
    // fill (broker fill id `<parent>:<key>`, unique per order) is the record of its share; the parent
    // fill's row (or, for the cross, these fills: PooledRepository.allocated) keeps it from being allocated twice.
    return this.batch.apply(
      tx,
      state,
      shares.map((c) => ({ orderId: c.id, brokerFillId: `${p.id}:${key}`, brokerOrderId, quantity: c.quantity, price, fee: fees.get(c.id)!, executedAt, notional: amounts.get(c.id)! })),
      now,
    );
  }

  /**
   * The parent is done at the broker: the crossed part fills internally at the parent's average price
   * (the quote mid at close when nothing went to the broker), on both sides; then every child that can
   * get no more ends (CANCELED when the parent was partially filled or canceled, REJECTED with the
   * parent's reason when it was rejected), its hold released.
   */
  private async settle(p: ParentOrderRow): Promise<void> {
    const crossed = dec(p.crossedQuantity);
    if (crossed.gt(0) && !(await this.deps.repo.allocated(p.id, CROSS_KEY))) {
      const price = p.crossedPrice ? dec(p.crossedPrice) : p.averageFillPrice ? dec(p.averageFillPrice) : null;
      if (price) {
        const now = this.deps.clock.now();
        const lot = (await this.deps.repo.instrument(p.instrumentId)).lotSize;
        const events = await this.deps.db.transaction(async (tx) => {
          const [locked] = await tx.select().from(pooledParentOrders).where(eq(pooledParentOrders.id, p.id)).for('update');
          if (await this.deps.repo.allocated(p.id, CROSS_KEY, tx)) return [];
          await tx.update(pooledParentOrders).set({ crossedPrice: toDb(price), updatedAt: now }).where(eq(pooledParentOrders.id, p.id));
          const kids = await this.deps.repo.childKeys(p.id, tx);
          const out: StoredEvent[] = [];
          for (const side of ['BUY', 'SELL'] as const) {
            out.push(...(await this.allocateInTx(tx, locked, kids.filter((k) => k.side === side), lot, CROSS_KEY, crossed, price, dec(0), `cross-${p.id}`, now, now)));
          }
          return out;
        });
        this.publisher.enqueue(events);
      }
    }
    const reason = p.status === 'REJECTED' ? `parent order rejected: ${p.rejectReason ?? 'by the broker'}` : 'the pooled parent order ended before this order filled';
    const open = await this.deps.repo.openChildIds(p.id);
    const owner = open.length && p.status === 'CANCELED' ? await this.reductions?.canceledBy(p.id) : null;
    for (const id of open) {
      await this.transitions.end(id, p.status === 'REJECTED' ? 'REJECTED' : 'CANCELED', id === owner ? this.reductions!.ownerReason : reason);
    }
  }

  /** Take a slot of the account's shared broker rate limit (waits up to ~5 s). Also used by members' cancels. */
  async throttle(broker: BrokerAdapter, account: string): Promise<void> {
    const key = `broker:${broker.name}:${account}`;
    for (let waited = 0; waited <= 5_000; ) {
      const wait = await this.deps.rateLimiter.tryAcquire(key, broker.rateLimit);
      if (wait === 0) return;
      await sleep(wait);
      waited += wait;
    }
  }
}
