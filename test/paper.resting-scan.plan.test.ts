/**
 * The paper exchange's resting scan (src/brokers/paper/paper.lookup.ts) runs every 250 ms over the whole
 * book. Its statuses are written into the statement's text, so that its plan, generic or not, reads the
 * partial index of open orders instead of every paper order ever placed. With the statuses as parameters a
 * generic plan cannot prove `status in ($1, $2)` implies the index's predicate and scans the table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray, sql } from 'drizzle-orm';
import type { Tx } from '../src/db/client.js';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { explainPrepared } from './support/plans.js';
import { restingQuery } from '../src/brokers/paper/paper.lookup.js';
import { paperOrders } from '../src/brokers/paper/paper.schema.js';
import { rowsOf } from '../src/db/batch-sql.js';

const Rollback = Symbol('rollback');

describe.each(modes())('the paper resting scan reads the open orders index under a generic plan (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** `fn` in a transaction over a book of 5,000 paper orders, 5 of them open; rolled back. */
  async function withBook(fn: (tx: Tx) => Promise<string>): Promise<string> {
    let out = '';
    await server.app.db.db
      .transaction(async (tx) => {
        await tx.execute(sql`insert into paper_orders (id, account, client_order_id, symbol, exchange, currency, tick_size, lot_size, side, type, time_in_force, quantity, status, created_at, updated_at)
          select gen_random_uuid(), 'plan-test', 'c' || g, 'S' || (g % 50), 'NSE', 'INR', 0.05, 1, 'BUY', 'MARKET', 'DAY', 1,
            case when g % 1000 = 0 then 'OPEN' else 'FILLED' end, now(), now()
          from generate_series(1, 5000) g`);
        await tx.execute(sql`analyze paper_orders`);
        await tx.execute(sql.raw('set local plan_cache_mode = force_generic_plan'));
        out = await fn(tx);
        throw Rollback;
      })
      .catch((err: unknown) => {
        if (err !== Rollback) throw err;
      });
    return out;
  }

  const explain = async (tx: Tx, text: string) =>
    rowsOf<Record<string, string>>(await tx.execute(sql.raw(`explain ${text}`)))
      .map((r) => Object.values(r)[0])
      .join('\n');

  it('the scan as written: the partial index, no scan of the table', async () => {
    const q = restingQuery(server.app.db.db).toSQL();
    expect(q.params).toEqual([]); // nothing bound: the plan is the same generic or not
    const plan = await withBook((tx) => explain(tx, q.sql));
    expect(plan).toMatch(/paper_orders_resting_idx/);
    expect(plan).not.toMatch(/Seq Scan on paper_orders/);
  });

  it('what it replaced: the statuses as parameters, whose generic plan scans every order', async () => {
    const q = server.app.db.db
      .selectDistinct({ symbol: paperOrders.symbol })
      .from(paperOrders)
      .where(inArray(paperOrders.status, ['OPEN', 'PARTIALLY_FILLED']))
      .toSQL();
    expect(q.params).toHaveLength(2);
    const plan = await withBook((tx) => explainPrepared(tx, q.sql, "'OPEN', 'PARTIALLY_FILLED'"));
    expect(plan).toMatch(/Seq Scan on paper_orders/);
  });
});
