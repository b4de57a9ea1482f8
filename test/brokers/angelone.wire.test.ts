import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AngelOneAdapter, ANGEL_BUDGETS } from '../../src/brokers/angelone/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRejectedError, BrokerTransientError, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { AngelOneFake } from './fakes/angelone.js';

describe('Angel One adapter on the wire', () => {
  let ao: AngelOneFake;
  beforeAll(async () => {
    ao = await new AngelOneFake().start();
    ao.addScrip('1594', { symbol: 'INFY-EQ', exchange: 'NSE', bid: '1499.90', ask: '1500.10', last: '1500.00' });
  });
  afterAll(async () => ao.stop());

  function setup(budgets = { ...ANGEL_BUDGETS, books: [{ limit: 50, windowMs: 1_000 }] }) {
    const client = `C${randomUUID().replace(/-/g, '').slice(0, 7).toUpperCase()}`;
    ao.addClient(client, 'smartkey', '4444', '654321');
    const sessions = new MemorySessions();
    const account = randomUUID();
    const token = ao.issueToken(client);
    sessions.add(account, 'angelone', { apiKey: 'smartkey', clientCode: client }, { accessToken: token, accountId: client, expiresAt: null });
    const adapter = new AngelOneAdapter({ baseUrl: ao.url, sessions, refs: new MemoryOrderRefs(), instruments: new MemoryBrokerInstruments().set('angelone', 'NSE', 'INFY', '1594'), limiter: new MemoryRateLimiter(), logger: silentLogger, budgets });
    const mine = () => ao.requests.filter((r) => r.headers.authorization === `Bearer ${token}`);
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
    return { client, token, account, sessions, adapter, mine, req };
  }

  it('places with JSON string values and the SmartAPI headers: INFY-EQ, symboltoken, DELIVERY, ordertag', async () => {
    const { adapter, mine, req } = setup();
    await adapter.placeOrder(req());
    const sent = mine().find((r) => r.path.endsWith('/placeOrder'))!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/rest/secure/angelbroking/order/v1/placeOrder');
    expect(sent.headers).toMatchObject({ 'x-privatekey': 'smartkey', 'x-usertype': 'USER', 'x-sourceid': 'WEB', 'content-type': 'application/json' });
    expect(sent.headers['x-clientlocalip']).toBeTruthy();
    expect(sent.json).toEqual({
      variety: 'NORMAL', tradingsymbol: 'INFY-EQ', symboltoken: '1594', transactiontype: 'BUY', exchange: 'NSE', ordertype: 'LIMIT', producttype: 'DELIVERY', duration: 'DAY',
      price: '750.05', triggerprice: '0', quantity: '2', ordertag: expect.stringMatching(/^[0-9a-f]{20}$/),
    });
  });

  it('reduces with POST modifyOrder carrying the whole order: the new total quantity, the limit price kept; nothing sent for a reduce already applied', async () => {
    const { adapter, mine, req, account } = setup();
    const resting = await adapter.placeOrder(req({ quantity: '5' }));
    const reduced = await adapter.reduceOrder(account, resting.brokerOrderId, '3');
    expect(reduced.quantity).toBe('3');
    const sent = mine().filter((r) => r.path.endsWith('/modifyOrder'));
    expect(sent.map((r) => r.json)).toEqual([
      { variety: 'NORMAL', orderid: resting.brokerOrderId, ordertype: 'LIMIT', producttype: 'DELIVERY', duration: 'DAY', price: '750.05', triggerprice: '0', quantity: '3', tradingsymbol: 'INFY-EQ', symboltoken: '1594', exchange: 'NSE' },
    ]);
    await adapter.reduceOrder(account, resting.brokerOrderId, '3');
    expect(mine().filter((r) => r.path.endsWith('/modifyOrder'))).toHaveLength(1);
  });

  it('sends stops as variety STOPLOSS with STOPLOSS_MARKET / STOPLOSS_LIMIT; cancels with {variety, orderid}', async () => {
    const { adapter, mine, req, account } = setup();
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '1600.00' }));
    const resting = await adapter.placeOrder(req());
    expect(mine().find((r) => r.path.endsWith('/placeOrder'))!.json).toMatchObject({ variety: 'STOPLOSS', ordertype: 'STOPLOSS_MARKET', triggerprice: '1600', price: '0' });
    await adapter.cancelOrder(account, resting.brokerOrderId);
    expect(mine().find((r) => r.path.endsWith('/cancelOrder'))!.json).toEqual({ variety: 'NORMAL', orderid: resting.brokerOrderId });
  });

  it('logs in with client code, PIN and TOTP and refreshes with generateTokens', async () => {
    const { adapter, client } = setup();
    const app = { apiKey: 'smartkey', clientCode: client };
    const now = new Date('2026-01-05T09:30:00Z');
    const session = await adapter.connector.complete(app, { pin: '4444', totp: '654321' }, { redirectUri: '', state: '', now });
    expect(ao.requests.findLast((r) => r.path.endsWith('/loginByPassword'))!.json).toEqual({ clientcode: client, password: '4444', totp: '654321' });
    expect(session).toMatchObject({ accountId: client, expiresAt: '2026-01-05T18:30:00.000Z' });
    const renewed = await adapter.connector.refresh(app, session, now);
    expect(renewed.accessToken).not.toBe(session.accessToken);
    await expect(adapter.connector.complete(app, { pin: '4444', totp: '000000' }, { redirectUri: '', state: '', now })).rejects.toBeInstanceOf(BrokerAuthError);
  });

  it('keeps the book calls at the documented 1/s: a burst waits or is refused, never sent faster', async () => {
    const { adapter, mine, account } = setup(ANGEL_BUDGETS);
    const t0 = Date.now();
    await adapter.listOrders(account);
    await adapter.listOrders(account);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const calls = mine().filter((r) => r.path.endsWith('/getOrderBook'));
    expect(calls).toHaveLength(2);
  });

  it('a lost acknowledgement is found again by ordertag; errorcode refusals are final; 5xx transient', async () => {
    const { adapter, mine, req } = setup();
    const r = req();
    ao.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    expect((await adapter.placeOrder(r)).clientOrderId).toBe(r.clientOrderId);
    expect(mine().filter((x) => x.path.endsWith('/placeOrder'))).toHaveLength(1);
    await expect(adapter.placeOrder(req({ limitPrice: '750.03' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    ao.failNext.push({ path: /placeOrder$/, status: 503, body: { status: false, message: 'down', errorcode: 'AB2000', data: null } });
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerTransientError);
  });

  it('an expired token (AG8002) expires the connection; nothing more reaches Angel One', async () => {
    const { adapter, mine, req, account, sessions, client } = setup();
    ao.expireTokens(client);
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
    const n = mine().length;
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
    expect(mine()).toHaveLength(n);
  });

  it('partial fill: open with filledshares is PARTIALLY_FILLED; fills come from the trade book by fillid', async () => {
    const { adapter, req, account } = setup();
    ao.nextOrders.push({ fills: ['1'] });
    const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '3' }));
    expect(await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '1' });
    expect(await adapter.getFills(account, placed.brokerOrderId)).toEqual([expect.objectContaining({ quantity: '1', price: '1500.1' })]);
  });
});
