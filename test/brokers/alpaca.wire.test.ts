import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlpacaAdapter } from '../../src/brokers/alpaca/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError, type BrokerEvent, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../support/gql.js';
import { AlpacaFake } from './fakes/alpaca.js';

/** The exact requests the Alpaca adapter sends, and how it reads Alpaca's answers and stream. */
describe('Alpaca adapter on the wire', () => {
  let fake: AlpacaFake;
  const adapters: AlpacaAdapter[] = [];
  beforeAll(async () => {
    fake = await new AlpacaFake().start();
    fake.setQuote('AAPL', { bid: '271.40', ask: '271.50', last: '271.45' });
    fake.setQuote('SPY', { bid: '600.10', ask: '600.20', last: '600.15', exchange: 'ARCA' });
  });
  afterAll(async () => {
    for (const a of adapters) await a.close();
    await fake.stop();
  });

  function setup(opts: { fractional?: boolean } = {}) {
    const keyId = `PK${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`;
    const secretKey = `secret-${randomUUID()}`;
    fake.addAccount(keyId, secretKey, '50000');
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'alpaca', { keyId, secretKey }, { accessToken: secretKey, expiresAt: null });
    const adapter = new AlpacaAdapter({ baseUrl: fake.url, wsUrl: fake.wsUrl, dataUrl: fake.url, fractional: opts.fractional, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    adapters.push(adapter);
    const events: BrokerEvent[] = [];
    adapter.onEvent((e) => events.push(e));
    const mine = () => fake.requests.filter((r) => r.headers['apca-api-key-id'] === keyId);
    const req = (over: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: randomUUID(),
      account,
      instrument: { symbol: 'AAPL', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '1' },
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'DAY',
      quantity: '2',
      limitPrice: '135.50',
      ...over,
    });
    return { keyId, secretKey, account, sessions, adapter, events, mine, req };
  }

  it('places a limit order as JSON POST /v2/orders with the key headers and our id as client_order_id', async () => {
    const { adapter, mine, req, keyId, secretKey } = setup();
    const r = req();
    const placed = await adapter.placeOrder(r);
    const [sent] = mine().filter((x) => x.method === 'POST');
    expect(sent.path).toBe('/v2/orders');
    expect(sent.contentType).toBe('application/json');
    expect(sent.headers['apca-api-key-id']).toBe(keyId);
    expect(sent.headers['apca-api-secret-key']).toBe(secretKey);
    expect(sent.json).toEqual({ symbol: 'AAPL', qty: '2', side: 'buy', type: 'limit', time_in_force: 'day', client_order_id: r.clientOrderId, limit_price: '135.5' });
    expect(placed).toMatchObject({ status: 'OPEN', filledQuantity: '0', clientOrderId: r.clientOrderId, exchange: 'NASDAQ' });
    expect(placed.brokerOrderId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends market, stop and stop_limit with gtc and ioc, prices as strings', async () => {
    const { adapter, mine, req } = setup();
    await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, side: 'SELL', timeInForce: 'IOC' }));
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '300.00', timeInForce: 'GTC' }));
    await adapter.placeOrder(req({ type: 'STOP_LIMIT', limitPrice: '301.25', stopPrice: '300.00' }));
    const [market, stop, stopLimit] = mine().filter((r) => r.method === 'POST').map((r) => r.json!);
    expect(market).toMatchObject({ type: 'market', side: 'sell', time_in_force: 'ioc' });
    expect(market.limit_price).toBeUndefined();
    expect(stop).toMatchObject({ type: 'stop', stop_price: '300', time_in_force: 'gtc' });
    expect(stop.limit_price).toBeUndefined();
    expect(stopLimit).toMatchObject({ type: 'stop_limit', limit_price: '301.25', stop_price: '300', time_in_force: 'day' });
  });

  it('sends a fractional quantity only where the instrument allows it, and as DAY only', async () => {
    const { adapter, mine, req } = setup();
    const frac = { symbol: 'AAPL', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '0.001' };
    await adapter.placeOrder(req({ instrument: frac, quantity: '0.125', type: 'MARKET', limitPrice: null }));
    expect(mine().filter((r) => r.method === 'POST').map((r) => r.json!.qty)).toEqual(['0.125']);
    await expect(adapter.placeOrder(req({ quantity: '0.5' }))).rejects.toThrow(/whole shares/);
    await expect(adapter.placeOrder(req({ instrument: frac, quantity: '0.5', timeInForce: 'GTC' }))).rejects.toThrow(/DAY/);
    const off = setup({ fractional: false });
    await expect(off.adapter.placeOrder(off.req({ instrument: frac, quantity: '0.125' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(off.mine().filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('replaces with PATCH /v2/orders/{id} (a new id), cancels with DELETE, finds orders by client_order_id', async () => {
    const { adapter, mine, req, account } = setup();
    const r = req();
    const placed = await adapter.placeOrder(r);
    const next = await adapter.replaceOrder(account, placed.brokerOrderId, { limitPrice: '136.00', quantity: '3' });
    const patch = mine().find((x) => x.method === 'PATCH')!;
    expect(patch.path).toBe(`/v2/orders/${placed.brokerOrderId}`);
    expect(patch.json).toEqual({ qty: '3', limit_price: '136' });
    expect(next.brokerOrderId).not.toBe(placed.brokerOrderId);
    expect((await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('CANCELED'); // replaced
    await adapter.cancelOrder(account, next.brokerOrderId);
    expect(mine().find((x) => x.method === 'DELETE')?.path).toBe(`/v2/orders/${next.brokerOrderId}`);
    const byClient = await adapter.getOrder(account, { clientOrderId: r.clientOrderId });
    const lookup = mine().find((x) => x.path === '/v2/orders:by_client_order_id')!;
    expect(lookup.query.get('client_order_id')).toBe(r.clientOrderId);
    expect(byClient?.brokerOrderId).toBe(placed.brokerOrderId);
  });

  it('reads the account (cash, buying power without margin) and positions with their exchange', async () => {
    const { adapter, req, account } = setup();
    const funds = await adapter.getFunds(account);
    expect(funds).toEqual({ currency: 'USD', cash: '50000', available: '50000' });
    await adapter.placeOrder(req({ instrument: { symbol: 'SPY', exchange: 'NYSEARCA', currency: 'USD', tickSize: '0.01', lotSize: '1' }, type: 'MARKET', limitPrice: null, quantity: '3' }));
    await waitFor('the position', async () => (await adapter.getPositions(account)).length > 0);
    expect(await adapter.getPositions(account)).toEqual([{ symbol: 'SPY', exchange: 'NYSEARCA', quantity: '3', averagePrice: '600.2' }]);
    expect((await adapter.getFunds(account)).cash).toBe('48199.4');
  });

  it('fills come from the trade_updates stream after authenticate and listen, once despite duplicate pushes', async () => {
    const { adapter, req, account, events, keyId, secretKey } = setup();
    adapter.startPolling(60_000); // opens the stream; the next poll is a minute away
    await waitFor('the stream to listen', async () => adapter.streamState(account) === 'listening');
    const sent = fake.streamMessages.filter((m) => JSON.stringify(m).includes(keyId) || (m as { action?: string }).action === 'listen');
    expect(sent).toContainEqual({ action: 'authenticate', data: { key_id: keyId, secret_key: secretKey } });
    expect(sent).toContainEqual({ action: 'listen', data: { streams: ['trade_updates'] } });
    fake.duplicatePushes = true;
    fake.nextOrders.push({ fills: ['1', '2'] });
    try {
      const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '5' }));
      await waitFor('two fills', async () => events.filter((e) => e.kind === 'fill').length >= 2);
      await new Promise((r) => setTimeout(r, 100));
      const fills = events.flatMap((e) => (e.kind === 'fill' ? [e.fill] : []));
      expect(fills.map((f) => [f.brokerFillId, f.quantity, f.price])).toEqual([
        [`${placed.brokerOrderId}@1`, '1', '271.5'],
        [`${placed.brokerOrderId}@3`, '2', '271.5'],
      ]);
      const o = await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId });
      expect(o).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '3', averagePrice: '271.5' });
      // Polling the FILL activities names the same fills the same way.
      expect((await adapter.getFills(account, placed.brokerOrderId)).map((f) => f.brokerFillId)).toEqual(fills.map((f) => f.brokerFillId));
    } finally {
      fake.duplicatePushes = false;
    }
  });

  it('a fill whose push was lost is found by polling the FILL activities, and an expiry by polling closed orders', async () => {
    const { adapter, req, account, events, mine } = setup();
    fake.dropPushes = true;
    try {
      const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '4' }));
      const resting = await adapter.placeOrder(req());
      await waitFor('the fill', async () => (await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status === 'FILLED');
      fake.expire(resting.brokerOrderId);
      expect(events).toHaveLength(0);
      await adapter.poll();
      await adapter.poll(); // a second pass finds nothing new
      expect(events.filter((e) => e.kind === 'fill').map((e) => e.kind === 'fill' && e.fill)).toEqual([expect.objectContaining({ brokerFillId: `${placed.brokerOrderId}@4`, quantity: '4', fee: '0' })]);
      expect(events.filter((e) => e.kind === 'order').map((e) => e.kind === 'order' && e.order.status)).toEqual(['EXPIRED']);
      const act = mine().find((r) => r.path === '/v2/account/activities/FILL')!;
      expect(act.query.get('direction')).toBe('asc');
      expect(act.query.get('after')).toMatch(/^\d{4}-\d\d-\d\dT/);
    } finally {
      fake.dropPushes = false;
    }
  });

  it('reopens a dropped stream on the next poll pass', async () => {
    const { adapter, account } = setup();
    await adapter.poll();
    await waitFor('listening', async () => adapter.streamState(account) === 'listening');
    fake.dropStreams();
    await waitFor('closed', async () => adapter.streamState(account) === 'closed');
    await new Promise((r) => setTimeout(r, 1_050));
    await adapter.poll();
    await waitFor('listening again', async () => adapter.streamState(account) === 'listening');
  });

  it('a stream that takes only {"action":"auth","key","secret"} is authenticated with that form on the next pass', async () => {
    const { adapter, account, keyId, secretKey } = setup();
    fake.streamAuthForms = new Set(['auth']);
    try {
      await adapter.poll();
      await waitFor('the refusal', async () => adapter.streamState(account) === 'unauthorized');
      await new Promise((r) => setTimeout(r, 1_050));
      await adapter.poll();
      await waitFor('listening', async () => adapter.streamState(account) === 'listening');
      expect(fake.streamMessages).toContainEqual({ action: 'auth', key: keyId, secret: secretKey });
    } finally {
      fake.streamAuthForms = new Set(['authenticate', 'auth']);
    }
  });

  it('after a lost acknowledgement, the retry finds the order by client_order_id instead of placing it again', async () => {
    const { adapter, mine, req } = setup();
    const r = req();
    fake.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const again = await adapter.placeOrder(r);
    expect(mine().filter((x) => x.method === 'POST')).toHaveLength(1);
    expect(again.clientOrderId).toBe(r.clientOrderId);
  });

  it('422 (sub-penny) and 403 (buying power) are final refusals; a rejected order reads REJECTED; 5xx is transient', async () => {
    const { adapter, req, account } = setup();
    await expect(adapter.placeOrder(req({ limitPrice: '135.505' }))).rejects.toThrow(/sub-penny/);
    fake.failNext.push({ path: /^POST \/v2\/orders$/, status: 403, body: { code: 40310000, message: 'insufficient buying power' } });
    await expect(adapter.placeOrder(req())).rejects.toThrow(/insufficient buying power/);
    fake.nextOrders.push({ reject: true });
    const placed = await adapter.placeOrder(req());
    expect((await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('REJECTED');
    fake.failNext.push({ path: /^POST \/v2\/orders$/, status: 503, body: { code: 50010000, message: 'internal server error' } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerTransientError);
  });

  it('a 429 is retried after X-Ratelimit-Reset and the order is placed once', async () => {
    const { adapter, mine, req, account } = setup();
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    fake.failNext.push({ path: /^POST \/v2\/orders$/, status: 429, body: { code: 42910000, message: 'rate limit exceeded' }, headers: { 'X-Ratelimit-Limit': '200', 'X-Ratelimit-Remaining': '0', 'X-Ratelimit-Reset': reset } });
    const t0 = Date.now();
    await adapter.placeOrder(req());
    expect(Date.now()).toBeGreaterThanOrEqual(Number(reset) * 1000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(mine().filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(await adapter.listOrders(account)).toHaveLength(1);
  });

  it('honours X-Ratelimit-Remaining: 0 before the broker has to say 429', async () => {
    const { adapter, account, mine } = setup();
    await adapter.listOrders(account);
    fake.failNext.push({ path: /^GET \/v2\/orders$/, status: 200, body: [], headers: { 'X-Ratelimit-Remaining': '0', 'X-Ratelimit-Reset': String(Math.floor(Date.now() / 1000) + 30) } });
    await adapter.listOrders(account);
    const n = mine().length;
    const err = await adapter.listOrders(account).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerRateLimitedError);
    expect((err as BrokerRateLimitedError).retryAfterMs).toBeGreaterThan(20_000);
    expect(mine()).toHaveLength(n); // not sent
  });

  it('a real 429 from the fake carries the documented headers once the per-minute budget is spent', async () => {
    fake.rateLimit = 3;
    try {
      const { adapter, account, mine } = setup();
      await adapter.listOrders(account);
      await adapter.listOrders(account);
      await adapter.listOrders(account);
      const err = await adapter.listOrders(account).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokerRateLimitedError);
      const last = mine()[mine().length - 1];
      expect(last.path).toBe('/v2/orders');
      expect(mine()).toHaveLength(3); // the remaining-0 header stopped the fourth before it was sent
    } finally {
      fake.rateLimit = 200;
    }
  });

  it('a revoked key (401) expires the connection, and later calls fail without reaching Alpaca', async () => {
    const { adapter, mine, req, account, sessions, keyId } = setup();
    fake.revokeKey(keyId);
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
    const n = mine().length;
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
    expect(mine()).toHaveLength(n);
  });

  it('quotes from the snapshots endpoint of the data host', async () => {
    const { adapter } = setup();
    const [q] = await adapter.getQuotes([{ symbol: 'AAPL', exchange: 'NASDAQ' }]);
    expect(q).toMatchObject({ symbol: 'AAPL', bid: '271.4', ask: '271.5', last: '271.45' });
    expect(fake.requests.some((r) => r.path === '/v2/stocks/snapshots' && r.query.get('symbols') === 'AAPL')).toBe(true);
  });

  it('ignores stream updates of orders placed elsewhere with the same key', async () => {
    const { adapter, account, events } = setup();
    await adapter.handleUpdate(account, { event: 'fill', qty: '1', price: '10', order: { id: randomUUID(), client_order_id: 'placed-in-the-dashboard', symbol: 'AAPL', side: 'buy', status: 'filled', qty: '1', filled_qty: '1' } });
    expect(events).toHaveLength(0);
  });
});
