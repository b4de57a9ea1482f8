import { describe, expect, it, vi } from 'vitest';
import { usePaperExchange } from '../../../test/brokers/paper-exchange.js';
import { BrokerRejectedError, BrokerTransientError } from '../broker.js';

const exchange = usePaperExchange();

describe('paper broker: funds, positions and fees', () => {
  it('charges INR fees and moves cash by exactly the notional plus fees', async () => {
    const { broker, account, req } = await exchange();
    // buy 10 at the ask 100.10: 1001.00 + 3 bps (0.3003 → 0.30); sell 4 at the bid 99.90: 399.60 − 0.11 (0.11988, rounded down)
    const buy = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '10' }));
    expect((await broker.getFills(account, buy.brokerOrderId))[0]).toMatchObject({ price: '100.1', fee: '0.30' });
    await broker.placeOrder(req({ side: 'SELL', type: 'MARKET', limitPrice: null, quantity: '4' }));
    expect(await broker.getFunds(account, 'INR')).toEqual({ currency: 'INR', cash: '9999398.19', available: '9999398.19' });
    expect(await broker.getPositions(account)).toEqual([expect.objectContaining({ quantity: '6', averagePrice: '100.1' })]);
  });

  it('keeps USD funds apart, commission-free, from the configured starting cash', async () => {
    const { broker, account, req } = await exchange({ startingCash: { USD: '5000' } }, { currency: 'USD', tickSize: '0.01' });
    await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '10' }));
    expect(await broker.getFunds(account, 'USD')).toMatchObject({ cash: '3999.00' });
    // The default balance (INR) is untouched.
    expect(await broker.getFunds(account)).toMatchObject({ currency: 'INR', cash: '10000000.00' });
  });

  it('sets aside open buy orders in available cash', async () => {
    const { broker, account, req } = await exchange();
    const placed = await broker.placeOrder(req({ quantity: '100', limitPrice: '99.00' }));
    expect(await broker.getFunds(account, 'INR')).toMatchObject({ cash: '10000000.00', available: '9990100.00' });
    await broker.cancelOrder(account, placed.brokerOrderId);
    expect((await broker.getFunds(account, 'INR')).available).toBe('10000000.00');
  });

  it('goes short, then long at the crossing price', async () => {
    const { broker, account, req, px } = await exchange();
    await broker.placeOrder(req({ side: 'SELL', type: 'MARKET', limitPrice: null, quantity: '10' }));
    expect(await broker.getPositions(account)).toEqual([expect.objectContaining({ quantity: '-10', averagePrice: '99.9' })]);
    px({ bid: '101.00', ask: '101.50' });
    await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '15' }));
    expect(await broker.getPositions(account)).toEqual([expect.objectContaining({ quantity: '5', averagePrice: '101.5' })]);
  });

  it('applies slippage against the trader at placement', async () => {
    const { broker, req } = await exchange({ slippageBps: '10' });
    // 100.10 × 1.001 = 100.2001 → up to the 0.05 grid: 100.25
    const placed = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '5' }));
    expect(placed.averagePrice).toBe('100.25');
  });

  it('asks for a retry of a market order with no quote yet, rests a limit order, and rejects a bad one', async () => {
    const { broker, account, req, instrument } = await exchange();
    const noQuote = { ...instrument, symbol: 'NOQUOTE' };
    await expect(broker.placeOrder(req({ instrument: noQuote, type: 'MARKET', limitPrice: null }))).rejects.toBeInstanceOf(BrokerTransientError);
    expect(await broker.listOrders(account)).toEqual([]);
    const resting = await broker.placeOrder(req({ instrument: noQuote, clientOrderId: 'noquote-limit' }));
    expect(resting).toMatchObject({ status: 'OPEN', filledQuantity: '0' });
    await expect(broker.placeOrder(req({ quantity: '0' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    expect((await broker.listOrders(account)).map((o) => o.clientOrderId)).toEqual(['noquote-limit']);
  });

  it('cancel of an order it does not have is not found', async () => {
    const { broker, account } = await exchange();
    await expect(broker.cancelOrder(account, 'no-such-order')).rejects.toMatchObject({ name: 'BrokerOrderNotFoundError' });
  });

  it('with matching on, fills resting orders from the quote feed alone, and stops listening on close', async () => {
    const { broker, quotes, account, req, px } = await exchange({ matching: true });
    const placed = await broker.placeOrder(req());
    px({ bid: '98.50', ask: '98.60' });
    await vi.waitFor(async () => expect((await broker.getOrder(account, placed))?.status).toBe('FILLED'));
    expect(quotes.listenerCount).toBe(1);
    await broker.close();
    expect(quotes.listenerCount).toBe(0);
  });

  it('without matching, a crossing quote leaves the order resting', async () => {
    const { broker, quotes, account, req, px } = await exchange();
    const placed = await broker.placeOrder(req());
    px({ bid: '98.50', ask: '98.60' });
    expect(quotes.listenerCount).toBe(0);
    expect((await broker.getOrder(account, placed))?.status).toBe('OPEN');
  });
});
