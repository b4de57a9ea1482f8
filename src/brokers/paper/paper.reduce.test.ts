import { describe, expect, it } from 'vitest';
import { usePaperExchange } from '../../../test/brokers/paper-exchange.js';
import { BrokerRejectedError } from '../broker.js';

const exchange = usePaperExchange();

describe('paper broker: reducing a partly filled market order', () => {
  it('refuses a quantity at or below what filled or above the order’s, and ends FILLED at the reduced quantity on the next quote', async () => {
    const { broker, px, account, req, events } = await exchange();
    px({ bid: '99.90', ask: '100.00', askSize: '120' });
    const placed = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '300' }));
    expect(placed).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '120' });

    const refused = (q: string) => broker.reduceOrder(account, placed.brokerOrderId, q).catch((e: unknown) => e);
    expect(await refused('120')).toMatchObject({ reason: 'QUANTITY_BELOW_FILLED' });
    expect(await refused('100')).toBeInstanceOf(BrokerRejectedError);
    expect(await refused('400')).toMatchObject({ reason: 'NOT_A_REDUCTION' });
    expect((await broker.getOrder(account, placed))?.quantity).toBe('300');

    const before = events.length;
    const reduced = await broker.reduceOrder(account, placed.brokerOrderId, '200');
    expect(reduced).toMatchObject({ status: 'PARTIALLY_FILLED', quantity: '200', filledQuantity: '120', brokerOrderId: placed.brokerOrderId });
    expect(events.slice(before)).toMatchObject([{ kind: 'order', order: { quantity: '200' } }]);

    await broker.matchQuote(px({ bid: '100.00', ask: '101.00', askSize: '500' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'FILLED', quantity: '200', filledQuantity: '200' });
    // Ended: a retried reduce to the same quantity is answered as it is; any other is refused.
    expect((await broker.reduceOrder(account, placed.brokerOrderId, '200')).status).toBe('FILLED');
    expect(await refused('150')).toMatchObject({ reason: 'ORDER_NOT_OPEN' });
  });
});
