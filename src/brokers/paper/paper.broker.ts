import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { instrumentKey, type Quote, type QuoteSource } from '../../market/quote.js';
import {
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
import { isOpen, sameRequest, toBrokerFill, toBrokerOrder } from './paper.book.js';
import { cancelInTx } from './paper.cancel.js';
import { expireDayOrdersIn } from './paper.expire.js';
import { fillsOf, findOrder, ordersOf, restingInstruments } from './paper.lookup.js';
import { matchPass, type MatchPassContext } from './paper.match-pass.js';
import { MatchQueue } from './paper.match-queue.js';
import { placeOneInTx } from './paper.place.js';
import type { PaperFillRow, PaperOrderRow } from './paper.schema.js';
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
  private readonly matchQueue = new MatchQueue((quote) => (this.closed ? Promise.resolve() : matchPass(this.passContext, quote)));
  private closed = false;
  private readonly resting = new RestingIndex();
  private readonly restingScanner: RestingScanner;
  /** What a matching pass (paper.match-pass.ts) needs of this broker. */
  private readonly passContext: MatchPassContext;

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
      () => restingInstruments(this.db),
      opts.restingScanMs ?? 250,
      (err) => this.logger.warn({ err }, 'scanning the paper book for resting orders failed; will retry'),
    );
    this.passContext = {
      db: this.db,
      clock: this.clock,
      resting: this.resting,
      isSessionOpen: this.isSessionOpen,
      slippageBps: this.slippageBps,
      fees: this.fees,
      closed: () => this.closed,
      publish: (order, fills) => this.publish(order, fills),
    };
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
      const row = await findOrder(this.db, account, ref);
      return row ? toBrokerOrder(row) : null;
    });
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await ordersOf(this.db, account);
    return rows.map(toBrokerOrder);
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const rows = await fillsOf(this.db, account, brokerOrderId);
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
    const rows = await expireDayOrdersIn(this.db, scope, now);
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
    const existing = await findOrder(this.db, req.account, { clientOrderId: req.clientOrderId });
    if (existing) return this.adopt(existing, req);
    const quote = this.quotes.get(req.instrument.symbol, req.instrument.exchange);
    if (!quote && req.type === 'MARKET') {
      // Nothing to price it against yet (e.g. a new feed leader is taking over): not the order's fault,
      // so a retry, not a rejection. Priced orders rest until quotes arrive.
      throw new BrokerTransientError(`no market data yet for ${req.instrument.exchange}:${req.instrument.symbol}`);
    }
    const now = this.clock.now();
    const result = await this.db.transaction((tx) =>
      placeOneInTx(tx, req, quote, now, { isSessionOpen: this.isSessionOpen, slippageBps: this.slippageBps, fees: this.fees }),
    );
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
    const row = await this.db.transaction((tx) => cancelInTx(tx, account, brokerOrderId, now));
    this.publish(row, []);
    return toBrokerOrder(row);
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
