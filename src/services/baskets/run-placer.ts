import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, notInArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { basketRunOrders, holds, orders, portfolios, positions } from '../../db/schema/index.js';
import { BadInputError, DomainError } from '../../errors.js';
import { dec, fmt, toDb, type Decimal, fmtAvailable } from '../../lib/decimal.js';
import type { NewEvent } from '../../events/outbox.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { PortfolioRow } from '../portfolio.service.js';
import { balances } from '../ledger.js';
import { NotFoundError } from '../../errors.js';
import { cashToReserve, checkBuyingPower, checkNotional, checkSellable } from '../orders/order.risk.js';
import { requestFingerprint, reservationPrice, validateOrder, type ValidOrder } from '../orders/order.validation.js';
import { orderSnapshot, type OrderRow } from '../orders/order.snapshot.js';

/** One order a run wants: market, DAY, whole lots. */
export interface RunLine {
  instrument: InstrumentRow;
  side: 'BUY' | 'SELL';
  quantity: Decimal;
  /** The price the plan sized a buy at: its hold is reserved at this price, so the plan's bound holds exactly. */
  price?: Decimal;
}

/** A line the run could not place (risk or validation), kept for the execution summary. */
export interface RefusedLine {
  instrumentId: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  reason: string;
}

export interface PlacedBatch {
  orders: OrderRow[];
  refused: RefusedLine[];
  events: NewEvent[];
}

/**
 * Inserts many market orders of one run, with their holds and events, in the caller's transaction (the
 * caller holds the portfolio lock): one multi-row insert each for orders, holds and links. The same
 * validation and risk rules as single orders (order.validation, order.risk), applied cumulatively: each
 * buy is checked against what the earlier lines of the run already reserved.
 *
 * `strict`: a line that fails throws (nothing is written: the caller's transaction rolls back), as for a
 * run the user just asked for; otherwise it is refused and listed, as for a run's later buy phase.
 */
export class RunPlacer {
  constructor(
    private readonly deps: { instruments: InstrumentService; brokers: BrokerRegistry; buffer: Decimal; maxOrderNotional: string },
  ) {}

  async placeInTx(
    tx: Tx,
    args: { userId: string; portfolio: PortfolioRow; runId: string; phase: 'SELL' | 'BUY'; lines: RunLine[]; now: Date; strict: boolean; cash: Decimal; startIndex: number },
  ): Promise<PlacedBatch> {
    const { portfolio: p, now } = args;
    const refused: RefusedLine[] = [];
    const ids = [...new Set(args.lines.map((l) => l.instrument.id))];
    const [posRows, heldRows, bal] = await Promise.all([
      ids.length ? tx.select().from(positions).where(and(eq(positions.portfolioId, p.id), inArray(positions.instrumentId, ids))) : Promise.resolve([]),
      ids.length
        ? tx
            .select({ instrumentId: holds.instrumentId, total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
            .from(holds)
            .where(and(eq(holds.portfolioId, p.id), eq(holds.kind, 'QUANTITY'), isNull(holds.releasedAt), inArray(holds.instrumentId, ids)))
            .groupBy(holds.instrumentId)
        : Promise.resolve([]),
      balances(tx, p.id, args.cash),
    ]);
    const position = new Map(posRows.map((r) => [r.instrumentId, dec(r.quantity)]));
    const promised = new Map(heldRows.map((r) => [r.instrumentId!, dec(r.total)]));
    let available = bal.available;
    const broker = this.deps.brokers.get(p.broker);
    const values: (typeof orders.$inferInsert)[] = [];
    const reserves: Decimal[] = [];
    let index = args.startIndex;
    for (const line of args.lines) {
      const inst = line.instrument;
      try {
        const valid = validateOrder({ portfolioId: p.id, symbol: inst.symbol, side: line.side, type: 'MARKET', quantity: line.quantity.toFixed() }, inst);
        const quote = this.deps.instruments.quoteOf(inst);
        let reserve: Decimal;
        if (line.side === 'BUY') {
          reserve = this.buyReserve(line, valid, quote, p, broker);
          checkBuyingPower(available, reserve);
          available = available.sub(reserve);
        } else {
          checkNotional(valid.quantity, quote ? dec(quote.bid ?? quote.last) : dec(0), this.deps.maxOrderNotional);
          const already = promised.get(inst.id) ?? dec(0);
          checkSellable(position.get(inst.id) ?? dec(0), already, valid.quantity);
          promised.set(inst.id, already.add(valid.quantity));
          reserve = valid.quantity;
        }
        values.push(runOrderRow(args.userId, p, inst.id, `bk:${args.runId}:${index++}`, valid, now));
        reserves.push(reserve);
      } catch (err) {
        if (args.strict || !(err instanceof DomainError)) throw err;
        refused.push({ instrumentId: inst.id, side: line.side, quantity: line.quantity.toFixed(), reason: err.code === 'BAD_USER_INPUT' ? String(err.details?.reason ?? err.code) : err.code });
      }
    }
    if (values.length === 0) return { orders: [], refused, events: [] };
    const inserted = await tx.insert(orders).values(values).returning();
    // Returned rows follow the insert's order in Postgres; match by client order id to be safe.
    const byClientId = new Map(inserted.map((o) => [o.clientOrderId, o]));
    const placed = values.map((v) => byClientId.get(v.clientOrderId)!);
    await Promise.all([
      tx.insert(holds).values(
        placed.map((o, i) => ({
          portfolioId: p.id,
          orderId: o.id,
          kind: o.side === 'BUY' ? ('CASH' as const) : ('QUANTITY' as const),
          instrumentId: o.side === 'SELL' ? o.instrumentId : null,
          amount: toDb(reserves[i]),
          createdAt: now,
          updatedAt: now,
        })),
      ),
      tx.insert(basketRunOrders).values(placed.map((o) => ({ runId: args.runId, orderId: o.id, phase: args.phase }))),
    ]);
    const events: NewEvent[] = placed.map((o) => ({ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(o) } }));
    if (args.phase === 'BUY') {
      events.push({ type: 'BALANCE_CHANGED', payload: { cash: fmt(bal.cash, 2), availableCash: fmtAvailable(available), reason: 'ORDER_HOLD' } });
    }
    return { orders: placed, refused, events };
  }

  /** A buy line's cash to hold: its whole lots at the reservation price (with the buffer), plus the broker's fee bound. */
  private buyReserve(line: RunLine, valid: ValidOrder, quote: ReturnType<InstrumentService['quoteOf']>, p: PortfolioRow, broker: ReturnType<BrokerRegistry['get']>): Decimal {
    const ask = line.price ?? (quote?.ask ? dec(quote.ask) : quote ? dec(quote.last) : null);
    const ref = reservationPrice(valid, ask, this.deps.buffer);
    if (ref.isZero()) throw new BadInputError(`No market price for ${line.instrument.symbol} yet`, 'symbol', 'NO_MARKET_PRICE');
    checkNotional(valid.quantity, ref, this.deps.maxOrderNotional);
    return cashToReserve(valid.quantity, ref).add(broker.feeBound?.(p.baseCurrency, valid.quantity.mul(ref).toFixed()) ?? 0);
  }

  /**
   * A run's first phase, all or nothing (a line that fails throws: the caller's transaction rolls back),
   * with the portfolio's lock taken LATE: the lines are validated and their holds sized from the quotes
   * first, the orders, holds and links inserted (rows nobody else sees before the commit; NO KEY UPDATE
   * on the portfolio does not block their foreign-key checks), and only then is the portfolio locked,
   * in the same round trip as the reads the risk rules need (taken after the lock, so they see every
   * earlier holder's commit) and `alsoUnderLock` (the caller's own check, a query builder). The risk rules are those of
   * {@link placeInTx}, applied cumulatively in line order, against the balances without this run's own
   * holds. The caller then numbers the events last (appendEvents), so the lock is held for about two
   * round trips instead of the whole transaction.
   */
  async placeThenLockInTx<T>(
    tx: Tx,
    args: { userId: string; portfolio: PortfolioRow; runId: string; phase: 'SELL' | 'BUY'; lines: RunLine[]; now: Date; startIndex: number },
    /** A query builder, not yet started (it is sent after the lock, in the same round trip). */
    alsoUnderLock: PromiseLike<T>,
  ): Promise<PlacedBatch & { locked: PortfolioRow; extra: T }> {
    const { portfolio: p, now } = args;
    const broker = this.deps.brokers.get(p.broker);
    const planned: { line: RunLine; reserve: Decimal; value: typeof orders.$inferInsert }[] = [];
    let index = args.startIndex;
    for (const line of args.lines) {
      const inst = line.instrument;
      const valid = validateOrder({ portfolioId: p.id, symbol: inst.symbol, side: line.side, type: 'MARKET', quantity: line.quantity.toFixed() }, inst);
      const quote = this.deps.instruments.quoteOf(inst);
      let reserve: Decimal;
      if (line.side === 'BUY') {
        reserve = this.buyReserve(line, valid, quote, p, broker);
      } else {
        checkNotional(valid.quantity, quote ? dec(quote.bid ?? quote.last) : dec(0), this.deps.maxOrderNotional);
        reserve = valid.quantity;
      }
      planned.push({
        line,
        reserve,
        value: { id: randomUUID(), ...runOrderRow(args.userId, p, inst.id, `bk:${args.runId}:${index++}`, valid, now) },
      });
    }
    const ownIds = planned.map((x) => x.value.id!);
    const sellIds = [...new Set(planned.filter((x) => x.line.side === 'SELL').map((x) => x.line.instrument.id))];
    // One pipeline, sent in this order (Promise.all starts each query builder in array order; keep every
    // element a builder, not a started promise, or the order changes): the rows first (orders before the
    // holds and links that reference them), then the lock, then what the risk rules read (other
    // transactions' open holds: this run's own are excluded) and the caller's check, each statement's
    // snapshot taken once the lock is held.
    const none = Promise.resolve([]);
    const [inserted, , , [locked], cashHeld, qtyHeld, posRows, extra] = await Promise.all([
      planned.length ? tx.insert(orders).values(planned.map((x) => x.value)).returning() : Promise.resolve([] as OrderRow[]),
      planned.length
        ? tx.insert(holds).values(
            planned.map((x) => ({
              portfolioId: p.id,
              orderId: x.value.id!,
              kind: x.line.side === 'BUY' ? ('CASH' as const) : ('QUANTITY' as const),
              instrumentId: x.line.side === 'SELL' ? x.line.instrument.id : null,
              amount: toDb(x.reserve),
              createdAt: now,
              updatedAt: now,
            })),
          )
        : none,
      planned.length ? tx.insert(basketRunOrders).values(planned.map((x) => ({ runId: args.runId, orderId: x.value.id!, phase: args.phase }))) : none,
      // NO KEY UPDATE, as lockPortfolio (events/outbox.ts).
      tx.select().from(portfolios).where(eq(portfolios.id, p.id)).for('no key update'),
      tx
        .select({ total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
        .from(holds)
        .where(and(eq(holds.portfolioId, p.id), eq(holds.kind, 'CASH'), isNull(holds.releasedAt), ownIds.length ? notInArray(holds.orderId, ownIds) : undefined)),
      sellIds.length
        ? tx
            .select({ instrumentId: holds.instrumentId, total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
            .from(holds)
            .where(and(eq(holds.portfolioId, p.id), eq(holds.kind, 'QUANTITY'), isNull(holds.releasedAt), inArray(holds.instrumentId, sellIds), notInArray(holds.orderId, ownIds)))
            .groupBy(holds.instrumentId)
        : Promise.resolve([] as { instrumentId: string | null; total: string }[]),
      sellIds.length ? tx.select().from(positions).where(and(eq(positions.portfolioId, p.id), inArray(positions.instrumentId, sellIds))) : Promise.resolve([] as (typeof positions.$inferSelect)[]),
      alsoUnderLock,
    ]);
    if (!locked) throw new NotFoundError('Portfolio', p.id);
    const cash = dec(locked.cash);
    let available = cash.sub(cashHeld[0]?.total ?? 0);
    const promised = new Map(qtyHeld.map((r) => [r.instrumentId!, dec(r.total)]));
    const position = new Map(posRows.map((r) => [r.instrumentId, dec(r.quantity)]));
    for (const x of planned) {
      if (x.line.side === 'BUY') {
        checkBuyingPower(available, x.reserve);
        available = available.sub(x.reserve);
      } else {
        const id = x.line.instrument.id;
        const already = promised.get(id) ?? dec(0);
        checkSellable(position.get(id) ?? dec(0), already, x.reserve);
        promised.set(id, already.add(x.reserve));
      }
    }
    const byId = new Map(inserted.map((o) => [o.id, o]));
    const placed = ownIds.map((id) => byId.get(id)!);
    const events: NewEvent[] = placed.map((o) => ({ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(o) } }));
    if (args.phase === 'BUY' && placed.length) {
      events.push({ type: 'BALANCE_CHANGED', payload: { cash: fmt(cash, 2), availableCash: fmtAvailable(available), reason: 'ORDER_HOLD' } });
    }
    return { orders: placed, refused: [], events, locked, extra };
  }
}

/** A run's MARKET order row, PENDING, as both placement paths write it. */
function runOrderRow(userId: string, p: PortfolioRow, instrumentId: string, clientOrderId: string, valid: ValidOrder, now: Date): typeof orders.$inferInsert {
  return {
    userId,
    portfolioId: p.id,
    instrumentId,
    clientOrderId,
    side: valid.side,
    type: 'MARKET',
    timeInForce: valid.timeInForce,
    quantity: toDb(valid.quantity),
    status: 'PENDING',
    broker: p.broker,
    requestHash: requestFingerprint(p.id, instrumentId, valid),
    createdAt: now,
    updatedAt: now,
  };
}
