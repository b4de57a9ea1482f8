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
import { appendEvents, OutboxRelay, PENDING_CHUNK } from '../src/events/outbox.js';
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
  /** Pending rows (of the portfolio's events, if given), oldest events first. */
  const pendingRows = async (pid?: string) =>
    (
      await sqlRows<{ id: string; ids: string[] }>(
        db(),
        sql`select id::text, event_ids::text[] as ids from outbox_pending p
            where ${pid ?? null}::uuid is null or exists (select 1 from outbox_events e where e.id = any(p.event_ids) and e.portfolio_id = ${pid ?? null}::uuid)
            order by event_ids[1]`,
      )
    ).map((r) => ({
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
    await waitFor('the server to have published everything', async () => (await pendingRows(pid)).length === 0);
    const clock = new ManualClock(new Date(Date.now() + 3_600_000));
    const live = ownProcess(clock);

    // A deposit published by its own process: its pending row is deleted (batched; stop() flushes).
    await live.portfolios.deposit({ userId: u.id, role: 'CLIENT' }, pid, '3.00');
    await waitFor('the published deposit to leave no pending row', async () => (await pendingRows(pid)).length === 0, 2000);

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
    expect(await pendingRows(pid)).toEqual([{ id: events[0].pending!.id, ids: events.map((e) => e.id).sort((a, b) => a - b) }]);
    await live.relay.published(events.slice(0, 2));
    await live.relay.stop(); // flushes the deletes due
    expect(await pendingRows(pid)).toHaveLength(1);
    await live.relay.published(events.slice(2));
    await live.relay.stop();
    expect(await pendingRows(pid)).toEqual([]);
    // Republishing (a caller's retry) deletes nothing twice and fails nothing.
    await live.relay.published(events);
    await live.relay.stop();
    expect(await pendingRows(pid)).toEqual([]);
  });

  it('a statement of more than PENDING_CHUNK events gets a pending row per chunk, freed chunk by chunk; the poller republishes only what is left', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100' });
    await waitFor('the server to have published everything', async () => (await pendingRows(pid)).length === 0);
    const clock = new ManualClock(new Date(Date.now() + 3_600_000));
    const { relay } = ownProcess(clock);
    const n = 2 * PENDING_CHUNK + 1;
    const events = await db().transaction((tx) =>
      appendEvents(tx, pid, Array.from({ length: n }, () => ({ type: 'BALANCE_CHANGED' as const, payload: { cash: '1.00', availableCash: '1.00', reason: 'DEPOSIT' } })), clock.now()),
    );
    expect(events.map((e) => e.message.sequence)).toEqual(events.map((_, i) => events[0].message.sequence + i));
    const rows = await pendingRows(pid);
    expect(rows.map((r) => r.ids.length)).toEqual([PENDING_CHUNK, PENDING_CHUNK, 1]);
    expect(rows.flatMap((r) => r.ids)).toEqual(events.map((e) => e.id).sort((a, b) => a - b));
    // The first chunk's events published (in the publisher's own order): its row goes, the others stay.
    const firstChunk = new Set(rows[0].ids);
    await relay.published(events.filter((e) => firstChunk.has(e.id)).reverse());
    await relay.stop();
    expect((await pendingRows(pid)).map((r) => r.id)).toEqual([rows[1].id, rows[2].id]);
    // The poller, past the grace period, republishes the rest and nothing of the first chunk.
    const seen: PortfolioEventMessage[] = [];
    relay.onPublish((m) => seen.push(m));
    clock.advance(GRACE_MS + 1);
    expect(await relay.pollOnce()).toBe(PENDING_CHUNK);
    expect(await relay.pollOnce()).toBe(1);
    expect(await relay.pollOnce()).toBe(0);
    const bySeq = new Map(events.map((e) => [e.message.sequence, e.id]));
    expect(seen.some((m) => firstChunk.has(bySeq.get(m.sequence)!))).toBe(false);
    expect(seen).toHaveLength(PENDING_CHUNK + 1);
    expect(await pendingRows(pid)).toEqual([]);
  });

  it('orders through the whole loop (placement, submit and acknowledgement batches, fills) leave no pending row and never update an outbox row', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    await waitForQuote(server, 'TCS');
    const placed = await Promise.all(
      [1, 2, 3].map((n) => placeOrder(server, u.token, { portfolioId: pid, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: String(n), clientOrderId: `relay-${n}` })),
    );
    for (const o of placed) await waitForStatus(server, u.token, o.id, ['FILLED']);
    await waitFor('every statement to be published and its pending row deleted', async () => (await pendingRows(pid)).length === 0, 5000);
    const seqs = await sqlRows<{ sequence: number }>(db(), sql`select sequence::int from outbox_events where portfolio_id = ${pid} order by sequence`);
    expect(seqs.map((r) => r.sequence)).toEqual(seqs.map((_, i) => i + 1)); // gap-free
    expect(seqs.length).toBeGreaterThanOrEqual(2 + 3 * 4);
    expect(await sqlRows(db(), sql`select id from relay_test_outbox_updates`)).toEqual([]);
  });
});
