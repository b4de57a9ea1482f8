import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { fills, holds, orders, positions } from '../../db/schema/index.js';
import { IdempotencyConflictError, InvalidOrderStateError, NotFoundError, RateLimitedError, BadInputError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec, fmt, toDb, type Decimal } from '../../lib/decimal.js';
import { cashToReserve, checkBuyingPower, checkNotional, checkSellable } from './order.risk.js';
import { appendEvents, lockPortfolio, type NewEvent, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import type { OrderQueue } from '../../jobs/jobs.js';
import { BROKER_JOB_OPTIONS } from '../../jobs/jobs.js';
import { balances, heldQuantity } from '../ledger.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { requestFingerprint, reservationPrice, validateClientOrderId, validateOrder, type PlaceOrderRequest } from './order.validation.js';
import { canTransition, type OrderStatus } from './order.state.js';
import { orderSnapshot, type FillRow, type OrderRow } from './order.snapshot.js';
import { OrderTransitions } from './order.transitions.js';

export interface OrderServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  queue: OrderQueue;
  relay: OutboxRelay;
  rateLimiter: RateLimiter;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  brokers: BrokerRegistry;
  limits: { ordersPerSecond: number; maxOrderNotional: string };
  /** Fraction added to the ask when sizing a market buy's cash hold (covers slippage and fees). */
  marketBuffer?: string;
  /** Fails fast (BROKER_AUTH_REQUIRED) when a portfolio's broker connection must be reconnected. */
  connections?: { assertTradable(connectionId: string): Promise<void> };
}


export interface OrderPage {
  rows: OrderRow[];
  hasNextPage: boolean;
}

/** Placing, canceling and reading orders. The worker side (submission, fills) is OrderExecutionService. */
export class OrderService {
  private readonly buffer: Decimal;

  private readonly transitions: OrderTransitions;

  constructor(private readonly deps: OrderServiceDeps) {
    this.buffer = dec(deps.marketBuffer ?? '0.05');
    this.transitions = new OrderTransitions(deps);
  }

  /**
   * Validate, check risk, and in ONE transaction insert the order, its hold and its outbox events; then
   * enqueue `submit-order` (job id = order id). A repeated clientOrderId returns the first order.
   */
  async place(viewer: Principal, req: PlaceOrderRequest): Promise<OrderRow> {
    const clientOrderId = req.clientOrderId == null ? randomUUID() : validateClientOrderId(req.clientOrderId.trim());
    const portfolio = await this.deps.portfolios.getForTrading(viewer, req.portfolioId);
    if (portfolio.brokerConnectionId) await this.deps.connections?.assertTradable(portfolio.brokerConnectionId);
    const instrument = await this.deps.instruments.resolve(req.symbol, req.exchange);
    const valid = validateOrder(req, instrument);
    if (!instrument.tradable) throw new BadInputError(`${instrument.symbol} is not tradable`, 'symbol', 'NOT_TRADABLE');
    if (instrument.currency !== portfolio.baseCurrency) {
      throw new BadInputError(
        `${instrument.symbol} trades in ${instrument.currency}; this portfolio holds ${portfolio.baseCurrency}`,
        'symbol',
        'CURRENCY_MISMATCH',
      );
    }
    const requestHash = requestFingerprint(portfolio.id, instrument.id, valid);

    const existing = await this.byClientOrderId(viewer.userId, clientOrderId);
    if (existing) return this.idempotentReplay(existing, requestHash, clientOrderId);

    const wait = await this.deps.rateLimiter.tryAcquire(`orders:${viewer.userId}`, { limit: this.deps.limits.ordersPerSecond, windowMs: 1000 });
    if (wait > 0) throw new RateLimitedError(wait);

    const quote = this.deps.instruments.quoteOf(instrument);
    const refPrice = valid.side === 'BUY' ? reservationPrice(valid, quote?.ask ? dec(quote.ask) : quote ? dec(quote.last) : null, this.buffer) : dec(0);
    if (valid.side === 'BUY' && refPrice.isZero()) {
      throw new BadInputError(`No market price for ${instrument.symbol} yet; use a limit order`, 'type', 'NO_MARKET_PRICE');
    }
    const notionalRef = valid.side === 'BUY' ? refPrice : (valid.limitPrice ?? valid.stopPrice ?? (quote ? dec(quote.bid ?? quote.last) : dec(0)));
    checkNotional(valid.quantity, notionalRef, this.deps.limits.maxOrderNotional);
    // A buy holds its notional at the reservation price plus the most its broker can charge in fees.
    const broker = this.deps.brokers.get(portfolio.broker);
    const reserve =
      valid.side === 'BUY'
        ? cashToReserve(valid.quantity, refPrice).add(broker.feeBound?.(portfolio.baseCurrency, valid.quantity.mul(refPrice).toFixed()) ?? 0)
        : valid.quantity;
    const now = this.deps.clock.now();

    let result: { order: OrderRow; events: StoredEvent[] };
    try {
      result = await this.deps.db.transaction(async (tx) => {
        const p = await lockPortfolio(tx, portfolio.id);
        if (!p) throw new NotFoundError('Portfolio', portfolio.id);
        const events: NewEvent[] = [];
        if (valid.side === 'BUY') {
          const b = await balances(tx, p.id, dec(p.cash));
          checkBuyingPower(b.available, reserve);
          events.push({
            type: 'BALANCE_CHANGED',
            payload: { cash: fmt(b.cash, 2), availableCash: fmt(b.available.sub(reserve), 2), reason: 'ORDER_HOLD' },
          });
        } else {
          const [pos] = await tx
            .select({ quantity: positions.quantity })
            .from(positions)
            .where(and(eq(positions.portfolioId, p.id), eq(positions.instrumentId, instrument.id)));
          checkSellable(dec(pos?.quantity ?? 0), await heldQuantity(tx, p.id, instrument.id), valid.quantity);
        }
        const [order] = await tx
          .insert(orders)
          .values({
            userId: viewer.userId,
            portfolioId: p.id,
            instrumentId: instrument.id,
            clientOrderId,
            side: valid.side,
            type: valid.type,
            timeInForce: valid.timeInForce,
            quantity: toDb(valid.quantity),
            limitPrice: valid.limitPrice ? toDb(valid.limitPrice) : null,
            stopPrice: valid.stopPrice ? toDb(valid.stopPrice) : null,
            status: 'PENDING',
            broker: p.broker,
            requestHash,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        await tx.insert(holds).values({
          portfolioId: p.id,
          orderId: order.id,
          kind: valid.side === 'BUY' ? 'CASH' : 'QUANTITY',
          instrumentId: valid.side === 'SELL' ? instrument.id : null,
          amount: toDb(reserve),
          createdAt: now,
          updatedAt: now,
        });
        events.unshift({ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(order) } });
        return { order, events: await appendEvents(tx, p.id, events, now) };
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        // Lost a race with the same clientOrderId: the winner's order is the answer.
        const winner = await this.byClientOrderId(viewer.userId, clientOrderId);
        if (winner) return this.idempotentReplay(winner, requestHash, clientOrderId);
      }
      throw err;
    }
    await this.deps.relay.published(result.events);
    await this.deps.queue.add('submit-order', { orderId: result.order.id }, { jobId: result.order.id, ...BROKER_JOB_OPTIONS });
    return result.order;
  }

  private async idempotentReplay(existing: OrderRow, requestHash: string, clientOrderId: string): Promise<OrderRow> {
    if (existing.requestHash !== requestHash) throw new IdempotencyConflictError(clientOrderId);
    if (existing.status === 'PENDING') {
      // The first request may have died between commit and enqueue; the job id makes this a no-op otherwise.
      await this.deps.queue.add('submit-order', { orderId: existing.id }, { jobId: existing.id, ...BROKER_JOB_OPTIONS });
    }
    return existing;
  }

  private async byClientOrderId(userId: string, clientOrderId: string): Promise<OrderRow | null> {
    const [o] = await this.deps.db
      .select()
      .from(orders)
      .where(and(eq(orders.userId, userId), eq(orders.clientOrderId, clientOrderId)))
      .limit(1);
    return o ?? null;
  }

  /** An order the viewer may read (via its portfolio); anyone else's is NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<OrderRow> {
    const o = await this.byId(id);
    if (!o) throw new NotFoundError('Order', id);
    try {
      await this.deps.portfolios.get(viewer, o.portfolioId);
    } catch {
      throw new NotFoundError('Order', id);
    }
    return o;
  }

  async byId(id: string): Promise<OrderRow | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [o] = await this.deps.db.select().from(orders).where(eq(orders.id, id)).limit(1);
    return o ?? null;
  }

  /**
   * Cancel: a PENDING order is canceled here and now (hold released); one at the broker moves to
   * CANCEL_REQUESTED and a `cancel-order` job asks the broker. A finished order is INVALID_ORDER_STATE.
   */
  async cancel(viewer: Principal, id: string): Promise<OrderRow> {
    const o = await this.get(viewer, id);
    // Advisors may read a client's orders but only the owner (or an admin) may cancel them.
    await this.deps.portfolios.getForTrading(viewer, o.portfolioId).catch(() => {
      throw new NotFoundError('Order', id);
    });
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = attempt === 0 ? o : await this.byId(id);
      if (!current) throw new NotFoundError('Order', id);
      const status = current.status as OrderStatus;
      if (status === 'CANCEL_REQUESTED') return current;
      if (!canTransition(status, 'CANCEL_REQUESTED') && !canTransition(status, 'CANCELED')) {
        throw new InvalidOrderStateError(status, 'cancel');
      }
      const target: OrderStatus = status === 'PENDING' ? 'CANCELED' : 'CANCEL_REQUESTED';
      const updated = await this.transitions.move(current, status, target);
      if (!updated) continue; // someone moved it meanwhile: look again
      if (target === 'CANCEL_REQUESTED' && status !== 'SUBMITTING') {
        // A SUBMITTING order is canceled by the submit job once the broker has acknowledged it.
        await this.deps.queue.add('cancel-order', { orderId: id }, { jobId: `cancel-${id}`, ...BROKER_JOB_OPTIONS });
      }
      return updated;
    }
    throw new InvalidOrderStateError('changing', 'cancel');
  }

  /** Newest first, keyset-paginated by (createdAt, id). */
  async listForPortfolio(portfolioId: string, opts: { first: number; after?: { createdAt: Date; id: string } | null; status?: OrderStatus[] | null }): Promise<OrderPage> {
    const conds: SQL[] = [eq(orders.portfolioId, portfolioId)];
    if (opts.status?.length) conds.push(inArray(orders.status, opts.status));
    if (opts.after) {
      conds.push(or(lt(orders.createdAt, opts.after.createdAt), and(eq(orders.createdAt, opts.after.createdAt), lt(orders.id, opts.after.id)))!);
    }
    const rows = await this.deps.db
      .select()
      .from(orders)
      .where(and(...conds))
      .orderBy(desc(orders.createdAt), desc(orders.id))
      .limit(opts.first + 1);
    return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first };
  }

  async fillsOf(orderId: string): Promise<FillRow[]> {
    return this.deps.db.select().from(fills).where(eq(fills.orderId, orderId)).orderBy(fills.executedAt, fills.id);
  }
}
