/**
 * Two api replicas and one worker, each its own OS process. A subscriber on one replica sees every event
 * of orders placed through the other (the api publishes PENDING, the worker the rest, all over Redis
 * pub/sub), and a client that drops its socket resumes with `afterSequence` on the OTHER replica: the
 * outbox replay plus live events give it every event once, in order.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decimal } from '../../src/lib/decimal.js';
import { collect, must, newUser, waitFor, wsClient } from '../support/gql.js';
import { assertLedgerInvariants } from '../support/trading.js';
import { SCALED, dumpOutputOnFailure, startCluster, type Cluster, type ProductProcess } from './processes.js';
import { cancelOrder, createFundedPortfolio, placeOrder, priceAt, rows, waitForMarket, waitForStatus } from './trading.js';

type OrderMsg = { orderUpdated: { sequence: number; order: { id: string; status: string } } };
type FillMsg = { fillReceived: { sequence: number; fill: { id: string; quantity: string }; order: { id: string } } };
const ORDER_SUB = `subscription($p:ID,$after:Int){ orderUpdated(portfolioId:$p, afterSequence:$after){ sequence order { id status } } }`;
const FILL_SUB = `subscription($p:ID,$after:Int){ fillReceived(portfolioId:$p, afterSequence:$after){ sequence fill { id quantity } order { id } } }`;

describe.runIf(SCALED)('two api replicas and a worker (needs DATABASE_URL and REDIS_URL)', () => {
  let cluster: Cluster | undefined;
  let a: ProductProcess;
  let b: ProductProcess;
  dumpOutputOnFailure(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster('replicas');
    [a, b] = await Promise.all([cluster.start('api', 'api-a'), cluster.start('api', 'api-b'), cluster.start('worker', 'worker')]);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  /** The portfolio's outbox sequences of one event type, after `after`: what a subscriber must see. */
  async function outboxSequences(portfolioId: string, type: 'ORDER_UPDATED' | 'FILL_RECEIVED', after = 0): Promise<number[]> {
    const r = await rows<{ sequence: number }>(
      cluster!.db.db,
      sql`select sequence from outbox_events where portfolio_id = ${portfolioId} and type = ${type} and sequence > ${after} order by sequence`,
    );
    return r.map((x) => Number(x.sequence));
  }

  it("delivers events of orders placed on one replica to subscribers of the other, and of its own", async () => {
    const started = Date.now();
    const u = await newUser(a);
    const pid = await createFundedPortfolio(b, u.token, '1000000');
    await Promise.all([waitForMarket(a, u.token, 'INFY'), waitForMarket(b, u.token, 'INFY')]);

    const onA = wsClient(a, u.token);
    const onB = wsClient(b, u.token);
    // From sequence 0 (the portfolio is new): graphql-ws does not acknowledge a subscribe, so one that goes
    // live after the first events were published gets them from the outbox instead of never. The pause
    // lets them go live first, so the events come over pub/sub, as this test means to see.
    const subs = [onA, onB].map((ws) => ({ orders: collect<OrderMsg>(ws, ORDER_SUB, { p: pid, after: 0 }), fills: collect<FillMsg>(ws, FILL_SUB, { p: pid, after: 0 }) }));
    await new Promise((r) => setTimeout(r, 300));

    // Orders through B and through A, concurrently.
    const placed = await Promise.all(
      [b, b, a, b].map((api, i) => placeOrder(api, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'MARKET', quantity: String(i + 1) })),
    );
    for (const o of placed) await waitForStatus(a, u.token, o.id, ['FILLED']);
    const wantOrders = await outboxSequences(pid, 'ORDER_UPDATED');
    const wantFills = await outboxSequences(pid, 'FILL_RECEIVED');
    expect(wantFills.length).toBeGreaterThanOrEqual(placed.length);

    for (const [name, s] of [['A', subs[0]], ['B', subs[1]]] as const) {
      await waitFor(`subscriber on replica ${name} to see every orderUpdated`, () => s.orders.items.length >= wantOrders.length);
      await waitFor(`subscriber on replica ${name} to see every fillReceived`, () => s.fills.items.length >= wantFills.length);
      expect(s.orders.errors).toEqual([]);
      expect(s.fills.errors).toEqual([]);
      // Exactly the outbox: every event once, in sequence order, whichever process published it.
      expect(s.orders.items.map((x) => x.orderUpdated.sequence), `orderUpdated on ${name}`).toEqual(wantOrders);
      expect(s.fills.items.map((x) => x.fillReceived.sequence), `fillReceived on ${name}`).toEqual(wantFills);
      for (const o of placed) {
        const statuses = s.orders.items.filter((x) => x.orderUpdated.order.id === o.id).map((x) => x.orderUpdated.order.status);
        expect(statuses[0], `first event of ${o.id} on ${name}`).toBe('PENDING'); // published by the api that took it
        expect(statuses.at(-1)).toBe('FILLED'); // published by the worker
        const filled = s.fills.items.filter((x) => x.fillReceived.order.id === o.id).reduce((n, x) => n.add(x.fillReceived.fill.quantity), new Decimal(0));
        expect(filled.eq(o.quantity), `fills of ${o.id} on ${name}`).toBe(true);
      }
    }
    for (const s of subs) {
      s.orders.dispose();
      s.fills.dispose();
    }
    await Promise.all([onA.dispose(), onB.dispose()]);
    await assertLedgerInvariants(cluster!.db.db, pid);
    console.log(`[scaled/replicas] ${placed.length} orders, ${wantFills.length} fills, ${wantOrders.length} order events on each replica, ${Date.now() - started} ms`);
  });

  it("pushes an api replica's own event (a deposit) straight to a subscriber of the other replica", async () => {
    const u = await newUser(a);
    const pid = await createFundedPortfolio(a, u.token, '1000');
    const onA = wsClient(a, u.token);
    // After the funding deposit's event: a subscription that went live late would replay the new one
    // rather than miss it (graphql-ws does not acknowledge a subscribe); the pause lets it go live first.
    const [{ seq }] = await rows<{ seq: number }>(cluster!.db.db, sql`select event_sequence as seq from portfolios where id = ${pid}`);
    const balances = collect<{ balanceChanged: { sequence: number; cash: string; reason: string } }>(
      onA,
      `subscription($p:ID,$after:Int){ balanceChanged(portfolioId:$p, afterSequence:$after){ sequence cash reason } }`,
      { p: pid, after: Number(seq) },
    );
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = Date.now();
    await must(b, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: pid, a: '250.50' }, u.token);
    // Only replica B publishes this event, and nothing follows it that could make A fill a gap from the
    // outbox; the worker's relay would republish it only if B had failed to (after a 2 s grace).
    await waitFor('the deposit on A', () => balances.items.length > 0, 5_000);
    const latency = Date.now() - sentAt;
    expect(balances.items.map((x) => x.balanceChanged.reason)).toEqual(['DEPOSIT']);
    expect(new Decimal(balances.items[0].balanceChanged.cash).eq('1250.50'), `cash ${balances.items[0].balanceChanged.cash}`).toBe(true);
    expect(latency, 'delivered by pub/sub, not by the relay poller').toBeLessThan(1_500);
    balances.dispose();
    await onA.dispose();
    console.log(`[scaled/replicas] a deposit on B reached a subscriber on A in ${latency} ms`);
  });

  it('replays what a client missed when it resumes with afterSequence on the other replica, then goes live', async () => {
    const u = await newUser(a);
    const pid = await createFundedPortfolio(a, u.token, '1000000');
    const market = await waitForMarket(a, u.token, 'SBIN');

    // Connected to A: sees the first order to its end, then the socket drops.
    const first = wsClient(a, u.token);
    const seen = collect<OrderMsg>(first, ORDER_SUB, { p: pid });
    await new Promise((r) => setTimeout(r, 300));
    const o1 = await placeOrder(a, u.token, { portfolioId: pid, symbol: 'SBIN', side: 'BUY', type: 'MARKET', quantity: '2' });
    await waitFor('order 1 FILLED on A', () => seen.items.some((x) => x.orderUpdated.order.id === o1.id && x.orderUpdated.order.status === 'FILLED'));
    const lastSeen = seen.items.at(-1)!.orderUpdated.sequence;
    const lastSeenFill = (await outboxSequences(pid, 'FILL_RECEIVED')).at(-1)!;
    seen.dispose();
    await first.dispose();

    // Missed while disconnected: a market buy (through A) that fills, a resting limit (through B).
    const o2 = await placeOrder(a, u.token, { portfolioId: pid, symbol: 'SBIN', side: 'BUY', type: 'MARKET', quantity: '3' });
    const resting = priceAt(market.last, '0.5', market.tickSize, 'down');
    const o3 = await placeOrder(b, u.token, { portfolioId: pid, symbol: 'SBIN', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: resting, timeInForce: 'GTC' });
    await waitForStatus(b, u.token, o2.id, ['FILLED']);
    await waitForStatus(b, u.token, o3.id, ['OPEN']);
    const missed = await outboxSequences(pid, 'ORDER_UPDATED', lastSeen);
    expect(missed.length).toBeGreaterThanOrEqual(5); // o2 PENDING, SUBMITTING, OPEN, FILLED; o3 PENDING, SUBMITTING, OPEN

    // Resume on B.
    const second = wsClient(b, u.token);
    const resumed = collect<OrderMsg>(second, ORDER_SUB, { p: pid, after: lastSeen });
    const resumedFills = collect<FillMsg>(second, FILL_SUB, { p: pid, after: lastSeenFill });
    await waitFor('the replay on B', () => resumed.items.length >= missed.length);
    expect(resumed.items.slice(0, missed.length).map((x) => x.orderUpdated.sequence)).toEqual(missed);
    const o2Statuses = resumed.items.filter((x) => x.orderUpdated.order.id === o2.id).map((x) => x.orderUpdated.order.status);
    expect(o2Statuses[0]).toBe('PENDING');
    expect(o2Statuses.at(-1)).toBe('FILLED');
    await waitFor('the missed fill on B', () => resumedFills.items.reduce((n, x) => n.add(x.fillReceived.fill.quantity), new Decimal(0)).gte(3));
    expect(resumedFills.items.every((x) => x.fillReceived.order.id === o2.id && x.fillReceived.sequence > lastSeenFill)).toBe(true);

    // Then live on B, for an action taken through A.
    await cancelOrder(a, u.token, o3.id);
    await waitForStatus(a, u.token, o3.id, ['CANCELED']);
    await waitFor('the live CANCELED event on B', () => resumed.items.some((x) => x.orderUpdated.order.id === o3.id && x.orderUpdated.order.status === 'CANCELED'));
    // Replay and live joined without a gap or a repeat.
    expect(resumed.items.map((x) => x.orderUpdated.sequence)).toEqual(await outboxSequences(pid, 'ORDER_UPDATED', lastSeen));
    expect(resumed.errors).toEqual([]);
    resumed.dispose();
    resumedFills.dispose();
    await second.dispose();
    await assertLedgerInvariants(cluster!.db.db, pid);
    console.log(`[scaled/replicas] resumed on the other replica after sequence ${lastSeen}: ${missed.length} events replayed, then live`);
  });
});
