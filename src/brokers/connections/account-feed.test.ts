import { describe, expect, it } from 'vitest';
import { BrokerAuthError, BrokerRejectedError, type BrokerEvent, type BrokerOrder } from '../broker.js';
import { expireOnAuthError, reconcileAccount } from './account-feed.js';
import { MemorySessions } from './memory.js';

type Row = { id: string; tag: string; status: BrokerOrder['status'] };
type Trade = { id: string; order: string; qty: string };

function books(rows: Row[], trades: Trade[]) {
  const calls = { orders: 0, trades: 0 };
  return {
    calls,
    books: {
      orders: async () => (calls.orders++, rows),
      toOrder: async (_a: string, r: Row): Promise<BrokerOrder> => ({
        brokerOrderId: r.id, clientOrderId: r.tag, symbol: 'INFY', exchange: 'NSE', side: 'BUY', type: 'MARKET', quantity: '2', filledQuantity: '0', averagePrice: null, status: r.status, updatedAt: '2026-01-01T00:00:00Z',
      }),
      trades: async () => (calls.trades++, trades),
      orderIdOf: (t: Trade) => t.order,
      fillKey: (a: string, t: Trade) => `${a}|fill|${t.id}`,
      toFill: (t: Trade, clientOrderId: string) => ({ brokerFillId: t.id, brokerOrderId: t.order, clientOrderId, quantity: t.qty, price: '1', fee: '0', executedAt: '2026-01-01T00:00:00Z' }),
    },
  };
}

describe('reconciling an account from its books', () => {
  it('emits each trade of our orders once across passes, each ended order once, and ignores orders placed elsewhere', async () => {
    const events: BrokerEvent[] = [];
    const sink = { emit: (e: BrokerEvent) => events.push(e), emitted: new Set<string>() };
    const { books: b } = books(
      [{ id: 'o1', tag: 'ours-1', status: 'FILLED' }, { id: 'o2', tag: 'ours-2', status: 'CANCELED' }, { id: 'o3', tag: '', status: 'FILLED' }],
      [{ id: 't1', order: 'o1', qty: '1' }, { id: 't2', order: 'o1', qty: '1' }, { id: 't3', order: 'o3', qty: '5' }],
    );
    await reconcileAccount(sink, 'acc', b);
    await reconcileAccount(sink, 'acc', b);
    expect(events.filter((e) => e.kind === 'fill').map((e) => e.kind === 'fill' && e.fill.brokerFillId)).toEqual(['t1', 't2']);
    expect(events.filter((e) => e.kind === 'order').map((e) => e.kind === 'order' && e.order.brokerOrderId)).toEqual(['o2']);
  });

  it('does not read the trade book when no order in the book is ours', async () => {
    const { books: b, calls } = books([{ id: 'o9', tag: '', status: 'OPEN' }], []);
    await reconcileAccount({ emit: () => undefined, emitted: new Set() }, 'acc', b);
    expect(calls).toEqual({ orders: 1, trades: 0 });
  });
});

describe('expiring a session on a token error', () => {
  it('expires the connection on BrokerAuthError only, and rethrows either way', async () => {
    const sessions = new MemorySessions();
    sessions.add('c1', 'x', {}, { accessToken: 't', expiresAt: null });
    await expect(expireOnAuthError(sessions, 'c1', 'refused', () => { throw new BrokerRejectedError('no'); })).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(sessions.status('c1')).toBe('ACTIVE');
    expect(await expireOnAuthError(sessions, 'c1', 'refused', () => 42)).toBe(42);
    await expect(expireOnAuthError(sessions, 'c1', 'refused', () => { throw new BrokerAuthError('token'); })).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status('c1')).toBe('EXPIRED');
  });
});
