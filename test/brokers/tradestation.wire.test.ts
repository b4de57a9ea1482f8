import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradeStationAdapter } from '../../src/brokers/tradestation/index.js';
import { JsonObjectSplitter } from '../../src/brokers/tradestation/stream.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError, type BrokerEvent, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../support/gql.js';
import { TradeStationFake } from './fakes/tradestation.js';

/** The exact requests the TradeStation adapter sends, and how it reads TradeStation's answers and streams. */
describe('TradeStation adapter on the wire', () => {
  let fake: TradeStationFake;
  const adapters: TradeStationAdapter[] = [];
  beforeAll(async () => {
    fake = await new TradeStationFake().start();
    fake.setQuote('MSFT', { bid: '411.20', ask: '411.30', last: '411.25' });
    fake.setQuote('SPY', { bid: '600.10', ask: '600.20', last: '600.15' });
  });
  afterAll(async () => {
    for (const a of adapters) await a.close();
    await fake.stop();
  });

  function setup(opts: { streams?: boolean; rotating?: boolean; minPollIntervalMs?: number; streamIdleMs?: number } = {}) {
    const clientId = `ts${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const clientSecret = `secret-${randomUUID()}`;
    fake.addUser({ clientId, clientSecret, cash: '50000', rotating: opts.rotating });
    const t = fake.issueTokens(clientId);
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'tradestation', { clientId, clientSecret }, { accessToken: t.accessToken, refreshToken: t.refreshToken, accountId: t.accountId, expiresAt: null });
    const adapter = new TradeStationAdapter({ baseUrl: fake.baseUrl, loginUrl: fake.loginUrl, streams: opts.streams, minPollIntervalMs: opts.minPollIntervalMs ?? 100, streamIdleMs: opts.streamIdleMs ?? 3_000, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    adapters.push(adapter);
    const events: BrokerEvent[] = [];
    adapter.onEvent((e) => events.push(e));
    const mine = () => fake.requests.filter((r) => r.headers.authorization === `Bearer ${t.accessToken}`);
    const req = (over: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: randomUUID(),
      account,
      instrument: { symbol: 'MSFT', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '1' },
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'DAY',
      quantity: '2',
      limitPrice: '205.50',
      ...over,
    });
    return { clientId, clientSecret, accountId: t.accountId, accessToken: t.accessToken, account, sessions, adapter, events, mine, req };
  }

  it('places a limit order as JSON POST /v3/orderexecution/orders with the bearer token, every number a string', async () => {
    const { adapter, mine, req, accountId } = setup({ streams: false });
    const r = req();
    const placed = await adapter.placeOrder(r);
    const [sent] = mine().filter((x) => x.method === 'POST');
    expect(sent.path).toBe('/v3/orderexecution/orders');
    expect(sent.contentType).toBe('application/json');
    expect(sent.json).toEqual({ AccountID: accountId, Symbol: 'MSFT', Quantity: '2', OrderType: 'Limit', TradeAction: 'BUY', TimeInForce: { Duration: 'DAY' }, Route: 'Intelligent', LimitPrice: '205.5' });
    expect(placed).toMatchObject({ status: 'OPEN', filledQuantity: '0', clientOrderId: r.clientOrderId, exchange: 'NASDAQ', symbol: 'MSFT', side: 'BUY', type: 'LIMIT', quantity: '2' });
    expect(placed.brokerOrderId).toMatch(/^\d+$/);
    // The acknowledgement is read back by id.
    expect(mine().some((x) => x.method === 'GET' && x.path === `/v3/brokerage/accounts/${accountId}/orders/${placed.brokerOrderId}`)).toBe(true);
  });

  it('sends Market, StopMarket and StopLimit with GTC and IOC durations, and SELL', async () => {
    const { adapter, mine, req } = setup({ streams: false });
    await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, side: 'SELL', timeInForce: 'IOC' }));
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '450.00', timeInForce: 'GTC' }));
    await adapter.placeOrder(req({ type: 'STOP_LIMIT', limitPrice: '451.25', stopPrice: '450.00' }));
    const [market, stop, stopLimit] = mine().filter((r) => r.method === 'POST').map((r) => r.json!);
    expect(market).toMatchObject({ OrderType: 'Market', TradeAction: 'SELL', TimeInForce: { Duration: 'IOC' } });
    expect(market.LimitPrice).toBeUndefined();
    expect(stop).toMatchObject({ OrderType: 'StopMarket', StopPrice: '450', TimeInForce: { Duration: 'GTC' } });
    expect(stop.LimitPrice).toBeUndefined();
    expect(stopLimit).toMatchObject({ OrderType: 'StopLimit', LimitPrice: '451.25', StopPrice: '450', TimeInForce: { Duration: 'DAY' } });
  });

  it('refuses fractional shares and sub-penny prices before anything is sent', async () => {
    const { adapter, mine, req } = setup({ streams: false });
    await expect(adapter.placeOrder(req({ quantity: '0.5' }))).rejects.toThrow(/whole shares/);
    await expect(adapter.placeOrder(req({ limitPrice: '205.505' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    expect(mine().filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it("reports TradeStation's refusal (HTTP 400 {Error, Message}) as a rejection with its message", async () => {
    const { adapter, req } = setup({ streams: false });
    await expect(adapter.placeOrder(req({ instrument: { symbol: 'NOPE', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '1' } }))).rejects.toThrow(/Invalid symbol: NOPE/);
  });

  it('an order TradeStation rejects (REJ) comes back REJECTED with its reason, and as an order event', async () => {
    const { adapter, req, events, account } = setup({ streams: false });
    fake.nextOrders.push({ reject: 'Insufficient buying power' });
    const placed = await adapter.placeOrder(req());
    expect(placed).toMatchObject({ status: 'REJECTED', rejectReason: 'Insufficient buying power' });
    expect(events).toContainEqual({ kind: 'order', account, order: expect.objectContaining({ status: 'REJECTED', brokerOrderId: placed.brokerOrderId }) });
  });

  it('replaces with PUT /v3/orderexecution/orders/{id}, cancels with DELETE, finds orders by our id', async () => {
    const { adapter, mine, req, account } = setup({ streams: false });
    const r = req();
    const placed = await adapter.placeOrder(r);
    const next = await adapter.replaceOrder(account, placed.brokerOrderId, { limitPrice: '206.00', quantity: '3' });
    const put = mine().find((x) => x.method === 'PUT')!;
    expect(put.path).toBe(`/v3/orderexecution/orders/${placed.brokerOrderId}`);
    expect(put.json).toEqual({ Quantity: '3', LimitPrice: '206' });
    expect(next).toMatchObject({ brokerOrderId: placed.brokerOrderId, quantity: '3', status: 'OPEN', clientOrderId: r.clientOrderId });
    const canceled = await adapter.cancelOrder(account, placed.brokerOrderId);
    expect(mine().find((x) => x.method === 'DELETE')?.path).toBe(`/v3/orderexecution/orders/${placed.brokerOrderId}`);
    expect(canceled.status).toBe('CANCELED'); // OUT
    await expect(adapter.cancelOrder(account, placed.brokerOrderId)).rejects.toBeInstanceOf(BrokerRejectedError);
    expect((await adapter.getOrder(account, { clientOrderId: r.clientOrderId }))?.brokerOrderId).toBe(placed.brokerOrderId);
  });

  it('reads balances (cash, buying power without margin) and positions, with commissions as reported', async () => {
    const { adapter, req, account, accountId, mine } = setup({ streams: false });
    expect(await adapter.getFunds(account)).toEqual({ currency: 'USD', cash: '50000', available: '50000' });
    expect(mine().some((x) => x.path === `/v3/brokerage/accounts/${accountId}/balances`)).toBe(true);
    const spy = { symbol: 'SPY', exchange: 'NYSEARCA', currency: 'USD', tickSize: '0.01', lotSize: '1' };
    const placed = await adapter.placeOrder(req({ instrument: spy, type: 'MARKET', limitPrice: null, quantity: '3' }));
    await waitFor('the fill', async () => (await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status === 'FILLED');
    expect(await adapter.getPositions(account)).toEqual([{ symbol: 'SPY', exchange: 'NYSEARCA', quantity: '3', averagePrice: '600.2' }]);
    const fills = await adapter.getFills(account, placed.brokerOrderId);
    expect(fills).toEqual([expect.objectContaining({ brokerFillId: `${placed.brokerOrderId}@3`, quantity: '3', price: '600.2', fee: '1' })]);
    expect((await adapter.getFunds(account)).cash).toBe('48198.4'); // 50000 − 3 × 600.20 − $1 commission
  });

  it('partial fills from the order stream: each rise of FilledQuantity is one fill, its fee the rise of CommissionFee, once despite duplicates', async () => {
    const { adapter, req, account, events, clientId } = setup({ minPollIntervalMs: 600_000 });
    adapter.startPolling(600_000); // opens the stream; no poll reads orders after the first
    await waitFor('the stream to be live', async () => adapter.streamState(account)?.state === 'live');
    expect(fake.openStreams(clientId)).toBe(1);
    const streamReq = fake.requests.find((r) => r.path.startsWith('/v3/brokerage/stream/accounts/') && !r.path.endsWith('/positions'))!; // the positions stream opens beside it
    expect(streamReq.path).toMatch(/^\/v3\/brokerage\/stream\/accounts\/\d+\/orders$/);
    expect(streamReq.headers.authorization).toMatch(/^Bearer ts-at-/);
    fake.duplicatePushes = true;
    fake.nextOrders.push({ fills: ['1', '2'] });
    try {
      const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '5' }));
      const fills = () => events.flatMap((e) => (e.kind === 'fill' && e.fill.brokerOrderId === placed.brokerOrderId ? [e.fill] : []));
      await waitFor('two fills', async () => fills().length === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(fills().map((f) => [f.brokerFillId, f.quantity, f.price, f.fee])).toEqual([
        [`${placed.brokerOrderId}@1`, '1', '411.3', '1'],
        [`${placed.brokerOrderId}@3`, '2', '411.3', '1'],
      ]);
      expect((await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('PARTIALLY_FILLED');
      // The rest fills later, on the stream.
      fake.fillRest(placed.brokerOrderId);
      await waitFor('the last fill', async () => fills().length === 3);
      expect(fills()[2]).toMatchObject({ brokerFillId: `${placed.brokerOrderId}@5`, quantity: '2' });
      expect((await adapter.getFills(account, placed.brokerOrderId)).map((f) => f.brokerFillId)).toEqual(fills().map((f) => f.brokerFillId));
    } finally {
      fake.duplicatePushes = false;
    }
  });

  it('executions streamed before the acknowledgement arrives are kept, and become fills once the order is known as ours', async () => {
    const { adapter, req, account, events } = setup({ minPollIntervalMs: 600_000 });
    adapter.startPolling(600_000);
    await waitFor('the stream to be live', async () => adapter.streamState(account)?.state === 'live');
    fake.ackDelayMs = 300;
    fake.nextOrders.push({ fills: ['1', '2'] });
    try {
      const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '4' }));
      const fills = events.flatMap((e) => (e.kind === 'fill' && e.fill.brokerOrderId === placed.brokerOrderId ? [e.fill] : []));
      expect(fills.map((f) => [f.brokerFillId, f.quantity, f.clientOrderId])).toEqual([
        [`${placed.brokerOrderId}@1`, '1', placed.clientOrderId],
        [`${placed.brokerOrderId}@3`, '2', placed.clientOrderId],
      ]);
      expect(placed).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '3' });
    } finally {
      fake.ackDelayMs = 0;
    }
  });

  it('reconnects the order stream after a drop and after GoAway, and fills still arrive by it', async () => {
    const { adapter, req, account, events, clientId } = setup({ minPollIntervalMs: 600_000 });
    adapter.startPolling(600_000);
    await waitFor('the stream to be live', async () => adapter.streamState(account)?.state === 'live');
    const placed = await adapter.placeOrder(req({ limitPrice: '200.00', quantity: '4' }));
    fake.dropStreams();
    await waitFor('a second connection', async () => adapter.streamState(account)!.connects >= 2 && adapter.streamState(account)!.state === 'live' && fake.openStreams(clientId) === 1);
    fake.fillRest(placed.brokerOrderId, '1');
    await waitFor('the fill after the drop', async () => events.some((e) => e.kind === 'fill' && e.fill.brokerFillId === `${placed.brokerOrderId}@1`));
    fake.goAway();
    await waitFor('a third connection', async () => adapter.streamState(account)!.connects >= 3 && adapter.streamState(account)!.state === 'live' && fake.openStreams(clientId) === 1);
    fake.fillRest(placed.brokerOrderId);
    await waitFor('the fill after GoAway', async () => events.some((e) => e.kind === 'fill' && e.fill.brokerFillId === `${placed.brokerOrderId}@4`));
  });

  it('a stream that goes quiet (not even a heartbeat) past the idle limit is reopened', async () => {
    const { adapter, req, account, events, clientId } = setup({ minPollIntervalMs: 600_000, streamIdleMs: 1_500 });
    adapter.startPolling(600_000);
    await waitFor('the stream to be live', async () => adapter.streamState(account)?.state === 'live');
    await new Promise((r) => setTimeout(r, 2_000)); // heartbeats (every second) keep it open past the limit
    expect(adapter.streamState(account)!.connects).toBe(1);
    const placed = await adapter.placeOrder(req({ limitPrice: '200.00', quantity: '2' }));
    fake.silence();
    fake.fillRest(placed.brokerOrderId); // pushed into the silent connection: lost
    await waitFor('a new connection', async () => adapter.streamState(account)!.connects >= 2 && adapter.streamState(account)!.state === 'live', 5_000);
    expect(fake.openStreams(clientId)).toBeGreaterThanOrEqual(1);
    // The new connection's snapshot carries only live orders; the fill is found once the order is read.
    expect((await adapter.getFills(account, placed.brokerOrderId)).map((f) => f.brokerFillId)).toEqual([`${placed.brokerOrderId}@2`]);
    expect(events.some((e) => e.kind === 'fill' && e.fill.brokerFillId === `${placed.brokerOrderId}@2`)).toBe(true);
  });

  it('without pushes, polling the order list finds fills and endings', async () => {
    const { adapter, req, account, events } = setup({ streams: false, minPollIntervalMs: 50 });
    adapter.startPolling(50);
    const a = await adapter.placeOrder(req({ limitPrice: '200.00', quantity: '3' }));
    const b = await adapter.placeOrder(req({ limitPrice: '200.00', quantity: '1' }));
    fake.fillRest(a.brokerOrderId);
    fake.expire(b.brokerOrderId);
    await waitFor('the polled fill', async () => events.some((e) => e.kind === 'fill' && e.fill.brokerFillId === `${a.brokerOrderId}@3`));
    await waitFor('the polled expiry', async () => events.some((e) => e.kind === 'order' && e.order.brokerOrderId === b.brokerOrderId && e.order.status === 'EXPIRED'));
    expect(adapter.streamState(account)).toBeUndefined();
  });

  it('a lost acknowledgement: the retry adopts the order TradeStation made instead of sending a second', async () => {
    const { adapter, req, mine, account } = setup({ streams: false });
    const other = await adapter.placeOrder(req({ limitPrice: '199.00' })); // same shape, already ours: never adopted
    const r = req({ limitPrice: '199.00' });
    fake.loseNextAck = true;
    await expect(adapter.placeOrder(r)).rejects.toBeInstanceOf(BrokerTransientError);
    const again = await adapter.placeOrder(r);
    expect(mine().filter((x) => x.method === 'POST')).toHaveLength(2);
    expect(again.brokerOrderId).not.toBe(other.brokerOrderId);
    expect(again.clientOrderId).toBe(r.clientOrderId);
    expect((await adapter.getOrder(account, { clientOrderId: r.clientOrderId }))?.brokerOrderId).toBe(again.brokerOrderId);
    expect(await adapter.placeOrder(r)).toMatchObject({ brokerOrderId: again.brokerOrderId }); // and a third try finds it by our id
  });

  it('a 429 is retried after its delay', async () => {
    const { adapter, account, mine } = setup({ streams: false });
    fake.failNext.push({ path: /^GET \/brokerage\/accounts\/\d+\/balances$/, status: 429, body: { Error: 'TooManyRequests', Message: 'Quota exceeded' }, headers: { 'Retry-After': '0' } });
    expect((await adapter.getFunds(account)).cash).toBe('50000');
    expect(mine().filter((x) => x.path.endsWith('/balances'))).toHaveLength(2);
  });

  it('keeps to the documented 250 Balances requests per 5 minutes per account: the 251st is never sent', async () => {
    const { adapter, account, mine } = setup({ streams: false });
    for (let i = 0; i < 250; i++) await adapter.getFunds(account);
    await expect(adapter.getFunds(account)).rejects.toBeInstanceOf(BrokerRateLimitedError);
    expect(mine().filter((x) => x.path.endsWith('/balances'))).toHaveLength(250);
    // Other categories have their own quota.
    expect(await adapter.getPositions(account)).toEqual([]);
  });

  it('a refused access token (401) makes the connection EXPIRED', async () => {
    const { adapter, account, sessions, clientId } = setup({ streams: false });
    fake.revokeAccess(clientId);
    await expect(adapter.getFunds(account)).rejects.toBeInstanceOf(BrokerAuthError);
    expect(sessions.status(account)).toBe('EXPIRED');
  });

  it('the connector: authorization URL, code exchange and refresh as form posts to /oauth/token; a rotated refresh token replaces the old', async () => {
    const { adapter, clientId, clientSecret, accountId } = setup({ streams: false, rotating: true });
    const c = adapter.connector;
    const url = new URL(c.authorizationUrl({ clientId, clientSecret }, { redirectUri: 'http://127.0.0.1:1/cb', state: 'st4te', now: new Date() }));
    expect(url.origin + url.pathname).toBe(fake.loginUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: clientId, audience: 'https://api.tradestation.com', redirect_uri: 'http://127.0.0.1:1/cb', scope: 'openid offline_access profile MarketData ReadAccount Trade', state: 'st4te' });
    const login = await fetch(url, { redirect: 'manual' });
    const back = new URL(login.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe('st4te');
    const now = new Date();
    const session = await c.complete({ clientId, clientSecret }, { code: back.searchParams.get('code')!, state: 'st4te' }, { redirectUri: 'http://127.0.0.1:1/cb', state: '', now });
    const exchange = fake.requests.filter((r) => r.path === '/oauth/token').at(-1)!;
    expect(exchange.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(exchange.form!)).toEqual({ grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code: back.searchParams.get('code'), redirect_uri: 'http://127.0.0.1:1/cb' });
    expect(session).toMatchObject({ accountId, accessToken: expect.stringMatching(/^ts-at-/), refreshToken: expect.stringMatching(/^ts-rt-/) });
    // 20-minute token, refreshed two minutes ahead.
    expect(Date.parse(session.expiresAt!) - now.getTime()).toBe(18 * 60_000);
    const next = await c.refresh!({ clientId, clientSecret }, session, now);
    const refresh = fake.requests.filter((r) => r.path === '/oauth/token').at(-1)!;
    expect(Object.fromEntries(refresh.form!)).toEqual({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: session.refreshToken });
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(next.accessToken).not.toBe(session.accessToken);
    // The old token died at TradeStation; a late caller holding it shares the grant already made.
    const stale = await fetch(`${fake.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: session.refreshToken! }) });
    expect(stale.status).toBe(403);
    const grants = fake.requests.filter((r) => r.path === '/oauth/token').length;
    expect(await c.refresh!({ clientId, clientSecret }, session, now)).toEqual(next);
    expect(fake.requests.filter((r) => r.path === '/oauth/token')).toHaveLength(grants);
    expect((await c.refresh!({ clientId, clientSecret }, next, now)).accessToken).toMatch(/^ts-at-/);
  });

  it('the stream splitter cuts concatenated JSON objects however the chunks fall, braces in strings included', () => {
    const sp = new JsonObjectSplitter();
    const text = '{"OrderID":"1","Status":"OPN","StatusDescription":"a } b {"}\n{"Heartbeat":1}{"StreamStatus":"EndSnapshot"}\r\n{"x":{"y":"\\"}"}}';
    const out: string[] = [];
    for (let i = 0; i < text.length; i += 7) out.push(...sp.push(text.slice(i, i + 7)));
    expect(out.map((x) => JSON.parse(x))).toEqual([{ OrderID: '1', Status: 'OPN', StatusDescription: 'a } b {' }, { Heartbeat: 1 }, { StreamStatus: 'EndSnapshot' }, { x: { y: '"}' } }]);
  });
});
