import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { builtOnce } from '../../db/built-once.js';
import type { Db } from '../../db/client.js';
import { fills, orders } from '../../db/schema/index.js';
import { IdempotencyConflictError, InvalidOrderStateError, NotFoundError, RateLimitedError, BadInputError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import { cashToReserve, checkNotional } from './order.risk.js';
import type { OutboxRelay } from '../../events/outbox.js';
import type { OrderQueue } from '../../jobs/jobs.js';
import { BROKER_JOB_OPTIONS } from '../../jobs/jobs.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { requestFingerprint, reservationPrice, validateClientOrderId, validateOrder, type PlaceOrderRequest } from './order.validation.js';
import { canTransition, type OrderStatus } from './order.state.js';
import type { FillRow, OrderRow } from './order.snapshot.js';
import { OrderTransitions } from './order.transitions.js';
import { protectionPrice } from './market-protection.js';
import { PlacementBatcher } from './placement-batcher.js';
import type { PlacementResult, PreparedOrder } from './order.placement.js';
import type { AuditPort } from '../people/audit.service.js';
import { readOrderPage, type OrderPage, type OrderPageQuery } from './order.read.js';

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
  /** The audit log (orders placed and cancels requested). */
  audit?: AuditPort;
  /** Fails fast (BROKER_AUTH_REQUIRED) when a portfolio's broker connection must be reconnected. */
  connections?: { assertTradable(connectionId: string): Promise<void> };
  /**
   * Pooled accounts: a child its window's parent has claimed is canceled by reducing that parent at the
   * broker, or refused (INVALID_ORDER_STATE). Returns the canceled child, or null for any other order.
   */
  pooled?: { cancelClaimed(o: OrderRow): Promise<OrderRow | null> };
}

export type { OrderPage } from './order.read.js';

/** Placing, canceling and reading orders. The worker side (submission, fills) is OrderExecutionService. */
export class OrderService {
  private readonly buffer: Decimal;

  private readonly transitions: OrderTransitions;
  private readonly batcher: PlacementBatcher;

  constructor(private readonly deps: OrderServiceDeps) {
    this.buffer = dec(deps.marketBuffer ?? '0.05');
    this.transitions = new OrderTransitions(deps);
    this.batcher = new PlacementBatcher(deps);
  }

  /**
   * Validate, check risk, and in ONE transaction insert the order, its hold and its outbox events; then
   * enqueue `submit-order` (job id = order id). A repeated clientOrderId returns the first order. Orders
   * arriving together share that transaction (group commit, see PlacementBatcher).
   */
  async place(viewer: Principal, req: PlaceOrderRequest): Promise<OrderRow> {
    for (let attempt = 0; ; attempt++) {
      const prepared = await this.prepare(viewer, req);
      if ('replay' in prepared) return prepared.replay;
      // Its `order.placed` audit entry is written by the placement's own transaction.
      const audit = { actorId: viewer.userId, data: { portfolioId: prepared.portfolioId, symbol: req.symbol, side: prepared.valid.side, type: prepared.valid.type, via: viewer.via ?? 'token' } };
      const r = await this.batcher.place({ ...prepared, audit });
      if (r.kind === 'placed') {
        // An audit port that cannot write in a transaction gets the entry after the commit, as before.
        if (this.deps.audit && !this.deps.audit.inTx) {
          await this.deps.audit.record({ actorId: audit.actorId, action: 'order.placed', subjectId: r.order.id, data: { ...audit.data, quantity: r.order.quantity } });
        }
        return r.order;
      }
      if (r.kind === 'refused') throw r.error;
      // A repeated clientOrderId (found by the placement's transaction), or a lost race with the same
      // one: the first order is the answer.
      const winner = r.order ?? (await this.byClientOrderId(viewer.userId, prepared.clientOrderId));
      if (winner) return this.idempotentReplay(winner, prepared.requestHash, prepared.clientOrderId);
      // The winner's transaction rolled back after all: try again.
      if (attempt >= 2) throw new InvalidOrderStateError('being placed', 'place');
    }
  }

  /**
   * For a caller that recorded orders with {@link placeOrdersInTx} in its own transaction (a basket run):
   * once that transaction has committed, publish their events and enqueue their `submit-order` jobs.
   */
  announce(results: PlacementResult[]): Promise<void> {
    return this.batcher.announce(results);
  }

  /**
   * Everything about placing an order that needs no lock: access, validation, idempotency, the rate
   * limit, the reservation price, the notional limit and the hold. Returns the order to record (with
   * {@link placeOrdersInTx}, in any transaction) or, for a repeated clientOrderId, the first order.
   */
  async prepare(viewer: Principal, req: PlaceOrderRequest): Promise<PreparedOrder | { replay: OrderRow }> {
    const clientOrderId = req.clientOrderId == null ? randomUUID() : validateClientOrderId(req.clientOrderId.trim());
    const portfolio = await this.deps.portfolios.tradingFacts(viewer, req.portfolioId);
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

    // A repeated clientOrderId is found by the placement's transaction (placeOrdersInTx), before its risk
    // checks, with the other inputs of its batch in one statement. A repeat counts against the rate limit,
    // but is never refused by it: a caller over the limit is answered with its first order.
    const wait = await this.deps.rateLimiter.tryAcquire(`orders:${viewer.userId}`, { limit: this.deps.limits.ordersPerSecond, windowMs: 1000 });
    if (wait > 0) {
      const existing = req.clientOrderId != null ? await this.byClientOrderId(viewer.userId, clientOrderId) : null;
      if (existing) return { replay: await this.idempotentReplay(existing, requestHash, clientOrderId) };
      throw new RateLimitedError(wait);
    }

    const quote = this.deps.instruments.quoteOf(instrument);
    const refPrice = valid.side === 'BUY' ? reservationPrice(valid, quote?.ask ? dec(quote.ask) : quote ? dec(quote.last) : null, this.buffer) : dec(0);
    if (valid.side === 'BUY' && refPrice.isZero()) {
      throw new BadInputError(`No market price for ${instrument.symbol} yet; use a limit order`, 'type', 'NO_MARKET_PRICE');
    }
    // Market protection (market-protection.ts): the broker caps a market/stop buy at its hold's price.
    const protection = protectionPrice(valid, refPrice, instrument.tickSize);
    const notionalRef = valid.side === 'BUY' ? refPrice : (valid.limitPrice ?? valid.stopPrice ?? (quote ? dec(quote.bid ?? quote.last) : dec(0)));
    checkNotional(valid.quantity, notionalRef, this.deps.limits.maxOrderNotional);
    // A buy holds its notional at the reservation price plus the most its broker can charge in fees.
    const broker = this.deps.brokers.get(portfolio.broker);
    const reserve =
      valid.side === 'BUY'
        ? cashToReserve(valid.quantity, refPrice).add(broker.feeBound?.(portfolio.baseCurrency, valid.quantity.mul(refPrice).toFixed()) ?? 0)
        : valid.quantity;
    return {
      userId: viewer.userId,
      portfolioId: portfolio.id,
      instrumentId: instrument.id,
      clientOrderId,
      ...(req.clientOrderId == null ? { generatedClientOrderId: true } : {}),
      valid,
      reserve,
      requestHash,
      protectionPrice: protection,
    };
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
    const db = this.deps.db;
    const q = builtOnce(db, 'order-by-client-id', () =>
      db.select().from(orders).where(and(eq(orders.userId, sql.placeholder('userId')), eq(orders.clientOrderId, sql.placeholder('clientOrderId')))).limit(1).prepare('order_by_client_id'),
    );
    const [o] = await q.execute({ userId, clientOrderId });
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
    // Advisors and admins may read a client's orders but only the owner may cancel them (FORBIDDEN).
    await this.deps.portfolios.getForTrading(viewer, o.portfolioId);
    const pooled = await this.deps.pooled?.cancelClaimed(o);
    if (pooled) {
      await this.deps.audit?.record({ actorId: viewer.userId, action: 'order.cancel_requested', subjectId: id, data: { from: o.status, to: pooled.status, pooledParentReduced: true } });
      return pooled;
    }
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
      await this.deps.audit?.record({ actorId: viewer.userId, action: 'order.cancel_requested', subjectId: id, data: { from: status, to: target } });
      if (target === 'CANCEL_REQUESTED' && status !== 'SUBMITTING') {
        // A SUBMITTING order is canceled by the submit job once the broker has acknowledged it.
        await this.deps.queue.add('cancel-order', { orderId: id }, { jobId: `cancel-${id}`, ...BROKER_JOB_OPTIONS });
      }
      return updated;
    }
    throw new InvalidOrderStateError('changing', 'cancel');
  }

  /** Newest first, keyset-paginated by (createdAt, id); with `withFills`, each order's fills in the same statement. */
  async listForPortfolio(portfolioId: string, opts: OrderPageQuery & { withFills?: boolean }): Promise<OrderPage> {
    return readOrderPage(this.deps.db, portfolioId, opts);
  }

  /** The fills of many orders in one query (for a per-request loader), oldest first, by order id. */
  async fillsOfMany(orderIds: readonly string[]): Promise<Map<string, FillRow[]>> {
    const out = new Map<string, FillRow[]>(orderIds.map((id) => [id, []]));
    if (orderIds.length === 0) return out;
    const rows = await this.deps.db.select().from(fills).where(inArray(fills.orderId, [...orderIds])).orderBy(fills.executedAt, fills.id);
    for (const f of rows) out.get(f.orderId)?.push(f);
    return out;
  }

  async fillsOf(orderId: string): Promise<FillRow[]> {
    return this.deps.db.select().from(fills).where(eq(fills.orderId, orderId)).orderBy(fills.executedAt, fills.id);
  }
}
