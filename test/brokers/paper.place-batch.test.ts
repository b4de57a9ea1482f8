/**
 * The paper exchange's batched placement returns only ids and sequences from its statement and builds
 * the rows it recorded from what it sent: every row it returns must be the row the database holds,
 * field by field (numerics at their columns' scale, timestamps, defaults), for each way a fresh order
 * ends: filled, resting, partially filled, protected and canceled, IOC, and a client order id seen before.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { migrate, openDb, type DbHandle } from '../../src/db/client.js';
import { DEFAULT_FEES } from '../../src/brokers/paper/fees.js';
import { placeManyInTx, type FreshPlacement } from '../../src/brokers/paper/paper.place-batch.js';
import { paperFills, paperOrders } from '../../src/brokers/paper/paper.schema.js';
import type { BrokerOrderRequest } from '../../src/brokers/broker.js';
import type { Quote } from '../../src/market/quote.js';

let h: DbHandle;
beforeAll(async () => {
  h = await openDb({ dataDir: 'memory://' });
  await migrate(h);
});
afterAll(() => h.close());

const quote: Quote = {
  symbol: 'INFY',
  exchange: 'NSE',
  bid: '1499.95',
  ask: '1500.05',
  bidSize: '40',
  askSize: '40',
  last: '1500',
  volume: '123456',
  timestamp: '2026-12-03T09:30:00.123Z',
};

function req(account: string, over: Partial<BrokerOrderRequest>): FreshPlacement {
  return {
    req: {
      clientOrderId: randomUUID(),
      account,
      instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
      side: 'BUY',
      type: 'MARKET',
      timeInForce: 'DAY',
      quantity: '7',
      ...over,
    },
    quote,
  };
}

describe('paper placeManyInTx', () => {
  it('returns exactly the rows it recorded, for every way a fresh order ends', async () => {
    const account = `paper-${randomUUID()}`;
    const now = new Date('2026-12-03T09:30:01.456Z');
    const opts = { slippageBps: '3.3', fees: DEFAULT_FEES };
    const seen = req(account, { quantity: '2' });
    await placeManyInTx(h.db, [seen], now, opts); // recorded before: the batch below adopts it

    const twice = randomUUID();
    const batch = [
      req(account, {}), // MARKET buy, filled in full (slippage: a price of many decimals, rounded)
      req(account, { side: 'SELL', quantity: '3' }), // MARKET sell, filled in full
      req(account, { quantity: '55' }), // more than the ask size: partially filled, the rest open
      req(account, { type: 'LIMIT', limitPrice: '1400.10', quantity: '5' }), // rests, untouched
      req(account, { type: 'LIMIT', limitPrice: '1600', timeInForce: 'IOC', quantity: '60' }), // IOC: filled up to size, rest canceled
      req(account, { protectionPrice: '1490' }), // protection below the market: canceled, no fill
      req(account, { clientOrderId: twice }),
      req(account, { clientOrderId: twice, quantity: '9' }), // the same client order id twice in one batch
      { ...seen }, // recorded by the earlier call
    ];
    const placed = await placeManyInTx(h.db, batch, now, opts);
    expect(placed).toHaveLength(batch.length);
    expect(placed.map((p) => p.created)).toEqual([true, true, true, true, true, true, true, false, false]);
    expect(placed.map((p) => p.order.status)).toEqual(['FILLED', 'FILLED', 'PARTIALLY_FILLED', 'OPEN', 'CANCELED', 'CANCELED', 'FILLED', 'FILLED', 'FILLED']);
    expect(placed[7].order.id).toBe(placed[6].order.id);

    for (const p of placed) {
      const [stored] = await h.db.select().from(paperOrders).where(eq(paperOrders.id, p.order.id));
      expect(p.order).toEqual(stored);
      const fills = await h.db.select().from(paperFills).where(eq(paperFills.orderId, p.order.id));
      // A created order's executions are returned with it; an adopted one's are not (the caller syncs them).
      expect(p.fills).toEqual(p.created ? fills : []);
    }
    // Figures as the columns keep them, not as computed: eight decimals.
    expect(placed[0].order.quantity).toBe('7.00000000');
    expect(placed[0].fills[0].price).toMatch(/^\d+\.\d{8}$/);
    expect(placed[2].order.filledQuantity).toBe('40.00000000');
    expect(placed[3].order.limitPrice).toBe('1400.10000000');
    expect(placed[3].fills).toEqual([]);
    // The sequences the database assigned, increasing in batch order.
    const seqs = placed.slice(0, 7).map((p) => p.order.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(7);
  });
});
