import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm';
import { inLiterals } from '../../db/batch-sql.js';
import type { Db, Tx } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { ZERO, dec, toDb, type Decimal } from '../../lib/decimal.js';
import { instrumentKey, type Quote, type QuoteSource } from '../../market/quote.js';
import {
  BrokerOrderNotFoundError,
  BrokerRejectedError,
  BrokerTransientError,
  type BrokerAdapter,
  type BrokerEvent,
  type BrokerFill,
  type BrokerFunds,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type BrokerQuote,
} from '../broker.js';
import { DEFAULT_FEES, feeBound, type FeeSchedule } from './fees.js';
import { FaultInjector, type FaultKind, type FaultSpec } from './faults.js';
import { DEFAULT_STARTING_CASH, fundsOf, positionsOf } from './paper.accounts.js';
import {
  OPEN_STATUSES,
  applyFill,
  closeOrder,
  isOpen,
  lockOrder,
  markTriggered,
  sameRequest,
  StaleOrderError,
  toBrokerFill,
  toBrokerOrder,
  toMatchable,
} from './paper.book.js';
import { MatchQueue } from './paper.match-queue.js';
import { matchOrder } from './paper.matching.js';
import { paperFills, paperOrders, type PaperFillRow, type PaperOrderRow } from './paper.schema.js';
import { validateOrderRequest } from './paper.validation.js';
import { GroupCommit, ORDER_LOOP_BATCHING } from '../../lib/group-commit.js';
import { batchable, placeManyInTx, type FreshPlacement, type PlacedOrder } from './paper.place-batch.js';
import { reduceInTx } from './paper.reduce.js';
import { RestingIndex, RestingScanner } from './paper.resting-index.js';

export interface PaperBrokerOptions {
  db: Db;
  quotes: QuoteSource;
  clock: Clock;
  logger: Logger;
  /** Brokerage per currency; defaults to {@link DEFAULT_FEES} (INR 3 bps capped at 20, USD free). */
  fees?: FeeSchedule;
  /** Added delay on every faultable call (placeOrder, cancelOrder, getOrder), to exercise timeouts. */
  latencyMs?: number;
  /** Slippage against the trader on marketable fills, in basis points (default '0'). */
  slippageBps?: string;
  /**
   * Listen to `quotes.onQuote` and match resting orders (default false). Turn it on in the process(es)
   * that should drive the exchange; any number may, as every fill is guarded in SQL.
   */
  matching?: boolean;
  /** Starting cash per currency; any other currency starts at {@link DEFAULT_STARTING_CASH}. */
  startingCash?: Record<string, string>;
  /** The balance `getFunds` reports when no currency is asked for (default 'INR'). */
  baseCurrency?: string;
  /**
   * What the shared rate limiter should allow per account. The paper exchange itself never throttles, so
   * by default (no limit given) no permit is asked at all ({@link BrokerAdapter.unthrottled}); a limit
   * given here is enforced by the shared limiter as a real broker's is.
   */
  rateLimit?: { limit: number; windowMs: number };
  /** Probability in [0, 1] that a faultable call fails at random (soak tests). */
  failureRate?: number;
  /** Seed of the PRNG behind `failureRate`, so a failing soak run can be replayed (default 1). */
  failureSeed?: number;
  /** Kinds `failureRate` draws from (default transient, rate-limited, lost-response). */
  failureKinds?: FaultKind[];
  /**
   * Whether an exchange's session is open (MARKET_SESSIONS=exchange). Outside it orders are accepted and
   * queued for the next session (nothing matches; an IOC is canceled at once). Default: always open.
   */
  isSessionOpen?: (exchange: string, at: Date) => boolean;
  /**
   * While matching, how often the whole resting book is scanned for instruments with open orders (default
   * 250 ms): quotes of other instruments run no pass. Orders this process places are known at once; those
   * other processes place are matched from the next scan on (see paper.resting-index.ts).
   */
  restingScanMs?: number;
}

/**
 * A simulated exchange behind the BrokerAdapter contract, with its book in the database so that several
 * processes can share it and survive being killed mid-call. Marketable orders fill at once against the
 * current quote (buys at the ask, sells at the bid, with slippage, up to the displayed size); the rest
 * rests and is matched on later quotes when `matching` is on. See paper.matching.ts for the rules.
 */
export class PaperBroker implements BrokerAdapter {
  readonly name = 'paper';
  readonly rateLimit: { limit: number; windowMs: number };
  readonly unthrottled: boolean;

  private readonly db: Db;
  private readonly quotes: QuoteSource;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly fees: FeeSchedule;
  private readonly slippageBps: string;
  private readonly startingCash: Record<string, string>;
  private readonly baseCurrency: string;
  private readonly faults: FaultInjector;
  private readonly isSessionOpen: (exchange: string, at: Date) => boolean;
  private readonly listeners = new Set<(event: BrokerEvent) => void>();
  private unsubscribeQuotes: (() => void) | null;
  private readonly matchQueue = new MatchQueue((quote) => (this.closed ? Promise.resolve() : this.matchPass(quote)));
  private closed = false;
  private readonly resting = new RestingIndex();
  private readonly restingScanner: RestingScanner;

  constructor(opts: PaperBrokerOptions) {
    this.db = opts.db;
    this.quotes = opts.quotes;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.fees = opts.fees ?? DEFAULT_FEES;
    this.slippageBps = opts.slippageBps ?? '0';
    this.startingCash = opts.startingCash ?? {};
    this.baseCurrency = opts.baseCurrency ?? 'INR';
    this.isSessionOpen = opts.isSessionOpen ?? (() => true);
    this.rateLimit = opts.rateLimit ?? { limit: 100, windowMs: 1000 };
    this.unthrottled = opts.rateLimit === undefined;
    this.faults = new FaultInjector({
      latencyMs: opts.latencyMs,
      retryAfterMs: this.rateLimit.windowMs,
      random: opts.failureRate ? { rate: opts.failureRate, seed: opts.failureSeed ?? 1, kinds: opts.failureKinds } : undefined,
    });
    this.unsubscribeQuotes = null;
    this.restingScanner = new RestingScanner(
      this.resting,
      async () => (await this.db.selectDistinct({ symbol: paperOrders.symbol, exchange: paperOrders.exchange }).from(paperOrders).where(inArray(paperOrders.status, [...OPEN_STATUSES]))).map((r) => instrumentKey(r.exchange, r.symbol)),
      opts.restingScanMs ?? 250,
      (err) => this.logger.warn({ err }, 'scanning the paper book for resting orders failed; will retry'),
    );
    this.setMatching(opts.matching === true);
  }

  /**
   * Turn resting-order matching on or off. In the scaled deployment only the leader process matches
   * (it changes with leadership); every process can still place and cancel.
   */
  setMatching(on: boolean): void {
    if (on && !this.unsubscribeQuotes && !this.closed) {
      this.unsubscribeQuotes = this.quotes.onQuote((q) => {
        // No pass (and no statement) for an instrument with nothing resting.
        if (!this.resting.mayRest(instrumentKey(q.exchange, q.symbol))) return;
        this.matchQuote(q).catch((err: unknown) => this.logger.error({ err, symbol: q.symbol }, 'paper matching pass failed'));
      });
      this.restingScanner.start();
    } else if (!on && this.unsubscribeQuotes) {
      this.unsubscribeQuotes();
      this.unsubscribeQuotes = null;
      void this.restingScanner.stop();
    }
  }

  /** Make the next call(s) to `spec.op` fail; see {@link FaultKind}. */
  injectFault(spec: FaultSpec): void {
    this.faults.inject(spec);
  }

  /** Drop scripted faults not yet consumed. */
  clearFaults(): void {
    this.faults.clear();
  }

  placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    return this.faults.run('placeOrder', () => this.place(req));
  }

  cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    return this.faults.run('cancelOrder', () => this.cancel(account, brokerOrderId));
  }

  /** Reduce a resting order's quantity (see paper.reduce.ts); listeners hear the order's new state. */
  reduceOrder(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
    return this.faults.run('reduceOrder', async () => {
      const r = await this.db.transaction((tx) => reduceInTx(tx, account, brokerOrderId, quantity, this.clock.now()));
      if (r.changed) this.publish(r.order, []);
      return toBrokerOrder(r.order);
    });
  }

  getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    return this.faults.run('getOrder', async () => {
      const row = await this.findOrder(account, ref);
      return row ? toBrokerOrder(row) : null;
    });
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.db
      .select()
      .from(paperOrders)
      .where(eq(paperOrders.account, account))
      .orderBy(desc(paperOrders.seq));
    return rows.map(toBrokerOrder);
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const rows = await this.db
      .select()
      .from(paperFills)
      .where(and(eq(paperFills.account, account), eq(paperFills.orderId, brokerOrderId)))
      .orderBy(asc(paperFills.seq));
    return rows.map(toBrokerFill);
  }

  getPositions(account: string): Promise<BrokerPosition[]> {
    return positionsOf(this.db, account);
  }

  getFunds(account: string, currency: string = this.baseCurrency): Promise<BrokerFunds> {
    return fundsOf(this.db, account, currency, this.startingCash[currency] ?? DEFAULT_STARTING_CASH);
  }

  feeBound(currency: string, notional: string): string {
    return feeBound(this.fees, currency, notional).toFixed(2);
  }

  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const out: BrokerQuote[] = [];
    for (const i of instruments) {
      const q = this.quotes.get(i.symbol, i.exchange);
      if (q) out.push({ symbol: q.symbol, exchange: q.exchange, bid: q.bid, ask: q.ask, last: q.last, timestamp: q.timestamp });
    }
    return out;
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Expire open DAY orders (call at the end of a session): those of `scope.exchange` placed before
   * `scope.placedBefore` (that session's close), or all. Emits an order event for each and returns them.
   * Orders being matched at that moment are expired after the match commits.
   */
  async expireDayOrders(scope: { exchange?: string; placedBefore?: Date } = {}): Promise<BrokerOrder[]> {
    const now = this.clock.now();
    const rows = await this.db
      .update(paperOrders)
      .set({ status: 'EXPIRED', updatedAt: now, closedAt: now })
      .where(
        and(
          eq(paperOrders.timeInForce, 'DAY'),
          inLiterals(paperOrders.status, OPEN_STATUSES),
          scope.exchange === undefined ? undefined : eq(paperOrders.exchange, scope.exchange),
          scope.placedBefore === undefined ? undefined : lt(paperOrders.createdAt, scope.placedBefore),
        ),
      )
      .returning();
    for (const row of rows) this.emit({ kind: 'order', account: row.account, order: toBrokerOrder(row) });
    return rows.map(toBrokerOrder);
  }

  /**
   * Match the resting orders of `quote`'s instrument against it. Passes never overlap within a process:
   * quotes arriving during a pass wait, and only the newest per instrument is used. Resolves when a pass
   * covering this quote (or a newer one) has finished. Called by the quote listener when `matching` is on;
   * tests call it directly.
   */
  matchQuote(quote: Quote): Promise<void> {
    return this.matchQueue.push(quote);
  }

  /** Scan the resting book now (the matcher does so every `restingScanMs`); tests call it directly. */
  scanRestingBook(): Promise<void> {
    return this.restingScanner.scanNow();
  }

  /** Resolves once no matching pass is running or queued. */
  matchingIdle(): Promise<void> {
    return this.matchQueue.idle();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribeQuotes?.();
    await this.restingScanner.stop();
    await this.matchQueue.idle();
    this.listeners.clear();
  }

  /**
   * Placements arriving together (the submit jobs a worker runs at once) are recorded in one statement
   * (atomic by itself, so no transaction around it): see paper.place-batch.ts. If a batch fails, each of
   * its orders is placed alone.
   */
  private readonly batch = new GroupCommit<FreshPlacement, PlacedOrder>(
    (items) => placeManyInTx(this.db, items, this.clock.now(), { slippageBps: this.slippageBps, fees: this.fees }),
    ORDER_LOOP_BATCHING,
  );

  private async place(req: BrokerOrderRequest): Promise<BrokerOrder> {
    validateOrderRequest(req);
    const fresh = this.quotes.get(req.instrument.symbol, req.instrument.exchange);
    if (fresh && batchable(req) && this.isSessionOpen(req.instrument.exchange, this.clock.now())) {
      const placed = await this.batch.push({ req, quote: fresh }).catch(() => null);
      if (placed) {
        if (!placed.created) return this.adopt(placed.order, req);
        this.publish(placed.order, placed.fills);
        return toBrokerOrder(placed.order);
      }
    }
    const existing = await this.findOrder(req.account, { clientOrderId: req.clientOrderId });
    if (existing) return this.adopt(existing, req);
    const quote = this.quotes.get(req.instrument.symbol, req.instrument.exchange);
    if (!quote && req.type === 'MARKET') {
      // Nothing to price it against yet (e.g. a new feed leader is taking over): not the order's fault,
      // so a retry, not a rejection. Priced orders rest until quotes arrive.
      throw new BrokerTransientError(`no market data yet for ${req.instrument.exchange}:${req.instrument.symbol}`);
    }
    const now = this.clock.now();
    const result = await this.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(paperOrders)
        .values({
          id: randomUUID(),
          account: req.account,
          clientOrderId: req.clientOrderId,
          symbol: req.instrument.symbol,
          exchange: req.instrument.exchange,
          currency: req.instrument.currency,
          tickSize: toDb(req.instrument.tickSize),
          lotSize: toDb(req.instrument.lotSize),
          side: req.side,
          type: req.type,
          timeInForce: req.timeInForce,
          quantity: toDb(req.quantity),
          limitPrice: req.limitPrice ? toDb(req.limitPrice) : null,
          stopPrice: req.stopPrice ? toDb(req.stopPrice) : null,
          protectionPrice: req.protectionPrice ? toDb(req.protectionPrice) : null,
          status: 'OPEN',
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing({ target: [paperOrders.account, paperOrders.clientOrderId] })
        .returning();
      if (!inserted) {
        // Another process placed the same client order id between our lookup and insert.
        const [row] = await tx
          .select()
          .from(paperOrders)
          .where(and(eq(paperOrders.account, req.account), eq(paperOrders.clientOrderId, req.clientOrderId)));
        return { order: row, fills: [] as PaperFillRow[], created: false };
      }
      // Outside its session an order is queued for the next one: it rests unmatched (an IOC ends below).
      const tradable = quote && this.isSessionOpen(req.instrument.exchange, now);
      const { order, fills } = tradable ? await this.matchLocked(tx, inserted, quote, now) : { order: inserted, fills: [] as PaperFillRow[] };
      const final = req.timeInForce === 'IOC' && isOpen(order.status) ? ((await closeOrder(tx, order, 'CANCELED', now)) ?? order) : order;
      return { order: final, fills, created: true };
    });
    if (!result.created) return this.adopt(result.order, req);
    this.publish(result.order, result.fills);
    return toBrokerOrder(result.order);
  }

  /** A repeated client order id: the recorded order if it is the same order, else a rejection. */
  private adopt(row: PaperOrderRow, req: BrokerOrderRequest): BrokerOrder {
    if (!sameRequest(row, req)) {
      throw new BrokerRejectedError(`client order id ${req.clientOrderId} is already used by a different order`, 'DUPLICATE_CLIENT_ORDER_ID');
    }
    if (isOpen(row.status)) this.resting.add(instrumentKey(row.exchange, row.symbol));
    return toBrokerOrder(row);
  }

  private async cancel(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const now = this.clock.now();
    const row = await this.db.transaction(async (tx) => {
      const locked = await lockOrder(tx, brokerOrderId, account);
      if (!locked) throw new BrokerOrderNotFoundError(brokerOrderId);
      if (!isOpen(locked.status)) {
        throw new BrokerRejectedError(`order ${brokerOrderId} is ${locked.status} and cannot be canceled`, 'ORDER_NOT_OPEN');
      }
      const closed = await closeOrder(tx, locked, 'CANCELED', now);
      if (!closed) throw new BrokerRejectedError(`order ${brokerOrderId} is no longer open`, 'ORDER_NOT_OPEN');
      return closed;
    });
    this.publish(row, []);
    return toBrokerOrder(row);
  }

  private async findOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<PaperOrderRow | null> {
    const match = 'brokerOrderId' in ref ? eq(paperOrders.id, ref.brokerOrderId) : eq(paperOrders.clientOrderId, ref.clientOrderId);
    const [row] = await this.db
      .select()
      .from(paperOrders)
      .where(and(eq(paperOrders.account, account), match));
    return row ?? null;
  }

  /** One pass over the resting orders of an instrument, oldest first (time priority). */
  private async matchPass(quote: Quote): Promise<void> {
    if (!this.isSessionOpen(quote.exchange, this.clock.now())) return;
    const key = instrumentKey(quote.exchange, quote.symbol);
    const token = this.resting.token(key);
    const candidates = await this.db
      .select({ id: paperOrders.id })
      .from(paperOrders)
      .where(and(eq(paperOrders.symbol, quote.symbol), eq(paperOrders.exchange, quote.exchange), inLiterals(paperOrders.status, OPEN_STATUSES)))
      .orderBy(asc(paperOrders.seq));
    if (candidates.length === 0) this.resting.foundEmpty(key, token);
    // Displayed size is shared: what one order takes is gone for the next in this pass.
    const book: Quote = { ...quote };
    for (const { id } of candidates) {
      if (this.closed) return;
      const now = this.clock.now();
      const result = await this.db
        .transaction(async (tx) => {
          const row = await lockOrder(tx, id, null);
          if (!row || !isOpen(row.status)) return null;
          return this.matchLocked(tx, row, book, now);
        })
        .catch((err: unknown) => {
          // Another process changed this order under us: skip it; the rest of the book still matches.
          if (err instanceof StaleOrderError) return null;
          throw err;
        });
      if (!result || result.fills.length === 0) continue;
      for (const f of result.fills) {
        if (f.side === 'BUY' && book.askSize !== null) book.askSize = toDb(subtractSize(book.askSize, f.quantity));
        if (f.side === 'SELL' && book.bidSize !== null) book.bidSize = toDb(subtractSize(book.bidSize, f.quantity));
      }
      this.publish(result.order, result.fills);
    }
  }

  /**
   * Match an order the caller has locked (or just inserted) against a quote, once per quote: an order
   * never takes liquidity twice from the same quote, even if several processes run this pass.
   */
  private async matchLocked(
    tx: Tx,
    row: PaperOrderRow,
    quote: Quote,
    now: Date,
  ): Promise<{ order: PaperOrderRow; fills: PaperFillRow[] }> {
    // A feed timestamp that does not parse counts as "now", so the once-per-quote guard still holds.
    const parsed = new Date(quote.timestamp);
    const quoteAt = Number.isNaN(parsed.getTime()) ? now : parsed;
    if (row.lastQuoteAt && row.lastQuoteAt.getTime() >= quoteAt.getTime()) return { order: row, fills: [] };
    const m = matchOrder(toMatchable(row), quote, { slippageBps: this.slippageBps });
    let order = row;
    if (m.triggered && !row.triggered && (row.type === 'STOP' || row.type === 'STOP_LIMIT')) order = await markTriggered(tx, row, now);
    if (m.protectionHit) {
      // Nothing can trade within the protection price: the unfilled rest is canceled, never filled worse.
      return { order: (await closeOrder(tx, order, 'CANCELED', now, 'MARKET_PROTECTION')) ?? order, fills: [] };
    }
    if (!m.fill) return { order, fills: [] };
    const applied = await applyFill(tx, order, m.fill, { now, quoteAt, fees: this.fees });
    return { order: applied.order, fills: [applied.fill] };
  }

  /** Tell listeners, after commit: each execution first, then the order's new state. */
  private publish(order: PaperOrderRow, fills: PaperFillRow[]): void {
    if (isOpen(order.status)) this.resting.add(instrumentKey(order.exchange, order.symbol));
    for (const f of fills) this.emit({ kind: 'fill', account: f.account, fill: toBrokerFill(f) });
    this.emit({ kind: 'order', account: order.account, order: toBrokerOrder(order) });
  }

  private emit(event: BrokerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, kind: event.kind }, 'paper broker event listener threw');
      }
    }
  }
}

/** What is left of a displayed size after a fill took `taken` of it (never below zero). */
function subtractSize(size: string, taken: string): Decimal {
  const left = dec(size).minus(taken);
  return left.isNeg() ? ZERO : left;
}
