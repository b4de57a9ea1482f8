/**
 * Outbox retention: published events older than OUTBOX_RETENTION_HOURS are pruned by the `prune-outbox`
 * job (OutboxRetention); a subscriber resuming from a pruned sequence is told so with a stable code
 * instead of silently missing events; an event still pending (events/outbox.ts: not yet published) is
 * kept whatever its age. Both modes; the job's clock is pinned in the future.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, must, newUser, waitFor, wsClient } from './support/gql.js';
import { createFundedPortfolio } from './support/trading.js';
import { ManualClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { OutboxRetention, assertReplayWindow } from '../src/events/outbox-retention.js';
import { sqlRows } from './support/ledger-harness.js';

const SUB = `subscription($p:ID, $a:Int){ balanceChanged(portfolioId:$p, afterSequence:$a){ sequence cash } }`;

describe.each(modes())('outbox retention and replay windows (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
  });
  afterAll(async () => {
    await server?.close();
  });

  const outbox = async (pid: string) =>
    (
      await sqlRows<{ n: number; unpublished: number; last: number }>(
        server.app.db.db,
        sql`select count(*)::int as n,
                   count(*) filter (where exists (select 1 from outbox_pending p where outbox_events.id = any(p.event_ids)))::int as unpublished,
                   (select event_sequence::int from portfolios where id = ${pid}) as last
            from outbox_events where portfolio_id = ${pid}`,
      )
    )[0];

  it('prunes published events past the retention, refuses a replay from before the window with REPLAY_WINDOW_EXPIRED, and serves one from inside it', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000' });
    await waitFor('events published', async () => (await outbox(pid)).unpublished === 0);
    const before = await outbox(pid);
    expect(before.n).toBeGreaterThan(0);

    const now = Date.now();
    // Within the retention: nothing goes. A retention of 0 keeps everything.
    expect(await new OutboxRetention({ db: server.app.db.db, clock: new ManualClock(new Date(now + 3_600_000)), logger: silentLogger, retentionHours: 168 }).prune()).toBe(0);
    expect(await new OutboxRetention({ db: server.app.db.db, clock: new ManualClock(new Date(now + 1e12)), logger: silentLogger, retentionHours: 0 }).prune()).toBe(0);
    // A week and an hour later: the portfolio's events are pruned.
    const pruned = await new OutboxRetention({ db: server.app.db.db, clock: new ManualClock(new Date(now + 169 * 3_600_000)), logger: silentLogger, retentionHours: 168 }).prune();
    expect(pruned).toBeGreaterThanOrEqual(before.n);
    expect((await outbox(pid)).n).toBe(0);

    // An unpublished event (its statement still pending: the relay has not delivered it) is kept whatever its age.
    const kept = await createFundedPortfolio(server, u.token, { amount: '1000' });
    await waitFor('events published', async () => (await outbox(kept)).unpublished === 0);
    const [first] = await sqlRows<{ id: string }>(server.app.db.db, sql`select id::text from outbox_events where portfolio_id = ${kept} order by sequence limit 1`);
    // created_at in the future, so the server's own poller leaves the row to this test.
    await server.app.db.db.execute(sql`insert into outbox_pending (event_ids, created_at) values (array[${first.id}::bigint], ${new Date(now + 1e9).toISOString()}::timestamptz)`);
    const all = (await outbox(kept)).n;
    const later = new OutboxRetention({ db: server.app.db.db, clock: new ManualClock(new Date(now + 170 * 3_600_000)), logger: silentLogger, retentionHours: 168 });
    expect(await later.prune()).toBe(all - 1);
    expect(await outbox(kept)).toMatchObject({ n: 1, unpublished: 1 });
    await server.app.db.db.execute(sql`delete from outbox_pending where ${first.id}::bigint = any(event_ids)`);

    const ws = wsClient(server, u.token);
    const stale = collect<unknown>(ws, SUB, { p: pid, a: 0 });
    await waitFor('the replay to be refused', () => stale.isDone());
    const errs = stale.errors.flat() as { extensions?: { code?: string; reason?: string; field?: string } }[];
    expect(errs[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'afterSequence', reason: 'REPLAY_WINDOW_EXPIRED' });

    // From the last sequence seen (nothing missed): accepted, and new events flow.
    const fresh = collect<{ balanceChanged: { sequence: number; cash: string } }>(ws, SUB, { p: pid, a: before.last });
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"5.00"){ cash } }`, { p: pid }, u.token);
    await waitFor('the new event (or an error)', () => fresh.items.length > 0 || fresh.errors.length > 0);
    expect(fresh.errors).toEqual([]);
    expect(fresh.items[0].balanceChanged.sequence).toBe(before.last + 1);
    fresh.dispose();
    await ws.dispose();
  });

  it('never refuses a cursor from inside the window while events of the portfolio are being committed', async () => {
    // The window check reads the portfolio's last sequence and its oldest kept event. Read apart, a
    // deposit committed between the two reads looked like "events after the cursor, none kept".
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000' });
    await waitFor('events published', async () => (await outbox(pid)).unpublished === 0);
    await new OutboxRetention({ db: server.app.db.db, clock: new ManualClock(new Date(Date.now() + 169 * 3_600_000)), logger: silentLogger, retentionHours: 168 }).prune();
    expect((await outbox(pid)).n).toBe(0);
    const cursor = (await outbox(pid)).last;
    let deposits = 0;
    const depositing = (async () => {
      for (let i = 0; i < 40; i++) {
        await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1.00"){ cash } }`, { p: pid }, u.token);
        deposits++;
      }
    })();
    let checks = 0;
    while (deposits < 40) {
      await assertReplayWindow(server.app.db.db, [{ portfolioId: pid, afterSequence: cursor }]);
      checks++;
      // The embedded database answers without leaving the microtask queue: let the deposits' I/O run.
      await new Promise((r) => setImmediate(r));
    }
    await depositing;
    expect(checks).toBeGreaterThan(0);
    expect((await outbox(pid)).last).toBe(cursor + 40);
  });
});
