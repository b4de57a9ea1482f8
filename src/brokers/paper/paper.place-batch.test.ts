import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { usePaperExchange } from '../../../test/brokers/paper-exchange.js';
import { BrokerRejectedError } from '../broker.js';

const exchange = usePaperExchange();

describe('paper broker: placements arriving together share one transaction', () => {
  it('fills concurrent marketable orders as placing each alone would, rests a limit, and cancels an IOC rest', async () => {
    const { broker, account, req, events, db } = await exchange();
    const placed = await Promise.all([
      broker.placeOrder(req({ clientOrderId: 'm1', type: 'MARKET', limitPrice: null, quantity: '100' })),
      broker.placeOrder(req({ clientOrderId: 'm2', type: 'MARKET', limitPrice: null, quantity: '300' })),
      broker.placeOrder(req({ clientOrderId: 'l1', limitPrice: '99.00' })),
      broker.placeOrder(req({ clientOrderId: 'i1', type: 'MARKET', limitPrice: null, quantity: '2000', timeInForce: 'IOC' })),
      broker.placeOrder(req({ clientOrderId: 's1', side: 'SELL', type: 'LIMIT', limitPrice: '99.90', quantity: '50' })),
    ]);
    expect(placed.map((o) => [o.clientOrderId, o.status, o.filledQuantity, o.averagePrice])).toEqual([
      ['m1', 'FILLED', '100', '100.1'],
      ['m2', 'FILLED', '300', '100.1'],
      ['l1', 'OPEN', '0', null],
      // 1,000 displayed at the ask: the IOC takes it and the rest is canceled.
      ['i1', 'CANCELED', '1000', '100.1'],
      ['s1', 'FILLED', '50', '99.9'],
    ]);
    for (const o of placed) expect(await broker.getOrder(account, { clientOrderId: o.clientOrderId })).toMatchObject({ brokerOrderId: o.brokerOrderId, status: o.status });
    const fills = events.filter((e) => e.kind === 'fill');
    expect(fills).toHaveLength(4);
    for (const o of placed.filter((x) => x.filledQuantity !== '0')) {
      const [f] = await broker.getFills(account, o.brokerOrderId);
      expect(f).toMatchObject({ clientOrderId: o.clientOrderId, quantity: o.filledQuantity });
    }
    const rows = (await db.execute(sql`select count(*)::int as n from paper_orders where account = ${account}`)) as unknown as { rows?: { n: number }[] } & { n: number }[];
    expect((rows.rows ?? rows)[0].n).toBe(5);
  });

  it('places a client order id repeated in one batch once and adopts it for the repeat; a different order under it is rejected', async () => {
    const { broker, account, req } = await exchange();
    const [a, b, c] = await Promise.allSettled([
      broker.placeOrder(req({ clientOrderId: 'same', type: 'MARKET', limitPrice: null, quantity: '10' })),
      broker.placeOrder(req({ clientOrderId: 'same', type: 'MARKET', limitPrice: null, quantity: '10' })),
      broker.placeOrder(req({ clientOrderId: 'same', type: 'MARKET', limitPrice: null, quantity: '20' })),
    ]);
    expect(a.status === 'fulfilled' && b.status === 'fulfilled' && a.value.brokerOrderId === b.value.brokerOrderId).toBe(true);
    expect(c.status === 'rejected' && c.reason).toBeInstanceOf(BrokerRejectedError);
    expect(await broker.listOrders(account)).toHaveLength(1);
    const first = a.status === 'fulfilled' ? a.value : null;
    expect(await broker.getFills(account, first!.brokerOrderId)).toHaveLength(1);
  });
});
