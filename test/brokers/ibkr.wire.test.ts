import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IbkrAdapter } from '../../src/brokers/ibkr/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerAuthError, BrokerRateLimitedError, BrokerRejectedError, type BrokerEvent, type BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../support/gql.js';
import { IbkrFake } from './fakes/ibkr.js';

/** The exact requests the IBKR adapter sends through the gateway, and how it reads the answers, the socket and the limits. */
describe('IBKR adapter on the wire', { timeout: 60_000 }, () => {
  let fake: IbkrFake;
  const adapters: IbkrAdapter[] = [];
  const limiter = new MemoryRateLimiter();
  beforeAll(async () => {
    fake = await new IbkrFake().start();
    fake.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
    fake.addStock('SPY', 'ARCA', { bid: '600.10', ask: '600.20', last: '600.15' });
  });
  afterAll(async () => {
    for (const a of adapters) await a.close();
    await fake.stop();
  });

  function setup(opts: { confirm?: string; penaltyMs?: number; tickleMs?: number; fake?: IbkrFake; limiter?: MemoryRateLimiter } = {}) {
    const f = opts.fake ?? fake;
    const ib = `DU${Math.floor(Math.random() * 1e7)}`;
    f.addAccount(ib, '50000');
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'ibkr', { accountId: ib }, { accessToken: 'ibkr-gateway-session', accountId: ib, expiresAt: null });
    const adapter = new IbkrAdapter({ baseUrl: f.url, wsUrl: f.wsUrl, confirm: opts.confirm, penaltyMs: opts.penaltyMs, tickleMs: opts.tickleMs, sessions, refs: new MemoryOrderRefs(), limiter: opts.limiter ?? limiter, logger: silentLogger });
    adapters.push(adapter);
    const events: BrokerEvent[] = [];
    adapter.onEvent((e) => events.push(e));
    const since = f.requests.length;
    const sent = () => f.requests.slice(since);
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
    return { ib, account, sessions, adapter, events, sent, req, f };
  }

  it('looks the conid up once (/trsrv/stocks), then posts {"orders":[ticket]} with our id as cOID', async () => {
    const { adapter, sent, req, ib } = setup();
    const r = req();
    const placed = await adapter.placeOrder(r);
    expect(placed).toMatchObject({ clientOrderId: r.clientOrderId, status: 'OPEN', quantity: '2', filledQuantity: '0' });
    const lookups = sent().filter((x) => x.path === '/trsrv/stocks');
    expect(lookups).toHaveLength(1);
    expect(lookups[0].query.get('symbols')).toBe('AAPL');
    const post = sent().find((x) => x.method === 'POST' && x.path === `/iserver/account/${ib}/orders`)!;
    expect(post.contentType).toBe('application/json');
    expect(post.json).toEqual({ orders: [{ acctId: ib, conid: 265598, cOID: r.clientOrderId, orderType: 'LMT', side: 'BUY', quantity: 2, tif: 'DAY', listingExchange: 'NASDAQ', price: 135.5 }] });
    expect(sent().findIndex((x) => x.path === '/iserver/accounts')).toBeLessThan(sent().indexOf(post));
    await adapter.placeOrder(req({ clientOrderId: randomUUID() }));
    expect(sent().filter((x) => x.path === '/trsrv/stocks')).toHaveLength(1); // cached
  });

  it('sends market, stop (stop as price), stop-limit (limit as price, stop as auxPrice), GTC and IOC tickets, and maps ARCA', async () => {
    const { adapter, sent, req, ib } = setup();
    await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, timeInForce: 'IOC', quantity: '1' }));
    await adapter.placeOrder(req({ type: 'STOP', limitPrice: null, stopPrice: '300.25', side: 'BUY', timeInForce: 'GTC' }));
    await adapter.placeOrder(req({ type: 'STOP_LIMIT', limitPrice: '301', stopPrice: '300.25' }));
    await adapter.placeOrder(req({ instrument: { symbol: 'SPY', exchange: 'NYSEARCA', currency: 'USD', tickSize: '0.01', lotSize: '1' }, limitPrice: '500' }));
    const tickets = sent().filter((x) => x.path === `/iserver/account/${ib}/orders`).map((x) => (x.json as { orders: Array<Record<string, unknown>> }).orders[0]);
    expect(tickets[0]).toMatchObject({ orderType: 'MKT', tif: 'IOC', quantity: 1 });
    expect(tickets[0]).not.toHaveProperty('price');
    expect(tickets[1]).toMatchObject({ orderType: 'STP', price: 300.25, tif: 'GTC' });
    expect(tickets[1]).not.toHaveProperty('auxPrice');
    expect(tickets[2]).toMatchObject({ orderType: 'STOP_LIMIT', price: 301, auxPrice: 300.25 });
    expect(tickets[3]).toMatchObject({ listingExchange: 'ARCA', price: 500 });
    await expect(adapter.placeOrder(req({ quantity: '1.5' }))).rejects.toBeInstanceOf(BrokerRejectedError);
  });

  it('confirms a warning whose message id the policy lists, and says so at /iserver/reply/{id}', async () => {
    const { adapter, req, sent } = setup({ confirm: 'o163,/exceeds the percentage constraint/i' });
    fake.nextOrders.push({ warnings: [{ messageIds: ['o163'], message: ['The following order exceeds the price percentage limit'] }] });
    const placed = await adapter.placeOrder(req());
    expect(placed.status).toBe('OPEN');
    const reply = sent().find((x) => x.path.startsWith('/iserver/reply/'))!;
    expect(reply.method).toBe('POST');
    expect(reply.json).toEqual({ confirmed: true });
    expect(fake.replies.find((r) => reply.path.endsWith(r.id))?.confirmed).toBe(true);
  });

  it('confirms by pattern across two rounds, but declines and rejects when one message is not allowed', async () => {
    const { adapter, req, sent } = setup({ confirm: 'o163,/exceeds the percentage constraint/i' });
    fake.nextOrders.push({ warnings: [{ messageIds: ['o163'], message: ['price limit'] }, { messageIds: ['o999'], message: ['Order size exceeds the percentage constraint of 3%'] }] });
    expect((await adapter.placeOrder(req())).status).toBe('OPEN');
    expect(sent().filter((x) => x.path.startsWith('/iserver/reply/')).map((x) => x.json)).toEqual([{ confirmed: true }, { confirmed: true }]);

    const r = req();
    fake.nextOrders.push({ warnings: [{ messageIds: ['o163'], message: ['price limit'] }, { messageIds: ['o354'], message: ['You are trying to submit an order without having market data for this instrument.'] }] });
    const err = await adapter.placeOrder(r).catch((e: Error) => e);
    expect(err).toBeInstanceOf(BrokerRejectedError);
    expect((err as Error).message).toMatch(/without having market data/);
    expect((err as BrokerRejectedError).reason).toMatch(/^IBKR_CONFIRMATION_REFUSED/);
    expect(sent().filter((x) => x.path.startsWith('/iserver/reply/')).map((x) => x.json).slice(-2)).toEqual([{ confirmed: true }, { confirmed: false }]);
    expect(fake.orderByRef(r.clientOrderId)).toBeUndefined();
  });

  it('with no policy confirms nothing: the first warning rejects the order', async () => {
    const { adapter, req, sent } = setup();
    fake.nextOrders.push({ warnings: [{ messageIds: ['o163'], message: ['price limit'] }] });
    await expect(adapter.placeOrder(req())).rejects.toThrow(/IBKR asks to confirm: price limit/);
    expect(sent().filter((x) => x.path.startsWith('/iserver/reply/')).map((x) => x.json)).toEqual([{ confirmed: false }]);
  });

  it('modifies with the whole ticket at /order/{id}, cancels with DELETE, and reads status back', async () => {
    const { adapter, req, sent, ib, account } = setup();
    const placed = await adapter.placeOrder(req({ quantity: '3', limitPrice: '100' }));
    const changed = await adapter.modifyOrder(account, placed.brokerOrderId, { limitPrice: '101.25', quantity: '4' });
    expect(changed).toMatchObject({ brokerOrderId: placed.brokerOrderId, quantity: '4', status: 'OPEN', clientOrderId: placed.clientOrderId });
    const mod = sent().find((x) => x.method === 'POST' && x.path === `/iserver/account/${ib}/order/${placed.brokerOrderId}`)!;
    expect(mod.json).toEqual({ acctId: ib, conid: 265598, orderType: 'LMT', side: 'BUY', quantity: 4, tif: 'DAY', listingExchange: 'NASDAQ', price: 101.25 });
    const canceled = await adapter.cancelOrder(account, placed.brokerOrderId);
    expect(canceled.status).toBe('CANCELED');
    expect(sent().filter((x) => x.method === 'DELETE').map((x) => x.path)).toEqual([`/iserver/account/${ib}/order/${placed.brokerOrderId}`]);
    expect(sent().some((x) => x.method === 'GET' && x.path === `/iserver/account/order/status/${placed.brokerOrderId}`)).toBe(true);
  });

  it('reduces in place with the whole ticket at /order/{id} carrying the new total quantity and the order’s own price; nothing sent for a reduce already applied, nor one at what filled', async () => {
    const { adapter, req, sent, ib, account } = setup();
    const placed = await adapter.placeOrder(req({ quantity: '5', limitPrice: '100' }));
    const reduced = await adapter.reduceOrder(account, placed.brokerOrderId, '3');
    expect(reduced).toMatchObject({ brokerOrderId: placed.brokerOrderId, quantity: '3', status: 'OPEN' });
    const mods = () => sent().filter((x) => x.method === 'POST' && x.path === `/iserver/account/${ib}/order/${placed.brokerOrderId}`);
    expect(mods().map((x) => x.json)).toEqual([{ acctId: ib, conid: 265598, orderType: 'LMT', side: 'BUY', quantity: 3, tif: 'DAY', listingExchange: 'NASDAQ', price: 100 }]);
    await adapter.reduceOrder(account, placed.brokerOrderId, '3');
    expect(mods()).toHaveLength(1);
    // A market order partly filled (2 of 5): a reduce to the 2 filled is refused without a call; to 4 it goes.
    fake.nextOrders.push({ fills: ['2'] });
    const market = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '5' }));
    await waitFor('the partial fill', async () => (await adapter.getOrder(account, { brokerOrderId: market.brokerOrderId }))?.status === 'PARTIALLY_FILLED');
    await expect(adapter.reduceOrder(account, market.brokerOrderId, '2')).rejects.toBeInstanceOf(BrokerRejectedError);
    const partly = await adapter.reduceOrder(account, market.brokerOrderId, '4');
    expect(partly).toMatchObject({ brokerOrderId: market.brokerOrderId, quantity: '4', filledQuantity: '2', status: 'PARTIALLY_FILLED' });
    const marketMods = sent().filter((x) => x.method === 'POST' && x.path === `/iserver/account/${ib}/order/${market.brokerOrderId}`);
    expect(marketMods.map((x) => x.json)).toEqual([{ acctId: ib, conid: 265598, orderType: 'MKT', side: 'BUY', quantity: 4, tif: 'DAY', listingExchange: 'NASDAQ' }]);
  });

  it('maps fills: execution_id as fill id, commission as fee; websocket str/sor and polling give the same fills once', async () => {
    const { adapter, req, events, account } = setup();
    adapter.startPolling(60_000); // the socket, without frequent polling
    await waitFor('the socket to subscribe', async () => adapter.streamOpen());
    fake.nextOrders.push({ fills: ['1', '2'] });
    const placed = await adapter.placeOrder(req({ type: 'MARKET', limitPrice: null, quantity: '3' }));
    const mine = () => events.flatMap((e) => (e.kind === 'fill' && e.fill.brokerOrderId === placed.brokerOrderId ? [e.fill] : []));
    const tradesPolls = fake.requests.filter((x) => x.path === '/iserver/account/trades').length;
    await waitFor('fill events from the socket', async () => mine().length === 2);
    expect(fake.requests.filter((x) => x.path === '/iserver/account/trades').length).toBe(tradesPolls); // not by polling
    const fills = mine();
    expect(fills.map((f) => f.brokerFillId).every((id) => /^0000e0d5\.[0-9a-f]{8}\.01\.01$/.test(id))).toBe(true);
    expect(fills.map((f) => f.fee)).toEqual(['1', '1']);
    expect(fills.map((f) => f.price)).toEqual(['271.5', '271.5']);
    const polled = await adapter.getFills(account, placed.brokerOrderId);
    expect(polled.map((f) => f.brokerFillId).sort()).toEqual(fills.map((f) => f.brokerFillId).sort());
    const o = await adapter.getOrder(account, { clientOrderId: placed.clientOrderId });
    expect(o).toMatchObject({ status: 'FILLED', filledQuantity: '3', averagePrice: '271.5' });
  });

  it('finds fills by polling the trades when the socket lost them, and IB ending an order (Inactive) as REJECTED', async () => {
    const { adapter, req, events, account } = setup();
    const placed = await adapter.placeOrder(req({ quantity: '2', limitPrice: '100' }));
    fake.dropPushes = true;
    try {
      fake.fillRest(placed.brokerOrderId);
      const r2 = await adapter.placeOrder(req({ quantity: '1', limitPrice: '100' }));
      fake.cancelByIb(r2.brokerOrderId, 'Inactive');
      adapter.startPolling(100);
      await waitFor('the polled fill', async () => events.some((e) => e.kind === 'fill' && e.fill.brokerOrderId === placed.brokerOrderId));
      await waitFor('the polled end', async () => events.some((e) => e.kind === 'order' && e.order.brokerOrderId === r2.brokerOrderId && e.order.status === 'REJECTED'));
      expect((await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('FILLED');
    } finally {
      fake.dropPushes = false;
    }
    expect(fake.violations).toEqual([]);
  });

  it('keeps to 10 requests/s through the gateway and to 1 per 5 s on the orders list', async () => {
    const f = await new IbkrFake().start();
    try {
      f.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
      const { adapter, req, account } = setup({ fake: f, limiter: new MemoryRateLimiter() });
      const placed = await adapter.placeOrder(req());
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 25 }, () => adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })));
      expect(Date.now() - t0).toBeGreaterThan(1_500);
      await adapter.listOrders(account);
      await adapter.listOrders(account);
      const lists = f.requests.filter((x) => x.path === '/iserver/account/orders').map((x) => x.at);
      expect(lists).toHaveLength(2);
      expect(lists[1] - lists[0]).toBeGreaterThanOrEqual(5_000);
      expect(f.violations).toEqual([]);
    } finally {
      await f.stop();
    }
  });

  it('after a 429 stops every request for the penalty, then resumes', async () => {
    const f = await new IbkrFake().start();
    try {
      f.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
      f.penaltyMs = 800;
      const { adapter, account, req } = setup({ fake: f, penaltyMs: 800, limiter: new MemoryRateLimiter() });
      const placed = await adapter.placeOrder(req());
      f.penaltyUntil = Date.now() + 800; // the gateway puts us in the box
      await expect(adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).rejects.toBeInstanceOf(BrokerRateLimitedError);
      const count = f.requests.length;
      await expect(adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId })).rejects.toBeInstanceOf(BrokerRateLimitedError);
      expect(f.requests.length).toBe(count); // nothing sent while in the box
      expect(adapter.gateway.penaltyLeftMs()).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 900));
      expect((await adapter.getOrder(account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('OPEN');
    } finally {
      await f.stop();
    }
  });

  it('a 429 met by one worker puts every worker on the same gateway in the penalty box (shared limiter)', async () => {
    const f = await new IbkrFake().start();
    try {
      f.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
      f.penaltyMs = 800;
      const shared = new MemoryRateLimiter();
      const w1 = setup({ fake: f, penaltyMs: 800, limiter: shared });
      const w2 = setup({ fake: f, penaltyMs: 800, limiter: shared });
      const placed = await w1.adapter.placeOrder(w1.req());
      f.penaltyUntil = Date.now() + 800;
      await expect(w1.adapter.getOrder(w1.account, { brokerOrderId: placed.brokerOrderId })).rejects.toBeInstanceOf(BrokerRateLimitedError);
      const count = f.requests.length;
      // The second worker never met the 429, yet sends nothing while the box lasts.
      await expect(w2.adapter.getOrder(w2.account, { brokerOrderId: placed.brokerOrderId })).rejects.toBeInstanceOf(BrokerRateLimitedError);
      expect(f.requests.length).toBe(count);
      await new Promise((r) => setTimeout(r, 900));
      expect((await w2.adapter.getOrder(w2.account, { brokerOrderId: placed.brokerOrderId }))?.status).toBe('OPEN');
    } finally {
      await f.stop();
    }
  });

  it('tickles, re-authenticates a lapsed session, and expires the connection when the gateway is logged out', async () => {
    const f = await new IbkrFake().start();
    try {
      f.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
      const { adapter, account, sessions, req, sent } = setup({ fake: f, limiter: new MemoryRateLimiter() });
      expect(await adapter.keepAlive()).toBe(true);
      expect(sent().some((x) => x.method === 'POST' && x.path === '/tickle')).toBe(true);
      f.authenticated = false; // lapsed, but the gateway can bring it back
      expect(await adapter.keepAlive()).toBe(true);
      expect(sent().some((x) => x.path === '/iserver/reauthenticate')).toBe(true);
      expect(sessions.status(account)).toBe('ACTIVE');
      f.logout();
      await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
      expect(sent().some((x) => x.path === '/iserver/auth/ssodh/init')).toBe(true);
      expect(sessions.status(account)).toBe('EXPIRED');
      const count = f.requests.length;
      await expect(adapter.placeOrder(req())).rejects.toBeInstanceOf(BrokerAuthError);
      expect(f.requests.length).toBe(count);
    } finally {
      await f.stop();
    }
  });

  it('tickles at the configured interval, and reopens a dropped socket with its subscriptions', async () => {
    const f = await new IbkrFake().start();
    try {
      f.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
      const { adapter, sent } = setup({ fake: f, tickleMs: 100, limiter: new MemoryRateLimiter() });
      adapter.startPolling(100);
      await waitFor('the socket', async () => f.subscribedSockets() === 1);
      const before = sent().filter((x) => x.method === 'POST' && x.path === '/tickle').length;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(sent().filter((x) => x.method === 'POST' && x.path === '/tickle').length - before).toBeGreaterThanOrEqual(4);
      f.dropSockets();
      // Reopened: a second subscription on a new socket (the closed state between may last less than a
      // poll of this wait, so it is not what the test waits for).
      await waitFor('the socket to be reopened', async () => f.socketMessages.filter((m) => m === 'sor+{}').length === 2 && f.subscribedSockets() === 1 && adapter.streamOpen());
      expect(f.socketMessages.filter((m) => m === 'sor+{}')).toHaveLength(2);
      expect(f.socketMessages.filter((m) => m === 'str+{}')).toHaveLength(2);
      expect(f.socketMessages.filter((m) => m.startsWith('{"session":'))).toHaveLength(2);
    } finally {
      await f.stop();
    }
  });

  it('adopts the order IB already has for a cOID when our record of it was lost (no second order)', async () => {
    const first = setup();
    const r = first.req();
    const placed = await first.adapter.placeOrder(r);
    // Another process with no record of the order (new refs) sends it again: IB refuses the duplicate cOID.
    const sessions = new MemorySessions();
    sessions.add(r.account, 'ibkr', { accountId: first.ib }, { accessToken: 'ibkr-gateway-session', accountId: first.ib, expiresAt: null });
    const again = new IbkrAdapter({ baseUrl: fake.url, sessions, refs: new MemoryOrderRefs(), limiter, logger: silentLogger });
    adapters.push(again);
    const adopted = await again.placeOrder(r);
    expect(adopted.brokerOrderId).toBe(placed.brokerOrderId);
    expect(adopted.clientOrderId).toBe(r.clientOrderId);
    expect(fake.requests.filter((x) => x.method === 'POST' && x.path === `/iserver/account/${first.ib}/orders` && JSON.stringify(x.json).includes(r.clientOrderId))).toHaveLength(2);
    expect((await first.adapter.listOrders(first.account)).filter((o) => o.clientOrderId === r.clientOrderId)).toHaveLength(1);
  });
});
