import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstoxAdapter } from '../../src/brokers/upstox/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { UpstoxFake } from './fakes/upstox.js';

const KEY = 'NSE_EQ|INE009A01021';

describe('Upstox adapter on the wire', () => {
  let up: UpstoxFake;
  beforeAll(async () => {
    up = await new UpstoxFake().start();
    up.addInstrument(KEY, { symbol: 'INFY', exchange: 'NSE', bid: '1499.90', ask: '1500.10', last: '1500.00' });
  });
  afterAll(async () => up.stop());

  function setup() {
    const apiKey = `u-${randomUUID()}`;
    const userId = `UP${apiKey.slice(2, 8)}`;
    up.addApp({ apiKey, apiSecret: 'sec', userId });
    const sessions = new MemorySessions();
    const account = randomUUID();
    const token = up.issueToken(apiKey);
    sessions.add(account, 'upstox', { apiKey, apiSecret: 'sec' }, { accessToken: token, accountId: userId, expiresAt: null });
    const adapter = new UpstoxAdapter({
      baseUrl: up.url,
      orderUrl: up.url,
      loginUrl: `${up.url}/v2/login/authorization/dialog`,
      sessions,
      refs: new MemoryOrderRefs(),
      instruments: new MemoryBrokerInstruments().set('upstox', 'NSE', 'INFY', KEY),
      limiter: new MemoryRateLimiter(),
      logger: silentLogger,
    });
    const mine = () => up.requests.filter((r) => r.headers.authorization === `Bearer ${token}`);
    const req = (over: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: randomUUID(),
      account,
      instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'DAY',
      quantity: '2',
      limitPrice: '750.05',
      ...over,
    });
    return { apiKey, userId, token, account, sessions, adapter, mine, req };
  }

  it('places with a JSON POST /v3/order/place: instrument key, numbers, delivery product, 20-char tag', async () => {
    const { adapter, mine, req } = setup();
    const placed = await adapter.placeOrder(req());
    const sent = mine().find((r) => r.method === 'POST')!;
    expect(sent.path).toBe('/v3/order/place');
    expect(sent.contentType).toBe('application/json');
    expect(sent.headers.accept).toBe('application/json');
    expect(sent.json).toEqual({
      quantity: 2,
      product: 'D',
      validity: 'DAY',
      price: 750.05,
      tag: expect.stringMatching(/^[0-9a-f]{20}$/),
      instrument_token: KEY,
      order_type: 'LIMIT',
      transaction_type: 'BUY',
      disclosed_quantity: 0,
      trigger_price: 0,
      is_amo: false,
      slice: false,
    });
    expect(placed.status).toBe('OPEN');
  });

  it('sends SL-M and SL with trigger_price; modifies with PUT /v3/order/modify and cancels with DELETE /v3/order/cancel?order_id=', async () => {
    const { adapter, mine, req, account } = setup();
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '1600.00' }));
    const limit = await adapter.placeOrder(req());
    const [stop] = mine().filter((r) => r.method === 'POST').map((r) => r.json!);
    expect(stop).toMatchObject({ order_type: 'SL-M', trigger_price: 1600, price: 0 });
    await adapter.modifyOrder(account, limit.brokerOrderId, { limitPrice: '760.00' });
    expect(mine().find((r) => r.method === 'PUT')!.json).toMatchObject({ order_id: limit.brokerOrderId, price: 760, quantity: 2, order_type: 'LIMIT', validity: 'DAY' });
    await adapter.cancelOrder(account, limit.brokerOrderId);
    const del = mine().find((r) => r.method === 'DELETE')!;
    expect(del.path).toBe('/v3/order/cancel');
    expect(del.query.get('order_id')).toBe(limit.brokerOrderId);
  });

  it('reduces with PUT /v3/order/modify: the new total quantity with the order’s own price, type, validity and trigger (a limit keeps its price); nothing sent for a reduce already applied, nor one below what filled', async () => {
    const { adapter, mine, req, account } = setup();
    const limit = await adapter.placeOrder(req({ quantity: '5', timeInForce: 'IOC', limitPrice: '750.05' }));
    const reduced = await adapter.reduceOrder(account, limit.brokerOrderId, '3');
    expect(reduced).toMatchObject({ brokerOrderId: limit.brokerOrderId, quantity: '3', status: 'OPEN' });
    const puts = () => mine().filter((r) => r.method === 'PUT');
    expect(puts().map((r) => [r.path, r.json])).toEqual([
      ['/v3/order/modify', { order_id: limit.brokerOrderId, quantity: 3, price: 750.05, order_type: 'LIMIT', validity: 'IOC', trigger_price: 0, disclosed_quantity: 0 }],
    ]);
    await adapter.reduceOrder(account, limit.brokerOrderId, '3');
    expect(puts()).toHaveLength(1);
    // A stop keeps its trigger.
    const stop = await adapter.placeOrder(req({ type: 'STOP_LIMIT', quantity: '4', limitPrice: '1610.00', stopPrice: '1600.00', side: 'BUY' }));
    await adapter.reduceOrder(account, stop.brokerOrderId, '2');
    expect(puts().at(-1)!.json).toEqual({ order_id: stop.brokerOrderId, quantity: 2, price: 1610, order_type: 'SL', validity: 'DAY', trigger_price: 1600, disclosed_quantity: 0 });
    // A market order partly filled (the fake fills 3 of 5 now): a reduce to the 3 filled is refused without a call.
    up.nextOrders.push({ fills: ['3'] });
    const market = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '5' }));
    await expect(adapter.reduceOrder(account, market.brokerOrderId, '3')).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(puts()).toHaveLength(2);
    const partly = await adapter.reduceOrder(account, market.brokerOrderId, '4');
    // The fake's exchange fills a marketable order's rest at once: the reduced total, never more.
    expect(partly).toMatchObject({ quantity: '4', filledQuantity: '4', status: 'FILLED' });
    expect(puts().at(-1)!.json).toMatchObject({ quantity: 4, price: 0, order_type: 'MARKET' });
  });

  it('refuses an instrument without an imported Upstox key before calling Upstox', async () => {
    const { adapter, mine, req } = setup();
    await expect(adapter.placeOrder(req({ instrument: { symbol: 'TCS', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' } }))).rejects.toThrow(/instrument master/);
    expect(mine()).toHaveLength(0);
  });

  it('exchanges the OAuth code with a form POST and gets a token valid until 03:30 IST', async () => {
    const { adapter, apiKey, userId } = setup();
    const url = new URL(adapter.connector.authorizationUrl({ apiKey, apiSecret: 'sec' }, { redirectUri: 'http://127.0.0.1:9/brokers/upstox/callback', state: 'st4te', now: new Date() }));
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: apiKey, redirect_uri: 'http://127.0.0.1:9/brokers/upstox/callback', state: 'st4te' });
    const login = await fetch(url, { redirect: 'manual' });
    const back = new URL(login.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe('st4te');
    const now = new Date('2026-01-05T09:30:00Z');
    const session = await adapter.connector.complete({ apiKey, apiSecret: 'sec' }, { code: back.searchParams.get('code')!, state: 'st4te' }, { redirectUri: 'http://127.0.0.1:9/brokers/upstox/callback', state: '', now });
    expect(session).toMatchObject({ accountId: userId, expiresAt: '2026-01-05T22:00:00.000Z' });
    const sent = up.requests.findLast((r) => r.path === '/v2/login/authorization/token')!;
    expect(sent.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(sent.form)).toMatchObject({ client_id: apiKey, client_secret: 'sec', grant_type: 'authorization_code', redirect_uri: 'http://127.0.0.1:9/brokers/upstox/callback' });
  });

  it('retries a 429 (UDAPI10005) after Retry-After, and gives up with BrokerRateLimitedError on a long delay', async () => {
    const { adapter, req, account } = setup();
    const busy = { status: 'error', errors: [{ errorCode: 'UDAPI10005', message: 'Too Many Request Sent', propertyPath: null, invalidValue: null }] };
    up.failNext.push({ path: /^POST \/v3\/order\/place$/, status: 429, body: busy, headers: { 'Retry-After': '0.1' } });
    await adapter.placeOrder(req());
    expect(await adapter.listOrders(account)).toHaveLength(1);
    up.failNext.push({ path: /^POST \/v3\/order\/place$/, status: 429, body: busy, headers: { 'Retry-After': '60' } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerRateLimitedError);
  });

  it('after a lost acknowledgement finds the order by tag instead of placing it twice', async () => {
    const { adapter, mine, req } = setup();
    const r = req();
    up.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const again = await adapter.placeOrder(r);
    expect(mine().filter((x) => x.method === 'POST')).toHaveLength(1);
    expect(again.clientOrderId).toBe(r.clientOrderId);
  });

  it('maps validation errors to rejections, a rejected order to REJECTED with its message, and 5xx to transient', async () => {
    const { adapter, req, account } = setup();
    await expect(adapter.placeOrder(req({ limitPrice: '750.03' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    up.nextOrders.push({ reject: 'insufficient funds' });
    const placed = await adapter.placeOrder(req());
    expect(await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).toMatchObject({ status: 'REJECTED', rejectReason: 'insufficient funds' });
    up.failNext.push({ path: /^POST \/v3\/order\/place$/, status: 503, body: { status: 'error', errors: [{ errorCode: 'UDAPI100500', message: 'down' }] } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerTransientError);
  });

  it('an invalid token (401 UDAPI100050) expires the connection; later calls do not reach Upstox', async () => {
    const { adapter, mine, req, account, sessions, apiKey } = setup();
    up.expireTokens(apiKey);
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
    const n = mine().length;
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
    expect(mine()).toHaveLength(n);
  });

  it('partial fill: open with filled_quantity is PARTIALLY_FILLED; trades carry Upstox trade ids', async () => {
    const { adapter, req, account } = setup();
    up.nextOrders.push({ fills: ['1'] });
    const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '4' }));
    expect(await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '1' });
    const fills = await adapter.getFills(account, placed.brokerOrderId);
    expect(fills).toEqual([expect.objectContaining({ quantity: '1', price: '1500.1', brokerFillId: expect.stringMatching(/^\d+$/) })]);
  });

  it('a webhook names our order for a sync; one for an unknown user is refused', async () => {
    const { adapter, req, userId } = setup();
    const r = req();
    const placed = await adapter.placeOrder(r);
    const row = (await adapter.listOrders(r.account)).find((o) => o.brokerOrderId === placed.brokerOrderId)!;
    const tag = up.requests.findLast((x) => x.method === 'POST' && x.path === '/v3/order/place')!.json!.tag;
    const orders = await adapter.handlePush({ update_type: 'order', user_id: userId, order_id: placed.brokerOrderId, status: 'open', tag, exchange: 'NSE', transaction_type: 'BUY', order_type: 'LIMIT', quantity: 2 });
    expect(orders.map((o) => o.clientOrderId)).toEqual([r.clientOrderId]);
    expect(row.clientOrderId).toBe(r.clientOrderId);
    await expect(adapter.handlePush({ update_type: 'order', user_id: 'NOBODY', order_id: '1', status: 'open' })).rejects.toThrow(/no active/);
  });
});
