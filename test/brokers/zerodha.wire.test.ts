import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KiteAdapter } from '../../src/brokers/zerodha/index.js';
import { postbackChecksum } from '../../src/brokers/zerodha/wire.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { KiteFake } from './fakes/kite.js';

/** The exact requests the Kite adapter sends, and how it reads Kite's answers. */
describe('Kite adapter on the wire', () => {
  let kite: KiteFake;
  beforeAll(async () => {
    kite = await new KiteFake().start();
    kite.setQuote('NSE', 'INFY', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  });
  afterAll(async () => kite.stop());

  function setup() {
    const apiKey = `k${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    kite.addApp({ apiKey, apiSecret: 'sec', userId: `U${apiKey.slice(1, 7)}`, redirectUrl: 'http://127.0.0.1:1/cb' });
    const sessions = new MemorySessions();
    const account = randomUUID();
    const token = kite.issueToken(apiKey);
    sessions.add(account, 'zerodha', { apiKey, apiSecret: 'sec' }, { accessToken: token, accountId: `U${apiKey.slice(1, 7)}`, expiresAt: null });
    const adapter = new KiteAdapter({ baseUrl: kite.url, loginUrl: `${kite.url}/connect/login`, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    const mine = () => kite.requests.filter((r) => String(r.headers.authorization ?? '').startsWith(`token ${apiKey}:`));
    const req = (over: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: randomUUID(),
      account,
      instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'DAY',
      quantity: '2',
      limitPrice: '750.00',
      ...over,
    });
    return { apiKey, token, account, sessions, adapter, mine, req };
  }

  it('places a limit order as a form-encoded POST /orders/regular with the Kite headers and a 20-char tag', async () => {
    const { adapter, mine, req, apiKey, token } = setup();
    const placed = await adapter.placeOrder(req());
    const [sent] = mine().filter((r) => r.method === 'POST');
    expect(sent.path).toBe('/orders/regular');
    expect(sent.contentType).toBe('application/x-www-form-urlencoded');
    expect(sent.headers['x-kite-version']).toBe('3');
    expect(sent.headers.authorization).toBe(`token ${apiKey}:${token}`);
    expect(sent.rawBody).toMatch(/^tradingsymbol=INFY&exchange=NSE&transaction_type=BUY&order_type=LIMIT&quantity=2&product=CNC&validity=DAY&tag=[0-9a-f]{20}&price=750$/);
    expect(placed).toMatchObject({ status: 'OPEN', filledQuantity: '0' });
  });

  it('sends a stop as SL-M with trigger_price, a stop-limit as SL with both prices, and IOC as validity', async () => {
    const { adapter, mine, req } = setup();
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '1600.00', side: 'BUY' }));
    await adapter.placeOrder(req({ type: 'STOP_LIMIT', limitPrice: '1601.00', stopPrice: '1600.00', timeInForce: 'IOC' }));
    const [stop, stopLimit] = mine().filter((r) => r.method === 'POST').map((r) => Object.fromEntries(r.form));
    expect(stop).toMatchObject({ order_type: 'SL-M', trigger_price: '1600' });
    expect(stop.price).toBeUndefined();
    expect(stopLimit).toMatchObject({ order_type: 'SL', price: '1601', trigger_price: '1600', validity: 'IOC' });
  });

  it('refuses GTC before calling Kite (Kite has DAY, IOC and TTL only)', async () => {
    const { adapter, mine, req } = setup();
    await expect(adapter.placeOrder(req({ timeInForce: 'GTC' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(mine()).toHaveLength(0);
  });

  it('modifies with a form PUT /orders/regular/{id} and cancels with DELETE /orders/regular/{id}', async () => {
    const { adapter, mine, req, account } = setup();
    const placed = await adapter.placeOrder(req());
    const modified = await adapter.modifyOrder(account, placed.brokerOrderId, { limitPrice: '760.00' });
    expect(modified.status).toBe('OPEN');
    const put = mine().find((r) => r.method === 'PUT')!;
    expect(put.path).toBe(`/orders/regular/${placed.brokerOrderId}`);
    expect(put.rawBody).toBe('price=760');
    await adapter.cancelOrder(account, placed.brokerOrderId);
    expect(mine().find((r) => r.method === 'DELETE')?.path).toBe(`/orders/regular/${placed.brokerOrderId}`);
    expect((await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('CANCELED');
  });

  it('reduces an order with a quantity-only form PUT /orders/regular/{id} (the new total), and sends nothing for a reduce already applied', async () => {
    const { adapter, mine, req, account } = setup();
    const placed = await adapter.placeOrder(req({ quantity: '5' }));
    const reduced = await adapter.reduceOrder(account, placed.brokerOrderId, '3');
    expect(reduced.quantity).toBe('3');
    expect(reduced.status).toBe('OPEN');
    const puts = mine().filter((r) => r.method === 'PUT');
    expect(puts.map((r) => [r.path, r.rawBody])).toEqual([[`/orders/regular/${placed.brokerOrderId}`, 'quantity=3']]);
    await adapter.reduceOrder(account, placed.brokerOrderId, '3');
    expect(mine().filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('retries a 429 after the Retry-After delay and places the order once', async () => {
    const { adapter, mine, req, account } = setup();
    kite.failNext.push({ path: /^POST \/orders\/regular$/, status: 429, body: { status: 'error', message: 'Too many requests', error_type: 'NetworkException' }, headers: { 'Retry-After': '0.2' } });
    const t0 = Date.now();
    await adapter.placeOrder(req());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(mine().filter((r) => r.method === 'POST')).toHaveLength(2); // the throttled one and its retry
    expect(await adapter.listOrders(account)).toHaveLength(1);
  });

  it('gives up on persistent 429s with BrokerRateLimitedError carrying the broker delay', async () => {
    const { adapter, req } = setup();
    kite.failNext.push({ path: /^POST \/orders\/regular$/, status: 429, body: { status: 'error', message: 'Too many requests', error_type: 'NetworkException' }, headers: { 'Retry-After': '30' } });
    const err = await adapter.placeOrder(req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerRateLimitedError);
    expect((err as BrokerRateLimitedError).retryAfterMs).toBe(30_000);
  });

  it('after a lost acknowledgement, the retry finds the order by its tag instead of placing it again', async () => {
    const { adapter, mine, req } = setup();
    const r = req();
    kite.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const again = await adapter.placeOrder(r);
    expect(mine().filter((x) => x.method === 'POST')).toHaveLength(1);
    expect(again.clientOrderId).toBe(r.clientOrderId);
    expect((await adapter.getOrder(r.account, { clientOrderId: r.clientOrderId }))?.brokerOrderId).toBe(again.brokerOrderId);
  });

  it('maps InputException to a final rejection and an exchange REJECTED status with its message', async () => {
    const { adapter, req, account } = setup();
    await expect(adapter.placeOrder(req({ limitPrice: '750.03' }))).rejects.toThrow(/Tick size/);
    kite.nextOrders.push({ reject: 'RMS:Margin Exceeds' });
    const placed = await adapter.placeOrder(req());
    const o = await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId });
    expect(o).toMatchObject({ status: 'REJECTED', rejectReason: 'RMS:Margin Exceeds' });
  });

  it('treats a 5xx as transient', async () => {
    const { adapter, req } = setup();
    kite.failNext.push({ path: /^POST \/orders\/regular$/, status: 502, body: { status: 'error', message: 'OMS down', error_type: 'NetworkException' } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerTransientError);
  });

  it('a 403 TokenException expires the connection, and later calls fail without reaching Kite', async () => {
    const { adapter, mine, req, account, sessions, apiKey } = setup();
    kite.expireAllTokens(apiKey);
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
    const n = mine().length;
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
    expect(mine()).toHaveLength(n);
  });

  it('partial fills: an OPEN order with filled_quantity is PARTIALLY_FILLED and its trades carry Kite trade ids', async () => {
    const { adapter, req, account } = setup();
    kite.nextOrders.push({ fills: ['1'] });
    const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '3' }));
    const o = await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId });
    expect(o).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '1', averagePrice: '1500.1' });
    const fills = await adapter.getFills(account, placed.brokerOrderId);
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ quantity: '1', price: '1500.1', brokerOrderId: placed.brokerOrderId });
    expect(fills[0].brokerFillId).toMatch(/^\d+$/);
  });

  it('verifies a postback checksum (SHA-256 of order_id + order_timestamp + api_secret) and refuses a forged one', async () => {
    const { adapter, req, mine } = setup();
    const r = req();
    const placed = await adapter.placeOrder(r);
    const tag = mine().find((x) => x.method === 'POST')!.form.get('tag');
    const row = { order_id: placed.brokerOrderId, order_timestamp: '2026-01-05 10:00:00', status: 'OPEN', tradingsymbol: 'INFY', exchange: 'NSE', transaction_type: 'BUY', order_type: 'LIMIT', quantity: 2, filled_quantity: 0 };
    const tagged = { ...row, tag, user_id: undefined };
    const good = await adapter.handlePush({ ...tagged, checksum: postbackChecksum(placed.brokerOrderId, row.order_timestamp, 'sec') });
    expect(good.map((o) => o.clientOrderId)).toEqual([r.clientOrderId]);
    await expect(adapter.handlePush({ ...tagged, checksum: postbackChecksum(placed.brokerOrderId, row.order_timestamp, 'wrong') })).rejects.toThrow(/checksum/);
  });
});

describe('Kite WebSocket order updates', () => {
  let kite: KiteFake;
  beforeAll(async () => {
    kite = await new KiteFake().start();
    kite.setQuote('NSE', 'INFY', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  });
  afterAll(async () => kite.stop());

  it('turns a streamed order update into its fill events (by trade id, once), with no polling and no postback', async () => {
    const apiKey = 'kstream1';
    kite.addApp({ apiKey, apiSecret: 'sec', userId: 'ZS0001', redirectUrl: 'http://127.0.0.1:1/cb' });
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'zerodha', { apiKey, apiSecret: 'sec' }, { accessToken: kite.issueToken(apiKey), accountId: 'ZS0001', expiresAt: null });
    const wsUrl = kite.url.replace(/^http/, 'ws');
    const adapter = new KiteAdapter({ baseUrl: kite.url, loginUrl: `${kite.url}/connect/login`, wsUrl, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    try {
      await adapter.stream!.sync([account]);
      await adapter.stream!.ready();
      expect(kite.streamCount('ZS0001')).toBe(1);
      const fills: string[] = [];
      adapter.onEvent((e) => e.kind === 'fill' && fills.push(e.fill.brokerFillId));
      kite.nextOrders.push({ fills: ['1', '1'] });
      const placed = await adapter.placeOrder({
        clientOrderId: randomUUID(), account, instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
        side: 'BUY', type: 'MARKET', timeInForce: 'DAY', quantity: '3',
      });
      const deadline = Date.now() + 5_000;
      while (fills.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(fills).toHaveLength(2);
      kite.fillRest(placed.brokerOrderId); // a third trade, pushed again over the socket
      while (fills.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(new Set(fills).size).toBe(3);
      expect(kite.requests.filter((r) => r.path === '/trades')).toHaveLength(0); // not the poller
    } finally {
      await adapter.close();
    }
  });
});
