import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FyersAdapter } from '../../src/brokers/fyers/index.js';
import { appIdHash } from '../../src/brokers/fyers/wire.js';
import { brokerRef } from '../../src/brokers/connections/order-ref.js';
import { marginMs } from '../../src/brokers/connections/throttle.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { FyersFake } from './fakes/fyers.js';

describe('Fyers adapter on the wire', () => {
  let fy: FyersFake;
  beforeAll(async () => {
    fy = await new FyersFake().start();
    fy.setQuote('NSE:INFY-EQ', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  });
  afterAll(async () => fy.stop());

  function setup(limiter = new MemoryRateLimiter()) {
    const appId = `A${randomUUID().replace(/-/g, '').slice(0, 9).toUpperCase()}-100`;
    fy.addApp(appId, 'sec', { pin: '4321' });
    const sessions = new MemorySessions();
    const account = randomUUID();
    const token = fy.issueToken(appId);
    sessions.add(account, 'fyers', { appId, secretKey: 'sec', pin: '4321' }, { accessToken: token, expiresAt: null });
    const adapter = new FyersAdapter({ baseUrl: fy.url, loginUrl: `${fy.url}/api/v3/generate-authcode`, sessions, refs: new MemoryOrderRefs(), instruments: new MemoryBrokerInstruments(), limiter, logger: silentLogger });
    const mine = () => fy.requests.filter((r) => r.headers.authorization === `${appId}:${token}`);
    const req = (over: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: randomUUID(),
      account,
      instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
      side: 'SELL',
      type: 'LIMIT',
      timeInForce: 'DAY',
      quantity: '3',
      limitPrice: '2000.05',
      ...over,
    });
    return { appId, token, account, sessions, adapter, mine, req };
  }

  it('places with JSON POST /api/v3/orders/sync: NSE:INFY-EQ, numeric type and side, CNC, orderTag', async () => {
    const { adapter, mine, req } = setup();
    await adapter.placeOrder(req());
    const sent = mine().find((r) => r.method === 'POST')!;
    expect(sent.path).toBe('/api/v3/orders/sync');
    expect(sent.contentType).toBe('application/json');
    expect(sent.json).toEqual({
      symbol: 'NSE:INFY-EQ', qty: 3, type: 1, side: -1, productType: 'CNC', limitPrice: 2000.05, stopPrice: 0, disclosedQty: 0, validity: 'DAY', offlineOrder: false, stopLoss: 0, takeProfit: 0,
      orderTag: expect.stringMatching(/^[0-9a-f]{20}$/),
    });
  });

  it('maps MARKET to 2, STOP to 3 with stopPrice, STOP_LIMIT to 4; modifies with PATCH and cancels with DELETE {id}', async () => {
    const { adapter, mine, req, account } = setup();
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '1400.00' }));
    await adapter.placeOrder(req({ type: 'STOP_LIMIT', limitPrice: '1399.00', stopPrice: '1400.00' }));
    const resting = await adapter.placeOrder(req());
    const posts = mine().filter((r) => r.method === 'POST').map((r) => r.json!);
    expect(posts[0]).toMatchObject({ type: 3, stopPrice: 1400, limitPrice: 0 });
    expect(posts[1]).toMatchObject({ type: 4, stopPrice: 1400, limitPrice: 1399 });
    await adapter.modifyOrder(account, resting.brokerOrderId, { limitPrice: '2100.00' });
    expect(mine().find((r) => r.method === 'PATCH')!.json).toEqual({ id: resting.brokerOrderId, limitPrice: 2100 });
    await adapter.cancelOrder(account, resting.brokerOrderId);
    expect(mine().find((r) => r.method === 'DELETE')!.json).toEqual({ id: resting.brokerOrderId });
    expect((await adapter.getOrder(account, { brokerOrderId: resting.brokerOrderId }))?.status).toBe('CANCELED');
  });

  it('reduces an order with a quantity-only PATCH /api/v3/orders/sync {id, qty} (the new total), and sends nothing for a reduce already applied', async () => {
    const { adapter, mine, req, account } = setup();
    const resting = await adapter.placeOrder(req({ quantity: '5' }));
    const reduced = await adapter.reduceOrder(account, resting.brokerOrderId, '3');
    expect(reduced.quantity).toBe('3');
    expect(mine().filter((r) => r.method === 'PATCH').map((r) => r.json)).toEqual([{ id: resting.brokerOrderId, qty: 3 }]);
    await adapter.reduceOrder(account, resting.brokerOrderId, '3');
    expect(mine().filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('never breaches the 200/minute budget: the 201st call in a minute is refused before it reaches Fyers', async () => {
    const limiter = new MemoryRateLimiter();
    const { adapter, mine, account } = setup(limiter);
    // Spend the minute budget in the shared limiter, as other workers would have.
    for (let i = 0; i < 200; i++) await limiter.tryAcquire(`brokerapi:fyers:${account}:all:60000`, { limit: 200, windowMs: 60_000 + marginMs(60_000) });
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerRateLimitedError);
    expect(mine()).toHaveLength(0);
  });

  it('treats code -429 as throttling, code 201 as a lost acknowledgement (found again by tag), -99 as a rejection', async () => {
    const { adapter, mine, req } = setup();
    fy.failNext.push({ path: /^POST \/api\/v3\/orders\/sync$/, status: 200, body: { s: 'error', code: -429, message: 'request limit reached' } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerRateLimitedError);
    const r = req();
    fy.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const again = await adapter.placeOrder(r);
    expect(again.clientOrderId).toBe(r.clientOrderId);
    expect(mine().filter((x) => x.method === 'POST' && x.json?.orderTag === brokerRef(r.clientOrderId))).toHaveLength(1);
    fy.failNext.push({ path: /^POST \/api\/v3\/orders\/sync$/, status: 200, body: { s: 'error', code: -99, message: 'RMS: insufficient funds' } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerRejectedError);
  });

  it('a -8 expired token makes the connection EXPIRED; no further call reaches Fyers', async () => {
    const { adapter, mine, req, account, sessions, appId } = setup();
    fy.expireTokens(appId);
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
    const n = mine().length;
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
    expect(mine()).toHaveLength(n);
  });

  it('partial fills: pending (6) with filledQty is PARTIALLY_FILLED; fills are trade-book rows by tradeNumber', async () => {
    const { adapter, req, account } = setup();
    fy.nextOrders.push({ fills: ['1'] });
    const placed = await adapter.placeOrder(req({ side: 'BUY', type: 'MARKET', limitPrice: null }));
    expect(await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '1' });
    expect(await adapter.getFills(account, placed.brokerOrderId)).toEqual([expect.objectContaining({ quantity: '1', price: '1500.1', brokerOrderId: placed.brokerOrderId })]);
  });

  it('exchanges the auth code with appIdHash, and refreshes with the refresh token and PIN', async () => {
    const { adapter, appId } = setup();
    const app = { appId, secretKey: 'sec', pin: '4321' };
    const url = new URL(adapter.connector.authorizationUrl(app, { redirectUri: 'http://127.0.0.1:9/brokers/fyers/callback', state: 'xyz', now: new Date() }));
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: appId, redirect_uri: 'http://127.0.0.1:9/brokers/fyers/callback', response_type: 'code', state: 'xyz' });
    const back = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!);
    const now = new Date('2026-01-05T09:30:00Z');
    const session = await adapter.connector.complete(app, Object.fromEntries(back.searchParams), { redirectUri: '', state: '', now });
    expect(fy.requests.findLast((r) => r.path === '/api/v3/validate-authcode')!.json).toEqual({ grant_type: 'authorization_code', appIdHash: appIdHash(appId, 'sec'), code: back.searchParams.get('auth_code') });
    expect(session.refreshToken).toBeTruthy();
    const renewed = await adapter.connector.refresh(app, session, now);
    expect(renewed.accessToken).not.toBe(session.accessToken);
    expect(fy.requests.findLast((r) => r.path === '/api/v3/validate-refresh-token')!.json).toMatchObject({ grant_type: 'refresh_token', refresh_token: session.refreshToken, pin: '4321' });
    await expect(adapter.connector.refresh({ ...app, pin: '0000' }, session, now)).rejects.toBeInstanceOf(BrokerAuthError);
  });
});
