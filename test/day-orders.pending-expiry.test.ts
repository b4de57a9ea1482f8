/**
 * A DAY order that never reached its broker (still PENDING at the close, e.g. placed into a backlog) is
 * expired by the platform itself: EXPIRED, hold released, events. Pinned clock, services on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerRegistry } from '../src/brokers/registry.js';
import { ManualClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { ExchangeCalendar } from '../src/market/calendar.js';
import { DayOrderExpiry } from '../src/services/orders/day-expiry.service.js';
import { createLedgerHarness, type LedgerHarness } from './support/ledger-harness.js';
import { assertLedgerInvariants } from './support/trading.js';

describe('DAY orders still PENDING at the close', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await createLedgerHarness();
    h.quotes.set('ITC', 'NSE', '404.80', '404.90');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('placed on Saturday, an order waits for Monday’s session and expires at Monday’s close, not before', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    h.clock.set(new Date('2026-01-03T08:00:00Z')); // Saturday
    const day = await h.orders.place(viewer, { portfolioId, symbol: 'ITC', exchange: 'NSE', side: 'BUY', type: 'LIMIT', quantity: '2', limitPrice: '400.00' });
    const gtc = await h.orders.place(viewer, { portfolioId, symbol: 'ITC', exchange: 'NSE', side: 'BUY', type: 'LIMIT', quantity: '2', limitPrice: '400.00', timeInForce: 'GTC' });
    const clock = new ManualClock(new Date('2026-01-05T09:59:59Z')); // Monday, one second before 15:30 IST
    const expiry = new DayOrderExpiry({ db: h.db, clock, logger: silentLogger, calendar: new ExchangeCalendar(), brokers: new BrokerRegistry(), queue: h.queue, execution: h.execution });
    expect(await expiry.run()).toEqual({ expiredAtBroker: 0, expiredPending: 0, synced: 0 });
    clock.set(new Date('2026-01-05T10:00:00Z'));
    expect(await expiry.run()).toEqual({ expiredAtBroker: 0, expiredPending: 1, synced: 0 });
    expect(await expiry.run()).toEqual({ expiredAtBroker: 0, expiredPending: 0, synced: 0 });
    expect((await h.orders.byId(day.id))?.status).toBe('EXPIRED');
    expect((await h.orders.byId(gtc.id))?.status).toBe('PENDING');
    const b = await h.portfolios.balances(portfolioId);
    // Only the GTC order's hold is left: 2 × 400 + fee bound 0.24.
    expect(b.cash.sub(b.available).toFixed(2)).toBe('800.24');
    await assertLedgerInvariants(h.db, portfolioId);
  });
});
