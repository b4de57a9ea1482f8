import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrowwAdapter } from '../../src/brokers/groww/index.js';
import { approvalChecksum } from '../../src/brokers/groww/wire.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRejectedError, BrokerTransientError, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { GrowwFake } from './fakes/groww.js';

describe('Groww adapter on the wire', () => {
  let gw: GrowwFake;
  beforeAll(async () => {
    gw = await new GrowwFake().start();
    gw.setQuote('INFY', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  });
  afterAll(async () => gw.stop());

  function setup() {
    const user = `g-${randomUUID()}`;
    const token = gw.addUser(user);
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'groww', { accessToken: token }, { accessToken: token, expiresAt: null });
    const adapter = new GrowwAdapter({ baseUrl: gw.url, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    const mine = () => gw.requests.filter((r) => r.headers.authorization === `Bearer ${token}`);
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
    return { user, token, account, sessions, adapter, mine, req };
  }

  it('places with JSON POST /v1/order/create: CASH segment, CNC, order_reference_id, X-API-VERSION 1.0', async () => {
    const { adapter, mine, req } = setup();
    await adapter.placeOrder(req());
    const sent = mine().find((r) => r.path === '/v1/order/create')!;
    expect(sent.headers['x-api-version']).toBe('1.0');
    expect(sent.headers.accept).toBe('application/json');
    expect(sent.json).toEqual({
      trading_symbol: 'INFY', quantity: 2, price: 750.05, validity: 'DAY', exchange: 'NSE', segment: 'CASH', product: 'CNC', order_type: 'LIMIT', transaction_type: 'BUY',
      order_reference_id: expect.stringMatching(/^[0-9a-f]{20}$/),
    });
  });

  it('sends SL_M with trigger_price; modifies and cancels with POSTs naming groww_order_id and segment', async () => {
    const { adapter, mine, req, account } = setup();
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '1600.00' }));
    expect(mine().find((r) => r.path === '/v1/order/create')!.json).toMatchObject({ order_type: 'SL_M', trigger_price: 1600 });
    const resting = await adapter.placeOrder(req());
    await adapter.modifyOrder(account, resting.brokerOrderId, { limitPrice: '760.00' });
    expect(mine().find((r) => r.path === '/v1/order/modify')!.json).toEqual({ groww_order_id: resting.brokerOrderId, segment: 'CASH', quantity: 2, price: 760, order_type: 'LIMIT' });
    await adapter.cancelOrder(account, resting.brokerOrderId);
    expect(mine().find((r) => r.path === '/v1/order/cancel')!.json).toEqual({ groww_order_id: resting.brokerOrderId, segment: 'CASH' });
  });

  it('a lost acknowledgement: the retry is refused as a duplicate reference (GA007) and adopts the existing order', async () => {
    const { adapter, mine, req, account } = setup();
    const r = req();
    gw.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const again = await adapter.placeOrder(r);
    expect(again.clientOrderId).toBe(r.clientOrderId);
    expect(mine().filter((x) => x.path === '/v1/order/create')).toHaveLength(2);
    expect(await adapter.listOrders(account)).toHaveLength(1);
  });

  it('refuses IOC (Groww documents DAY only) before calling Groww, and a GA001 as final', async () => {
    const { adapter, mine, req } = setup();
    await expect(adapter.placeOrder(req({ timeInForce: 'IOC' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(mine()).toHaveLength(0);
    await expect(adapter.placeOrder(req({ limitPrice: '750.03' }))).rejects.toBeInstanceOf(BrokerRejectedError);
  });

  it('GA005 (token expired at 06:00) expires the connection; nothing more reaches Groww', async () => {
    const { adapter, mine, req, account, sessions, user } = setup();
    gw.expireTokens(user);
    await expect(adapter.listOrders(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
    const n = mine().length;
    await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
    expect(mine()).toHaveLength(n);
  });

  it('polling finds partial fills by filled_quantity and emits each trade once', async () => {
    const { adapter, req, account } = setup();
    const events: string[] = [];
    adapter.onEvent((e) => e.kind === 'fill' && events.push(e.fill.brokerFillId));
    gw.nextOrders.push({ fills: ['1'] });
    const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '3' }));
    expect(await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '1' });
    await adapter.poll();
    await adapter.poll();
    expect(events).toHaveLength(1);
    gw.fillRest(placed.brokerOrderId);
    await adapter.poll();
    expect(events).toHaveLength(2);
    expect(await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).toMatchObject({ status: 'FILLED', filledQuantity: '3' });
  });

  it('mints a token from an API key and secret with the approval checksum', async () => {
    const { adapter, user } = setup();
    gw.addApiKey(user, 'gkey', 'gsecret');
    const now = new Date('2026-01-05T09:30:00Z');
    const session = await adapter.connector.complete({ apiKey: 'gkey', apiSecret: 'gsecret' }, {}, { redirectUri: '', state: '', now });
    expect(session.expiresAt).toBe('2026-01-06T00:30:00.000Z');
    const sent = gw.requests.findLast((r) => r.path === '/v1/token/api/access')!;
    expect(sent.headers.authorization).toBe('Bearer gkey');
    expect(sent.json).toEqual({ key_type: 'approval', checksum: approvalChecksum('gsecret', String(now.getTime() / 1000)), timestamp: String(now.getTime() / 1000) });
    await expect(adapter.connector.complete({ apiKey: 'gkey', apiSecret: 'wrong' }, {}, { redirectUri: '', state: '', now })).rejects.toBeInstanceOf(BrokerAuthError);
  });
});
