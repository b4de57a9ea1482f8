import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradeStationAdapter } from '../../src/brokers/tradestation/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import type { BrokerEvent, BrokerOrderRequest } from '../../src/brokers/broker.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../support/gql.js';
import { TradeStationFake } from './fakes/tradestation.js';

/**
 * TradeStation's positions stream (`GET /v3/brokerage/stream/accounts/{id}/positions`): positions are read
 * from it while it is live (no Positions quota spent), by REST otherwise; it re-snapshots on reconnection.
 */
describe('TradeStation positions by stream', () => {
  let fake: TradeStationFake;
  const adapters: TradeStationAdapter[] = [];
  const SPY = { symbol: 'SPY', exchange: 'NYSEARCA', currency: 'USD', tickSize: '0.01', lotSize: '1' };
  beforeAll(async () => {
    fake = await new TradeStationFake().start();
    fake.setQuote('SPY', { bid: '600.10', ask: '600.20', last: '600.15' });
  });
  afterAll(async () => {
    for (const a of adapters) await a.close();
    await fake.stop();
  });

  function setup() {
    const clientId = `ts${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    fake.addUser({ clientId, clientSecret: 'ts-secret', cash: '50000' });
    const t = fake.issueTokens(clientId);
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'tradestation', { clientId, clientSecret: 'ts-secret' }, { accessToken: t.accessToken, refreshToken: t.refreshToken, accountId: t.accountId, expiresAt: null });
    const adapter = new TradeStationAdapter({ baseUrl: fake.baseUrl, loginUrl: fake.loginUrl, minPollIntervalMs: 600_000, streamIdleMs: 3_000, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    adapters.push(adapter);
    const events: BrokerEvent[] = [];
    adapter.onEvent((e) => events.push(e));
    const mine = () => fake.requests.filter((r) => r.headers.authorization === `Bearer ${t.accessToken}`);
    const positionsRest = () => mine().filter((r) => r.method === 'GET' && r.path === `/v3/brokerage/accounts/${t.accountId}/positions`).length;
    const positionsStreamed = () => mine().filter((r) => r.method === 'GET' && r.path === `/v3/brokerage/stream/accounts/${t.accountId}/positions`).length;
    const market = (side: 'BUY' | 'SELL', quantity: string): BrokerOrderRequest => ({ clientOrderId: randomUUID(), account, instrument: SPY, side, type: 'MARKET', timeInForce: 'DAY', quantity, limitPrice: null });
    const filled = async (side: 'BUY' | 'SELL', quantity: string) => {
      const o = await adapter.placeOrder(market(side, quantity));
      // By the order stream, or by reading the order back (an order read; no Positions quota).
      await waitFor('the fill', async () => events.some((e) => e.kind === 'fill' && e.fill.brokerFillId === `${o.brokerOrderId}@${quantity}`) || (await adapter.getFills(account, o.brokerOrderId)).length > 0);
      return o;
    };
    const live = () => waitFor('the positions stream to be live', () => adapter.streamState(account, 'positions')?.state === 'live');
    const held = async () => (await adapter.getPositions(account)).find((p) => p.symbol === 'SPY')?.quantity ?? null;
    return { clientId, accountId: t.accountId, account, adapter, positionsRest, positionsStreamed, filled, live, held };
  }

  it('opens the positions stream beside the order stream; positions held before it come in its snapshot, read without REST', async () => {
    const { adapter, account, clientId, filled, live, held, positionsRest, positionsStreamed } = setup();
    await filled('BUY', '3'); // the order is acknowledged by REST; the fill is found by reading the order back
    adapter.startPolling(600_000);
    await live();
    expect(positionsStreamed()).toBe(1);
    expect(fake.openStreams(clientId, 'positions')).toBe(1);
    expect(fake.openStreams(clientId, 'orders')).toBe(1);
    expect(await adapter.getPositions(account)).toEqual([{ symbol: 'SPY', exchange: 'NYSEARCA', quantity: '3', averagePrice: '600.2' }]);
    expect(await held()).toBe('3');
    expect(positionsRest()).toBe(0);
  });

  it('a position change after a fill is seen by stream, with no positions REST request', async () => {
    const { adapter, filled, live, held, positionsRest } = setup();
    adapter.startPolling(600_000);
    await live();
    expect(await held()).toBeNull(); // nothing held: the empty snapshot answers
    await filled('BUY', '2');
    await waitFor('the streamed position', async () => (await held()) === '2');
    await filled('BUY', '1');
    await waitFor('the streamed change', async () => (await held()) === '3');
    expect(positionsRest()).toBe(0);
  });

  it('after a drop positions are read by REST until the new connection re-snapshots, which carries what changed meanwhile; GoAway re-snapshots too', async () => {
    const { adapter, account, accountId, clientId, filled, live, held, positionsRest } = setup();
    adapter.startPolling(600_000);
    await live();
    await filled('BUY', '4');
    await waitFor('the streamed position', async () => (await held()) === '4');
    // The next three positions-stream connections are refused (503): backoff 250 + 500 + 1000 ms.
    for (let i = 0; i < 3; i++) fake.failNext.push({ path: new RegExp(`^GET /brokerage/stream/accounts/${accountId}/positions$`), status: 503, body: { Error: 'ServiceUnavailable', Message: 'try later' } });
    fake.dropStreams();
    await waitFor('the drop to be noticed', () => adapter.streamState(account, 'positions')?.state !== 'live');
    await filled('SELL', '1'); // missed by the positions stream
    expect(await held()).toBe('3'); // read by REST while the stream is down
    const rest = positionsRest();
    expect(rest).toBeGreaterThanOrEqual(1);
    await live();
    expect(adapter.streamState(account, 'positions')!.connects).toBeGreaterThanOrEqual(5); // 1 + 3 refused + 1
    expect(await held()).toBe('3'); // from the new snapshot
    expect(positionsRest()).toBe(rest);
    fake.goAway();
    await waitFor('a connection after GoAway', async () => adapter.streamState(account, 'positions')!.connects >= 6 && adapter.streamState(account, 'positions')!.state === 'live' && fake.openStreams(clientId, 'positions') === 1);
    await filled('BUY', '2');
    await waitFor('the change after GoAway', async () => (await held()) === '5');
    expect(positionsRest()).toBe(rest);
  });

  for (const closedAs of ['zero', 'deleted'] as const) {
    it(`a closed position (sent as ${closedAs === 'zero' ? 'Quantity "0"' : 'Deleted: true'}) is removed`, async () => {
      const { adapter, filled, live, held, positionsRest, account } = setup();
      fake.closedPositionAs = closedAs;
      try {
        adapter.startPolling(600_000);
        await live();
        await filled('BUY', '2');
        await waitFor('the streamed position', async () => (await held()) === '2');
        await filled('SELL', '2');
        await waitFor('the position removed', async () => (await adapter.getPositions(account)).length === 0);
        expect(positionsRest()).toBe(0);
      } finally {
        fake.closedPositionAs = 'zero';
      }
    });
  }
});
