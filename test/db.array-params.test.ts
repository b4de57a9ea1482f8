/**
 * Id lists travel as ONE parameter (src/db/batch-sql.ts). Under a generic plan (a prepared statement
 * after its fifth run, or `genericPlans`) Postgres does not fold a cast of that parameter, so the form of
 * the parameter decides what a FILTER costs per row: `$1::uuid[]` is parsed once at bind (the filter reads
 * `ANY ($1)`), where `$1::text::uuid[]` was cast again for every row tested (`ANY (($1)::uuid[])`: 2,000
 * ids against 20,000 rows took 23 s) and the pooled batch's old jsonb subquery could be re-evaluated for
 * every candidate row from the inner side of a nested loop. Each form is planned here the way a prepared
 * statement's generic plan is (PREPARE + EXPLAIN EXECUTE with plan_cache_mode = force_generic_plan), in
 * both modes, and the filter read from the plan. And `genericPlans`, which the order loop's batch
 * transactions run first: their keyed statements plan as index lookups even on a table small enough for a
 * scan of every row to look cheaper (a plan a prepared statement would then keep as the table grows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { pgTable, uuid, bigint } from 'drizzle-orm/pg-core';
import { PgDialect } from 'drizzle-orm/pg-core';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { explainPrepared } from './support/plans.js';
import { bigintArray, genericPlans, uuidArray } from '../src/db/batch-sql.js';
import { idIn } from '../src/services/pooled/batch-fill.js';

const tIds = pgTable('t_ids', { id: uuid('id').notNull(), n: bigint('n', { mode: 'number' }).notNull() });
const dialect = new PgDialect();

describe.each(modes())('id lists as one parameter under a generic plan (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** The generic plan of `select count(*) from t_ids where <where>`, as text. */
  async function genericPlan(where: SQL): Promise<string> {
    const q = dialect.sqlToQuery(sql`select count(*) from ${tIds} where ${where}`);
    expect(q.params).toHaveLength(1);
    const literal = `'${String(q.params[0]).replaceAll("'", "''")}'`;
    return server.app.db.db.transaction(async (tx) => {
      await tx.execute(sql`create temp table t_ids (id uuid not null, n bigint not null) on commit drop`);
      await tx.execute(sql`insert into t_ids select gen_random_uuid(), g from generate_series(1, 2000) g`);
      await tx.execute(sql`analyze t_ids`);
      await tx.execute(sql.raw('set local plan_cache_mode = force_generic_plan'));
      return explainPrepared(tx, q.sql, literal);
    });
  }

  const ids = Array.from({ length: 300 }, () => randomUUID());

  it('uuidArray: the filter compares with the bound array, no cast per row', async () => {
    const plan = await genericPlan(sql`${tIds.id} = any(${uuidArray(ids)})`);
    expect(plan).toMatch(/Filter: \(id = ANY \(\$1\)\)/);
    // What the text form did (the reason for this file): the cast sits inside the filter.
    const old = await genericPlan(sql`${tIds.id} = any(${`{${ids.join(',')}}`}::text::uuid[])`);
    expect(old).toMatch(/ANY \(\(\$1\)::uuid\[\]\)/);
  });

  it('bigintArray: the same for integer ids', async () => {
    const plan = await genericPlan(sql`${tIds.n} = any(${bigintArray([1, 2, 3, 500])})`);
    expect(plan).toMatch(/Filter: \(n = ANY \(\$1\)\)/);
  });

  it('genericPlans: a keyed batch update planned on a small table is index lookups, not a scan of every row', async () => {
    const plan = (keyed: boolean) =>
      server.app.db.db.transaction(async (tx) => {
        await tx.execute(sql`create temp table t_keyed (id uuid primary key, s text) on commit drop`);
        await tx.execute(sql`insert into t_keyed select gen_random_uuid(), 'a' from generate_series(1, 100)`);
        await tx.execute(sql`analyze t_keyed`);
        await tx.execute(keyed ? genericPlans : sql.raw('set local plan_cache_mode = force_generic_plan'));
        return explainPrepared(tx, 'update t_keyed as t set s = v.s from jsonb_to_recordset($1::text::jsonb) as v(id uuid, s text) where t.id = v.id', "'[]'");
      });
    // Without: the plan a batch kept while its table was this small (and then at any size).
    expect(await plan(false)).toMatch(/Seq Scan on t_keyed/);
    const keyed = await plan(true);
    expect(keyed).toMatch(/Nested Loop/);
    expect(keyed).toMatch(/Index Scan using t_keyed_pkey/);
    expect(keyed).not.toMatch(/Seq Scan|Hash Join|Merge Join/);
  });

  it('the pooled batch’s idIn: one bound array, no subquery over the list', async () => {
    const plan = await genericPlan(idIn(tIds.id, ids));
    expect(plan).toMatch(/Filter: \(id = ANY \(\$1\)\)/);
    expect(plan).not.toMatch(/jsonb|SubPlan|Nested Loop/);
  });
});
