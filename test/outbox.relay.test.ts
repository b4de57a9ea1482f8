/**
 * The outbox relay marks per statement, not per event (events/outbox.ts): every statement that writes
 * outbox rows also writes ONE `outbox_pending` row naming them; the committing process publishes the
 * events and deletes that row; the poller publishes the events of rows older than its grace period (their
 * committer died) and deletes them. Outbox rows are never updated. Both modes: the poller publishes
 * through the server's own pub/sub (Redis in the scaled mode) to a live graphql-ws subscriber.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, must, newUser, waitFor, wsClient } from './support/gql.js';
import { createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';
import { sqlRows } from './support/ledger-harness.js';
import { ManualClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { appendEvents, OutboxRelay } from '../src/events/outbox.js';
import type { PortfolioEventMessage } from '../src/events/topics.js';
import { PortfolioService } from '../src/services/portfolio.service.js';

const BALANCE = `subscription($p:ID, $a:Int){ balanceChanged(portfolioId:$p, afterSequence:$a){ sequence cash } }`;
const GRACE_MS = 2000;

describe.each(modes())('outbox relay: one pending row per statement (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    // Any UPDATE of an outbox row is recorded (and must never happen).
    await server.app.db.db.execute(sql.raw(`create table relay_test_outbox_updates (id bigint not null)`));
    await server.app.db.db.execute(
      sql.raw(`create function relay_test_seen() returns trigger language plpgsql as $$ begin insert into relay_test_outbox_updates values (old.id); return new; end $$`),
    );
    await server.app.db.db.execute(sql.raw(`create trigger relay_test_no_update before update on outbox_events for each row execute function relay_test_seen()`));
  });
  afterAll(async () => {
    await server?.close();
  });

  const db = () => server.app.db.db;
  const pendingRows = async () =>
    (await sqlRows<{ id: string; ids: string[] }>(db(), sql`select id::text, event_ids::text[] as ids from outbox_pending order by id`)).map((r) => ({
      id: Number(r.id),
      ids: r.ids.map(Number),
    }));
  const eventIdsAfter = async (pid: string, after: number) =>
    (await sqlRows<{ id: string }>(db(), sql`select id::text from outbox_events where portfolio_id = ${pid} and sequence > ${after} order by id`)).map((r) => Number(r.id));
  const lastSequence = async (pid: string) => (await sqlRows<{ s: number }>(db(), sql`select event_sequence::int as s from portfolios where id = ${pid}`))[0].s;
  /** A process of our own on the server's database and pub/sub, its clock an hour ahead (so the server's poller leaves its rows alone). */
  const ownProcess = (clock: ManualClock) => {
    const relay = new OutboxRelay({ db: db(), pubsub: server.app.pubsub, clock, logger: silentLogger }, { pollMs: 1000, graceMs: GRACE_MS, batch: 500 });
    const portfolios = new PortfolioService({ db: db(), clock, relay, instruments: server.app.services.instruments, brokers: server.app.brokers });
    return { relay, portfolios };
  };

  it('publishes a deposit whose process died right after the commit through the poller: exactly its events, once, live to a subscriber; then the pending row is gone', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100' });
    await waitFor('the server to have published everything', async () => (await pendingRows()).length === 0);
    const ws = wsClient(server, u.token);
    const sub = collect<{ balanceChanged: { sequence: number; cash: string } }>(ws, BALANCE, { p: pid, a: await lastSequence(pid) });
    // The subscription is live once a deposit through the server has arrived (replayed or live).
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1.00"){ id } }`, { p: pid }, u.token);
    await waitFor('the live deposit', () => sub.items.length === 1);
    await waitFor('the server to have published everything', async () => (await pendingRows()).length === 0);
    const before = await lastSequence(pid);

    // Another process commits a deposit and dies before publishing it.
    const clock = new ManualClock(new Date(Date.now() + 3_600_000));
    const dead = ownProcess(clock);
    const publish = vi.spyOn(dead.relay, 'published').mockResolvedValue();
    await dead.portfolios.deposit({ userId: u.id, role: 'CLIENT' }, pid, '7.00');
    expect(publish).toHaveBeenCalledTimes(1);
    const written = await eventIdsAfter(pid, before);
    expect(written).toHaveLength(1);
    // One pending row, naming exactly that statement's events.
    expect(await pendingRows()).toEqual([{ id: expect.any(Number), ids: written }]);

    // The poller of a surviving process: nothing before the grace period, then exactly those events.
    const poller = ownProcess(clock);
    const seen: PortfolioEventMessage[] = [];
    poller.relay.onPublish((m) => seen.push(m));
    expect(await poller.relay.pollOnce()).toBe(0);
    expect(await pendingRows()).toHaveLength(1);
    expect(sub.items).toHaveLength(1);
    clock.advance(GRACE_MS + 1);
    expect(await poller.relay.pollOnce()).toBe(1);
    expect(seen.map((m) => [m.portfolioId, m.sequence, m.type])).toEqual([[pid, before + 1, 'BALANCE_CHANGED']]);
    expect(await pendingRows()).toEqual([]);
    await waitFor('the subscriber to get the deposit', () => sub.items.length === 2);
    expect(sub.items[1].balanceChanged).toEqual({ sequence: before + 1, cash: '108.00' });
    // Published once: the row is gone, so nothing is polled again.
    expect(await poller.relay.pollOnce()).toBe(0);
    expect(seen).toHaveLength(1);
    sub.dispose();
    await ws.dispose();
    await poller.relay.stop();
  });

  it('a published statement leaves no pending row, and its row goes only once ALL its events are published, however they are split', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100' });
    await waitFor('the server to have published everything', async () => (await pendingRows()).length === 0);
    const clock = new ManualClock(new Date(Date.now() + 3_600_000));
    const live = ownProcess(clock);

    // A deposit published by its own process: its pending row is deleted (batched; stop() flushes).
    await live.portfolios.deposit({ userId: u.id, role: 'CLIENT' }, pid, '3.00');
    await waitFor('the published deposit to leave no pending row', async () => (await pendingRows()).length === 0, 2000);

    // One statement of three events, handed to the relay in two parts (as PooledPublisher's chunks may).
    const events = await db().transaction((tx) =>
      appendEvents(
        tx,
        pid,
        [1, 2, 3].map((n) => ({ type: 'BALANCE_CHANGED' as const, payload: { cash: `${n}.00`, availableCash: `${n}.00`, reason: 'DEPOSIT' } })),
        clock.now(),
      ),
    );
    expect(new Set(events.map((e) => e.pending))).toHaveProperty('size', 1);
    expect(await pendingRows()).toEqual([{ id: events[0].pending!.id, ids: events.map((e) => e.id).sort((a, b) => a - b) }]);
    await live.relay.published(events.slice(0, 2));
    await live.relay.stop(); // flushes the deletes due
    expect(await pendingRows()).toHaveLength(1);
    await live.relay.published(events.slice(2));
    await live.relay.stop();
    expect(await pendingRows()).toEqual([]);
    // Republishing (a caller's retry) deletes nothing twice and fails nothing.
    await live.relay.published(events);
    await live.relay.stop();
    expect(await pendingRows()).toEqual([]);
  });

  it('orders through the whole loop (placement, submit and acknowledgement batches, fills) leave no pending row and never update an outbox row', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    await waitForQuote(server, 'TCS');
    const placed = await Promise.all(
      [1, 2, 3].map((n) => placeOrder(server, u.token, { portfolioId: pid, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: String(n), clientOrderId: `relay-${n}` })),
    );
    for (const o of placed) await waitForStatus(server, u.token, o.id, ['FILLED']);
    await waitFor('every statement to be published and its pending row deleted', async () => (await pendingRows()).length === 0, 5000);
    const seqs = await sqlRows<{ sequence: number }>(db(), sql`select sequence::int from outbox_events where portfolio_id = ${pid} order by sequence`);
    expect(seqs.map((r) => r.sequence)).toEqual(seqs.map((_, i) => i + 1)); // gap-free
    expect(seqs.length).toBeGreaterThanOrEqual(2 + 3 * 4);
    expect(await sqlRows(db(), sql`select id from relay_test_outbox_updates`)).toEqual([]);
  });
});
