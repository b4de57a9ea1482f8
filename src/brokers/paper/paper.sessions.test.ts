import { describe, expect, it } from 'vitest';
import { usePaperExchange } from '../../../test/brokers/paper-exchange.js';
import { ExchangeCalendar } from '../../market/calendar.js';

const exchange = usePaperExchange();
const calendar = new ExchangeCalendar();
const sessions = { isSessionOpen: (ex: string, at: Date) => calendar.isOpen(ex, at) };
// 2026-01-05 is a Monday: NSE trades 03:45–10:00 UTC.
const BEFORE_OPEN = new Date('2026-01-05T03:00:00Z');
const IN_SESSION = new Date('2026-01-05T04:00:00Z');

describe('paper exchange: sessions', () => {
  it('queues a marketable order placed before the open and fills it on the first quote of the session', async () => {
    const { broker, px, clock, account, req } = await exchange(sessions);
    clock.set(BEFORE_OPEN);
    const placed = await broker.placeOrder(req({ limitPrice: '101.00' }));
    expect(placed).toMatchObject({ status: 'OPEN', filledQuantity: '0' });
    await broker.matchQuote(px({ bid: '99.90', ask: '100.10', askSize: '1000' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'OPEN', filledQuantity: '0' });
    clock.set(IN_SESSION);
    await broker.matchQuote(px({ bid: '99.90', ask: '100.10', askSize: '1000' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'FILLED', averagePrice: '100.1' });
  });

  it('cancels an IOC sent outside the session without filling it', async () => {
    const { broker, clock, req } = await exchange(sessions);
    clock.set(BEFORE_OPEN);
    expect(await broker.placeOrder(req({ limitPrice: '101.00', timeInForce: 'IOC' }))).toMatchObject({ status: 'CANCELED', filledQuantity: '0' });
  });

  it('trades around the clock without a session rule (MARKET_SESSIONS=always)', async () => {
    const { broker, clock, req } = await exchange();
    clock.set(BEFORE_OPEN);
    expect(await broker.placeOrder(req({ limitPrice: '101.00' }))).toMatchObject({ status: 'FILLED' });
  });

  it('expires only the DAY orders of the closing exchange placed before its close', async () => {
    const { broker, clock, account, req, instrument } = await exchange();
    clock.set(IN_SESSION);
    const before = await broker.placeOrder(req());
    const gtc = await broker.placeOrder(req({ timeInForce: 'GTC' }));
    clock.set(new Date('2026-01-05T10:30:00Z'));
    const after = await broker.placeOrder(req());
    const close = calendar.lastClose('NSE', clock.now())!;
    expect(await broker.expireDayOrders({ exchange: 'NYSE', placedBefore: close })).toEqual([]);
    const expired = await broker.expireDayOrders({ exchange: instrument.exchange, placedBefore: close });
    expect(expired.map((o) => o.brokerOrderId)).toEqual([before.brokerOrderId]);
    expect(await broker.getOrder(account, gtc)).toMatchObject({ status: 'OPEN' });
    expect(await broker.getOrder(account, after)).toMatchObject({ status: 'OPEN' });
  });
});

describe('paper exchange: market protection', () => {
  it('fills a protected market buy within protection and cancels one whose ask is beyond it', async () => {
    const { broker, px, req } = await exchange();
    px({ bid: '99.90', ask: '100.10', askSize: '1000' });
    const ok = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, protectionPrice: '105.10' }));
    expect(ok).toMatchObject({ status: 'FILLED', averagePrice: '100.1' });
    const hit = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, protectionPrice: '100.05' }));
    expect(hit).toMatchObject({ status: 'CANCELED', filledQuantity: '0', rejectReason: 'MARKET_PROTECTION' });
  });

  it('keeps the rest of a size-limited protected buy on the book, then cancels it when the price gaps beyond protection', async () => {
    const { broker, px, account, req } = await exchange();
    px({ bid: '99.90', ask: '100.00', askSize: '40' });
    const placed = await broker.placeOrder(req({ type: 'MARKET', limitPrice: null, protectionPrice: '105.00' }));
    expect(placed).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '40' });
    await broker.matchQuote(px({ bid: '119.90', ask: '120.00', askSize: '1000' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'CANCELED', filledQuantity: '40', averagePrice: '100' });
  });

  it('a buy stop that gaps through its protection is triggered and canceled, never filled above it', async () => {
    const { broker, px, account, req } = await exchange();
    const placed = await broker.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '101.00', protectionPrice: '106.05' }));
    await broker.matchQuote(px({ bid: '129.90', ask: '130.00', last: '130.00' }));
    expect(await broker.getOrder(account, placed)).toMatchObject({ status: 'CANCELED', filledQuantity: '0', rejectReason: 'MARKET_PROTECTION' });
  });
});
