import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstoxAdapter } from '../../src/brokers/upstox/index.js';
import { FyersAdapter } from '../../src/brokers/fyers/index.js';
import { AngelOneAdapter, ANGEL_BUDGETS } from '../../src/brokers/angelone/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import type { BrokerEvent, BrokerOrderRequest } from '../../src/brokers/broker.js';
import type { OrderSocketSet } from '../../src/brokers/connections/order-socket.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { UpstoxFake } from './fakes/upstox.js';
import { FyersFake } from './fakes/fyers.js';
import { AngelOneFake } from './fakes/angelone.js';
import type { FakeSocketHub } from './fakes/socket-hub.js';

/**
 * The documented push channels other than Kite's: the Upstox portfolio stream feed, the Fyers order
 * socket and the Angel One order status socket. Each adapter runs with polling off: fills must arrive by
 * push alone, once each even when the fake pushes every update twice, and again after the fake drops the
 * socket (the adapter reconnects by itself).
 */
interface Harness {
  adapter: { onEvent(l: (e: BrokerEvent) => void): () => void; placeOrder(r: BrokerOrderRequest): Promise<{ brokerOrderId: string }>; poll(): Promise<void>; close(): Promise<void>; stream: OrderSocketSet | undefined };
  account: string;
  user: string;
  hub: FakeSocketHub;
  fillRest: (brokerOrderId: string) => void;
  nextFills: (fills: string[]) => void;
  /** Requests that only the poller makes (order book reads): none may happen with polling off. */
  pollerRequests: () => number;
  /**
   * The broker would push to the user's socket now. Fyers pushes only to a socket whose SUB_ORD it has
   * processed, which is after the client's socket is open: a push in between is lost (the poller's job).
   */
  listening?: () => boolean;
}

const INFY = { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' };

const brokers: Array<[string, () => Promise<{ make: () => Harness; stop: () => Promise<void> }>]> = [
  [
    'Upstox portfolio stream feed',
    async () => {
      const up = await new UpstoxFake().start();
      up.addInstrument('NSE_EQ|INE009A01021', { symbol: 'INFY', exchange: 'NSE', bid: '1499.90', ask: '1500.10', last: '1500.00' });
      return {
        stop: () => up.stop(),
        make: () => {
          const apiKey = `u-${randomUUID()}`;
          const user = `UP${apiKey.slice(2, 8)}`;
          up.addApp({ apiKey, apiSecret: 'sec', userId: user });
          const sessions = new MemorySessions();
          const account = randomUUID();
          const token = up.issueToken(apiKey);
          sessions.add(account, 'upstox', { apiKey, apiSecret: 'sec' }, { accessToken: token, accountId: user, expiresAt: null });
          const adapter = new UpstoxAdapter({
            baseUrl: up.url, orderUrl: up.url, loginUrl: `${up.url}/v2/login/authorization/dialog`, wsUrl: up.url.replace(/^http/, 'ws'), streamBackoffMs: 50,
            sessions, refs: new MemoryOrderRefs(), instruments: new MemoryBrokerInstruments().set('upstox', 'NSE', 'INFY', 'NSE_EQ|INE009A01021'), limiter: new MemoryRateLimiter(), logger: silentLogger,
          });
          return {
            adapter, account, user, hub: up.stream,
            fillRest: (id) => up.fillRest(id),
            nextFills: (fills) => up.nextOrders.push({ fills }),
            pollerRequests: () => up.requests.filter((r) => (r.path === '/v2/order/retrieve-all' || r.path === '/v2/order/trades/get-trades-for-day') && r.headers.authorization === `Bearer ${token}`).length,
          };
        },
      };
    },
  ],
  [
    'Fyers order socket',
    async () => {
      const fy = await new FyersFake().start();
      fy.setQuote('NSE:INFY-EQ', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
      return {
        stop: () => fy.stop(),
        make: () => {
          const appId = `A${randomUUID().replace(/-/g, '').slice(0, 9).toUpperCase()}-100`;
          fy.addApp(appId, 'sec');
          const sessions = new MemorySessions();
          const account = randomUUID();
          sessions.add(account, 'fyers', { appId, secretKey: 'sec' }, { accessToken: fy.issueToken(appId), expiresAt: null });
          const adapter = new FyersAdapter({
            baseUrl: fy.url, loginUrl: `${fy.url}/api/v3/generate-authcode`, wsUrl: `${fy.url.replace(/^http/, 'ws')}/trade/v3`, streamBackoffMs: 50,
            sessions, refs: new MemoryOrderRefs(), instruments: new MemoryBrokerInstruments(), limiter: new MemoryRateLimiter(), logger: silentLogger,
          });
          return {
            adapter, account, user: appId, hub: fy.stream,
            fillRest: (id) => fy.fillRest(id),
            nextFills: (fills) => fy.nextOrders.push({ fills }),
            pollerRequests: () => fy.requests.filter((r) => r.path === '/api/v3/orders' && r.headers.authorization?.startsWith(`${appId}:`)).length,
            listening: () => fy.orderListeners(appId) === 1,
          };
        },
      };
    },
  ],
  [
    'Angel One order status socket',
    async () => {
      const ao = await new AngelOneFake().start();
      ao.addScrip('1594', { symbol: 'INFY-EQ', exchange: 'NSE', bid: '1499.90', ask: '1500.10', last: '1500.00' });
      return {
        stop: () => ao.stop(),
        make: () => {
          const client = `C${randomUUID().replace(/-/g, '').slice(0, 7).toUpperCase()}`;
          ao.addClient(client, 'smartkey');
          const sessions = new MemorySessions();
          const account = randomUUID();
          const token = ao.issueToken(client);
          sessions.add(account, 'angelone', { apiKey: 'smartkey', clientCode: client }, { accessToken: token, accountId: client, expiresAt: null });
          const adapter = new AngelOneAdapter({
            baseUrl: ao.url, wsUrl: `${ao.url.replace(/^http/, 'ws')}/smart-order-update`, streamBackoffMs: 50, budgets: { ...ANGEL_BUDGETS, books: [{ limit: 50, windowMs: 1_000 }] },
            sessions, refs: new MemoryOrderRefs(), instruments: new MemoryBrokerInstruments().set('angelone', 'NSE', 'INFY', '1594'), limiter: new MemoryRateLimiter(), logger: silentLogger,
          });
          return {
            adapter, account, user: client, hub: ao.stream,
            fillRest: (id) => ao.fillRest(id),
            nextFills: (fills) => ao.nextOrders.push({ fills }),
            pollerRequests: () => ao.requests.filter((r) => r.path.endsWith('/getOrderBook') && r.headers.authorization === `Bearer ${token}`).length,
          };
        },
      };
    },
  ],
];

const listening = (h: Harness) => h.listening ?? (() => h.hub.count(h.user) === 1);

async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(brokers)('%s', (_name, boot) => {
  let fake: Awaited<ReturnType<typeof boot>>;
  beforeAll(async () => {
    fake = await boot();
  });
  afterAll(async () => fake.stop());

  async function connected() {
    const h = fake.make();
    await h.adapter.stream!.sync([h.account]);
    await h.adapter.stream!.ready();
    await until('the broker to push to the socket', listening(h));
    const fills: string[] = [];
    h.adapter.onEvent((e) => e.kind === 'fill' && fills.push(e.fill.brokerFillId));
    const place = (quantity: string) => h.adapter.placeOrder({ clientOrderId: randomUUID(), account: h.account, instrument: INFY, side: 'BUY', type: 'MARKET', timeInForce: 'DAY', quantity });
    return { ...h, fills, place };
  }

  it('delivers fills by push alone (polling off), each trade once even when every update is pushed twice', async () => {
    const h = await connected();
    try {
      expect(h.hub.count(h.user)).toBe(1);
      h.hub.duplicate = true;
      h.nextFills(['1', '1']);
      const placed = await h.place('3');
      await until('two pushed fills', () => h.fills.length >= 2);
      h.fillRest(placed.brokerOrderId);
      await until('the third fill', () => h.fills.length >= 3);
      await new Promise((r) => setTimeout(r, 200)); // room for a doubled push to show up
      expect(h.fills).toHaveLength(3);
      expect(new Set(h.fills).size).toBe(3);
      expect(h.pollerRequests()).toBe(0);
      // A poll afterwards finds the same trades and emits nothing new.
      await h.adapter.poll();
      expect(h.fills).toHaveLength(3);
    } finally {
      h.hub.duplicate = false;
      await h.adapter.close();
    }
  });

  it('reconnects by itself after the broker drops the socket, and the next push still brings the fill', async () => {
    const h = await connected();
    try {
      h.nextFills(['1']);
      const placed = await h.place('2');
      await until('the first fill', () => h.fills.length === 1);
      const before = h.hub.connections.filter((u) => u === h.user).length;
      h.hub.drop(h.user);
      await until('a new handshake', () => h.hub.connections.filter((u) => u === h.user).length > before && h.hub.count(h.user) === 1);
      await h.adapter.stream!.ready();
      await until('the broker to push to the new socket', listening(h));
      h.fillRest(placed.brokerOrderId);
      await until('the fill after the reconnect', () => h.fills.length === 2);
      expect(new Set(h.fills).size).toBe(2);
      expect(h.pollerRequests()).toBe(0);
    } finally {
      await h.adapter.close();
    }
  });

  it('a lost push is found by polling, once', async () => {
    const h = await connected();
    try {
      h.hub.silent = true;
      const placed = await h.place('2');
      await new Promise((r) => setTimeout(r, 150));
      expect(h.fills).toHaveLength(0);
      await h.adapter.poll();
      expect(h.fills).toHaveLength(1);
      h.hub.silent = false;
      expect(placed.brokerOrderId).toBeTruthy();
    } finally {
      h.hub.silent = false;
      await h.adapter.close();
    }
  });
});
