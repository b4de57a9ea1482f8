/**
 * The one writer of cash and the ledger (src/services/ledger.ts `ledgerCtes`, `postLedgerMany`,
 * `postLedger`), through each driver: cash moves by the sum of the lines as STORED (so it equals the
 * ledger's sum even when a caller's own arithmetic would round differently), every portfolio of a posting
 * moves by its own lines only, its event sequence by its events, the lines keep their order, both row
 * encodings write the same, and a line whose portfolio the posting does not move is refused before
 * anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { newUser } from './support/gql.js';
import { createFundedPortfolio, assertLedgerInvariants } from './support/trading.js';
import { rowsOf } from '../src/db/batch-sql.js';
import { dec } from '../src/lib/decimal.js';
import { ledgerCtes, postLedger, postLedgerMany, type LedgerRow } from '../src/services/ledger.js';

describe.each(modes())('the ledger writer (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const books = async (ids: string[]) =>
    new Map(
      rowsOf<{ id: string; cash: string; seq: string | number; lines: string | number }>(
        await server.app.db.db.execute(sql`select p.id, p.cash::text as cash, p.event_sequence as seq,
            (select count(*) from ledger_entries l where l.portfolio_id = p.id) as lines
          from portfolios p where p.id in (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)})`),
      ).map((r) => [r.id, { cash: r.cash, seq: Number(r.seq), lines: Number(r.lines) }]),
    );

  const line = (portfolioId: string, amount: string, description: string): LedgerRow => ({
    portfolioId,
    kind: 'ADJUSTMENT',
    amount,
    currency: 'INR',
    orderId: null,
    fillId: null,
    description,
  });

  it.each(['jsonb', 'arrays'] as const)('moves each portfolio by its own lines and events, in one statement (%s rows)', async (rows) => {
    const u = await newUser(server);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => createFundedPortfolio(server, u.token, { amount: '1000' })));
    const before = await books([a, b, c]);
    const lines = [line(a, '-12.50', 'a1'), line(b, '0.00000001', 'b1'), line(a, '2.25', 'a2'), line(b, '-100', 'b2')];
    const after = await server.app.db.db.transaction((tx) => postLedgerMany(tx, lines, [{ portfolioId: a, events: 2 }, { portfolioId: b, events: 0 }, { portfolioId: c, events: 3 }], new Date(), rows));
    // What the statement returns is what is stored.
    const now = await books([a, b, c]);
    expect(after.get(a)!.toFixed()).toBe(dec(before.get(a)!.cash).add('-10.25').toFixed());
    expect(after.get(b)!.toFixed()).toBe(dec(before.get(b)!.cash).add('-99.99999999').toFixed());
    expect(after.get(c)!.toFixed()).toBe(dec(before.get(c)!.cash).toFixed()); // no lines: cash unchanged
    for (const id of [a, b, c]) expect(dec(now.get(id)!.cash).toFixed()).toBe(after.get(id)!.toFixed());
    expect(now.get(a)!.seq - before.get(a)!.seq).toBe(2);
    expect(now.get(b)!.seq - before.get(b)!.seq).toBe(0);
    expect(now.get(c)!.seq - before.get(c)!.seq).toBe(3);
    expect(now.get(a)!.lines - before.get(a)!.lines).toBe(2);
    expect(now.get(c)!.lines - before.get(c)!.lines).toBe(0);
    // The lines in the order given (ids ascend with insertion order).
    const written = rowsOf<{ description: string }>(
      await server.app.db.db.execute(sql`select description from ledger_entries where portfolio_id = ${a}::uuid and kind = 'ADJUSTMENT' order by id`),
    );
    expect(written.map((w) => w.description)).toEqual(['a1', 'a2']);
    for (const id of [a, b, c]) await assertLedgerInvariants(server.app.db.db, id);
  });

  it('moves cash by the amounts as stored: a line finer than the column is rounded once, in the line and in cash alike', async () => {
    const u = await newUser(server);
    const p = await createFundedPortfolio(server, u.token, { amount: '1000' });
    // numeric(24, 8): each of these is stored as 0.00000001 (half up); their exact sum would round to 0.00000002.
    await server.app.db.db.transaction((tx) => postLedgerMany(tx, [line(p, '0.000000005', 'x'), line(p, '0.000000005', 'y')], [{ portfolioId: p, events: 0 }], new Date()));
    const [r] = rowsOf<{ cash: string }>(await server.app.db.db.execute(sql`select cash::text as cash from portfolios where id = ${p}::uuid`));
    expect(dec(r.cash).toFixed()).toBe('1000.00000002');
    await assertLedgerInvariants(server.app.db.db, p);
  });

  it('refuses a line whose portfolio the posting does not move, before anything is written', async () => {
    const u = await newUser(server);
    const [a, b] = await Promise.all([0, 1].map(() => createFundedPortfolio(server, u.token, { amount: '1000' })));
    const before = await books([a, b]);
    expect(() => ledgerCtes([line(a, '1', 'a'), line(b, '1', 'b')], [{ portfolioId: a, events: 0 }], new Date())).toThrow(/does not move/);
    expect(await books([a, b])).toEqual(before);
  });

  it('postLedger: one portfolio, zero lines left out, the cash after returned; a missing portfolio is an error', async () => {
    const u = await newUser(server);
    const p = await createFundedPortfolio(server, u.token, { amount: '500' });
    const cash = await server.app.db.db.transaction((tx) =>
      postLedger(tx, p, 'INR', [{ kind: 'DEPOSIT', amount: dec('20.5') }, { kind: 'FEE', amount: dec(0) }, { kind: 'WITHDRAWAL', amount: dec('-0.5') }], new Date()),
    );
    expect(cash.toFixed()).toBe('520');
    const [n] = rowsOf<{ n: string | number }>(await server.app.db.db.execute(sql`select count(*) as n from ledger_entries where portfolio_id = ${p}::uuid and kind = 'FEE'`));
    expect(Number(n.n)).toBe(0);
    await assertLedgerInvariants(server.app.db.db, p);
    await expect(
      server.app.db.db.transaction((tx) => postLedger(tx, '00000000-0000-4000-8000-000000000000', 'INR', [{ kind: 'DEPOSIT', amount: dec(1) }], new Date())),
    ).rejects.toThrow();
  });
});
