import { describe, expect, it } from 'vitest';
import { dec } from '../../lib/decimal.js';
import { usePaperExchange } from '../../../test/brokers/paper-exchange.js';
import { BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError } from '../broker.js';
import { sleep } from './faults.js';

const exchange = usePaperExchange();

describe('paper broker: resting orders', () => {
  it('fills a resting limit buy at the ask once the quote crosses it', async () => {
    const { broker, px, account, events, req } = await exchange({ matching: true });
    const placed = await broker.placeOrder(req());
    expect(placed.status).toBe('OPEN');

    await broker.matchQuote(px({ bid: '99.05', ask: '99.10', askSize: '1000' }));
    expect((await broker.getOrder(account, placed))?.status).toBe('OPEN');

    await broker.matchQuote(px({ bid: '98.90', ask: '98.95', askSize: '1000' }));
    const filled = await broker.getOrder(account, placed);
    expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: '100', averagePrice: '98.95' });
    const fills = events.filter((e) => e.kind === 'fill');
    expect(fills).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ kind: 'order', order: { status: 'FILLED' } });
  });

  it('fills a resting limit sell when the bid reaches it', async () => {
    const { broker, px, account, req } = await exchange();
    const placed = await broker.placeOrder(req({ side: 'SELL', limitPrice: '101.00' }));
    await broker.matchQuote(px({ bid: '101.20', ask: '101.30', bidSize: '1000' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'FILLED', averagePrice: '101.2' });
  });

  it('triggers a buy stop when last reaches the stop, then fills it as a market order', async () => {
    const { broker, px, account, req } = await exchange();
    const placed = await broker.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '101.00' }));
    await broker.matchQuote(px({ bid: '100.80', ask: '100.90', last: '100.85' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'OPEN', filledQuantity: '0' });
    await broker.matchQuote(px({ bid: '101.10', ask: '101.25', last: '101.15' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'FILLED', averagePrice: '101.25' });
  });

  it('triggers a sell stop-limit and then rests it as a limit until the bid comes back', async () => {
    const { broker, px, account, req } = await exchange();
    const placed = await broker.placeOrder(req({ side: 'SELL', type: 'STOP_LIMIT', stopPrice: '95.00', limitPrice: '94.50' }));
    await broker.matchQuote(px({ bid: '94.00', ask: '94.10', last: '94.05' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'OPEN', filledQuantity: '0' });
    // last is back above the stop, but the order has triggered: the bid at its limit fills it.
    await broker.matchQuote(px({ bid: '94.60', ask: '94.70', last: '95.50' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'FILLED', averagePrice: '94.6' });
  });

  it('fills partially by displayed size, then the remainder on the next quote', async () => {
    const { broker, px, account, req, events } = await exchange();
    px({ bid: '99.90', ask: '100.00', askSize: '120' });
    const placed = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '300' }));
    expect(placed).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '120', averagePrice: '100' });

    await broker.matchQuote(px({ bid: '100.00', ask: '101.00', askSize: '500' }));
    const done = await broker.getOrder(account, placed);
    // (120 × 100 + 180 × 101) / 300 = 100.6
    expect(done).toMatchObject({ status: 'FILLED', filledQuantity: '300', averagePrice: '100.6' });
    const fills = await broker.getFills(account, placed.brokerOrderId);
    expect(fills.map((f) => f.quantity)).toEqual(['120', '180']);
    expect(new Set(fills.map((f) => f.brokerFillId)).size).toBe(2);
    expect(events.filter((e) => e.kind === 'fill').map((e) => (e.kind === 'fill' ? e.fill.brokerFillId : ''))).toEqual(fills.map((f) => f.brokerFillId));
  });

  it('shares displayed size between resting orders in time priority', async () => {
    const { broker, px, clock, account, req } = await exchange();
    const first = await broker.placeOrder(req({ quantity: '80' }));
    clock.advance(1000);
    const second = await broker.placeOrder(req({ quantity: '80' }));
    await broker.matchQuote(px({ bid: '98.90', ask: '99.00', askSize: '100' }));
    expect((await broker.getOrder(account, first))?.filledQuantity).toBe('80');
    expect((await broker.getOrder(account, second))?.filledQuantity).toBe('20');
  });

  it('takes liquidity from a quote once even when two processes match it', async () => {
    const { broker, make, px, account, req } = await exchange();
    const other = make();
    const placed = await broker.placeOrder(req({ quantity: '300' }));
    const q = px({ bid: '98.90', ask: '99.00', askSize: '100' });
    await Promise.all([broker.matchQuote(q), other.matchQuote(q), broker.matchQuote(q)]);
    expect((await broker.getOrder(account, placed))?.filledQuantity).toBe('100');
  });

  it('cancels the remainder of an IOC order and never fills it later', async () => {
    const { broker, px, account, req } = await exchange();
    px({ bid: '98.90', ask: '99.00', askSize: '40' });
    const placed = await broker.placeOrder(req({ timeInForce: 'IOC' }));
    expect(placed).toMatchObject({ status: 'CANCELED', filledQuantity: '40' });
    await broker.matchQuote(px({ bid: '98.90', ask: '99.00', askSize: '1000' }));
    expect((await broker.getOrder(account, placed))?.filledQuantity).toBe('40');
  });

  it('expires open DAY orders at the end of the session and leaves GTC ones', async () => {
    const { broker, px, account, req, events } = await exchange();
    const day = await broker.placeOrder(req());
    const gtc = await broker.placeOrder(req({ timeInForce: 'GTC' }));
    const expired = await broker.expireDayOrders();
    expect(expired.map((o) => o.brokerOrderId)).toContain(day.brokerOrderId);
    expect(events.some((e) => e.kind === 'order' && e.order.brokerOrderId === day.brokerOrderId && e.order.status === 'EXPIRED')).toBe(true);
    await broker.matchQuote(px({ bid: '98.00', ask: '98.50' }));
    expect(await broker.getOrder(account, day)).toMatchObject({ status: 'EXPIRED', filledQuantity: '0' });
    expect(await broker.getOrder(account, gtc)).toMatchObject({ status: 'FILLED' });
  });
});

describe('paper broker: cancel racing the matcher', () => {
  it('never overfills and never fills after CANCELED', async () => {
    const { broker, make, px, account, req } = await exchange();
    const other = make();
    const seen = { filledFirst: 0, canceledUntouched: 0, canceledPartial: 0 };
    for (let i = 0; i < 25; i++) {
      px({ bid: '99.90', ask: '100.10' });
      const placed = await broker.placeOrder(req({ quantity: '100', limitPrice: '99.50' }));
      const crossing = () => px({ bid: '99.00', ask: '99.40', askSize: String(20 + ((i * 7) % 40)) });
      // Start the cancel at a different point of the matching passes each round.
      const cancel = (i % 3 === 0 ? Promise.resolve() : sleep(i % 6)).then(() => (i % 2 ? other : broker).cancelOrder(account, placed.brokerOrderId)).then(
        (o) => o,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      await Promise.all([broker.matchQuote(crossing()), other.matchQuote(crossing()), cancel, broker.matchQuote(crossing())]);
      const outcome = await cancel;
      // Matching after the race must not move a canceled order.
      await Promise.all([broker.matchQuote(crossing()), other.matchQuote(crossing())]);

      const final = await broker.getOrder(account, placed);
      const fills = await broker.getFills(account, placed.brokerOrderId);
      const filled = fills.reduce((acc, f) => acc.plus(f.quantity), dec(0));
      expect(filled.eq(final?.filledQuantity ?? '-1')).toBe(true);
      expect(filled.lte(100)).toBe(true);
      seen[outcome instanceof Error ? 'filledFirst' : dec(outcome.filledQuantity).isZero() ? 'canceledUntouched' : 'canceledPartial'] += 1;
      if (outcome instanceof Error) {
        // The cancel lost: only possible because the order had completely filled first.
        expect(outcome).toBeInstanceOf(BrokerRejectedError);
        expect(final?.status).toBe('FILLED');
      } else {
        expect(final?.status).toBe('CANCELED');
        expect(final?.filledQuantity).toBe(outcome.filledQuantity);
      }
    }
    // The race really happened: more than one kind of outcome was seen.
    expect(Object.values(seen).filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  });
});

describe('paper broker: idempotency and faults', () => {
  it('returns the same broker order for a repeated client order id, even when placed concurrently', async () => {
    const { broker, make, account, req } = await exchange();
    const other = make();
    const r = req();
    const results = await Promise.all([broker.placeOrder(r), other.placeOrder(r), broker.placeOrder(r)]);
    expect(new Set(results.map((o) => o.brokerOrderId)).size).toBe(1);
    expect((await broker.listOrders(account)).filter((o) => o.clientOrderId === r.clientOrderId)).toHaveLength(1);
  });

  it('rejects a client order id reused for a different order', async () => {
    const { broker, account, req } = await exchange();
    const r = req();
    await broker.placeOrder(r);
    await expect(broker.placeOrder({ ...r, quantity: '200' })).rejects.toMatchObject({ reason: 'DUPLICATE_CLIENT_ORDER_ID' });
    expect(await broker.listOrders(account)).toHaveLength(1);
  });

  it('records the order on a lost response, so it can be found by client order id and adopted', async () => {
    const { broker, account, req } = await exchange();
    const r = req();
    broker.injectFault({ op: 'placeOrder', kind: 'lost-response' });
    await expect(broker.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const found = await broker.getOrder(account, { clientOrderId: r.clientOrderId });
    expect(found?.status).toBe('OPEN');
    const retried = await broker.placeOrder(r);
    expect(retried.brokerOrderId).toBe(found?.brokerOrderId);
    expect(await broker.listOrders(account)).toHaveLength(1);
  });

  it('records nothing on a transient failure, and raises typed errors for rejects and rate limits', async () => {
    const { broker, account, req } = await exchange();
    const r = req();
    broker.injectFault({ op: 'placeOrder', kind: 'transient' });
    broker.injectFault({ op: 'placeOrder', kind: 'rate-limited' });
    broker.injectFault({ op: 'placeOrder', kind: 'reject' });
    await expect(broker.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    await expect(broker.placeOrder(r)).rejects.toBeInstanceOf(BrokerRateLimitedError);
    await expect(broker.placeOrder(r)).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(await broker.getOrder(account, { clientOrderId: r.clientOrderId })).toBeNull();
    expect((await broker.placeOrder(r)).status).toBe('OPEN');
  });

  it('cancels on a lost cancel response, so the retry is a rejection of an already canceled order', async () => {
    const { broker, account, req } = await exchange();
    const placed = await broker.placeOrder(req());
    broker.injectFault({ op: 'cancelOrder', kind: 'lost-response' });
    await expect(broker.cancelOrder(account, placed.brokerOrderId)).rejects.toBeInstanceOf(BrokerTransientError);
    expect((await broker.getOrder(account, placed))?.status).toBe('CANCELED');
    await expect(broker.cancelOrder(account, placed.brokerOrderId)).rejects.toBeInstanceOf(BrokerRejectedError);
  });

  it('fails at random at the configured rate, the same way for the same seed', async () => {
    const run = async () => {
      const { broker, account } = await exchange({ failureRate: 0.3, failureSeed: 42, failureKinds: ['transient'] });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 40; i++) outcomes.push(await broker.getOrder(account, { clientOrderId: 'x' }).then(() => true, () => false));
      return outcomes;
    };
    const a = await run();
    expect(await run()).toEqual(a);
    const failures = a.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(3);
    expect(failures).toBeLessThan(25);
  });

  it('adds the configured latency to each call', async () => {
    const { broker, account } = await exchange({ latencyMs: 60 });
    const started = performance.now();
    await broker.getOrder(account, { clientOrderId: 'nothing' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});
