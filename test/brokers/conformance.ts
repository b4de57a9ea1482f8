import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BrokerRejectedError,
  type BrokerAdapter,
  type BrokerEvent,
  type BrokerFill,
  type BrokerInstrument,
  type BrokerOrder,
  type BrokerOrderRequest,
} from '../../src/brokers/broker.js';
import { Rounding, ZERO, dec, fmt, roundToStep } from '../../src/lib/decimal.js';

/** What each adapter's test gives the suite. A fresh context (at least a fresh account) per test. */
export interface ConformanceContext {
  adapter: BrokerAdapter;
  account: string;
  /** A liquid instrument the adapter (or its fake) quotes and lets the account trade. */
  instrument: BrokerInstrument;
  /** Roughly where the market is for `instrument`: far-away limits are placed relative to it. */
  marketPrice(): string;
  teardown(): Promise<void>;
  /** The adapter offers the optional BrokerAdapter.reduceOrder (its broker modifies quantity in place). */
  reduces?: boolean;
}

/** How long to wait for an adapter that fills or reports asynchronously (a real broker's fake). */
const SETTLE_MS = 5_000;

async function eventually<T>(probe: () => Promise<T | null | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function sum(values: string[]): string {
  return fmt(values.reduce((acc, v) => acc.plus(v), ZERO));
}

/**
 * The contract every BrokerAdapter honours, the paper broker included. Each real broker runs it against
 * a local fake of its HTTP API. Only behaviour the order loop relies on is asserted here.
 */
export function runBrokerConformance(label: string, setup: () => Promise<ConformanceContext>): void {
  describe(`BrokerAdapter conformance: ${label}`, () => {
    let ctx: ConformanceContext;
    let events: BrokerEvent[];
    let unsubscribe: () => void;

    beforeEach(async () => {
      ctx = await setup();
      events = [];
      unsubscribe = ctx.adapter.onEvent((e) => events.push(e));
    });

    afterEach(async () => {
      unsubscribe();
      await ctx.teardown();
    });

    const lots = (n: number) => fmt(dec(ctx.instrument.lotSize).mul(n));
    /** Half the market price, on the tick grid: a buy limit there rests. */
    const farBuyPrice = () => fmt(roundToStep(dec(ctx.marketPrice()).div(2), ctx.instrument.tickSize, Rounding.DOWN));

    function request(over: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest {
      return {
        clientOrderId: `conf-${randomUUID()}`,
        account: ctx.account,
        instrument: ctx.instrument,
        side: 'BUY',
        type: 'MARKET',
        timeInForce: 'DAY',
        quantity: lots(2),
        ...over,
      };
    }

    async function placeAndWaitForFill(req: BrokerOrderRequest): Promise<BrokerOrder> {
      const placed = await ctx.adapter.placeOrder(req);
      return eventually(async () => {
        const o = await ctx.adapter.getOrder(ctx.account, { brokerOrderId: placed.brokerOrderId });
        return o && dec(o.filledQuantity).gt(0) ? o : null;
      }, `a fill of ${placed.brokerOrderId}`);
    }

    it('fills a marketable buy, and its fills and fill events add up to the filled quantity', async () => {
      const req = request();
      const order = await placeAndWaitForFill(req);
      expect(['FILLED', 'PARTIALLY_FILLED']).toContain(order.status);
      expect(order.clientOrderId).toBe(req.clientOrderId);
      expect(dec(order.filledQuantity).lte(req.quantity)).toBe(true);

      const fills = await ctx.adapter.getFills(ctx.account, order.brokerOrderId);
      expect(fills.length).toBeGreaterThan(0);
      expect(dec(sum(fills.map((f) => f.quantity))).eq(order.filledQuantity)).toBe(true);
      expect(new Set(fills.map((f) => f.brokerFillId)).size).toBe(fills.length);

      // The average price is the fills' volume-weighted price, and near the market.
      const notional = fills.reduce((acc, f) => acc.plus(dec(f.quantity).mul(f.price)), ZERO);
      const vwap = notional.div(order.filledQuantity);
      expect(order.averagePrice).not.toBeNull();
      expect(vwap.minus(order.averagePrice ?? '0').abs().lte(dec(ctx.instrument.tickSize))).toBe(true);
      expect(vwap.div(ctx.marketPrice()).minus(1).abs().lte('0.1')).toBe(true);

      const fillEvents = await eventually(async () => {
        const mine = events.flatMap((e) => (e.kind === 'fill' && e.fill.brokerOrderId === order.brokerOrderId ? [e.fill] : []));
        return dec(sum(mine.map((f) => f.quantity))).gte(order.filledQuantity) ? mine : null;
      }, 'fill events');
      const byId = new Map<string, BrokerFill>(fillEvents.map((f) => [f.brokerFillId, f]));
      expect(dec(sum([...byId.values()].map((f) => f.quantity))).eq(order.filledQuantity)).toBe(true);
      expect([...byId.keys()].sort()).toEqual(fills.map((f) => f.brokerFillId).sort());
    });

    it('rests a far-away limit order OPEN, findable by broker id, client id and in the list', async () => {
      const req = request({ type: 'LIMIT', limitPrice: farBuyPrice(), quantity: lots(1) });
      const placed = await ctx.adapter.placeOrder(req);
      expect(placed.status).toBe('OPEN');
      expect(dec(placed.filledQuantity).isZero()).toBe(true);

      const byBroker = await ctx.adapter.getOrder(ctx.account, { brokerOrderId: placed.brokerOrderId });
      const byClient = await ctx.adapter.getOrder(ctx.account, { clientOrderId: req.clientOrderId });
      expect(byBroker?.status).toBe('OPEN');
      expect(byClient?.brokerOrderId).toBe(placed.brokerOrderId);
      expect(dec(byClient?.quantity ?? '0').eq(req.quantity)).toBe(true);

      const listed = await ctx.adapter.listOrders(ctx.account);
      expect(listed.map((o) => o.brokerOrderId)).toContain(placed.brokerOrderId);
    });

    it('cancels an open order, and refuses to cancel it twice', async () => {
      const placed = await ctx.adapter.placeOrder(request({ type: 'LIMIT', limitPrice: farBuyPrice(), quantity: lots(1) }));
      const canceled = await ctx.adapter.cancelOrder(ctx.account, placed.brokerOrderId);
      expect(canceled.brokerOrderId).toBe(placed.brokerOrderId);
      const after = await eventually(async () => {
        const o = await ctx.adapter.getOrder(ctx.account, { brokerOrderId: placed.brokerOrderId });
        return o?.status === 'CANCELED' ? o : null;
      }, 'the cancel');
      expect(dec(after.filledQuantity).isZero()).toBe(true);
      await expect(ctx.adapter.cancelOrder(ctx.account, placed.brokerOrderId)).rejects.toBeInstanceOf(BrokerRejectedError);
    });

    it('rejects an off-tick limit price and a zero quantity, and records neither', async () => {
      const halfTick = fmt(dec(farBuyPrice()).plus(dec(ctx.instrument.tickSize).div(2)));
      const offTick = request({ type: 'LIMIT', limitPrice: halfTick, quantity: lots(1) });
      const zero = request({ quantity: '0' });
      await expect(ctx.adapter.placeOrder(offTick)).rejects.toBeInstanceOf(BrokerRejectedError);
      await expect(ctx.adapter.placeOrder(zero)).rejects.toBeInstanceOf(BrokerRejectedError);
      const listed = await ctx.adapter.listOrders(ctx.account);
      expect(listed.map((o) => o.clientOrderId)).not.toContain(offTick.clientOrderId);
      expect(listed.map((o) => o.clientOrderId)).not.toContain(zero.clientOrderId);
    });

    it('answers null for an order it does not have', async () => {
      expect(await ctx.adapter.getOrder(ctx.account, { brokerOrderId: `unknown-${randomUUID()}` })).toBeNull();
      expect(await ctx.adapter.getOrder(ctx.account, { clientOrderId: `unknown-${randomUUID()}` })).toBeNull();
    });

    it('reflects a fill in positions and funds', async () => {
      const { symbol, exchange, currency } = ctx.instrument;
      const held = async () => (await ctx.adapter.getPositions(ctx.account)).find((p) => p.symbol === symbol && p.exchange === exchange);
      const qtyBefore = dec((await held())?.quantity ?? '0');
      const fundsBefore = await ctx.adapter.getFunds(ctx.account, currency);
      expect(fundsBefore.currency).toBe(currency);

      const order = await placeAndWaitForFill(request());
      const fills = await ctx.adapter.getFills(ctx.account, order.brokerOrderId);
      const cost = fills.reduce((acc, f) => acc.plus(dec(f.quantity).mul(f.price)).plus(f.fee), ZERO);

      const position = await eventually(async () => {
        const p = await held();
        return p && dec(p.quantity).minus(qtyBefore).eq(order.filledQuantity) ? p : null;
      }, 'the position');
      expect(dec(position.averagePrice).gt(0)).toBe(true);

      const fundsAfter = await ctx.adapter.getFunds(ctx.account, currency);
      const spent = dec(fundsBefore.cash).minus(fundsAfter.cash);
      // Exact for the paper exchange; a real broker may round per contract note, so allow 0.1%.
      expect(spent.minus(cost).abs().lte(cost.mul('0.001').plus('0.01'))).toBe(true);
    });

    it('quotes the instrument', async () => {
      const [q] = await ctx.adapter.getQuotes([{ symbol: ctx.instrument.symbol, exchange: ctx.instrument.exchange }]);
      expect(q?.symbol).toBe(ctx.instrument.symbol);
      expect(dec(q?.last ?? '0').gt(0)).toBe(true);
      if (q?.bid && q.ask) expect(dec(q.bid).lte(q.ask)).toBe(true);
    });

    it('offers reduceOrder exactly when declared: reduces a resting order in place, idempotently, never up, never once ended', async () => {
      expect(typeof ctx.adapter.reduceOrder === 'function').toBe(ctx.reduces === true);
      if (!ctx.adapter.reduceOrder) return;
      const placed = await ctx.adapter.placeOrder(request({ type: 'LIMIT', limitPrice: farBuyPrice(), quantity: lots(3) }));
      const reduced = await ctx.adapter.reduceOrder(ctx.account, placed.brokerOrderId, lots(2));
      expect(reduced.brokerOrderId).toBe(placed.brokerOrderId);
      expect(dec(reduced.quantity).eq(lots(2))).toBe(true);
      const read = await ctx.adapter.getOrder(ctx.account, { brokerOrderId: placed.brokerOrderId });
      expect(read?.status).toBe('OPEN');
      expect(dec(read?.quantity ?? '0').eq(lots(2))).toBe(true);
      // A retried reduce (same absolute quantity) is harmless.
      expect(dec((await ctx.adapter.reduceOrder(ctx.account, placed.brokerOrderId, lots(2))).quantity).eq(lots(2))).toBe(true);
      await expect(ctx.adapter.reduceOrder(ctx.account, placed.brokerOrderId, lots(3))).rejects.toBeInstanceOf(BrokerRejectedError);
      await ctx.adapter.cancelOrder(ctx.account, placed.brokerOrderId);
      await eventually(async () => ((await ctx.adapter.getOrder(ctx.account, { brokerOrderId: placed.brokerOrderId }))?.status === 'CANCELED' ? true : null), 'the cancel');
      await expect(ctx.adapter.reduceOrder(ctx.account, placed.brokerOrderId, lots(1))).rejects.toBeInstanceOf(BrokerRejectedError);
    });

    it('does not create a second order for a repeated client order id', async () => {
      const req = request({ type: 'LIMIT', limitPrice: farBuyPrice(), quantity: lots(1) });
      const first = await ctx.adapter.placeOrder(req);
      const second = await ctx.adapter.placeOrder(req);
      expect(second.brokerOrderId).toBe(first.brokerOrderId);
      const listed = await ctx.adapter.listOrders(ctx.account);
      expect(listed.filter((o) => o.clientOrderId === req.clientOrderId)).toHaveLength(1);
    });
  });
}
